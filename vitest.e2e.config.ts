// End-to-end tests: real clients (docker, skopeo, podman, buildah, ctr) against the registry
// started with `node scripts/start.mjs`, once on the default native runtime (project "bun") and
// once on workerd (project "workerd"). Plain Node environment, not the Cloudflare pool. Each
// test file starts its own registry on a free loopback port with a fresh DATA_DIR.
//
//   PATH=$PWD/node_modules/.bin:$PATH npx vitest run --config vitest.e2e.config.ts [--project bun]
//
// Needs root and the Debian packages docker.io podman skopeo buildah containerd (see
// test/e2e/harness/exec.ts PACKAGE_OF). A missing client fails the suite; nothing is skipped.
import path from "node:path";
import { defineConfig } from "vitest/config";

/** One line per test file with its wall time (tests + hooks: registry and daemon start-up included). */
const fileTimes = {
  onTestModuleEnd(mod: { moduleId: string; project: { name: string }; state(): string; diagnostic(): { duration: number } }) {
    const seconds = (mod.diagnostic().duration / 1000).toFixed(1);
    console.log(`[e2e ${mod.project.name}] ${path.relative(process.cwd(), mod.moduleId)}: ${mod.state()} in ${seconds} s`);
  },
};

export default defineConfig({
  test: {
    projects: ["bun", "workerd"].map((runtime) => ({
      extends: true,
      test: { name: runtime, include: ["test/e2e/**/*.test.ts"], env: { REGISTRY_RUNTIME: runtime } },
    })),
    environment: "node",
    pool: "forks",
    // 2-core CI machines: one file (one registry, one set of daemons) at a time.
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { concurrent: false },
    // The 1 GiB layer test is the slow one; everything else takes seconds.
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
    teardownTimeout: 2 * 60_000,
    retry: 0,
    // Machine-readable results, summed by scripts/test-summary.mjs at the end of a CI run.
    outputFile: { json: ".test-results/e2e.json" },
    reporters: ["verbose", fileTimes, "json"],
  },
});
