// Black-box OCI distribution-spec conformance tests over HTTP against `node scripts/start.mjs`, on
// every runtime: one vitest project per runtime (REGISTRY_RUNTIME), each file starting its own
// registry. Plain Node environment; no root or container clients needed.
//   npx vitest run --config vitest.conformance.config.ts --project bun
import { defineConfig } from "vitest/config";

const RUNTIMES = ["workerd", "bun", "deno", "node"];

export default defineConfig({
  test: {
    environment: "node",
    fileParallelism: false,
    // One registry at a time across all projects: 2-core machines.
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: RUNTIMES.map((runtime) => ({
      extends: true,
      test: { name: runtime, include: ["test/conformance/**/*.test.ts"], env: { REGISTRY_RUNTIME: runtime } },
    })),
    // Machine-readable results, summed by scripts/test-summary.mjs at the end of a CI run.
    outputFile: { json: ".test-results/conformance.json" },
    reporters: ["default", "json"],
  },
});
