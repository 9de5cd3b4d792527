// Restarting the registry process (same DATA_DIR): an upload session half-way through resumes
// at the same offset — after a graceful stop and after a SIGKILL — and images pushed before the
// restart still pull.
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, type ContainersTools } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { sampleImage, writeOciLayout, type BuiltImage } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";
import { sha256 } from "./harness/tar";

const MiB = 1024 * 1024;
const FIRST = 6 * MiB;
const TOTAL = 11 * MiB + 12345;

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let tools: ContainersTools;
let api: RegistryApi;
let image: BuiltImage;

beforeAll(async () => {
  requireRoot();
  requireBinaries("skopeo");
  tmp = makeTempDir("restart");
  registry = await startRegistry({ workDir: tmp.dir });
  tools = await containersTools(tmp.dir, [registry.host]);
  api = new RegistryApi(registry.url);
  image = sampleImage("restart");
  const layout = path.join(tmp.dir, "layout");
  await writeOciLayout(layout, [{ ref: "v1", image }]);
  await tools.skopeo(["copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${registry.ref("e2e/restart/app:v1")}`]);
});

afterAll(async () => {
  await registry?.stop();
  await tmp?.cleanup();
});

/** POST + PATCH of the first FIRST bytes, checked; returns the session URL. */
async function startUpload(repo: string, data: Buffer): Promise<string> {
  const post = await api.expect(202, "POST", `/v2/${repo}/blobs/uploads/`);
  const loc = post.headers.get("location");
  expect(loc, "POST …/blobs/uploads/ without Location").toBeTruthy();
  const url = new URL(loc!, registry.url).toString();
  const patch = await api.expect(202, "PATCH", url, {
    headers: { "Content-Type": "application/octet-stream", "Content-Range": `0-${FIRST - 1}`, "Content-Length": String(FIRST) },
    body: data.subarray(0, FIRST),
  });
  expect(patch.headers.get("range")).toBe(`0-${FIRST - 1}`);
  return new URL(patch.headers.get("location") ?? url, registry.url).toString();
}

/** GET the session (same offset), PATCH the rest, PUT the digest, GET the blob back. */
async function finishUpload(repo: string, location: string, data: Buffer): Promise<void> {
  const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
  const status = await api.expect(204, "GET", location);
  expect(status.headers.get("range"), "upload offset after the restart").toBe(`0-${FIRST - 1}`);
  const loc = new URL(status.headers.get("location") ?? location, registry.url).toString();

  const patch = await api.expect(202, "PATCH", loc, {
    headers: { "Content-Type": "application/octet-stream", "Content-Range": `${FIRST}-${data.length - 1}`, "Content-Length": String(data.length - FIRST) },
    body: data.subarray(FIRST),
  });
  expect(patch.headers.get("range")).toBe(`0-${data.length - 1}`);

  const put = new URL(patch.headers.get("location") ?? loc, registry.url);
  put.searchParams.set("digest", digest);
  const done = await api.expect(201, "PUT", put.toString(), { headers: { "Content-Length": "0" } });
  expect(done.headers.get("docker-content-digest")).toBe(digest);

  const head = await api.expect(200, "HEAD", `/v2/${repo}/blobs/${digest}`);
  expect(head.headers.get("content-length")).toBe(String(data.length));
  const blob = await api.blob(repo, digest);
  expect(sha256(blob)).toBe(digest);
  expect(blob.equals(data)).toBe(true);
  // the finished session is gone
  expect((await api.request("GET", loc)).status).toBe(404);
}

describe.sequential("registry restart", () => {
  test("graceful restart (SIGTERM) in the middle of a chunked upload", async () => {
    const data = randomBytes(TOTAL);
    const location = await startUpload("e2e/restart/graceful", data);
    const started = Date.now();
    await registry.restart();
    console.log(`[restart] graceful restart took ${Date.now() - started} ms`);
    await finishUpload("e2e/restart/graceful", location, data);
  });

  test("an image pushed before the restart still pulls, byte for byte", async () => {
    const out = path.join(tmp.dir, "out");
    await tools.skopeo(["copy", "--src-tls-verify=false", `docker://${registry.ref("e2e/restart/app:v1")}`, `dir:${out}`]);
    expect((await readFile(path.join(out, "manifest.json"))).equals(image.manifestBytes)).toBe(true);
    for (const [d, bytes] of image.blobs) expect((await readFile(path.join(out, d.slice(7)))).equals(bytes), d).toBe(true);
    expect(await api.tags("e2e/restart/app")).toEqual(["v1"]);
  });

  test("crash (SIGKILL) in the middle of a chunked upload: the acknowledged bytes survive", async () => {
    const data = randomBytes(TOTAL);
    const location = await startUpload("e2e/restart/crash", data);
    const started = Date.now();
    await registry.restart({ kill: true });
    console.log(`[restart] SIGKILL + start took ${Date.now() - started} ms`);
    await finishUpload("e2e/restart/crash", location, data);
  });

  test("everything is still there after the crash", async () => {
    expect((await api.manifest("e2e/restart/app", "v1")).bytes.equals(image.manifestBytes)).toBe(true);
    for (const [d, bytes] of image.blobs) expect((await api.blob("e2e/restart/app", d)).equals(bytes), d).toBe(true);
    expect(await api.catalog()).toEqual(expect.arrayContaining(["e2e/restart/app", "e2e/restart/crash", "e2e/restart/graceful"]));
  });
});
