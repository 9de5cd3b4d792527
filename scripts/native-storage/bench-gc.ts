// Garbage collection benchmark (BENCHMARKS.md "Garbage collection"): the same store on both
// registries (R repositories of I images, each a config and two small layers; half the manifests
// deleted by digest), then one collection timed: ours through createNativeRegistry on Node (the
// store made two days old, default 24 h grace), the reference registry's `garbage-collect`
// (Debian's docker-registry, filesystem storage, run offline as it requires).
//
//   node scripts/run-ts.mjs scripts/native-storage/bench-gc.ts [--repositories 20] [--images 25]
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createNativeRegistry } from "../../src/runtimes/native/registry";
import { freePort } from "../lib/free-port.mjs";
import { stopProcess, waitForAnswer, writeReferenceConfig } from "../lib/servers.mjs";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const REPOSITORIES = arg("repositories", 20);
const IMAGES = arg("images", 25);
const OCI = "application/vnd.oci.image.manifest.v1+json";
const digest = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const utf8 = (s: string) => new TextEncoder().encode(s);

interface Image {
  repo: string;
  blobs: Uint8Array[];
  manifest: Uint8Array;
  deleted: boolean;
}

function makeImages(): Image[] {
  const images: Image[] = [];
  for (let r = 0; r < REPOSITORIES; r++) {
    for (let i = 0; i < IMAGES; i++) {
      const config = utf8(JSON.stringify({ architecture: "amd64", os: "linux", n: `${r}-${i}` }));
      const layers = [randomBytes(4096), randomBytes(4096)].map((b) => new Uint8Array(b));
      const d = (b: Uint8Array, mediaType: string) => ({ mediaType, digest: digest(b), size: b.length });
      const manifest = utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI,
        config: d(config, "application/vnd.oci.image.config.v1+json"),
        layers: layers.map((l) => d(l, "application/vnd.oci.image.layer.v1.tar")),
      }));
      images.push({ repo: `bench/r${r}`, blobs: [config, ...layers], manifest, deleted: i % 2 === 1 });
    }
  }
  return images;
}

type Fetch = (request: Request) => Promise<Response>;

async function load(fetchIt: Fetch, base: string, images: Image[]): Promise<void> {
  const ok = async (res: Response, what: string) => {
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${text.slice(0, 500)}`);
  };
  for (const image of images) {
    for (const blob of image.blobs) {
      // POST, then PUT with the bytes: the upload both registries take (the reference ignores a monolithic POST body).
      const started = await fetchIt(new Request(`${base}/v2/${image.repo}/blobs/uploads/`, { method: "POST" }));
      await ok(started, "start upload");
      const location = new URL(started.headers.get("Location")!, base);
      location.searchParams.set("digest", digest(blob));
      await ok(await fetchIt(new Request(location, { method: "PUT", body: blob, headers: { "Content-Type": "application/octet-stream" } })), "blob");
    }
    await ok(await fetchIt(new Request(`${base}/v2/${image.repo}/manifests/${digest(image.manifest)}`, { method: "PUT", body: image.manifest, headers: { "Content-Type": OCI } })), "manifest");
  }
  for (const image of images.filter((i) => i.deleted)) {
    await ok(await fetchIt(new Request(`${base}/v2/${image.repo}/manifests/${digest(image.manifest)}`, { method: "DELETE" })), "delete");
  }
}

function countFiles(dir: string): number {
  let n = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    n += entry.isDirectory() ? countFiles(path.join(dir, entry.name)) : 1;
  }
  return n;
}

function ageAll(dir: string, ms: number): void {
  const when = new Date(Date.now() - ms);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) ageAll(full, ms);
    else fs.utimesSync(full, when, when);
  }
}

async function ours(work: string, images: Image[]) {
  const dataDir = path.join(work, "ours");
  const settings = { AUTH_MODE: "open", GC_INTERVAL_SECONDS: "0" };
  let registry = await createNativeRegistry({ dataDir, settings });
  await load((r) => registry.handle(r), "http://bench", images);
  await registry.close();
  ageAll(path.join(dataDir, "objects"), 2 * 86_400_000);
  const before = countFiles(path.join(dataDir, "objects"));
  registry = await createNativeRegistry({ dataDir, settings });
  const started = performance.now();
  const report = await registry.collectGarbage();
  const seconds = (performance.now() - started) / 1000;
  await registry.close();
  return { seconds, filesBefore: before, filesAfter: countFiles(path.join(dataDir, "objects")), removed: report.removed, bytesFreed: report.bytesFreed };
}

async function reference(work: string, images: Image[]) {
  const root = path.join(work, "reference");
  const port = await freePort();
  const config = path.join(work, "reference.yml");
  writeReferenceConfig(config, { port, rootDirectory: root, accessLog: true });
  const server = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  await waitForAnswer(`${base}/v2/`, { accept: () => true, timeoutMs: 10_000, child: server });
  await load((r) => fetch(r), base, images);
  await stopProcess(server);
  const before = countFiles(root);
  const started = performance.now();
  const gc = spawnSync("/usr/bin/docker-registry", ["garbage-collect", config], { encoding: "utf8" });
  const seconds = (performance.now() - started) / 1000;
  if (gc.status !== 0) throw new Error(`garbage-collect failed: ${gc.stderr.slice(-2000)}`);
  return { seconds, filesBefore: before, filesAfter: countFiles(root) };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "edge-registry-bench-gc-"));
try {
  const images = makeImages();
  const oursResult = await ours(work, images);
  const referenceResult = fs.existsSync("/usr/bin/docker-registry") ? await reference(work, images) : null;
  console.log(JSON.stringify({ repositories: REPOSITORIES, images: images.length, deleted: images.filter((i) => i.deleted).length, ours: oursResult, reference: referenceResult }, null, 2));
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
