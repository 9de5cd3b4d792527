// The push client (tools/push, `npm run push`) against the local registry limited to 100 MB
// request bodies: it pushes an OCI layout and a docker archive without changing a digest, shows
// progress, survives a flaky connection (fault injector: 500s, dropped and stalled chunks), and
// resumes a layer where it was when the process was killed.
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run, requireRoot } from "./harness/exec";
import { startFaultInjector, type FaultInjector } from "./harness/faults";
import { RegistryApi } from "./harness/http";
import { sampleImage, writeDockerArchive, writeLargeLayerLayout, writeOciLayout, type BuiltImage, type BuiltLayer } from "./harness/images";
import { makeTempDir, waitFor } from "./harness/proc";
import { REPO_ROOT, startRegistry, type Registry } from "./harness/registry";

const MiB = 1024 * 1024;
const CLI = path.join(REPO_ROOT, "tools", "push", "cli.ts");

let tmp: ReturnType<typeof makeTempDir>;
let registry: Registry;
let api: RegistryApi;
let stateFile: string;

/** `registry-push push …` to completion (throws with its output on failure). */
function push(args: string[], opts: { allowFailure?: boolean } = {}) {
  return run(process.execPath, [CLI, "push", "--state-file", stateFile, ...args], { timeoutMs: 5 * 60_000, ...opts });
}

/** Every blob of the pushed image reads back (streamed, hashed) with the digest and size it was pushed under. */
async function expectSameBlobs(repo: string, reference: string, image: { manifestDigest: string; layers: BuiltLayer[]; configDigest: string }) {
  const m = await api.manifest(repo, reference);
  expect(m.digest).toBe(image.manifestDigest);
  expect(m.json.config.digest).toBe(image.configDigest);
  expect(m.json.layers.map((l: { digest: string }) => l.digest)).toEqual(image.layers.map((l) => l.digest));
  for (const l of image.layers) {
    const got = await api.blobDigest(repo, l.digest);
    expect(got).toMatchObject({ digest: l.digest, size: l.size });
  }
}

beforeAll(async () => {
  requireRoot();
  tmp = makeTempDir("push-client");
  registry = await startRegistry({ workDir: tmp.dir, vars: { MAX_REQUEST_BODY_BYTES: "100000000" } });
  api = new RegistryApi(registry.url);
  stateFile = path.join(tmp.dir, "push-sessions.json");
});

afterAll(async () => {
  await registry?.stop();
  await tmp?.cleanup();
});

describe.sequential("push client", () => {
  let large: { image: BuiltImage; layer: BuiltLayer };
  const layoutDir = () => path.join(tmp.dir, "large-layout");

  test("pushes an OCI layout (gzip layers, several blobs) byte for byte, with progress and a summary", async () => {
    const image = sampleImage("client");
    const dir = path.join(tmp.dir, "layout");
    await writeOciLayout(dir, [{ ref: "v1", image }]);
    const res = await push([`oci:${dir}:v1`, registry.ref("e2e/client/layout:v1")]);
    expect(res.stdout.trim()).toBe(`${registry.ref("e2e/client/layout:v1")}@${image.manifestDigest}`);
    expect(res.stderr).toMatch(/uploading/);
    expect(res.stderr).toMatch(/\[#+-*\] +\d+%/);
    expect(res.stderr).toMatch(/pushed OCI layout .* in [\d.]+ s: \d+ blobs uploaded/);
    await expectSameBlobs("e2e/client/layout", "v1", image);

    // again, into another repository: every blob is mounted, nothing uploaded; --quiet prints only the reference
    const again = await push(["--quiet", `oci:${dir}:v1`, registry.ref("e2e/client/other:v1")]);
    expect(again.stderr).toBe("");
    expect(again.stdout.trim()).toBe(`${registry.ref("e2e/client/other:v1")}@${image.manifestDigest}`);
    await expectSameBlobs("e2e/client/other", "v1", image);
  });

  test("pushes a docker archive (docker save format): layers keep their digests (= diff IDs)", async () => {
    const image = sampleImage("client-archive", undefined, { gzip: false });
    const archive = path.join(tmp.dir, "image.tar");
    await writeDockerArchive(archive, image, ["example/archive:v7"]);
    const res = await push([`docker-archive:${archive}`, registry.ref("e2e/client/archive")]);
    expect(res.stdout.trim()).toMatch(new RegExp(`/e2e/client/archive:v7@sha256:[0-9a-f]{64}$`));
    const m = await api.manifest("e2e/client/archive", "v7");
    expect(m.json.config.digest).toBe(image.configDigest);
    expect(m.json.layers.map((l: { digest: string }) => l.digest)).toEqual(image.layers.map((l) => l.diffId));
    for (const l of image.layers) expect(await api.blobDigest("e2e/client/archive", l.diffId)).toMatchObject({ digest: l.diffId, size: l.tar!.length });
  });

  test("a 48 MiB layer in 4 MiB chunks survives 500s, dropped and stalled chunk requests", async () => {
    large = await writeLargeLayerLayout(layoutDir(), "big", 48 * MiB);
    const faults: FaultInjector = await startFaultInjector({ upstream: registry.url, period: 3, faults: ["error", "drop", "stall"] });
    try {
      const dest = `${faults.host}/e2e/client/flaky:v1`;
      const res = await push(["--chunk-size", "4", "--timeout", "2", `oci:${layoutDir()}:big`, dest]);
      expect(res.stdout.trim()).toBe(`${dest}@${large.image.manifestDigest}`);
      expect(res.stderr).toMatch(/retry \d+ in/);
      expect(faults.injected.error).toBeGreaterThan(0);
      expect(faults.injected.drop).toBeGreaterThan(0);
      expect(faults.injected.stall).toBeGreaterThan(0);
    } finally {
      await faults.close();
    }
    await expectSameBlobs("e2e/client/flaky", "v1", large.image);
  });

  test("killed mid-layer, a second run resumes the layer from the registry's offset", async () => {
    const dir = path.join(tmp.dir, "resume-layout");
    const fresh = await writeLargeLayerLayout(dir, "big", 48 * MiB); // new random bytes: nothing to mount
    const dest = registry.ref("e2e/client/resume:v1");
    const child = spawn(process.execPath, [CLI, "push", "--state-file", stateFile, "--chunk-size", "4", "--jobs", "1", `oci:${dir}:big`, dest], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise((resolve) => child.on("exit", resolve));
    // Kill once the big layer has passed a quarter (the lines mode prints each quarter).
    await waitFor("a quarter of the layer to be pushed", async () => {
      if (child.exitCode !== null) throw new Error(`push ended before it could be killed:\n${output}`);
      return / 2[5-9]%| [3-9]\d%/.test(output);
    }, 60_000, 50);
    child.kill("SIGKILL");
    await exited;
    expect(output).not.toMatch(/pushed OCI layout/);

    const res = await push(["--chunk-size", "4", `oci:${dir}:big`, dest]);
    const resumed = /resuming at ([\d.]+) MiB of ([\d.]+) MiB/.exec(res.stderr);
    expect(resumed, res.stderr).toBeTruthy();
    expect(Number(resumed![1])).toBeGreaterThan(0);
    expect(res.stderr).toMatch(/1 resumed/);
    await expectSameBlobs("e2e/client/resume", "v1", fresh.image);
  });
});
