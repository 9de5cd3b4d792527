// The same native storage contract (contract-runner.ts) on Node, Bun and Deno: one esbuild bundle
// run by each runtime (scripts/native-storage-contract.mjs). Every case must pass on every runtime.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { hashContract } from "./hash-contract";
import { registryContract } from "./registry-contract";
import { storeContract } from "./store-contract";

interface RuntimeResult {
  runtime: string;
  version: string;
  status: number;
  passed: number;
  failed: number;
  cases: { suite: string; name: string; ok: boolean; error?: string }[];
  stderr: string;
}

describe.each(["node", "bun", "deno"])("contract on %s", (runtime) => {
  it("passes every hash, store and registry case", () => {
    const child = spawnSync(process.execPath, ["scripts/native-storage-contract.mjs", "--json", runtime], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const line = child.stdout.split("\n").find((l) => l.startsWith("{"));
    expect(line, child.stderr).toBeDefined();
    const result = JSON.parse(line!) as RuntimeResult;
    const failures = result.cases.filter((c) => !c.ok).map((c) => `${c.suite}: ${c.name}\n${c.error}`);
    expect(failures, result.stderr).toEqual([]);
    // Bun runs the store contract twice: also with its entry's Bun.file range reads.
    const storeRuns = runtime === "bun" ? 2 : 1;
    expect(result.passed).toBe(hashContract.length + storeRuns * storeContract.length + registryContract.length);
    expect(child.status).toBe(0);
    console.log(`${runtime} ${result.version}: ${result.passed} cases passed`);
  });
});
