// Pull-through cache tests: this registry (native, in the test process) against real upstreams on
// loopback: a second instance in token mode and Debian's reference registry (/usr/bin/docker-registry).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/pull-through/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Machine-readable results, summed by scripts/test-summary.mjs at the end of a CI run.
    outputFile: { json: ".test-results/pull-through.json" },
    reporters: ["default", "json"],
  },
});
