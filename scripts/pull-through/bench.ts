// The pull-through cache with a large layer (default 512 MiB): N clients pull it at once through
// a cache whose upstream has it (one upstream fetch expected), then once more from the cache.
// Side by side: this registry (native, Node) and the reference registry (Debian's docker-registry)
// in its proxy mode, both in front of the same upstream (this registry, native, open), which counts
// the blob fetches. Run by scripts/bench-pull-through.mjs (bundled with esbuild, run with Node 22).
import { spawn } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "../lib/free-port.mjs";
import { image, pushImage, sha256, startOurs, tempDir } from "../../test/pull-through/upstreams";

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const sizeMiB = Number(option("size-mib", "512"));
const clients = Number(option("clients", "4"));

interface Round {
  registry: string;
  concurrentSeconds: number;
  upstreamFetches: number;
  allIntact: boolean;
  againSeconds: number;
  /** Resident memory growth of this process (upstream, cache and clients) during the concurrent pulls. */
  rssGrowthMiB?: number;
}

async function pull(url: string): Promise<{ digest: string; bytes: number }> {
  const res = await fetch(url);
  if (res.status !== 200 || !res.body) throw new Error(`${url}: ${res.status}`);
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { digest: `sha256:${hash.digest("hex")}`, bytes };
}

async function round(name: string, base: string, repo: string, digest: string, size: number, fetches: () => number): Promise<Round> {
  const before = fetches();
  const url = `${base}/v2/${repo}/blobs/${digest}`;
  const startRss = process.memoryUsage().rss;
  let peak = startRss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: clients }, () => pull(url)));
  const concurrentSeconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  const again = performance.now();
  const second = await pull(url);
  const againSeconds = (performance.now() - again) / 1000;
  const allIntact = [...results, second].every((r) => r.digest === digest && r.bytes === size);
  return { registry: name, concurrentSeconds, upstreamFetches: fetches() - before, allIntact, againSeconds, ...(name === "edge-registry" ? { rssGrowthMiB: Math.round((peak - startRss) / MiB) } : {}) };
}

const upstream = await startOurs({ AUTH_MODE: "open" });
const layer = new Uint8Array(sizeMiB * MiB);
for (let at = 0; at < layer.length; at += 64 * MiB) randomFillSync(layer, at, Math.min(64 * MiB, layer.length - at));
const digest = sha256(layer);
await pushImage(upstream.url, "library/big", image([layer]), "latest");
const blobFetches = () => upstream.count("GET", new RegExp(`/blobs/${digest}$`));

const cache = await startOurs({ AUTH_MODE: "open", UPSTREAMS: JSON.stringify([{ url: upstream.url, library: true }]) });
const ours = await round("edge-registry", cache.url, "library/big", digest, layer.length, blobFetches);
await cache.close();

// The reference registry as a pull-through cache (proxy.remoteurl) in front of the same upstream.
const dir = tempDir("bench-proxy");
const port = await freePort();
const config = path.join(dir, "config.yml");
writeFileSync(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/storage\nhttp:\n  addr: 127.0.0.1:${port}\nproxy:\n  remoteurl: ${upstream.url}\n`);
const child = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: "ignore" });
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
  } catch {
    // starting
  }
  await new Promise((r) => setTimeout(r, 100));
}
const reference = await round("docker-registry 2.8 (proxy)", `http://127.0.0.1:${port}`, "library/big", digest, layer.length, blobFetches);
child.kill("SIGTERM");
await upstream.close();
console.log(JSON.stringify({ sizeMiB, clients, node: process.version, results: [ours, reference] }));
process.exit(0);
