// Throughput of the native runtimes' upload hasher (src/runtimes/native/native-hash.ts) against the
// portable WebAssembly one, in 64 KiB updates, as an upload session hashes a request body.
// Bundled and run on each runtime by scripts/bench-native-hash.mjs; prints one JSON line.
import process from "node:process";
import { readFileSync } from "node:fs";
import { portableHashes, type HashEngine } from "../../src/hash/resumable-hash";
import { useSha256Wasm } from "../../src/hash/sha256-wasm";
import { nativeHashes } from "../../src/runtimes/native/native-hash";

const MiB = 1024 * 1024;
const total = Number(process.env.HASH_MIB ?? 1024) * MiB;
const piece = new Uint8Array(64 * 1024);
for (let i = 0; i < piece.length; i++) piece[i] = (i * 31) & 255;

function measure(engine: HashEngine): number {
  const hash = engine.create("sha256");
  const started = performance.now();
  for (let done = 0; done < total; done += piece.length) hash.update(piece);
  hash.digestHex();
  return total / 1e6 / ((performance.now() - started) / 1000);
}

// workers-types declares WebAssembly.Module abstract (workerd imports modules); these runtimes compile bytes.
const compile = (WebAssembly as unknown as { Module: new (bytes: Uint8Array) => Parameters<typeof useSha256Wasm>[0] }).Module;
useSha256Wasm(new compile(readFileSync(process.env.SHA256_WASM!)));
const runtime = (process.versions as Record<string, string | undefined>).bun ? "bun" : (process.versions as Record<string, string | undefined>).deno ? "deno" : "node";
measure(nativeHashes); // warm-up
const native = Math.max(measure(nativeHashes), measure(nativeHashes));
const portable = measure(portableHashes);
console.log(JSON.stringify({ runtime, nativeMBps: Math.round(native), portableMBps: Math.round(portable) }));
