// The native HTTP server (src/runtimes/native/http/) on Node, Bun and Deno: each test file bundles
// a fixture entry, runs it on all three runtimes and drives it with raw sockets, fetch and curl.
//
//   PATH=$PWD/node_modules/.bin:$PATH npx vitest run --config vitest.native.config.ts
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/native/**/*.test.ts"],
    // The storage tests have their own config (vitest.native-storage.config.ts).
    exclude: ["test/native/storage/**"],
    environment: "node",
    // Each file runs three server processes; on 2 cores one file at a time keeps timings honest.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    outputFile: { json: ".test-results/native.json" },
    reporters: ["default", "json"],
  },
});
