// Not in CI: how long a manifest PUT takes to be accepted or refused when it lists many
// references, and how long a concurrent `GET /v2/` waits meanwhile (the reference check must be
// linear, bounded and never hold up other requests). Prints a table for BENCHMARKS.md.
//   node scripts/bench-manifest-refs.mjs                    starts scripts/serve.mjs of this checkout
//   node scripts/bench-manifest-refs.mjs --root <checkout>  starts that checkout's serve.mjs (e.g. an older commit)
//   node scripts/bench-manifest-refs.mjs --url http://127.0.0.1:5000   measures a running registry
//   --timeout <s>  gives up on one PUT after this long (default 300)
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort } from "./lib/free-port.mjs";
import { startServe, stopProcess, waitForAnswer } from "./lib/servers.mjs";

const { values: args } = parseArgs({
  options: {
    root: { type: "string" },
    url: { type: "string" },
    timeout: { type: "string", default: "300" },
  },
});
const root = path.resolve(args.root ?? path.join(path.dirname(fileURLToPath(import.meta.url)), ".."));
const timeoutMs = Number(args.timeout) * 1000;
const MiB = 1024 * 1024;
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const sha = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const json = (doc) => Buffer.from(JSON.stringify(doc));

async function startRegistry() {
  const work = mkdtempSync(path.join(tmpdir(), "bench-refs-"));
  const port = await freePort();
  const child = await startServe(root, { PORT: String(port), DATA_DIR: path.join(work, "data"), VARS_FILE: "/dev/null" });
  const url = `http://127.0.0.1:${port}`;
  await waitForAnswer(`${url}/v2/`, { intervalMs: 200, child });
  const stop = async () => {
    await stopProcess(child);
    rmSync(work, { recursive: true, force: true });
  };
  return { url, stop };
}

const registry = args.url ? { url: args.url.replace(/\/$/, ""), stop: async () => {} } : await startRegistry();
const base = registry.url;
const repo = `bench/refs-${randomBytes(4).toString("hex")}`;

async function pushBlob(bytes) {
  const digest = sha(bytes);
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: "POST", body: bytes });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`blob push: ${res.status}`);
  return { mediaType: "application/octet-stream", digest, size: bytes.length };
}

async function putManifest(reference, body, mediaType, signal) {
  const res = await fetch(`${base}/v2/${repo}/manifests/${reference}`, { method: "PUT", body, headers: { "Content-Type": mediaType }, signal });
  const text = await res.text();
  return { status: res.status, code: res.status >= 400 ? (JSON.parse(text || "{}").errors?.[0]?.code ?? text.slice(0, 60)) : "" };
}

/** Times one PUT while a second client sends `GET /v2/` back to back; returns both. */
async function measure(label, body, mediaType) {
  const latencies = [];
  let running = true;
  const prober = (async () => {
    while (running) {
      const t = performance.now();
      await fetch(`${base}/v2/`).then((r) => r.arrayBuffer(), () => {});
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const started = performance.now();
  let answer;
  try {
    answer = await putManifest("bench", body, mediaType, AbortSignal.timeout(timeoutMs));
  } catch (err) {
    answer = { status: "-", code: err.name === "TimeoutError" ? `no answer in ${timeoutMs / 1000} s` : err.message };
  }
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await prober;
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length / 2)] ?? 0;
  const max = latencies.at(-1) ?? 0;
  const row = { label, mib: body.length / MiB, status: answer.status, code: answer.code, seconds, probes: latencies.length, p50, max };
  console.error(`${label}: ${answer.status} ${answer.code} in ${seconds.toFixed(2)} s; GET /v2/ p50 ${p50.toFixed(0)} ms, max ${max.toFixed(0)} ms`);
  return row;
}

const randomChild = () => ({ mediaType: OCI_MANIFEST, digest: sha(randomBytes(32)), size: 500, platform: { os: "linux", architecture: "amd64" } });

/** Pads a manifest with one annotation until its JSON is `bytes` long. */
function padTo(doc, bytes) {
  const without = json({ ...doc, annotations: { pad: "" } }).length;
  return json({ ...doc, annotations: { pad: "x".repeat(Math.max(0, bytes - without)) } });
}

/** `GET /v2/` latency with nothing else going on, for comparison (connections warmed first). */
async function baseline() {
  const latencies = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await fetch(`${base}/v2/`).then((r) => r.arrayBuffer());
    if (i >= 10) latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  return { p50: latencies[20], max: latencies.at(-1) };
}

const rows = [];
let idle;
try {
  idle = await baseline();
  // Children that exist: one config and one layer, and 1,000 small manifests using them.
  const config = await pushBlob(json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const layer = await pushBlob(randomBytes(1024));
  const present = [];
  const t = performance.now();
  for (let at = 0; at < 1000; at += 8) {
    await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const body = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, mediaType: "application/vnd.oci.image.config.v1+json" }, layers: [{ ...layer, mediaType: "application/vnd.oci.image.layer.v1.tar" }], annotations: { n: String(at + i) } });
      const res = await putManifest(sha(body), body, OCI_MANIFEST);
      if (res.status !== 201) throw new Error(`child manifest: ${res.status} ${res.code}`);
      present.push({ mediaType: OCI_MANIFEST, digest: sha(body), size: body.length });
    }));
  }
  console.error(`pushed ${present.length} child manifests in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const index = (manifests) => ({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
  const image = (layers) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, mediaType: "application/vnd.oci.image.config.v1+json" }, layers });

  rows.push(await measure("image, 1 layer (for comparison)", json(image([{ ...layer, mediaType: "application/vnd.oci.image.layer.v1.tar" }])), OCI_MANIFEST));
  const missing15k = Array.from({ length: 15_000 }, randomChild);
  rows.push(await measure("index, 15,000 missing children", json(index(missing15k)), OCI_INDEX));
  const missing4MiB = [];
  while (json(index(missing4MiB)).length < 4 * MiB - 200) missing4MiB.push(randomChild());
  missing4MiB.pop();
  rows.push(await measure(`index, ${missing4MiB.length.toLocaleString("en")} missing children (4 MiB)`, json(index(missing4MiB)), OCI_INDEX));
  rows.push(await measure("index, 1,000 missing children", json(index(missing15k.slice(0, 1000))), OCI_INDEX));
  rows.push(await measure("index, 999 present children + 1 missing (sorts last)", json(index([...present.slice(0, 999), { ...randomChild(), digest: `sha256:${"f".repeat(64)}` }])), OCI_INDEX));
  rows.push(await measure("index, 1,000 present children", json(index(present)), OCI_INDEX));
  rows.push(await measure("index, 1,000 present children, padded to 4 MiB", padTo(index(present), 4 * MiB), OCI_INDEX));
  rows.push(await measure("image, 1,000 layers (one blob repeated), padded to 4 MiB", padTo(image(Array.from({ length: 1000 }, () => ({ ...layer, mediaType: "application/vnd.oci.image.layer.v1.tar" }))), 4 * MiB), OCI_MANIFEST));
} finally {
  await registry.stop();
}

console.log(`\n\`GET /v2/\` alone: p50 ${idle.p50.toFixed(1)} ms, max ${idle.max.toFixed(1)} ms (40 requests)`);
console.log("\n| manifest | size | answer | time | concurrent `GET /v2/` p50 / max |");
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(`| ${r.label} | ${r.mib.toFixed(2)} MiB | ${r.status} ${r.code} | ${r.seconds.toFixed(2)} s | ${r.p50.toFixed(0)} / ${r.max.toFixed(0)} ms (${r.probes} probes) |`);
}
