// containerd: `ctr images pull --plain-http` of images pushed earlier (single-platform and a
// two-platform index), unpacked into a snapshotter (which checks every layer's diff ID), export
// and compare blobs; then `ctr images push` under another name and compare what the registry holds.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, startContainerd, type Containerd, type ContainersTools } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { buildIndex, sampleImage, writeOciLayout, type BuiltImage, type BuiltIndex } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";
import { readTar, sha256 } from "./harness/tar";

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let containerd: Containerd;
let tools: ContainersTools;
let api: RegistryApi;
let image: BuiltImage;
let multi: BuiltIndex;

// "native" works everywhere (no overlayfs needed inside CI containers)
const SNAPSHOTTER = ["--snapshotter", "native"];

/** `ctr images ls` → ref → target digest. */
async function imageList(): Promise<Map<string, string>> {
  const out = (await containerd.ctr(["images", "ls"])).stdout.trim().split("\n").slice(1);
  return new Map(out.filter(Boolean).map((l) => l.split(/\s+/)).map((cols) => [cols[0]!, cols[2]!]));
}

/** Blobs in an image archive written by `ctr images export`, by digest. */
async function exportedBlobs(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of readTar(await readFile(file))) {
    const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(e.name);
    if (m) out.set(`sha256:${m[1]}`, e.content);
  }
  return out;
}

beforeAll(async () => {
  requireRoot();
  requireBinaries("containerd", "ctr", "skopeo");
  tmp = makeTempDir("ctr");
  registry = await startRegistry({ workDir: tmp.dir });
  containerd = await startContainerd(tmp.dir);
  tools = await containersTools(tmp.dir, [registry.host]);
  api = new RegistryApi(registry.url);
  image = sampleImage("containerd");
  multi = buildIndex([
    sampleImage("ctr-multi", { architecture: "amd64", os: "linux" }),
    sampleImage("ctr-multi", { architecture: "arm64", os: "linux", variant: "v8" }),
  ]);
  const layout = path.join(tmp.dir, "layout");
  await writeOciLayout(layout, [
    { ref: "v1", image },
    { ref: "multi", index: multi },
  ]);
  // pushed earlier, by another client
  await tools.skopeo(["copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${registry.ref("e2e/ctr/app:v1")}`]);
  await tools.skopeo(["copy", "--all", "--dest-tls-verify=false", `oci:${layout}:multi`, `docker://${registry.ref("e2e/ctr/multi:latest")}`]);
});

afterAll(async () => {
  await containerd?.stop();
  await registry?.stop();
  await tmp?.cleanup();
});

describe.sequential("containerd ctr", () => {
  test("ctr images pull --plain-http: unpacks, and the content matches what was pushed", async () => {
    const ref = registry.ref("e2e/ctr/app:v1");
    await containerd.ctr(["images", "pull", "--plain-http", ...SNAPSHOTTER, ref]);
    expect((await imageList()).get(ref)).toBe(image.manifestDigest);
    const check = (await containerd.ctr(["images", "check", ...SNAPSHOTTER])).stdout;
    expect(check).toMatch(new RegExp(`${ref.replace(/[.]/g, "\\.")}\\s.*complete`));
    // unpacked: one committed snapshot per layer (unpacking verifies each layer's diff ID)
    const snapshots = (await containerd.ctr(["snapshots", ...SNAPSHOTTER, "ls"])).stdout;
    expect(snapshots.split("\n").filter((l) => /\bCommitted\b/.test(l)), snapshots).toHaveLength(image.layers.length);

    const file = path.join(tmp.dir, "app-export.tar");
    await containerd.ctr(["images", "export", file, ref]);
    const blobs = await exportedBlobs(file);
    expect(blobs.get(image.manifestDigest)?.equals(image.manifestBytes)).toBe(true);
    for (const [digest, bytes] of image.blobs) expect(blobs.get(digest)?.equals(bytes), digest).toBe(true);
  });

  test("ctr images pull --all-platforms of a two-platform index", async () => {
    const ref = registry.ref("e2e/ctr/multi:latest");
    await containerd.ctr(["images", "pull", "--plain-http", "--all-platforms", ...SNAPSHOTTER, ref]);
    expect((await imageList()).get(ref)).toBe(multi.indexDigest);
    const file = path.join(tmp.dir, "multi-export.tar");
    await containerd.ctr(["images", "export", "--all-platforms", file, ref]);
    const blobs = await exportedBlobs(file);
    expect(blobs.get(multi.indexDigest)?.equals(multi.indexBytes)).toBe(true);
    for (const img of multi.images) {
      expect(blobs.get(img.manifestDigest)?.equals(img.manifestBytes)).toBe(true);
      for (const [digest, bytes] of img.blobs) expect(blobs.get(digest)?.equals(bytes), digest).toBe(true);
    }
  });

  test("ctr images push --plain-http to new repositories keeps digests", async () => {
    const src = registry.ref("e2e/ctr/app:v1");
    const dst = registry.ref("e2e/ctr/pushed:v1");
    await containerd.ctr(["images", "tag", src, dst]);
    await containerd.ctr(["images", "push", "--plain-http", dst]);
    const m = await api.manifest("e2e/ctr/pushed", "v1");
    expect(m.digest).toBe(image.manifestDigest);
    expect(m.bytes.equals(image.manifestBytes)).toBe(true);
    for (const [digest, bytes] of image.blobs) expect((await api.blob("e2e/ctr/pushed", digest)).equals(bytes), digest).toBe(true);

    const msrc = registry.ref("e2e/ctr/multi:latest");
    const mdst = registry.ref("e2e/ctr/multi-pushed:latest");
    await containerd.ctr(["images", "tag", msrc, mdst]);
    await containerd.ctr(["images", "push", "--plain-http", mdst]);
    const idx = await api.manifest("e2e/ctr/multi-pushed", "latest");
    expect(idx.digest).toBe(multi.indexDigest);
    for (const img of multi.images) {
      const child = await api.manifest("e2e/ctr/multi-pushed", img.manifestDigest);
      expect(sha256(child.bytes)).toBe(img.manifestDigest);
      for (const [digest, bytes] of img.blobs) expect((await api.blob("e2e/ctr/multi-pushed", digest)).equals(bytes), digest).toBe(true);
    }
    expect(await api.catalog()).toEqual(expect.arrayContaining(["e2e/ctr/app", "e2e/ctr/multi", "e2e/ctr/multi-pushed", "e2e/ctr/pushed"]));
  });
});
