// Hostile manifests: deeply nested JSON, too many descriptors, references checked without
// storing anything first. A refused manifest leaves the bucket exactly as it was.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { parseDigest } from "../../src/oci/digest";
import { MAX_MANIFEST_DESCRIPTORS } from "../../src/oci/manifest";
import { keys } from "../../src/storage/layout";
import * as h from "./helpers";

const { MT } = h;
let pool: h.SeedPool;

beforeAll(async () => {
  pool = await h.seedPool("hostile-seed");
});

/** Every key in the bucket (the whole local R2 of this test file). */
async function bucketKeys(): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ cursor, limit: 1000 });
    out.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out.sort();
}

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("deeply nested JSON", () => {
  it.each([
    ["annotations holding 10,000 nested arrays", (m: string) => m.replace('"annotations":{', `"annotations":{"deep":${nested(10_000)},`)],
    ["an unknown field holding 10,000 nested objects", (m: string) => m.replace("{", `{"x":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)},`)],
  ])("%s -> 400 MANIFEST_INVALID naming the depth limit; nothing stored", async (_label, inject) => {
    const repo = h.uniqueRepo("deep");
    const image = await h.poolImage(pool, repo, { extra: { subject: { mediaType: MT.ociManifest, digest: pool.layers[0]!.digest, size: 1 } } });
    const body = inject(JSON.stringify(image));
    const before = await bucketKeys();
    const [error] = await h.expectError(await h.putManifest(repo, "v1", h.utf8(body), MT.ociManifest), 400, "MANIFEST_INVALID");
    expect(error!.message).toMatch(/nest/);
    expect(await bucketKeys()).toEqual(before);
  });
});

describe("annotations", () => {
  it.each([
    ["a non-string value", { "org.example": 1 }],
    ["a nested array", { "org.example": [[["x"]]] }],
    ["an array instead of a map", ["org.example"]],
  ])("annotations with %s -> 400 MANIFEST_INVALID; nothing stored", async (_label, annotations) => {
    const repo = h.uniqueRepo("annot");
    const image = await h.poolImage(pool, repo, { extra: { annotations } });
    const before = await bucketKeys();
    await h.expectError(await h.putManifest(repo, "v1", image), 400, "MANIFEST_INVALID");
    expect(await bucketKeys()).toEqual(before);
  });

  it("nesting up to the limit is accepted (custom fields may nest)", async () => {
    const repo = h.uniqueRepo("deep-ok");
    const image = await h.poolImage(pool, repo, { extra: { "x-custom": JSON.parse(nested(60)) } });
    await h.pushManifest(repo, "v1", image);
  });
});

describe("reference checks", () => {
  const index = (children: { digest: string; size: number }[]) => ({
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: children.map((c) => ({ mediaType: MT.ociManifest, digest: c.digest, size: c.size })),
  });
  const randomDigest = async () => h.sha256(h.randomBytes(32));

  /** Links `count` manifests into the repository the way a push does, straight in storage (fast). */
  async function linkManifests(repo: string, count: number): Promise<{ digest: string; size: number }[]> {
    const out: { digest: string; size: number }[] = [];
    for (let at = 0; at < count; at += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, count - at) }, async () => {
        const digest = await randomDigest();
        await env.BUCKET.put(keys.manifestLink(repo, parseDigest(digest)), "", { customMetadata: { mediaType: MT.ociManifest, size: "123" } });
        return { digest, size: 123 };
      }));
      out.push(...batch);
    }
    return out;
  }

  it(`more than ${MAX_MANIFEST_DESCRIPTORS} descriptors -> 400 MANIFEST_INVALID naming the limit; nothing stored`, async () => {
    const repo = h.uniqueRepo("many");
    const children = await Promise.all(Array.from({ length: MAX_MANIFEST_DESCRIPTORS + 1 }, async () => ({ digest: await randomDigest(), size: 10 })));
    const before = await bucketKeys();
    const [error] = await h.expectError(await h.putManifest(repo, "v1", index(children)), 400, "MANIFEST_INVALID");
    expect(error!.message).toContain(String(MAX_MANIFEST_DESCRIPTORS));
    expect(error!.detail).toEqual({ limit: MAX_MANIFEST_DESCRIPTORS, descriptors: MAX_MANIFEST_DESCRIPTORS + 1 });
    expect(await bucketKeys()).toEqual(before);
  });

  it("an index of many children, each listed twice, spread over several pages of links -> 201", async () => {
    const repo = h.uniqueRepo("wide");
    const linked = await linkManifests(repo, 2500);
    const chosen = linked.filter((_, i) => i % 5 === 0); // 500 children from every page
    const res = await h.putManifest(repo, "v1", index([...chosen, ...chosen]));
    expect(res.status, await res.text()).toBe(201);
  });

  it.each([["first"], ["middle"], ["last"]])("one child missing (sorting %s) among hundreds -> 400 MANIFEST_BLOB_UNKNOWN naming it; nothing stored", async (where) => {
    const repo = h.uniqueRepo("gap");
    const linked = await linkManifests(repo, 1200);
    const sorted = [...linked].sort((a, b) => (a.digest < b.digest ? -1 : 1));
    const hex = where === "first" ? "0".repeat(64) : where === "last" ? "f".repeat(64) : sorted[600]!.digest.slice(7, -1) + (sorted[600]!.digest.endsWith("0") ? "1" : "0");
    const missing = { digest: `sha256:${hex}`, size: 5 };
    const before = await bucketKeys();
    const [error] = await h.expectError(await h.putManifest(repo, "v1", index([...sorted.slice(0, 900), missing])), 400, "MANIFEST_BLOB_UNKNOWN");
    expect(error!.detail).toEqual({ digest: missing.digest });
    expect(await bucketKeys()).toEqual(before);
  });

  it("an image listing one layer a thousand times is checked once and accepted", async () => {
    const repo = h.uniqueRepo("repeat");
    const image = await h.poolImage(pool, repo, { layers: 1 });
    const layer = (image.layers as unknown[])[0];
    await h.pushManifest(repo, "v1", { ...image, layers: Array.from({ length: MAX_MANIFEST_DESCRIPTORS }, () => layer) });
  });

  it("a few references (looked up one by one): one missing blob -> 400 naming it", async () => {
    const repo = h.uniqueRepo("few");
    const image = await h.poolImage(pool, repo, { layers: 3 });
    const ghost = { mediaType: MT.ociLayer, digest: await randomDigest(), size: 3 };
    const [error] = await h.expectError(await h.putManifest(repo, "v1", { ...image, layers: [...(image.layers as unknown[]), ghost] }), 400, "MANIFEST_BLOB_UNKNOWN");
    expect(error!.detail).toEqual({ digest: ghost.digest });
  });
});
