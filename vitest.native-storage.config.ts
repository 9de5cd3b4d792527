// Native storage tests: the filesystem object store, SQLite upload sessions, node:crypto hashing
// and createNativeRegistry, on the real filesystem and SQLite (test/native/, Node; the same
// contract also runs under Bun and Deno from runtimes.test.ts). Some tests need root (tmpfs).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/native/storage/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Machine-readable results, summed by scripts/test-summary.mjs at the end of a CI run.
    outputFile: { json: ".test-results/native-storage.json" },
    reporters: ["default", "json"],
  },
});
