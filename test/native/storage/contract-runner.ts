// Runs the ObjectStore and registry contracts outside vitest, so the same cases run under Bun,
// Deno and Node: `node scripts/native-storage-contract.mjs [node|bun|deno…]` bundles this file and
// runs it on each. One JSON line per case, then a summary line; exit status 1 if any case failed.
import * as fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { bunFileRanges } from "../../../src/runtimes/bun/file-ranges";
import { FilesystemObjectStore, type FilesystemStoreOptions } from "../../../src/runtimes/native/fs-store";
import { hashContract } from "./hash-contract";
import { registryContract } from "./registry-contract";
import { storeContract } from "./store-contract";
import { tempDir } from "./support";

const only = process.env.CONTRACT_FILTER;
let passed = 0;
let failed = 0;

async function runCase(suite: string, name: string, work: (dir: string) => Promise<void>): Promise<void> {
  if (only && !name.includes(only)) return;
  const dir = tempDir("contract");
  const started = performance.now();
  try {
    await work(dir);
    passed += 1;
    console.log(JSON.stringify({ suite, name, ok: true, ms: Math.round(performance.now() - started) }));
  } catch (err) {
    failed += 1;
    console.log(JSON.stringify({ suite, name, ok: false, error: String((err as Error)?.stack ?? err) }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const testCase of hashContract) {
  await runCase("hash", testCase.name, () => testCase.run({}));
}
// On Bun, the store also runs as Bun's entry makes it: large reads through Bun.file.
const storeForms: [string, FilesystemStoreOptions][] = [["store", {}]];
if ("Bun" in globalThis) storeForms.push(["store (Bun.file ranges)", { readRange: bunFileRanges }]);
for (const [suite, options] of storeForms) {
  for (const testCase of storeContract) {
    await runCase(suite, testCase.name, async (dir) => {
      const root = path.join(dir, "root");
      const store = await FilesystemObjectStore.open(root, options);
      await testCase.run({ store, root, reopen: () => FilesystemObjectStore.open(root, options) });
    });
  }
}
for (const testCase of registryContract) {
  await runCase("registry", testCase.name, (dataDir) => testCase.run({ dataDir }));
}
console.log(JSON.stringify({ summary: true, passed, failed }));
process.exit(failed > 0 ? 1 : 0);
