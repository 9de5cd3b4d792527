// Tests that run inside workerd (real R2 and Durable Object storage, via @cloudflare/vitest-pool-workers).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { freePort } from "./scripts/lib/free-port.mjs";

export default defineConfig(async () => {
  // A free loopback port for the pull-through upstream (test/pull-through/worker-upstream.ts) the worker's UPSTREAMS names.
  const port = (process.env.PULL_THROUGH_WORKER_UPSTREAM_PORT ??= String(await freePort()));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.local.toml" },
        miniflare: {
          // Only mirror/* is served by the upstream: every other test's repositories stay the registry's own.
          bindings: {
            UPSTREAMS: JSON.stringify([{ prefix: "mirror/", url: `http://127.0.0.1:${port}`, library: true, tagCacheSeconds: 3600 }]),
            // The request log (src/extensions/ops/) would print every request of the suite; test/worker/ops.test.ts turns it on.
            LOG_LEVEL: "error",
          },
        },
      }),
    ],
    test: {
      include: ["test/worker/**/*.test.ts", "test/unit/**/*.test.ts"],
      globalSetup: ["test/pull-through/worker-upstream.ts"],
      testTimeout: 60_000,
      // Machine-readable results, summed by scripts/test-summary.mjs at the end of a CI run.
      outputFile: { json: ".test-results/worker.json" },
      reporters: ["default", "json"],
    },
  };
});
