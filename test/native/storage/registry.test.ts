// createNativeRegistry(...).handle with real Requests, filesystem and SQLite (registry-contract.ts).
import * as fs from "node:fs";
import { afterEach, describe, it } from "vitest";
import { registryContract } from "./registry-contract";
import { tempDir } from "./support";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("native registry", () => {
  for (const testCase of registryContract) {
    it(testCase.name, async () => {
      const dataDir = tempDir("registry");
      dirs.push(dataDir);
      await testCase.run({ dataDir });
    });
  }
});
