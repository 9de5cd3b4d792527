// Plain `docker push` to a registry behind a 100 MB request body limit (MAX_REQUEST_BODY_BYTES,
// enforced locally as Cloudflare's edge does): directly, a 300 MiB layer is refused with the
// registry's 413 explaining what to do; through the push proxy (tools/push/proxy.ts, used here as
// a library) the same push succeeds and `docker pull` gives back identical digests. With a fault
// injector between proxy and registry the push still completes. Set E2E_PROXY_MIB to resize.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPushProxy, type PushProxy } from "../../tools/push/proxy.ts";
import { startDockerd, type Docker } from "./harness/clients";
import { requireBinaries, requireRoot, run } from "./harness/exec";
import { startFaultInjector, type FaultInjector } from "./harness/faults";
import { RegistryApi } from "./harness/http";
import { writeDockerArchive, writeLargeLayerLayout, type BuiltImage, type BuiltLayer } from "./harness/images";
import { makeTempDir } from "./harness/proc";
import { REPO_ROOT, startRegistry, type Registry } from "./harness/registry";

const MiB = 1024 * 1024;
const SIZE = Number(process.env.E2E_PROXY_MIB ?? 300) * MiB;
const LIMIT = 100_000_000;

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let proxy: PushProxy;
let docker: Docker;
let api: RegistryApi;

interface Inspect {
  Id: string;
  RootFS: { Layers: string[] };
}

async function inspect(ref: string): Promise<Inspect> {
  return (JSON.parse((await docker.docker(["image", "inspect", ref])).stdout) as Inspect[])[0]!;
}

/** Builds an image with one random layer of `bytes` and loads it into dockerd as `refs`. */
async function loadImage(label: string, bytes: number, refs: string[]): Promise<{ image: BuiltImage; layer: BuiltLayer }> {
  const built = await writeLargeLayerLayout(path.join(tmp.dir, label), label, bytes);
  const archive = path.join(tmp.dir, `${label}.tar`);
  await writeDockerArchive(archive, built.image, refs);
  await docker.docker(["load", "-i", archive], { timeoutMs: 10 * 60_000 });
  return built;
}

function pushedDigest(stdout: string): string {
  const m = /: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(stdout);
  if (!m) throw new Error(`no digest in docker push output:\n${stdout}`);
  return m[1]!;
}

/** Every layer of the manifest reads back from the registry with its digest (stored bytes hashed). */
async function expectStoredLayers(repo: string, tag: string): Promise<void> {
  const m = await api.manifest(repo, tag);
  for (const l of m.json.layers as { digest: string; size: number }[]) {
    expect(await api.blobDigest(repo, l.digest)).toMatchObject({ digest: l.digest, size: l.size });
  }
}

beforeAll(async () => {
  requireRoot();
  requireBinaries("docker", "dockerd");
  tmp = makeTempDir("push-proxy");
  registry = await startRegistry({ workDir: tmp.dir, vars: { MAX_REQUEST_BODY_BYTES: String(LIMIT) } });
  proxy = await startPushProxy({ upstream: registry.url, chunkSize: 32 * MiB });
  docker = await startDockerd(tmp.dir, [registry.host, proxy.host]);
  api = new RegistryApi(registry.url);
});

afterAll(async () => {
  await docker?.stop();
  await proxy?.close();
  await registry?.stop();
  await tmp?.cleanup();
});

describe.sequential(`docker push of a ${SIZE / MiB} MiB layer through a ${LIMIT} byte body limit`, () => {
  let big: { image: BuiltImage; layer: BuiltLayer };
  let pushed: string;
  const direct = () => registry.ref("e2e/proxy/app:v1");
  const viaProxy = () => `${proxy.host}/e2e/proxy/app:v1`;

  test("the registry advertises the limit as OCI-Chunk-Max-Length", async () => {
    const res = await api.expect(202, "POST", "/v2/e2e/proxy/probe/blobs/uploads/");
    expect(res.headers.get("oci-chunk-max-length")).toBe(String(LIMIT));
  });

  test("docker push straight to the registry fails with the 413 that says how to push large layers", async () => {
    big = await loadImage("big", SIZE, [direct(), viaProxy()]);
    const res = await docker.docker(["push", direct()], { allowFailure: true, timeoutMs: 10 * 60_000 });
    expect(res.code).not.toBe(0);
    expect(`${res.stdout}\n${res.stderr}`).toMatch(/request body exceeds this registry's limit of 100000000 bytes.*push proxy/);
  });

  test("the same docker push through the push proxy succeeds", async () => {
    const res = await docker.docker(["push", viaProxy()], { timeoutMs: 10 * 60_000 });
    pushed = pushedDigest(res.stdout);
    const m = await api.manifest("e2e/proxy/app", "v1");
    expect(m.digest).toBe(pushed);
    expect(m.json.config.digest).toBe(big.image.configDigest);
    expect(proxy.stats.chunks).toBeGreaterThan(SIZE / (32 * MiB));
  });

  test("docker pull (through the proxy) gives the same manifest digest, image ID and diff ID", async () => {
    await docker.docker(["rmi", direct(), viaProxy()]);
    const res = await docker.docker(["pull", viaProxy()], { timeoutMs: 10 * 60_000 });
    expect(res.stdout).toContain(`Digest: ${pushed}`);
    const info = await inspect(viaProxy());
    expect(info.Id).toBe(big.image.configDigest);
    expect(info.RootFS.Layers).toEqual([big.layer.diffId]);
    await docker.docker(["rmi", viaProxy()]);
  });
});

describe.sequential("through a flaky connection", () => {
  let faults: FaultInjector;
  let flakyProxy: PushProxy;

  test("docker push through the proxy completes despite 500s, dropped and stalled chunks upstream", async () => {
    faults = await startFaultInjector({ upstream: registry.url, period: 3, faults: ["error", "drop", "stall"] });
    const retry = { attempts: 8, baseDelayMs: 100, maxDelayMs: 2000 };
    flakyProxy = await startPushProxy({ upstream: faults.url, chunkSize: 4 * MiB, idleTimeoutMs: 2000, retry });
    const ref = `${flakyProxy.host}/e2e/proxy/flaky:v1`;
    const small = await loadImage("flaky", 40 * MiB, [ref]);
    try {
      const res = await docker.docker(["push", ref], { timeoutMs: 10 * 60_000 });
      const m = await api.manifest("e2e/proxy/flaky", "v1");
      expect(m.digest).toBe(pushedDigest(res.stdout));
      expect(m.json.config.digest).toBe(small.image.configDigest);
      await expectStoredLayers("e2e/proxy/flaky", "v1");
      expect(faults.injected).toMatchObject({ error: expect.any(Number), drop: expect.any(Number), stall: expect.any(Number) });
      expect(Math.min(faults.injected.error, faults.injected.drop, faults.injected.stall)).toBeGreaterThan(0);
      expect(flakyProxy.stats.retries).toBeGreaterThan(0);
    } finally {
      await flakyProxy.close();
      await faults.close();
    }
  });

  test("the push client pushes that image from the docker engine (docker-daemon:) with digests unchanged", async () => {
    const ref = `${flakyProxy.host}/e2e/proxy/flaky:v1`;
    const cli = path.join(REPO_ROOT, "tools", "push", "cli.ts");
    const res = await run(process.execPath, [cli, "push", "--state-file", path.join(tmp.dir, "sessions.json"), `docker-daemon:${ref}`, registry.ref("e2e/proxy/engine:v1")], {
      env: docker.env,
      timeoutMs: 5 * 60_000,
    });
    expect(res.stdout).toMatch(/e2e\/proxy\/engine:v1@sha256:/);
    const m = await api.manifest("e2e/proxy/engine", "v1");
    const info = await inspect(ref);
    expect(m.json.config.digest).toBe(info.Id);
    // docker save writes the layers uncompressed: their digests are the diff IDs
    expect(m.json.layers.map((l: { digest: string }) => l.digest)).toEqual(info.RootFS.Layers);
    await expectStoredLayers("e2e/proxy/engine", "v1");
  });
});
