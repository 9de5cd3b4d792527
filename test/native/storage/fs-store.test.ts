// The ObjectStore contract on the filesystem store (store-contract.ts), each case in a fresh directory.
import * as fs from "node:fs";
import { afterEach, describe, it } from "vitest";
import { FilesystemObjectStore } from "../../../src/runtimes/native/fs-store";
import { storeContract } from "./store-contract";
import { tempDir } from "./support";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("FilesystemObjectStore", () => {
  for (const testCase of storeContract) {
    it(testCase.name, async () => {
      const parent = tempDir("store");
      dirs.push(parent);
      const root = `${parent}/root`;
      const store = await FilesystemObjectStore.open(root);
      await testCase.run({ store, root, reopen: () => FilesystemObjectStore.open(root) });
    });
  }
});
