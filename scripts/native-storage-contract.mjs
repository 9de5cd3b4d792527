#!/usr/bin/env node
// Runs the native storage contract (test/native/storage/contract-runner.ts: the ObjectStore
// contract on the filesystem store and the registry through createNativeRegistry) under Node, Bun
// and Deno from one esbuild bundle. `node scripts/native-storage-contract.mjs [node] [bun] [deno]`
// (default: all three); `--json` prints one result object per runtime. Exit status 1 on any failure.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
export const RUNTIMES = {
  node: [bin("node"), ["--disable-warning=ExperimentalWarning"]],
  bun: [bin("bun"), ["run"]],
  deno: [bin("deno"), ["run", "-A"]],
};

/** Bundles `entry` (TypeScript importing src/) into one .mjs file in a temp dir; returns its path. */
export async function bundle(entry, label = "bundle") {
  const result = await build({
    entryPoints: [path.resolve(root, entry)],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node22",
    logLevel: "warning",
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), `edge-registry-${label}-`));
  const file = path.join(dir, `${label}.mjs`);
  writeFileSync(file, result.outputFiles[0].text);
  return file;
}

export function runtimeVersion(name) {
  const [command] = RUNTIMES[name];
  const out = spawnSync(command, ["--version"], { encoding: "utf8" }).stdout.trim().split("\n")[0];
  return out;
}

/** Runs the bundled contract under one runtime: { runtime, version, passed, failed, cases }. */
export function runContract(file, name, env = {}) {
  const [command, args] = RUNTIMES[name];
  const child = spawnSync(command, [...args, file], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 10 * 60_000,
  });
  const lines = child.stdout.split("\n").filter((l) => l.startsWith("{"));
  const results = lines.map((l) => JSON.parse(l));
  const summary = results.find((r) => r.summary) ?? { passed: 0, failed: 0 };
  return {
    runtime: name,
    version: runtimeVersion(name),
    status: child.status,
    passed: summary.passed,
    failed: summary.failed,
    cases: results.filter((r) => !r.summary),
    stderr: child.status === 0 ? "" : child.stderr.slice(-4000),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const names = args.filter((a) => !a.startsWith("--"));
  const file = await bundle("test/native/storage/contract-runner.ts", "storage-contract");
  let ok = true;
  try {
    for (const name of names.length > 0 ? names : Object.keys(RUNTIMES)) {
      const result = runContract(file, name);
      ok &&= result.status === 0 && result.failed === 0 && result.passed > 0;
      if (json) {
        console.log(JSON.stringify(result));
        continue;
      }
      console.log(`${name} (${result.version}): ${result.passed} passed, ${result.failed} failed`);
      for (const c of result.cases.filter((c) => !c.ok)) console.log(`  FAIL ${c.suite}: ${c.name}\n${c.error}`);
      if (result.stderr) console.log(result.stderr);
    }
  } finally {
    rmSync(path.dirname(file), { recursive: true, force: true });
  }
  process.exit(ok ? 0 : 1);
}
