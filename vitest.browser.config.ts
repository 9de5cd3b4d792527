// Browse-page tests in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
// playwright-core, against registries started with `node scripts/serve.mjs` (one per test file,
// each with its auth settings). Plain Node environment; screenshots go to .test-results/browser/
// (BROWSE_SCREENSHOTS=dir to change).
//
//   PATH=$PWD/node_modules/.bin:$PATH npx vitest run --config vitest.browser.config.ts
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    // 2-core machines: one registry and one browser at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Machine-readable results, summed by scripts/test-summary.mjs at the end of a CI run.
    outputFile: { json: ".test-results/browser.json" },
    reporters: ["default", "json"],
  },
});
