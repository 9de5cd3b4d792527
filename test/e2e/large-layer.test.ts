// A 1 GiB random layer (generated to disk, sha256 computed while writing, never held in memory)
// pushed with skopeo — one streaming PATCH of the whole blob — then read back through the API and
// with skopeo, digests checked. Set E2E_LARGE_MIB to change the size (default 1024).
import { stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, type ContainersTools } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { sha256File, writeLargeLayerLayout, type BuiltImage, type BuiltLayer } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";

const MiB = 1024 * 1024;
const SIZE = Number(process.env.E2E_LARGE_MIB ?? 1024) * MiB;
const repo = "e2e/large/app";

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let tools: ContainersTools;
let api: RegistryApi;
let layout: string;
let image: BuiltImage;
let layer: BuiltLayer;
const timings: Record<string, string> = {};

function timed<T>(label: string, bytes: number, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  return fn().then((v) => {
    const s = (Date.now() - started) / 1000;
    timings[label] = `${s.toFixed(1)} s (${(bytes / MiB / s).toFixed(0)} MiB/s)`;
    console.log(`[large-layer] ${label}: ${timings[label]}`);
    return v;
  });
}

beforeAll(async () => {
  requireRoot();
  requireBinaries("skopeo");
  tmp = makeTempDir("large");
  registry = await startRegistry({ workDir: tmp.dir });
  tools = await containersTools(tmp.dir, [registry.host]);
  api = new RegistryApi(registry.url);
  layout = path.join(tmp.dir, "layout");
});

afterAll(async () => {
  console.log(`[large-layer] timings for ${SIZE / MiB} MiB: ${JSON.stringify(timings, null, 2)}`);
  await registry?.stop();
  await tmp?.cleanup();
});

describe.sequential(`large layer (${SIZE / MiB} MiB)`, () => {
  test("generate the layer on disk", async () => {
    ({ image, layer } = await timed("generate + hash", SIZE, () => writeLargeLayerLayout(layout, "big", SIZE)));
    expect((await stat(layer.file!)).size).toBe(layer.size);
    expect(layer.size).toBeGreaterThan(SIZE);
  });

  test("skopeo copy to the registry (single streaming PATCH)", async () => {
    const res = await timed("push (skopeo)", layer.size, () =>
      tools.skopeo(["--debug", "copy", "--dest-tls-verify=false", `oci:${layout}:big`, `docker://${registry.ref(`${repo}:v1`)}`], { timeoutMs: 12 * 60_000 }),
    );
    // the layer went up as POST + one PATCH + PUT
    const uploads = res.stderr.split("\n").filter((l) => /msg="(PATCH|PUT) http:\/\/.*\/blobs\/uploads\//.test(l));
    expect(uploads.filter((l) => l.includes("PUT") && l.includes(encodeURIComponent(layer.digest)))).toHaveLength(1);
    const m = await api.manifest(repo, "v1");
    expect(m.digest).toBe(image.manifestDigest);
    expect(m.json.layers[0].digest).toBe(layer.digest);
    expect(m.json.layers[0].size).toBe(layer.size);
  });

  test("HEAD and a streamed GET of the blob give its size and digest", async () => {
    const head = await api.expect(200, "HEAD", `/v2/${repo}/blobs/${layer.digest}`);
    expect(head.headers.get("content-length")).toBe(String(layer.size));
    expect(head.headers.get("docker-content-digest")).toBe(layer.digest);
    const got = await timed("GET blob (fetch, hashed)", layer.size, () => api.blobDigest(repo, layer.digest));
    expect(got.size).toBe(layer.size);
    expect(got.digest).toBe(layer.digest);
  });

  test("skopeo copy back to a dir: the layer file has the same digest", async () => {
    const out = path.join(tmp.dir, "out");
    await timed("pull (skopeo → dir)", layer.size, () =>
      tools.skopeo(["copy", "--src-tls-verify=false", `docker://${registry.ref(`${repo}:v1`)}`, `dir:${out}`], { timeoutMs: 12 * 60_000 }),
    );
    const file = path.join(out, layer.digest.slice(7));
    expect((await stat(file)).size).toBe(layer.size);
    expect(await timed("hash pulled file", layer.size, () => sha256File(file))).toBe(layer.digest);
  });
});
