// Tests that run inside workerd (real R2 and Durable Object storage, via @cloudflare/vitest-pool-workers).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.local.toml" },
      // The request log (src/extensions/ops/) would print every request of the suite; test/worker/ops.test.ts turns it on.
      miniflare: { bindings: { LOG_LEVEL: "error" } },
    }),
  ],
  test: {
    include: ["test/worker/**/*.test.ts", "test/unit/**/*.test.ts"],
    testTimeout: 60_000,
    // Machine-readable results, summed by scripts/test-summary.mjs at the end of a CI run.
    outputFile: { json: ".test-results/worker.json" },
    reporters: ["default", "json"],
  },
});
