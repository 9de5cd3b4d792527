// A 1 GiB random layer (generated to disk, sha256 computed while writing, never held in memory)
// pushed with skopeo — one streaming PATCH of the whole blob — then read back through the API and
// with skopeo, digests checked; then the same layer through docker (load, push with its own gzip
// stream, rmi, pull). Set E2E_LARGE_MIB to change the size (default 1024).
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, startDockerd, type ContainersTools, type Docker } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { sha256File, writeDockerArchive, writeLargeLayerLayout, type BuiltImage, type BuiltLayer } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";

const MiB = 1024 * 1024;
const SIZE = Number(process.env.E2E_LARGE_MIB ?? 1024) * MiB;
const repo = "e2e/large/app";

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let tools: ContainersTools;
let docker: Docker | undefined;
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
  requireBinaries("skopeo", "docker", "dockerd");
  tmp = makeTempDir("large");
  registry = await startRegistry({ workDir: tmp.dir });
  tools = await containersTools(tmp.dir, [registry.host]);
  api = new RegistryApi(registry.url);
  layout = path.join(tmp.dir, "layout");
});

afterAll(async () => {
  console.log(`[large-layer] timings for ${SIZE / MiB} MiB: ${JSON.stringify(timings, null, 2)}`);
  await docker?.stop();
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
      // --preserve-digests: push the uncompressed layer as is (skopeo would otherwise gzip it,
      // which on two cores takes longer than the upload and changes the digest)
      tools.skopeo(["--debug", "copy", "--preserve-digests", "--dest-tls-verify=false", `oci:${layout}:big`, `docker://${registry.ref(`${repo}:v1`)}`], { timeoutMs: 12 * 60_000 }),
    );
    // the layer went up as POST + one PATCH + PUT
    const log = res.stderr.split("\n");
    const put = log.findIndex((l) => /msg="PUT http:\/\/.*\/blobs\/uploads\//.test(l) && l.includes(encodeURIComponent(layer.digest)));
    expect(put, `no PUT …?digest=${layer.digest} in skopeo --debug output:\n${res.stderr.slice(-6000)}`).toBeGreaterThan(0);
    expect(log[put - 1], "the PUT should follow a single PATCH").toMatch(/msg="PATCH http:\/\/.*\/blobs\/uploads\//);
    expect(log[put - 2], "…which follows the POST").toMatch(/msg="POST http:\/\/.*\/blobs\/uploads\/"/);
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
    await rm(out, { recursive: true });
  });
});

describe.sequential(`large layer through docker (${SIZE / MiB} MiB)`, () => {
  const ref = () => registry.ref("e2e/large/docker:v1");
  let pushed: string;

  test("docker load of a docker-archive holding the layer", async () => {
    expect(layer?.file, "the layer was not generated").toBeTruthy();
    docker = await startDockerd(tmp.dir, [registry.host]);
    const archive = path.join(tmp.dir, "large.tar");
    await timed("write docker-archive", layer.size, () => writeDockerArchive(archive, image, [ref()]));
    await timed("docker load", layer.size, () => docker!.docker(["load", "-i", archive], { timeoutMs: 10 * 60_000 }));
    await rm(archive);
    const [info] = JSON.parse((await docker.docker(["image", "inspect", ref()])).stdout);
    expect(info.Id).toBe(image.configDigest);
    expect(info.RootFS.Layers).toEqual([layer.diffId]);
  });

  test("docker push (docker gzips the layer on the fly while uploading it)", async () => {
    const res = await timed("docker push", layer.size, () => docker!.docker(["push", ref()], { timeoutMs: 12 * 60_000 }));
    const m = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(res.stdout);
    expect(m, res.stdout).toBeTruthy();
    pushed = m![1]!;
    const manifest = await api.manifest("e2e/large/docker", "v1");
    expect(manifest.digest).toBe(pushed);
    expect(manifest.json.config.digest).toBe(image.configDigest);
    expect(manifest.json.layers).toHaveLength(1);
    const head = await api.expect(200, "HEAD", `/v2/e2e/large/docker/blobs/${manifest.json.layers[0].digest}`);
    expect(head.headers.get("content-length")).toBe(String(manifest.json.layers[0].size));
    // docker gzips on the fly: random data does not shrink
    expect(manifest.json.layers[0].size).toBeGreaterThan(layer.size);
  });

  test("docker rmi + pull: same image ID and diff ID (docker verifies both while pulling)", async () => {
    await docker!.docker(["rmi", ref()]);
    expect((await docker!.docker(["images", "-q"])).stdout.trim()).toBe("");
    const res = await timed("docker pull", layer.size, () => docker!.docker(["pull", ref()], { timeoutMs: 12 * 60_000 }));
    expect(res.stdout).toContain(`Digest: ${pushed}`);
    const [info] = JSON.parse((await docker!.docker(["image", "inspect", ref()])).stdout);
    expect(info.Id).toBe(image.configDigest);
    expect(info.RootFS.Layers).toEqual([layer.diffId]);
  });
});
