#!/usr/bin/env node
// Runs scripts/bench-native-storage.ts under Node, Bun and Deno (one esbuild bundle) and prints
// each runtime's figures: store operations, 1 GiB push/pull through handle() with the native hash,
// resident memory growth, the re-hash after a restart, and the cost of fsync.
//
//   node scripts/bench-native-storage.mjs [--runtimes node,bun,deno] [--json out.json] [-- bench args]
//   bench args: --sections store,push,rehash,fsync  --size-mib 1024  --part-mib 16  --parts-mib 8,16,32
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RUNTIMES, bundle, runtimeVersion } from "./native-storage-contract.mjs";

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const own = split >= 0 ? argv.slice(0, split) : argv;
const benchArgs = split >= 0 ? argv.slice(split + 1) : [];
const option = (name) => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 ? own[i + 1] : undefined;
};
const runtimes = (option("runtimes") ?? "node,bun,deno").split(",");
const file = await bundle("scripts/bench-native-storage.ts", "bench-native-storage");
const work = mkdtempSync(path.join(os.tmpdir(), "edge-registry-bench-"));
const all = [];
try {
  for (const name of runtimes) {
    const [command, args] = RUNTIMES[name];
    const extra = name === "node" ? ["--expose-gc"] : [];
    const child = spawnSync(command, [...args, ...extra, file, work, ...benchArgs], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    const line = child.stdout.split("\n").find((l) => l.startsWith("{"));
    if (child.status !== 0 || !line) {
      console.error(`${name}: failed (${child.status})\n${child.stderr.slice(-3000)}`);
      process.exitCode = 1;
      continue;
    }
    const result = { version: runtimeVersion(name), ...JSON.parse(line) };
    all.push(result);
    console.log(JSON.stringify(result, null, 1));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(path.dirname(file), { recursive: true, force: true });
}
const out = option("json");
if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine: `${os.cpus()[0]?.model} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`, results: all }, null, 2));
