// The node:crypto hash engine (hash-contract.ts) under vitest; runtimes.test.ts runs it on Bun and Deno.
import { describe, it } from "vitest";
import { hashContract } from "./hash-contract";

describe("native hash engine", () => {
  for (const testCase of hashContract) it(testCase.name, () => testCase.run({}));
});
