#!/usr/bin/env node
// Runs a TypeScript script that imports the registry's own modules (src/, extensionless imports):
// bundles it with esbuild, then imports the result. `node scripts/run-ts.mjs file.ts args…`
import { build } from "esbuild";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node scripts/run-ts.mjs <script.ts> [args…]");
  process.exit(2);
}
const source = path.resolve(entry);
const result = await build({
  entryPoints: [source],
  bundle: true,
  write: false,
  format: "esm",
  platform: "node",
  target: "node22",
  packages: "external",
  logLevel: "warning",
});
// Written beside the script so its package imports (jose) resolve from the project; removed on exit.
const out = path.join(path.dirname(source), `.${path.basename(source)}.${process.pid}.mjs`);
writeFileSync(out, result.outputFiles[0].text);
process.on("exit", () => rmSync(out, { force: true }));
process.argv = [process.argv[0], source, ...args];
await import(pathToFileURL(out).href);
