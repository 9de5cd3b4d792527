// A layer larger than MAX_REQUEST_BODY_BYTES pushed straight with skopeo (one PATCH with a
// Content-Length): skopeo must see the registry's 413 and its message at once, as it would from the
// Cloudflare edge, not "502 registry worker unreachable" or an answer after the keep-alive timeout.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, type ContainersTools } from "./harness/clients";
import { requireBinaries, requireRoot } from "./harness/exec";
import { writeLargeLayerLayout } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";

const MiB = 1024 * 1024;
const LIMIT = 100_000_000;
const SIZE = 160 * MiB;

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let tools: ContainersTools;
let layout: string;

beforeAll(async () => {
  requireRoot();
  requireBinaries("skopeo");
  tmp = makeTempDir("body-limit");
  registry = await startRegistry({ workDir: tmp.dir, vars: { MAX_REQUEST_BODY_BYTES: String(LIMIT) } });
  tools = await containersTools(tmp.dir, [registry.host]);
  layout = path.join(tmp.dir, "layout");
  await writeLargeLayerLayout(layout, "big", SIZE);
});

afterAll(async () => {
  await registry?.stop();
  await tmp?.cleanup();
});

describe(`skopeo copy of a ${SIZE / MiB} MiB layer to a registry limited to ${LIMIT} bytes`, () => {
  test("fails at once with the registry's 413 and its advice", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = Date.now();
      const res = await tools.skopeo(["copy", "--preserve-digests", "--dest-tls-verify=false", `oci:${layout}:big`, `docker://${registry.ref(`e2e/limit/app:v${attempt}`)}`], {
        allowFailure: true,
        timeoutMs: 120_000,
      });
      const output = res.stdout + res.stderr;
      expect(res.code, output).not.toBe(0);
      expect(output).toContain(`request body exceeds this registry's limit of ${LIMIT} bytes`);
      expect(output).not.toMatch(/\b502\b|Bad Gateway|unreachable/);
      expect(Date.now() - started, output).toBeLessThan(20_000);
    }
  });
});
