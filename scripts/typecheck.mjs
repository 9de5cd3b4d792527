#!/usr/bin/env node
// `npm run typecheck`: every TypeScript project of the repository, then the generated files and
// the production configuration. Stops at the first failure.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");

const projects = [
  "tsconfig.json", // the core and the Workers runtime
  "tsconfig.native.json", // Bun, Deno and Node (node: modules), the workerd front, the HTTP benchmark
  "src/extensions/browse/page/tsconfig.json", // the browse page's browser modules
  "test/tsconfig.json",
  "test/tsconfig.node.json",
  "test/native/tsconfig.json", // the native server and storage tests
  "tools/push/tsconfig.json",
  "scripts/tsconfig.json",
];
const checks = [
  ["scripts/check-deploy.mjs"], // wrangler deploy --dry-run on wrangler.toml.example
  ["scripts/build-sha256-wasm.mjs", "--check"],
  ["scripts/build-browse-assets.mjs", "--check"],
];

function run(args, label) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`typecheck: ${label} failed`);
    process.exit(result.status ?? 1);
  }
}

for (const project of projects) run([tsc, "--noEmit", "-p", project], `tsc -p ${project}`);
for (const [script, ...args] of checks) run([script, ...args], script);
