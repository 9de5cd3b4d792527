#!/usr/bin/env node
// sha256 throughput of the native upload hasher (node:crypto) and the portable WebAssembly hasher
// on Node, Bun and Deno: node scripts/bench-native-hash.mjs [MiB=1024]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(path.join(os.tmpdir(), "bench-native-hash-"));
const bundle = path.join(dir, "bench.mjs");
await build({
  entryPoints: [path.join(root, "scripts/native-hash/bench.ts")],
  outfile: bundle, bundle: true, platform: "node", format: "esm", target: "es2022", logLevel: "warning",
});
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const env = { ...process.env, HASH_MIB: process.argv[2] ?? "1024", SHA256_WASM: path.join(root, "src/hash/sha256.wasm") };
for (const [cmd, args] of [[bin("node"), [bundle]], [bin("bun"), [bundle]], [bin("deno"), ["run", "-A", "--quiet", bundle]]]) {
  const out = spawnSync(cmd, args, { env, encoding: "utf8" });
  process.stdout.write(out.stdout || out.stderr);
}
rmSync(dir, { recursive: true, force: true });
