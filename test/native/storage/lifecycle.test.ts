// Retention rules, immutable tags and the index rule on the native runtime, through `handle`.
import * as fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DAY, age, assertPulls, pushImage, pushIndex, putManifest, type Image } from "./gc-support";
import { open, request } from "./registry-contract";
import { errorsOf, randomBytes, tempDir } from "./support";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
function dataDir(label: string): string {
  const d = tempDir(label);
  dirs.push(d);
  return d;
}

const status = async (response: Response) => {
  await response.arrayBuffer();
  return response.status;
};

describe("immutable tags and the index rule", () => {
  it("an immutable tag never moves and cannot be deleted, nor its manifest; a manifest a tagged index lists goes only after the index", async () => {
    const dir = dataDir("immutable");
    const registry = await open(dir, { IMMUTABLE_TAGS: "release-*, v1.*", GC_INTERVAL_SECONDS: "0" });
    try {
      const first = await pushImage(registry, "imm/app", "release-1", [randomBytes(100)]);
      const other = await pushImage(registry, "imm/app", "latest", [randomBytes(100)]);
      // The same digest again is fine (a retried push); another digest is refused and nothing changes.
      expect((await putManifest(registry, "imm/app", "release-1", first.manifest, first.mediaType)).status).toBe(201);
      const moved = await putManifest(registry, "imm/app", "release-1", other.manifest, other.mediaType);
      expect(moved.status).toBe(409);
      expect((await errorsOf(moved))[0]).toMatchObject({ code: "DENIED" });
      const viaParam = await registry.handle(request("PUT", `/v2/imm/app/manifests/${other.digest}?tag=release-1`, other.manifest, { "Content-Type": other.mediaType }));
      expect(viaParam.status).toBe(409);
      await assertPulls(registry, first);
      // Mutable tags move as before.
      expect((await putManifest(registry, "imm/app", "latest", first.manifest, first.mediaType)).status).toBe(201);

      const deleteTag = await registry.handle(request("DELETE", "/v2/imm/app/manifests/release-1"));
      expect(deleteTag.status).toBe(409);
      expect((await errorsOf(deleteTag))[0]!.message).toContain("immutable");
      expect(await status(await registry.handle(request("DELETE", `/v2/imm/app/manifests/${first.digest}`)))).toBe(409);
      await assertPulls(registry, first);
      expect(await status(await registry.handle(request("DELETE", "/v2/imm/app/manifests/latest")))).toBe(202);

      const a = await pushImage(registry, "imm/multi", undefined, [randomBytes(50)]);
      const b = await pushImage(registry, "imm/multi", undefined, [randomBytes(50)]);
      const index = await pushIndex(registry, "imm/multi", "current", [a, b]);
      const refused = await registry.handle(request("DELETE", `/v2/imm/multi/manifests/${a.digest}`));
      expect(refused.status).toBe(409);
      expect((await errorsOf(refused))[0]).toMatchObject({ code: "DENIED", detail: { index: index.digest, tag: "current" } });
      await assertPulls(registry, a);
      expect(await status(await registry.handle(request("DELETE", `/v2/imm/multi/manifests/${index.digest}`)))).toBe(202);
      expect(await status(await registry.handle(request("DELETE", `/v2/imm/multi/manifests/${a.digest}`)))).toBe(202);
    } finally {
      await registry.close();
    }
  });

  it("a setting that cannot work stops the registry at start, naming it", async () => {
    const dir = dataDir("bad-settings");
    await expect(open(dir, { IMMUTABLE_TAGS: "v1/../x" })).rejects.toThrow(/IMMUTABLE_TAGS/);
    await expect(open(dir, { RETENTION_JSON: "{" })).rejects.toThrow(/RETENTION_JSON/);
    await expect(open(dir, { RETENTION_JSON: '[{"repository":"a","keepTags":-1}]' })).rejects.toThrow(/keepTags/);
    await expect(open(dir, { RETENTION_JSON: '[{"repository":"a"}]' })).rejects.toThrow(/keepTags or untaggedAfterSeconds/);
    await expect(open(dir, { RETENTION_JSON: '[{"repository":"a","keepTags":1,"evil":true}]' })).rejects.toThrow(/unknown field/);
    await expect(open(dir, { GC_GRACE_SECONDS: "-5" })).rejects.toThrow(/GC_GRACE_SECONDS/);
    await expect(open(dir, { GC_INTERVAL_SECONDS: "1e9" })).rejects.toThrow(/GC_INTERVAL_SECONDS/);
  });
});

describe("retention", () => {
  it("keeps the newest N matching tags (immutable ones always), drops untagged manifests past their age, with the same dry run", async () => {
    const dir = dataDir("retention");
    const settings = {
      GC_INTERVAL_SECONDS: "0",
      IMMUTABLE_TAGS: "release-*",
      RETENTION_JSON: JSON.stringify([
        { repository: "ret/*", tagPattern: "*", keepTags: 2, untaggedAfterSeconds: 3600 },
      ]),
    };
    let registry = await open(dir, settings);
    const images = new Map<string, Image>();
    let child: Image;
    let parent: Image;
    try {
      for (const tag of ["release-1", "v1", "v2", "v3", "v4"]) images.set(tag, await pushImage(registry, "ret/app", tag, [randomBytes(200)]));
      child = await pushImage(registry, "ret/app", undefined, [randomBytes(200)]);
      parent = await pushIndex(registry, "ret/other", "v1", [await pushImage(registry, "ret/other", undefined, [randomBytes(10)])]);
      void parent;
    } finally {
      await registry.close();
    }
    // Two days old, the tags written one minute apart in push order.
    age(dir, 2 * DAY);
    const tagsDir = path.join(dir, "objects", "repositories", "ret", "app", "_tags");
    [...images.keys()].forEach((tag, i) => {
      const when = new Date(Date.now() - 2 * DAY + i * 60_000);
      fs.utimesSync(path.join(tagsDir, `${tag}=`), when, when);
    });
    registry = await open(dir, settings);
    try {
      const dry = await registry.collectGarbage({ dryRun: true });
      for (const tag of images.keys()) expect(await status(await registry.handle(request("HEAD", `/v2/ret/app/manifests/${tag}`))), tag).toBe(200);
      const report = await registry.collectGarbage();
      expect(report.removed).toEqual(dry.removed);
      expect(report.removed.tags).toBe(2);
      // v1's and v2's manifests, and the untagged image: three manifests, their configs and layers.
      expect(report.removed.manifests).toBe(3);
      expect(report.removed.blobs).toBe(9);
      for (const tag of ["v1", "v2"]) {
        expect(await status(await registry.handle(request("GET", `/v2/ret/app/manifests/${tag}`)))).toBe(404);
        expect(await status(await registry.handle(request("GET", `/v2/ret/app/manifests/${images.get(tag)!.digest}`)))).toBe(404);
      }
      expect(await status(await registry.handle(request("GET", `/v2/ret/app/manifests/${child!.digest}`)))).toBe(404);
      for (const tag of ["release-1", "v3", "v4"]) await assertPulls(registry, images.get(tag)!);
      // The untagged child of a tagged index is reached through the index: it stays.
      const other = await registry.handle(request("GET", "/v2/ret/other/manifests/v1", null, { Accept: "application/vnd.oci.image.index.v1+json" }));
      expect(other.status).toBe(200);
      const childDigest = (JSON.parse(await other.text()) as { manifests: { digest: string }[] }).manifests[0]!.digest;
      expect(await status(await registry.handle(request("GET", `/v2/ret/other/manifests/${childDigest}`)))).toBe(200);
    } finally {
      await registry.close();
    }
  });
});
