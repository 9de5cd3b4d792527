// Hostile manifests: deeply nested JSON, too many descriptors, references checked without
// storing anything first. A refused manifest leaves the bucket exactly as it was.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
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
