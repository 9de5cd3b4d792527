#!/usr/bin/env node
// Throughput of the resumable hashers (src/hash/) against WebCrypto, on this machine.
//   node scripts/bench-hash.mjs [MiB=256]            in Node (same V8 as workerd)
//   node scripts/bench-hash.mjs --workerd [MiB=256]  inside workerd, where uploads are hashed
// SHA-256 is measured with both compressions: TypeScript and WebAssembly (src/hash/sha256.wasm).
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const inWorkerd = args.includes("--workerd");
const mib = Number(args.find((a) => !a.startsWith("--")) ?? 256);
const wasmFile = path.join(root, "src/hash/sha256.wasm");
const MiB = 1024 * 1024;

// The benchmark body runs unchanged in Node and in workerd: `run(engine, algorithm, mib)` hashes
// `mib` MiB in 64 KiB updates (about what a request body stream delivers per read).
const BENCH_SOURCE = `
import { createHash } from "./src/hash/resumable-hash";
import { stopUsingSha256Wasm, useSha256Wasm } from "./src/hash/sha256-wasm";
const data = new Uint8Array(64 * 1024 * 1024);
for (let i = 0; i < data.length; i += 997) data[i] = i & 255;
export async function run(wasmModule, engine, algorithm, mib) {
  const total = mib * 1024 * 1024;
  if (engine === "webcrypto") {
    let last;
    for (let done = 0; done < total; done += data.length) {
      last = await crypto.subtle.digest(algorithm === "sha256" ? "SHA-256" : "SHA-512", data);
    }
    return new Uint8Array(last)[0];
  }
  if (engine === "wasm") useSha256Wasm(wasmModule);
  else stopUsingSha256Wasm();
  const hash = createHash(algorithm);
  for (let done = 0; done < total; done += data.length) {
    for (let at = 0; at < data.length; at += 65536) hash.update(data.subarray(at, at + 65536));
  }
  return hash.digestHex();
}
`;

async function bundle(entry) {
  const { outputFiles } = await build({
    stdin: { contents: entry, resolveDir: root, loader: "js" },
    bundle: true,
    format: "esm",
    write: false,
    logLevel: "error",
    external: ["*.wasm"],
  });
  return outputFiles[0].text;
}

const CASES = [
  ["sha256", "typescript"],
  ["sha256", "wasm"],
  ["sha256", "webcrypto"],
  ["sha512", "typescript"],
  ["sha512", "webcrypto"],
];

function report(results) {
  for (const [algorithm, engine, mbps] of results) {
    const label = engine === "webcrypto" ? "WebCrypto one-shot (not resumable)" : `resumable, ${engine}`;
    console.log(`${algorithm} ${label.padEnd(36)} ${mbps.toFixed(0).padStart(5)} MB/s`);
  }
}

async function inNode() {
  const code = await bundle(BENCH_SOURCE);
  const { run } = await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
  const wasmModule = new WebAssembly.Module(readFileSync(wasmFile));
  const results = [];
  for (const [algorithm, engine] of CASES) {
    await run(wasmModule, engine, algorithm, 64); // warm up (JIT tiers)
    const t0 = performance.now();
    await run(wasmModule, engine, algorithm, mib);
    results.push([algorithm, engine, (mib * MiB) / 1e6 / ((performance.now() - t0) / 1000)]);
  }
  console.log(`in Node ${process.version} (${mib} MiB each):`);
  report(results);
}

/**
 * workerd's clock does not advance during synchronous work, so each run is one request timed
 * from Node, less the time of an empty request.
 */
async function inWorkerdRuntime() {
  const { Miniflare } = await import("miniflare");
  const worker = `${await bundle(BENCH_SOURCE)}
import wasmModule from "./sha256.wasm";
export default {
  async fetch(request) {
    const u = new URL(request.url);
    if (u.pathname === "/noop") return new Response("ok");
    const out = await run(wasmModule, u.searchParams.get("engine"), u.searchParams.get("alg"), Number(u.searchParams.get("mib")));
    return new Response(String(out));
  },
};`;
  const mf = new Miniflare({
    modules: [
      { type: "ESModule", path: path.join(root, "bench-hash-worker.mjs"), contents: worker },
      { type: "CompiledWasm", path: path.join(root, "sha256.wasm"), contents: readFileSync(wasmFile) },
    ],
    compatibilityDate: "2026-07-01",
  });
  try {
    const call = async (p) => {
      const t0 = performance.now();
      const res = await mf.dispatchFetch(`http://bench${p}`);
      await res.text();
      if (!res.ok) throw new Error(`${p}: ${res.status}`);
      return performance.now() - t0;
    };
    let overhead = Infinity;
    for (let i = 0; i < 5; i++) overhead = Math.min(overhead, await call("/noop"));
    const results = [];
    for (const [algorithm, engine] of CASES) {
      await call(`/run?engine=${engine}&alg=${algorithm}&mib=64`); // warm up
      const ms = (await call(`/run?engine=${engine}&alg=${algorithm}&mib=${mib}`)) - overhead;
      results.push([algorithm, engine, (mib * MiB) / 1e6 / (ms / 1000)]);
    }
    console.log(`inside workerd (${mib} MiB each):`);
    report(results);
  } finally {
    await mf.dispose();
  }
}

await (inWorkerd ? inWorkerdRuntime() : inNode());
