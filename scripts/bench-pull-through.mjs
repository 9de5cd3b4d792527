#!/usr/bin/env node
// The pull-through cache with a large layer pulled by several clients at once, next to the
// reference registry's proxy mode (scripts/pull-through/bench.ts, bundled with esbuild, on Node).
//
//   node scripts/bench-pull-through.mjs [--size-mib 512] [--clients 4]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(path.join(os.tmpdir(), "bench-pull-through-"));
try {
  const file = path.join(dir, "bench.mjs");
  await build({ entryPoints: [path.join(root, "scripts/pull-through/bench.ts")], outfile: file, bundle: true, platform: "node", format: "esm", target: "es2022", logLevel: "warning" });
  const run = spawnSync(process.execPath, [file, ...process.argv.slice(2)], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const line = run.stdout.split("\n").find((l) => l.startsWith("{"));
  if (run.status !== 0 || !line) {
    console.error(run.stderr.slice(-4000));
    process.exit(1);
  }
  const report = JSON.parse(line);
  console.log(`${report.clients} clients pulling one ${report.sizeMiB} MiB layer through a cache that does not hold it yet (Node ${report.node}):`);
  for (const r of report.results) {
    console.log(
      `  ${r.registry.padEnd(28)} ${r.concurrentSeconds.toFixed(1)} s for all ${report.clients}, ${r.upstreamFetches} upstream fetch(es), ` +
        `intact: ${r.allIntact}, once more from the cache ${r.againSeconds.toFixed(1)} s` + (r.rssGrowthMiB !== undefined ? `, RSS growth ${r.rssGrowthMiB} MiB (upstream, cache and clients in one process)` : ""),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
