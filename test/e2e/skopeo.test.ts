// skopeo: OCI layout → registry, inspect, list-tags, registry → registry across repositories
// (blob mount), registry → dir/oci layout, and a two-platform index with --all.
import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, type ContainersTools } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { MT, buildIndex, layerFiles, sampleImage, writeOciLayout, type BuiltImage, type BuiltIndex } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let tools: ContainersTools;
let api: RegistryApi;
let image: BuiltImage;
let multi: BuiltIndex;
let layout: string;

const TLS = ["--src-tls-verify=false", "--dest-tls-verify=false"];
const hex = (d: string) => d.slice("sha256:".length);

beforeAll(async () => {
  requireRoot();
  requireBinaries("skopeo");
  tmp = makeTempDir("skopeo");
  registry = await startRegistry({ workDir: tmp.dir });
  tools = await containersTools(tmp.dir, [registry.host]);
  api = new RegistryApi(registry.url);
  image = sampleImage("skopeo");
  multi = buildIndex([
    sampleImage("multi", { architecture: "amd64", os: "linux" }),
    sampleImage("multi", { architecture: "arm64", os: "linux", variant: "v8" }),
  ]);
  layout = path.join(tmp.dir, "layout");
  await writeOciLayout(layout, [
    { ref: "v1", image },
    { ref: "multi", index: multi },
  ]);
});

afterAll(async () => {
  await registry?.stop();
  await tmp?.cleanup();
});

describe.sequential("skopeo", () => {
  test("copy oci:<layout>:v1 → registry keeps manifest and blobs byte for byte", async () => {
    await tools.skopeo(["copy", ...TLS, `oci:${layout}:v1`, `docker://${registry.ref("e2e/skopeo/app:v1")}`]);
    const m = await api.manifest("e2e/skopeo/app", "v1");
    expect(m.digest).toBe(image.manifestDigest);
    expect(m.mediaType).toBe(MT.ociManifest);
    expect(m.bytes.equals(image.manifestBytes)).toBe(true);
    for (const [digest, bytes] of image.blobs) {
      const got = await api.blob("e2e/skopeo/app", digest);
      expect(got.length, digest).toBe(bytes.length);
      expect(createHash("sha256").update(got).digest("hex"), digest).toBe(hex(digest));
    }
    // the manifest is also addressable by digest
    expect((await api.manifest("e2e/skopeo/app", image.manifestDigest)).bytes.equals(image.manifestBytes)).toBe(true);
  });

  test("skopeo inspect reports the pushed digest, layers, platform and labels", async () => {
    const ref = `docker://${registry.ref("e2e/skopeo/app:v1")}`;
    const info = JSON.parse((await tools.skopeo(["inspect", "--tls-verify=false", ref])).stdout);
    expect(info.Digest).toBe(image.manifestDigest);
    expect(info.Layers).toEqual(image.layers.map((l) => l.digest));
    expect(info.Architecture).toBe(image.platform.architecture);
    expect(info.Os).toBe("linux");
    expect(info.Labels["org.example.e2e.name"]).toBe("skopeo");
    const raw = (await tools.skopeo(["inspect", "--tls-verify=false", "--raw", ref])).stdout;
    expect(raw).toBe(image.manifestBytes.toString("utf8"));
    const rawConfig = (await tools.skopeo(["inspect", "--tls-verify=false", "--config", "--raw", ref])).stdout;
    expect(rawConfig).toBe(image.configBytes.toString("utf8"));
  });

  test("second tag; skopeo list-tags and /tags/list agree", async () => {
    await tools.skopeo(["copy", ...TLS, `oci:${layout}:v1`, `docker://${registry.ref("e2e/skopeo/app:v2")}`]);
    const out = JSON.parse((await tools.skopeo(["list-tags", "--tls-verify=false", `docker://${registry.ref("e2e/skopeo/app")}`])).stdout);
    expect(out.Repository).toBe(registry.ref("e2e/skopeo/app"));
    expect([...out.Tags].sort()).toEqual(["v1", "v2"]);
    expect(await api.tags("e2e/skopeo/app")).toEqual(["v1", "v2"]);
    expect((await api.manifest("e2e/skopeo/app", "v2")).digest).toBe(image.manifestDigest);
  });

  test("copy between two repositories on the registry mounts the blobs", async () => {
    const res = await tools.skopeo([
      "--debug",
      "copy",
      ...TLS,
      `docker://${registry.ref("e2e/skopeo/app:v1")}`,
      `docker://${registry.ref("e2e/skopeo/mirror:v1")}`,
    ]);
    const m = await api.manifest("e2e/skopeo/mirror", "v1");
    expect(m.digest).toBe(image.manifestDigest);
    for (const [digest, bytes] of image.blobs) {
      expect((await api.blob("e2e/skopeo/mirror", digest)).equals(bytes), digest).toBe(true);
    }
    // containers/image asks for a cross-repository mount (POST …/blobs/uploads/?from=…&mount=…)
    // for every layer it knows is in the source repository; the registry must answer 201 to each
    // ("mount OK"), so no layer bytes are sent again. (The config is not mounted: it is re-uploaded.)
    const log = res.stderr.replace(/\\"/g, '"');
    const context = `skopeo --debug output:\n${log.slice(-8000)}`;
    for (const layer of image.layers) {
      const d = encodeURIComponent(layer.digest);
      expect(log, `no mount of ${layer.digest}; ${context}`).toContain(`POST ${registry.url}/v2/e2e/skopeo/mirror/blobs/uploads/?from=e2e%2Fskopeo%2Fapp&mount=${d}`);
    }
    expect(log.match(/\.\.\. mount OK/g)?.length ?? 0, context).toBeGreaterThanOrEqual(image.layers.length);
    for (const layer of image.layers) expect(log, context).toContain(`Skipping blob ${layer.digest} (already present)`);
    expect(log, context).not.toMatch(/mount failed|Error mounting/i);
  });

  test("copy registry → dir: blobs and manifest come back identical", async () => {
    const out = path.join(tmp.dir, "out-dir");
    await tools.skopeo(["copy", ...TLS, `docker://${registry.ref("e2e/skopeo/mirror:v1")}`, `dir:${out}`]);
    const manifest = await readFile(path.join(out, "manifest.json"));
    expect(manifest.equals(image.manifestBytes)).toBe(true);
    for (const [digest, bytes] of image.blobs) {
      const file = await readFile(path.join(out, hex(digest)));
      expect(createHash("sha256").update(file).digest("hex")).toBe(hex(digest));
      expect(file.equals(bytes)).toBe(true);
    }
    const files = layerFiles(await readFile(path.join(out, hex(image.layers[1]!.digest))));
    expect(files.get("app/hello.txt")?.toString()).toMatch(/^hello from skopeo/);
    expect(files.get("app/data.bin")?.equals(image.layers[1]!.files.get("app/data.bin")!)).toBe(true);
  });

  test("multi-arch index: copy --all, inspect per platform, copy back --all", async () => {
    const target = `docker://${registry.ref("e2e/skopeo/multi:latest")}`;
    await tools.skopeo(["copy", "--all", ...TLS, `oci:${layout}:multi`, target]);

    const idx = await api.manifest("e2e/skopeo/multi", "latest");
    expect(idx.digest).toBe(multi.indexDigest);
    expect(idx.mediaType).toBe(MT.ociIndex);
    expect(idx.bytes.equals(multi.indexBytes)).toBe(true);
    for (const img of multi.images) {
      const child = await api.manifest("e2e/skopeo/multi", img.manifestDigest);
      expect(child.bytes.equals(img.manifestBytes)).toBe(true);
      for (const [digest, bytes] of img.blobs) expect((await api.blob("e2e/skopeo/multi", digest)).equals(bytes), digest).toBe(true);
    }

    expect((await tools.skopeo(["inspect", "--tls-verify=false", "--raw", target])).stdout).toBe(multi.indexBytes.toString("utf8"));
    for (const img of multi.images) {
      const info = JSON.parse(
        (await tools.skopeo(["--override-arch", img.platform.architecture, "--override-os", "linux", ...(img.platform.variant ? ["--override-variant", img.platform.variant] : []), "inspect", "--tls-verify=false", target])).stdout,
      );
      // (skopeo reports the index digest as Digest; the layers identify the platform's manifest)
      expect(info.Digest).toBe(multi.indexDigest);
      expect(info.Architecture).toBe(img.platform.architecture);
      expect(info.Layers).toEqual(img.layers.map((l) => l.digest));
    }

    const back = path.join(tmp.dir, "out-multi");
    await tools.skopeo(["copy", "--all", ...TLS, target, `oci:${back}:copy`]);
    const index = JSON.parse(await readFile(path.join(back, "index.json"), "utf8"));
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual([multi.indexDigest]);
    const stored = new Set(await readdir(path.join(back, "blobs", "sha256")));
    const expected = [multi.indexDigest, ...multi.images.flatMap((i) => [i.manifestDigest, ...i.blobs.keys()])].map(hex);
    for (const h of expected) {
      expect(stored.has(h), h).toBe(true);
      const file = await readFile(path.join(back, "blobs", "sha256", h));
      expect(createHash("sha256").update(file).digest("hex")).toBe(h);
    }
  });
});
