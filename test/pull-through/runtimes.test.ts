// The pull-through cache on each native runtime as a user starts it (`node scripts/start.mjs
// --runtime node|bun|deno`), against the Docker-Hub-like token upstream of upstreams.ts: a tag and
// its blobs (one larger than an upload part) come through, four concurrent pulls of a layer cause
// one upstream fetch, the upstream account's secret is a known setting and never printed.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, USER, image, sha256, startTokenUpstream, tempDir } from "./upstreams";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MiB = 1024 * 1024;

let hub: Awaited<ReturnType<typeof startTokenUpstream>>;
const layers = [new Uint8Array(randomBytes(9 * MiB)), new Uint8Array(randomBytes(20_000))];
const img = image(layers);

beforeAll(async () => {
  hub = await startTokenUpstream();
  await hub.push("private/app", img, "1");
});
afterAll(async () => {
  await hub?.close();
});

async function startRegistry(runtime: string, env: Record<string, string>): Promise<{ url: string; output(): string; stop(): Promise<void> }> {
  const dataDir = tempDir(`rt-${runtime}`);
  const child = spawn(process.execPath, [path.join(ROOT, "scripts", "start.mjs"), "--runtime", runtime], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", DATA_DIR: dataDir, SETTINGS_FILE: "/dev/null", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime}: no startup line:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /registry listening on (http:\/\/\S+) \(/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then(() => reject(new Error(`${runtime}: exited:\n${output}`)));
  });
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe.each(["node", "bun", "deno"])("pull-through on %s", (runtime) => {
  it("pulls a private upstream image with the configured account; one upstream fetch for four concurrent pulls", async () => {
    const registry = await startRegistry(runtime, {
      HUB_SECRET: PASSWORD,
      UPSTREAMS: JSON.stringify([{ prefix: "hub/", url: hub.url, username: USER, passwordSetting: "HUB_SECRET" }]),
    });
    try {
      const manifest = await fetch(`${registry.url}/v2/hub/private/app/manifests/1`, { headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } });
      expect(manifest.status, await manifest.clone().text()).toBe(200);
      expect(manifest.headers.get("Docker-Content-Digest")).toBe(img.manifests[0]!.digest);
      await manifest.arrayBuffer();
      const big = sha256(layers[0]!);
      const before = hub.count("GET", new RegExp(`/blobs/${big}$`));
      const pulls = await Promise.all(
        [0, 1, 2, 3].map(async () => {
          const res = await fetch(`${registry.url}/v2/hub/private/app/blobs/${big}`);
          return { status: res.status, digest: sha256(new Uint8Array(await res.arrayBuffer())) };
        }),
      );
      for (const pull of pulls) expect(pull).toEqual({ status: 200, digest: big });
      expect(hub.count("GET", new RegExp(`/blobs/${big}$`)) - before).toBe(1);
      for (const [digest, bytes] of img.blobs) {
        const res = await fetch(`${registry.url}/v2/hub/private/app/blobs/${digest}`);
        expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(bytes));
      }
      expect(registry.output()).not.toContain("HUB_SECRET");
      expect(registry.output()).not.toContain(PASSWORD);
    } finally {
      await registry.stop();
    }
  });
});
