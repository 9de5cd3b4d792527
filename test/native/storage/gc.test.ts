// The garbage collector on the native runtime (filesystem store, SQLite sessions), through
// createNativeRegistry: a store with known garbage loses exactly that (storage listing before and
// after), a dry run changes nothing, collection during concurrent pushes loses nothing, a run
// stopped at any step or killed with kill -9 leaves a store the next run finishes.
import * as fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { GcReport } from "../../../src/extensions/gc";
import { parseDigest } from "../../../src/oci/digest";
import { FilesystemObjectStore } from "../../../src/runtimes/native/fs-store";
import { RegistryStore } from "../../../src/storage/registry-store";
import type { NativeRegistry } from "../../../src/runtimes/native/registry";
import { removeBundles, startChild } from "./children";
import {
  DAY, age, assertPulls, digestOf, json, keyFile, pushBlob, pushImage, pushIndex, putManifest, storeFiles, uploadDir, type Image,
} from "./gc-support";
import { open, patch, request, startUpload } from "./registry-contract";
import { MiB, assertSameBytes, readAll, randomBytes, tempDir, utf8 } from "./support";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  await removeBundles();
});
function dataDir(label: string): string {
  const d = tempDir(label);
  dirs.push(d);
  return d;
}

const GC_SETTINGS = { GC_INTERVAL_SECONDS: "0" };
const hexOf = (digest: string) => digest.slice("sha256:".length);
const blobKey = (digest: string) => `blobs/sha256/${hexOf(digest)}`;

interface Garbage {
  /** Images that must pull unchanged after every collection. */
  kept: Image[];
  /** Files the collector must remove, and nothing else. */
  files: Set<string>;
  /** A blob uploaded just now (a push in progress): never collected. */
  young: { name: string; digest: string };
}

/**
 * Builds a store holding live images and known garbage, two days old, plus one young upload:
 * - keep/app:v1 (a small and a 6 MiB multipart layer), keep/multi:v1 an index of two untagged
 *   images, one with a referrer (subject) — all live;
 * - gone/app: an image deleted by digest whose layers (one shared with keep/app) stay linked;
 * - gone/loose: a blob linked and never listed by a manifest;
 * - an upload session that died (state lost) with a part uploaded, an unfinished multipart upload
 *   with its record, and a completed multipart object no blob points to;
 * - a tag and a referrer entry naming manifests that are not there.
 */
async function buildGarbage(dir: string): Promise<Garbage> {
  const files = new Set<string>();
  const kept: Image[] = [];
  const shared = randomBytes(3000);
  let registry = await open(dir, GC_SETTINGS);
  let abandonedSession: string;
  let goneImage: Image;
  try {
    kept.push(await pushImage(registry, "keep/app", "v1", [shared, randomBytes(6 * MiB + 7)]));
    const amd = await pushImage(registry, "keep/multi", undefined, [randomBytes(2000)]);
    const arm = await pushImage(registry, "keep/multi", undefined, [randomBytes(2000)]);
    const signature = await pushImage(registry, "keep/multi", undefined, [utf8("signature")], { digest: amd.digest, size: amd.manifest.length });
    kept.push(amd, arm, signature, await pushIndex(registry, "keep/multi", "v1", [amd, arm]));

    goneImage = await pushImage(registry, "gone/app", "v1", [shared, randomBytes(1500), randomBytes(5 * MiB + 100)]);
    const deleted = await registry.handle(request("DELETE", `/v2/gone/app/manifests/${goneImage.digest}`));
    expect(deleted.status).toBe(202);
    for (const digest of goneImage.blobs.keys()) files.add(keyFile(`repositories/gone/app/_layers/sha256/${hexOf(digest)}`));
    for (const digest of [...goneImage.blobs.keys(), goneImage.digest]) if (!kept[0]!.blobs.has(digest)) files.add(keyFile(blobKey(digest)));
    files.add(keyFile("catalog/gone/app"));

    const loose = await pushBlob(registry, "gone/loose", randomBytes(4000));
    files.add(keyFile(`repositories/gone/loose/_layers/sha256/${hexOf(loose)}`));
    files.add(keyFile(blobKey(loose)));
    files.add(keyFile("catalog/gone/loose"));

    const location = await startUpload(registry, "gone/upload");
    expect((await patch(registry, location, randomBytes(5 * MiB + 1))).status).toBe(202);
    abandonedSession = location.split("/").pop()!;
    files.add(keyFile(`uploads/${abandonedSession}`));
  } finally {
    await registry.close();
  }
  // The session's state is lost (a crash of its database): its multipart upload is an orphan.
  for (const f of fs.readdirSync(dir)) if (f.startsWith("uploads.sqlite")) fs.rmSync(path.join(dir, f));

  const store = await FilesystemObjectStore.open(path.join(dir, "objects"));
  const pointer = await store.head(blobKey([...goneImage.blobs.entries()].find(([, b]) => b.length > 5 * MiB)![0]));
  const location = pointer!.metadata.location!;
  files.add(keyFile(location));
  const record = await store.head(`uploads/${abandonedSession}`);
  expect(record?.metadata.multipartId).toBeTruthy();
  const stray = "blob-data/" + "a".repeat(64);
  const strayId = await store.createMultipart(stray);
  const part = await store.uploadPart(stray, strayId, 1, randomBytes(1000));
  await store.completeMultipart(stray, strayId, [part]);
  files.add(keyFile(stray));
  const unfinished = "blob-data/" + "b".repeat(64);
  const unfinishedId = await store.createMultipart(unfinished);
  await store.uploadPart(unfinished, unfinishedId, 1, randomBytes(5 * MiB));
  await store.put(`uploads/${"b".repeat(64)}`, "", { key: unfinished, multipartId: unfinishedId, name: "gone/upload" });
  files.add(keyFile(`uploads/${"b".repeat(64)}`));
  const ghostTag = "repositories/keep/app/_tags/ghost";
  await store.put(ghostTag, "x", { digest: `sha256:${"c".repeat(64)}`, mediaType: "application/vnd.oci.image.manifest.v1+json", size: "1" });
  files.add(keyFile(ghostTag));
  const ghostReferrer = `repositories/keep/app/_referrers/sha256/${hexOf(kept[0]!.digest)}/sha256/${"d".repeat(64)}`;
  await store.put(ghostReferrer, "{}", { subject: kept[0]!.digest });
  files.add(keyFile(ghostReferrer));

  // Multipart uploads go with their directory: every part file in it.
  const uploadIds = [(await fs.promises.readFile(path.join(dir, "objects", keyFile(location)))).toString("latin1").match(/"u":"([0-9a-f]+)"/)![1]!, strayId, unfinishedId, record!.metadata.multipartId!];
  const before = storeFiles(dir);
  for (const id of uploadIds) for (const f of before) if (f.startsWith(uploadDir(id))) files.add(f);
  // The second push of the shared layer announced its reuse; two days on, the announcement has done its job.
  const announcements = before.filter((f) => f.startsWith("gc/reused/"));
  expect(announcements).toEqual([keyFile(`gc/reused/sha256/${hexOf(digestOf(shared))}`)]);
  for (const f of announcements) files.add(f);

  age(dir, 2 * DAY);
  registry = await open(dir, GC_SETTINGS);
  try {
    const young = await pushBlob(registry, "young/push", randomBytes(2500));
    return { kept, files, young: { name: "young/push", digest: young } };
  } finally {
    await registry.close();
  }
}

/** The blob of `gone/loose` (garbage in buildGarbage's store): its digest and bytes. */
async function looseBlob(dir: string): Promise<{ digest: string; bytes: Uint8Array }> {
  const store = await FilesystemObjectStore.open(path.join(dir, "objects"));
  const link = (await store.list("repositories/gone/loose/_layers/")).objects[0]!.key;
  const digest = `sha256:${link.split("/").pop()}`;
  return { digest, bytes: new Uint8Array(await new Response((await store.get(blobKey(digest)))!.body).arrayBuffer()) };
}

async function withRegistry<T>(dir: string, work: (registry: NativeRegistry) => Promise<T>, settings: Record<string, string> = {}): Promise<T> {
  const registry = await open(dir, { ...GC_SETTINGS, ...settings });
  try {
    return await work(registry);
  } finally {
    await registry.close();
  }
}

async function assertAllPull(registry: NativeRegistry, garbage: Garbage): Promise<void> {
  for (const image of garbage.kept) await assertPulls(registry, image);
  const young = await registry.handle(request("GET", `/v2/${garbage.young.name}/blobs/${garbage.young.digest}`));
  expect(young.status).toBe(200);
  await young.arrayBuffer();
}

describe("garbage collection on the native runtime", () => {
  it("frees exactly the known garbage (storage listing before and after); a dry run changes nothing; a second run frees nothing", async () => {
    const dir = dataDir("gc-known");
    const garbage = await buildGarbage(dir);
    const before = storeFiles(dir);
    for (const f of garbage.files) expect(before, `garbage file ${f} exists`).toContain(f);

    await withRegistry(dir, async (registry) => {
      const dry = await registry.collectGarbage({ dryRun: true });
      expect(storeFiles(dir)).toEqual(before);
      expect(dry.dryRun).toBe(true);

      const report = await registry.collectGarbage();
      const after = storeFiles(dir);
      const removed = before.filter((f) => !after.includes(f));
      expect(after.filter((f) => !before.includes(f)), "nothing new appears").toEqual([]);
      expect(removed.sort()).toEqual([...garbage.files].sort());
      expect(report.removed).toEqual(dry.removed);
      expect(report.keys.sort()).toEqual(dry.keys.sort());
      expect(report.bytesFreed).toBe(dry.bytesFreed);
      expect(report.removed).toEqual({ tags: 1, manifests: 0, referrers: 1, layerLinks: 5, blobs: 5, blobData: 2, uploads: 2, catalog: 2, markers: 1 });
      // Three 1.5-6 MiB layers' worth: the 5 MiB multipart layer, the small ones, the manifest and config.
      expect(report.bytesFreed).toBeGreaterThan(5 * MiB + 100);
      await assertAllPull(registry, garbage);
      const referrers = await registry.handle(request("GET", `/v2/keep/multi/referrers/${garbage.kept[1]!.digest}`));
      expect((await json<{ manifests: { digest: string }[] }>(referrers)).manifests.map((m) => m.digest)).toEqual([garbage.kept[3]!.digest]);

      const again = await registry.collectGarbage();
      expect(Object.values(again.removed).every((n) => n === 0), JSON.stringify(again.removed)).toBe(true);
      expect(storeFiles(dir)).toEqual(after);
    });
  });

  it("GC_INTERVAL_SECONDS runs the collector on a timer started by createNativeRegistry; close() stops it", async () => {
    const dir = dataDir("gc-timer");
    const garbage = await buildGarbage(dir);
    const before = storeFiles(dir);
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const registry = await open(dir, { GC_INTERVAL_SECONDS: "1" });
    try {
      const deadline = Date.now() + 30_000;
      while ((storeFiles(dir).length > before.length - garbage.files.size || lines.length === 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const after = storeFiles(dir);
      expect(before.filter((f) => !after.includes(f)).sort()).toEqual([...garbage.files].sort());
      await assertAllPull(registry, garbage);
    } finally {
      await registry.close();
      log.mockRestore();
    }
    // Each run logs one JSON line (the same as the Workers Cron Trigger's).
    const run = JSON.parse(lines[0]!);
    expect(run).toMatchObject({ level: "info", msg: "gc: scheduled collection", restoredLinks: 0 });
    expect(run.bytesFreed).toBeGreaterThan(0);
  });

  it("stopped at any step, the store stays consistent and the next run frees the rest", async () => {
    const steps = ["tags", "referrers", "layerLinks", "blobs", "blobData", "uploads", "catalog", "markers"] as const;
    const dir = dataDir("gc-steps");
    const garbage = await buildGarbage(dir);
    const template = path.join(dataDir("gc-steps-template"), "copy");
    fs.cpSync(dir, template, { recursive: true, preserveTimestamps: true });
    const before = storeFiles(dir);
    for (const step of steps) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.cpSync(template, dir, { recursive: true, preserveTimestamps: true });
      await withRegistry(dir, async (registry) => {
        let seen = 0;
        const stop = registry.collectGarbage({
          beforeDelete: (s) => {
            if (s === step && ++seen === 1) throw new Error(`stopped at ${step}`);
          },
        });
        await expect(stop).rejects.toThrow(`stopped at ${step}`);
        await assertAllPull(registry, garbage);
        await registry.collectGarbage();
        const after = storeFiles(dir);
        expect(before.filter((f) => !after.includes(f)).sort(), `after a stop at ${step}`).toEqual([...garbage.files].sort());
        await assertAllPull(registry, garbage);
      });
    }
  });

  /** Old garbage: blobs pushed to `old/repo`, unlinked there, two days old. */
  async function unlinkedBlobs(dir: string, blobs: Uint8Array[]): Promise<string[]> {
    const digests = await withRegistry(dir, async (registry) => {
      const pushed: string[] = [];
      for (const bytes of blobs) {
        const digest = await pushBlob(registry, "old/repo", bytes);
        expect((await registry.handle(request("DELETE", `/v2/old/repo/blobs/${digest}`))).status).toBe(202);
        pushed.push(digest);
      }
      return pushed;
    });
    age(dir, 2 * DAY);
    return digests;
  }

  async function assertBlob(registry: NativeRegistry, name: string, digest: string, bytes: Uint8Array): Promise<void> {
    const res = await registry.handle(request("GET", `/v2/${name}/blobs/${digest}`));
    expect(res.status, `GET ${digest} in ${name}`).toBe(200);
    assertSameBytes(await readAll(res.body), bytes, `${digest} in ${name}`);
  }

  it("a push of old unlinked bytes while the collector deletes them keeps its blob: it waits for the sweep, then stores its own copy", async () => {
    const dir = dataDir("gc-race-writer");
    const blobs = [randomBytes(6 * MiB + 3), randomBytes(2000)]; // a multipart blob and an inline one
    const digests = await unlinkedBlobs(dir, blobs);
    const announced = (digest: string) => fs.existsSync(path.join(dir, "objects", keyFile(`gc/reused/sha256/${hexOf(digest)}`)));
    await withRegistry(dir, async (registry) => {
      const pushes: Promise<string>[] = [];
      const report = await registry.collectGarbage({
        async beforeDelete(step) {
          if (step !== "blobs" || pushes.length > 0) return;
          // The collector has looked for reuses: pushes of the same bytes reach their PUT now, find
          // the bytes stored and announce the reuse, too late for this sweep to see it.
          for (const bytes of blobs) pushes.push(pushBlob(registry, "new/repo", bytes));
          const deadline = Date.now() + 5000;
          while (!digests.every(announced) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        },
      });
      expect(await Promise.all(pushes)).toEqual(digests);
      expect(report.removed.blobs, "the sweep went on: it had not seen the reuse").toBe(2);
      for (const [i, digest] of digests.entries()) await assertBlob(registry, "new/repo", digest, blobs[i]!);
      await registry.collectGarbage();
      for (const [i, digest] of digests.entries()) await assertBlob(registry, "new/repo", digest, blobs[i]!);
    });
  });

  it("an old unlinked blob whose reuse was announced within the grace window is spared; once that is old too, it goes", async () => {
    const dir = dataDir("gc-race-collector");
    const [digest] = await unlinkedBlobs(dir, [randomBytes(3000)]);
    // A push reusing the bytes has announced it and not linked them yet (its link would come next).
    const objects = await FilesystemObjectStore.open(path.join(dir, "objects"));
    expect(await new RegistryStore(objects).reuseBlob(parseDigest(digest!))).not.toBeNull();
    const blobFile = path.join(dir, "objects", keyFile(blobKey(digest!)));
    await withRegistry(dir, async (registry) => {
      const report = await registry.collectGarbage();
      expect(report.removed.blobs).toBe(0);
      expect(report.sparedBlobs).toBe(1);
      expect(fs.existsSync(blobFile)).toBe(true);
    });
    age(dir, 2 * DAY);
    await withRegistry(dir, async (registry) => {
      const report = await registry.collectGarbage();
      expect(report.removed).toMatchObject({ blobs: 1, markers: 1 });
      expect(report.sparedBlobs).toBe(0);
      expect(fs.existsSync(blobFile)).toBe(false);
    });
  });

  it("a sweep that takes longer than its window deletes nothing (waiting pushes may have given up); the next run does", async () => {
    const dir = dataDir("gc-race-slow");
    const [digest] = await unlinkedBlobs(dir, [randomBytes(3000)]);
    const sweepsDir = path.join(dir, "objects", "gc", "sweeps");
    const sweeping = () => fs.existsSync(sweepsDir) && fs.readdirSync(sweepsDir).length > 0;
    const blobFile = path.join(dir, "objects", keyFile(blobKey(digest!)));
    await withRegistry(dir, async (registry) => {
      // The collector's clock jumps 20 s while its sweep marker exists: the sweep looks too slow.
      const slow = await registry.collectGarbage({ now: () => Date.now() + (sweeping() ? 20_000 : 0) });
      expect(slow.removed.blobs).toBe(0);
      expect(slow.sparedBlobs).toBe(1);
      expect(fs.existsSync(blobFile)).toBe(true);
      expect(sweeping(), "the marker is gone").toBe(false);
      const next = await registry.collectGarbage();
      expect(next.removed.blobs).toBe(1);
      expect(fs.existsSync(blobFile)).toBe(false);
    });
  });

  it("a run split by GC_OPERATIONS_PER_RUN goes through every phase in pieces; pushes between the pieces lose nothing; the garbage goes exactly", async () => {
    const dir = dataDir("gc-split");
    const garbage = await buildGarbage(dir);
    const { digest: looseDigest, bytes: looseBytes } = await looseBlob(dir);
    const before = storeFiles(dir);
    await withRegistry(dir, async (registry) => {
      const phases = new Set<string>();
      const pushed: Image[] = [];
      for (let invocation = 1; ; invocation++) {
        // One operation per piece: every phase with more than one item stops inside it.
        const report = await registry.collectGarbage({ pageSize: 2, budget: 1 });
        if (report.complete) break;
        phases.add(report.cursor!.phase);
        await assertAllPull(registry, garbage);
        // Between two pieces: a new repository, and one that uploads bytes the run may be deleting.
        if (invocation === 2) pushed.push(await pushImage(registry, "split/new", "v1", [randomBytes(1500)]));
        if (invocation === 4) pushed.push(await pushImage(registry, "split/reuse", "v1", [looseBytes]));
        expect(invocation).toBeLessThan(400);
      }
      expect([...phases].sort()).toEqual(["blobData", "blobs", "finish", "repositories", "uploads"]);
      for (const image of pushed) await assertPulls(registry, image);
      await assertAllPull(registry, garbage);
    });
    const after = storeFiles(dir);
    const expected = [...garbage.files].filter((f) => f !== keyFile(blobKey(looseDigest)));
    expect(before.filter((f) => !after.includes(f)).sort()).toEqual(expected.sort());
  });

  it("a push into a repository whose catalog entry is being removed as empty keeps the entry (and so its images through later runs)", async () => {
    const dir = dataDir("gc-catalog-race");
    const garbage = await buildGarbage(dir);
    let image: Image | null = null;
    await withRegistry(dir, async (registry) => {
      const report = await registry.collectGarbage({
        async beforeDelete(step, keys) {
          // The push links its blobs and finds the catalog entry still there, just before it goes.
          if (step === "catalog" && keys.includes("catalog/gone/loose") && !image) image = await pushImage(registry, "gone/loose", "v2", [randomBytes(1200)]);
        },
      });
      expect(report.removed.catalog).toBe(1); // gone/app only
      const catalog = await json<{ repositories: string[] }>(await registry.handle(request("GET", "/v2/_catalog")));
      expect(catalog.repositories).toContain("gone/loose");
    });
    expect(image).not.toBeNull();
    age(dir, 2 * DAY);
    await withRegistry(dir, async (registry) => {
      await registry.collectGarbage();
      await assertPulls(registry, image!);
      for (const kept of garbage.kept) await assertPulls(registry, kept);
    });
  });

  it.each(["node", "bun", "deno"])("kill -9 of a %s process in the middle of a run: the next run ends consistent", async (runtime) => {
    const dir = dataDir(`gc-kill-${runtime}`);
    const garbage = await buildGarbage(dir);
    const before = storeFiles(dir);
    const child = await startChild("collector.ts", [dir], runtime);
    // Killed between removing blob pointers and the multipart objects holding their bytes.
    const progress = await child.waitFor<{ step: string }>((m) => m.step === "blobData");
    expect(progress.step).toBe("blobData");
    await child.kill9();
    const middle = storeFiles(dir);
    expect(middle.length).toBeLessThan(before.length);
    expect(before.length - middle.length).toBeLessThan(garbage.files.size);
    await withRegistry(dir, async (registry) => {
      await assertAllPull(registry, garbage);
      await registry.collectGarbage();
      const after = storeFiles(dir);
      expect(before.filter((f) => !after.includes(f)).sort()).toEqual([...garbage.files].sort());
      await assertAllPull(registry, garbage);
    });
  });

  it("collection during 20 concurrent pushes (some re-uploading old garbage blobs) loses nothing; the garbage still goes", async () => {
    const dir = dataDir("gc-concurrent");
    const garbage = await buildGarbage(dir);
    // Blobs of the garbage that the pushes upload again: old bytes, new links.
    const { digest: looseDigest, bytes: looseBytes } = await looseBlob(dir);
    await withRegistry(dir, async (registry) => {
      let pushing = true;
      const reports: GcReport[] = [];
      const collecting = (async () => {
        while (pushing) reports.push(await registry.collectGarbage());
      })();
      const common = randomBytes(6 * MiB);
      const images = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        pushImage(registry, `busy/app${i % 5}`, `t${i}`, [common, randomBytes(1000 + i), ...(i % 4 === 0 ? [looseBytes] : [])]),
      ));
      // A push whose blobs are in and whose manifest comes after a run.
      const late = randomBytes(2000);
      const lateDigest = await pushBlob(registry, "busy/late", late);
      pushing = false;
      await collecting;
      reports.push(await registry.collectGarbage());
      const config = utf8(JSON.stringify({ late: true }));
      await pushBlob(registry, "busy/late", config);
      const manifest = utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestOf(config), size: config.length },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: lateDigest, size: late.length }],
      }));
      expect((await putManifest(registry, "busy/late", "v1", manifest, "application/vnd.oci.image.manifest.v1+json")).status).toBe(201);

      expect(reports.length).toBeGreaterThan(1);
      for (const image of images) await assertPulls(registry, image);
      await assertAllPull(registry, garbage);
      const removed = new Set(reports.flatMap((r) => r.keys));
      expect(removed.has("catalog/gone/app")).toBe(true);
      expect(removed.has(blobKey(garbage.kept[0]!.digest))).toBe(false);
    });
  });
});
