// Restarting the registry process (same DATA_DIR): an upload session half-way through resumes
// at the same offset, and images pushed before the restart still pull.
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
const data = randomBytes(TOTAL);
const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
const repo = "e2e/restart/blob";
let location: string;

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

describe.sequential("registry restart", () => {
  test("start a chunked upload: POST, PATCH the first 6 MiB", async () => {
    const post = await api.expect(202, "POST", `/v2/${repo}/blobs/uploads/`);
    const loc = post.headers.get("location");
    expect(loc).toBeTruthy();
    location = new URL(loc!, registry.url).toString();
    const patch = await api.expect(202, "PATCH", location, {
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `0-${FIRST - 1}`, "Content-Length": String(FIRST) },
      body: data.subarray(0, FIRST),
    });
    expect(patch.headers.get("range")).toBe(`0-${FIRST - 1}`);
    location = new URL(patch.headers.get("location") ?? location, registry.url).toString();
  });

  test("restart the registry process (same DATA_DIR)", async () => {
    const started = Date.now();
    await registry.restart();
    console.log(`registry restart took ${Date.now() - started} ms`);
    await api.expect(200, "GET", "/v2/");
  });

  test("GET the upload session: same offset; PATCH the rest; PUT the digest; blob matches", async () => {
    const status = await api.expect(204, "GET", location);
    expect(status.headers.get("range")).toBe(`0-${FIRST - 1}`);
    const loc = new URL(status.headers.get("location") ?? location, registry.url).toString();

    const patch = await api.expect(202, "PATCH", loc, {
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `${FIRST}-${TOTAL - 1}`, "Content-Length": String(TOTAL - FIRST) },
      body: data.subarray(FIRST),
    });
    expect(patch.headers.get("range")).toBe(`0-${TOTAL - 1}`);

    const put = new URL(patch.headers.get("location") ?? loc, registry.url);
    put.searchParams.set("digest", digest);
    const done = await api.expect(201, "PUT", put.toString(), { headers: { "Content-Length": "0" } });
    expect(done.headers.get("docker-content-digest")).toBe(digest);

    const head = await api.expect(200, "HEAD", `/v2/${repo}/blobs/${digest}`);
    expect(head.headers.get("content-length")).toBe(String(TOTAL));
    const blob = await api.blob(repo, digest);
    expect(blob.length).toBe(TOTAL);
    expect(sha256(blob)).toBe(digest);
    expect(blob.equals(data)).toBe(true);
    // the finished session is gone
    expect((await api.request("GET", loc)).status).toBe(404);
  });

  test("an image pushed before the restart still pulls, byte for byte", async () => {
    const out = path.join(tmp.dir, "out");
    await tools.skopeo(["copy", "--src-tls-verify=false", `docker://${registry.ref("e2e/restart/app:v1")}`, `dir:${out}`]);
    expect((await readFile(path.join(out, "manifest.json"))).equals(image.manifestBytes)).toBe(true);
    for (const [d, bytes] of image.blobs) expect((await readFile(path.join(out, d.slice(7)))).equals(bytes), d).toBe(true);
    expect(await api.tags("e2e/restart/app")).toEqual(["v1"]);
    expect(await api.catalog()).toEqual(expect.arrayContaining(["e2e/restart/app", repo]));
  });

  test("and everything survives a second restart", async () => {
    await registry.restart();
    expect(sha256(await api.blob(repo, digest))).toBe(digest);
    expect((await api.manifest("e2e/restart/app", "v1")).bytes.equals(image.manifestBytes)).toBe(true);
  });
});
