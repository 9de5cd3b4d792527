// Black-box OCI distribution-spec conformance tests over HTTP against `node scripts/serve.mjs`
// (each file starts its own registry). Plain Node environment; no root or container clients needed.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/conformance/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Machine-readable results, summed by scripts/test-summary.mjs at the end of a CI run.
    outputFile: { json: ".test-results/conformance.json" },
    reporters: ["default", "json"],
  },
});
