// The push client and the push proxy (tools/push) against registries with auth, behind a 100 MB
// body limit: the Bearer token flow (built-in /token service), Basic users and a JWT as the
// password; refused pushes say why.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startPushProxy, type PushProxy } from "../../tools/push/proxy.ts";
import { containersTools, type ContainersTools } from "./harness/clients";
import { requireBinaries, requireRoot, run } from "./harness/exec";
import { sampleImage, writeLargeLayerLayout, writeOciLayout, type BuiltImage } from "./harness/images";
import { authTool as runAuthTool } from "./harness/auth-tool";
import { makeTempDir } from "./harness/proc";
import { REPO_ROOT, startRegistry, type Registry } from "./harness/registry";

const MiB = 1024 * 1024;
const CLI = path.join(REPO_ROOT, "tools", "push", "cli.ts");
const LIMIT = { MAX_REQUEST_BODY_BYTES: "100000000" };

let tmp: ReturnType<typeof makeTempDir>;
let tokenRegistry: Registry;
let basicRegistry: Registry;
let tools: ContainersTools;
let proxy: PushProxy;
let image: BuiltImage;
let layout: string;
let jwt: string;

const authTool = (args: string[], input?: string) => runAuthTool(tmp.dir, args, input);

function push(args: string[], opts: { allowFailure?: boolean } = {}) {
  return run(process.execPath, [CLI, "push", "--state-file", path.join(tmp.dir, "state.json"), "--plain-http", ...args], { timeoutMs: 5 * 60_000, ...opts });
}

/** GET a manifest with Basic credentials (token mode accepts them directly too). */
async function manifestDigest(registry: Registry, repo: string, tag: string, user: string, password: string): Promise<string | null> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
    headers: {
      Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
      Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
    },
  });
  await res.arrayBuffer();
  return res.status === 200 ? res.headers.get("Docker-Content-Digest") : null;
}

beforeAll(async () => {
  requireRoot();
  requireBinaries("skopeo");
  tmp = makeTempDir("push-auth");
  image = sampleImage("push-auth");
  layout = path.join(tmp.dir, "layout");
  await writeOciLayout(layout, [{ ref: "v1", image }]);

  await authTool(["keygen", "--out", path.join(tmp.dir, "token-keys")]);
  await authTool(["keygen", "--out", path.join(tmp.dir, "jwt-keys")]);
  jwt = await authTool(["mint", "--key", path.join(tmp.dir, "jwt-keys/private.jwk.json"), "--user", "ci", "--repo", "ci/*=pull,push", "--expires", "1h"]);
  const users = JSON.stringify([
    JSON.parse(await authTool(["user", "alice", "pull,push"], "alice-pw")),
    JSON.parse(await authTool(["user", "bob", "pull"], "bob-pw")),
  ]);
  const { readFile } = await import("node:fs/promises");
  tokenRegistry = await startRegistry({
    workDir: path.join(tmp.dir, "token"),
    vars: { ...LIMIT, AUTH_MODE: "token", AUTH_USERS: users, AUTH_TOKEN_SIGNING_KEY: await readFile(path.join(tmp.dir, "token-keys/private.jwk.json"), "utf8") },
  });
  basicRegistry = await startRegistry({
    workDir: path.join(tmp.dir, "basic"),
    vars: { ...LIMIT, AUTH_MODE: "basic", AUTH_USERS: users, AUTH_JWT_PUBLIC_KEY: await readFile(path.join(tmp.dir, "jwt-keys/public.jwk.json"), "utf8") },
  });
  tools = await containersTools(tmp.dir, []);
}, 5 * 60_000);

afterAll(async () => {
  await proxy?.close();
  await tokenRegistry?.stop();
  await basicRegistry?.stop();
  await tmp?.cleanup();
});

describe.sequential("push client with auth", () => {
  test("pushes through the Bearer token flow with a user's password", async () => {
    const res = await push(["--user", "alice:alice-pw", `oci:${layout}:v1`, tokenRegistry.ref("team/app:v1")]);
    expect(res.stdout.trim()).toBe(`${tokenRegistry.ref("team/app:v1")}@${image.manifestDigest}`);
    expect(await manifestDigest(tokenRegistry, "team/app", "v1", "alice", "alice-pw")).toBe(image.manifestDigest);
  });

  test("a pull-only user, and no credentials at all, are refused with a message saying so", async () => {
    const denied = await push(["--user", "bob:bob-pw", `oci:${layout}:v1`, tokenRegistry.ref("team/bob:v1")], { allowFailure: true });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/denied/i);
    const anonymous = await push([`oci:${layout}:v1`, tokenRegistry.ref("team/anon:v1")], { allowFailure: true });
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/refused the request without credentials \(pass --user/);
    expect(await manifestDigest(tokenRegistry, "team/bob", "v1", "alice", "alice-pw")).toBeNull();
  });

  test("pushes with a JWT as the Basic password, inside the repositories the JWT names only", async () => {
    const res = await push(["--user", `ci:${jwt}`, `oci:${layout}:v1`, basicRegistry.ref("ci/app:v1")]);
    expect(res.stdout.trim()).toBe(`${basicRegistry.ref("ci/app:v1")}@${image.manifestDigest}`);
    const outside = await push(["--user", `ci:${jwt}`, `oci:${layout}:v1`, basicRegistry.ref("other/app:v1")], { allowFailure: true });
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toMatch(/denied/i);
  });

  test("the push proxy forwards a 150 MiB single-PATCH upload in chunks to a token-auth registry", async () => {
    proxy = await startPushProxy({ upstream: tokenRegistry.url, credentials: { username: "alice", password: "alice-pw" }, chunkSize: 32 * MiB });
    const big = path.join(tmp.dir, "big-layout");
    const { image: bigImage } = await writeLargeLayerLayout(big, "v1", 150 * MiB);
    // skopeo, like docker, sends each layer as one PATCH; the upstream would refuse it (> 100 MB).
    // --preserve-digests: push the uncompressed layer as it is, so digests can be compared.
    await tools.skopeo(["copy", "--preserve-digests", "--dest-tls-verify=false", `oci:${big}:v1`, `docker://${proxy.host}/team/big:v1`]);
    expect(await manifestDigest(tokenRegistry, "team/big", "v1", "alice", "alice-pw")).toBe(bigImage.manifestDigest);
    expect(proxy.stats.chunks).toBeGreaterThanOrEqual(5);
  });
});
