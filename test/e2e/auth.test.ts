// Auth with real clients, set up the way the README tells a new user to: keys, password hashes
// and JWTs from `npm run auth`, one registry per mode.
//   basic  docker/podman login, skopeo --creds; pull-only users refused on push; public pull
//   jwt    JWT as the password: the walkthrough's Python snippet (ES256 from openssl keys), and
//          keys published at a JWKS URL
//   token  the Docker token flow through the built-in /token service: docker login (OAuth2
//          password + refresh grants), anonymous pull of a public pattern, refused pushes
import { createServer, type Server } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { containersTools, startDockerd, type ContainersTools, type Docker } from "./harness/clients";
import { requireBinaries, requireRoot, run } from "./harness/exec";
import { RegistryApi } from "./harness/http";
import { sampleImage, writeDockerArchive, writeOciLayout, type BuiltImage } from "./harness/images";
import { authTool as runAuthTool } from "./harness/auth-tool";
import { makeTempDir } from "./harness/proc";
import { startRegistry, type Registry } from "./harness/registry";

let tmp: ReturnType<typeof makeTempDir>;
let basicRegistry: Registry;
let jwtRegistry: Registry;
let tokenRegistry: Registry;
let docker: Docker;
let tools: ContainersTools;
/** For docker (uncompressed layers, as `docker save` writes them). */
let image: BuiltImage;
/** For skopeo and podman, from an OCI layout. */
let ociImage: BuiltImage;
let layout: string;
let jwks: Server;

const PYTHON = "/usr/bin/python3";
const NO_TLS = ["--tls-verify=false"];

/** `npm run auth -- …` as a user would run it. */
const authTool = (args: string[], input?: string) => runAuthTool(tmp.dir, args, input);

async function userEntry(name: string, password: string, actions: string, groups?: string): Promise<unknown> {
  return JSON.parse(await authTool(["user", name, actions, ...(groups ? [groups] : [])], password));
}

/** The walkthrough's Python snippet, in our words: PyJWT signs {iat, username, capabilities} with ES256. */
const PYTHON_MINT = `
import sys, time, jwt
from cryptography.hazmat.primitives import serialization
with open(sys.argv[1], "rb") as f:
    key = serialization.load_pem_private_key(f.read(), password=None)
print(jwt.encode({"iat": int(time.time()), "username": "v0", "capabilities": ["pull", "push"]}, key, algorithm="ES256"))
`;

async function dockerLogin(registry: Registry, user: string, password: string) {
  return docker.docker(["login", "--username", user, "--password-stdin", registry.host], { input: password, allowFailure: true });
}

/** Loads the sample image into dockerd under `ref`. */
async function dockerLoad(ref: string): Promise<void> {
  const archive = path.join(tmp.dir, `load-${Math.random().toString(36).slice(2)}.tar`);
  await writeDockerArchive(archive, image, [ref]);
  await docker.docker(["load", "-i", archive]);
}

function expectFailure(result: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(result.code, `expected failure, got:\n${result.stdout}\n${result.stderr}`).not.toBe(0);
  expect(`${result.stdout}\n${result.stderr}`).toMatch(pattern);
}

beforeAll(async () => {
  requireRoot();
  requireBinaries("docker", "dockerd", "podman", "skopeo", "openssl");
  const python = await run(PYTHON, ["-c", "import jwt, cryptography"], { allowFailure: true });
  if (python.code !== 0) throw new Error(`${PYTHON} cannot import jwt/cryptography (apt-get install python3-jwt python3-cryptography):\n${python.stderr}`);
  tmp = makeTempDir("auth");
  image = sampleImage("auth", undefined, { gzip: false });
  layout = path.join(tmp.dir, "layout");
  ociImage = sampleImage("auth-oci");
  await writeOciLayout(layout, [{ ref: "v1", image: ociImage }]);

  // Keys exactly as the walkthrough makes them, and ours from `npm run auth -- keygen`.
  await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path.join(tmp.dir, "ec_private.pem")]);
  await run("openssl", ["ec", "-in", path.join(tmp.dir, "ec_private.pem"), "-pubout", "-out", path.join(tmp.dir, "ec_public.pem")]);
  await authTool(["keygen", "--out", path.join(tmp.dir, "jwks-keys")]);
  await authTool(["keygen", "--out", path.join(tmp.dir, "token-keys")]);

  // A JWKS URL the JWT registry fetches its second key from.
  const publicJwk = JSON.parse(await readFile(path.join(tmp.dir, "jwks-keys/public.jwk.json"), "utf8"));
  jwks = createServer((req, res) => {
    res.writeHead(req.url === "/jwks.json" ? 200 : 404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`;

  const users = JSON.stringify([
    await userEntry("alice", "alice-pw", "pull,push"),
    await userEntry("bob", "bob-pw", "pull"),
  ]);
  const publicRule = JSON.stringify([{ repository: "public/*", anonymous: true, actions: ["pull"] }]);
  basicRegistry = await startRegistry({
    workDir: path.join(tmp.dir, "basic"),
    vars: { AUTH_MODE: "basic", AUTH_USERS: users, AUTH_RULES: publicRule },
  });
  jwtRegistry = await startRegistry({
    workDir: path.join(tmp.dir, "jwt"),
    vars: { AUTH_MODE: "basic", AUTH_JWT_PUBLIC_KEY: await readFile(path.join(tmp.dir, "ec_public.pem"), "utf8"), AUTH_JWT_JWKS_URL: jwksUrl },
  });
  tokenRegistry = await startRegistry({
    workDir: path.join(tmp.dir, "token"),
    vars: {
      AUTH_MODE: "token",
      AUTH_TOKEN_SIGNING_KEY: await readFile(path.join(tmp.dir, "token-keys/private.jwk.json"), "utf8"),
      AUTH_USERS: users,
      AUTH_RULES: publicRule,
    },
  });
  const hosts = [basicRegistry.host, jwtRegistry.host, tokenRegistry.host];
  docker = await startDockerd(tmp.dir, hosts);
  tools = await containersTools(tmp.dir, hosts);
}, 10 * 60_000);

afterAll(async () => {
  await docker?.stop();
  for (const r of [basicRegistry, jwtRegistry, tokenRegistry]) await r?.stop();
  await new Promise((resolve) => (jwks ? jwks.close(resolve) : resolve(null)));
  await tmp?.cleanup();
});

describe.sequential("basic users", () => {
  test("docker login refuses a wrong password and accepts the right one; push and pull work", async () => {
    expectFailure(await dockerLogin(basicRegistry, "alice", "nope"), /unauthorized|401/i);
    const login = await dockerLogin(basicRegistry, "alice", "alice-pw");
    expect(login.stdout + login.stderr).toContain("Login Succeeded");
    const ref = basicRegistry.ref("team/app:v1");
    await dockerLoad(ref);
    await docker.docker(["push", ref]);
    await docker.docker(["rmi", ref]);
    await docker.docker(["pull", ref]);
    const api = new RegistryApi(basicRegistry.url);
    expect((await api.request("GET", "/v2/team/app/manifests/v1")).status).toBe(401);
  });

  test("a pull-only user pulls, and docker push fails with a clear 'denied'", async () => {
    expect((await dockerLogin(basicRegistry, "bob", "bob-pw")).code).toBe(0);
    const ref = basicRegistry.ref("team/app:v1");
    await docker.docker(["rmi", ref]);
    await docker.docker(["pull", ref]);
    await docker.docker(["tag", ref, basicRegistry.ref("team/app:bob")]);
    expectFailure(await docker.docker(["push", basicRegistry.ref("team/app:bob")], { allowFailure: true }), /denied: requested access to the resource is denied/);
  });

  test("podman login, skopeo --creds; anonymous skopeo pulls public/* but cannot push there", async () => {
    const login = await tools.podman(["login", ...NO_TLS, "--username", "alice", "--password-stdin", basicRegistry.host], { input: "alice-pw" });
    expect(login.stdout + login.stderr).toContain("Login Succeeded");
    await tools.podman(["pull", ...NO_TLS, basicRegistry.ref("team/app:v1")]);
    await tools.podman(["logout", basicRegistry.host]);

    const dest = `docker://${basicRegistry.ref("public/base:v1")}`;
    await tools.skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", "alice:alice-pw", `oci:${layout}:v1`, dest]);
    expectFailure(
      await tools.skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", "bob:bob-pw", `oci:${layout}:v1`, `docker://${basicRegistry.ref("team/other:v1")}`], { allowFailure: true }),
      /denied/i,
    );
    const inspect = JSON.parse((await tools.skopeo(["inspect", "--tls-verify=false", "--no-creds", dest])).stdout);
    expect(inspect.Digest).toBe(ociImage.manifestDigest);
    expectFailure(
      await tools.skopeo(["copy", "--dest-tls-verify=false", "--dest-no-creds", `oci:${layout}:v1`, `docker://${basicRegistry.ref("public/anon:v1")}`], { allowFailure: true }),
      /authentication required|unauthorized/i,
    );
  });
});

describe.sequential("JWT as password", () => {
  test("a token from the walkthrough's Python snippet logs docker in, pushes and pulls", async () => {
    const token = (await run(PYTHON, ["-c", PYTHON_MINT, path.join(tmp.dir, "ec_private.pem")])).stdout.trim();
    expect(token.split(".")).toHaveLength(3);
    const login = await dockerLogin(jwtRegistry, "dong", token);
    expect(login.stdout + login.stderr).toContain("Login Succeeded");
    const ref = jwtRegistry.ref("alpine:latest");
    await dockerLoad(ref);
    await docker.docker(["push", ref]);
    await docker.docker(["rmi", ref]);
    await docker.docker(["pull", ref]);
    const catalog = await new RegistryApi(jwtRegistry.url).request("GET", "/v2/_catalog", {
      headers: { Authorization: `Basic ${Buffer.from(`dong:${token}`).toString("base64")}` },
    });
    expect(catalog.json()).toEqual({ repositories: ["alpine"] });
  });

  test("a key published at a JWKS URL verifies `npm run auth -- mint` tokens; a pull-only one cannot push", async () => {
    const key = path.join(tmp.dir, "jwks-keys/private.jwk.json");
    const writer = await authTool(["mint", "--key", key, "--user", "ci", "--capabilities", "pull,push", "--expires", "1h"]);
    const reader = await authTool(["mint", "--key", key, "--user", "reader", "--capabilities", "pull", "--expires", "1h"]);
    const dest = `docker://${jwtRegistry.ref("ci/app:v1")}`;
    await tools.skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", `ci:${writer}`, `oci:${layout}:v1`, dest]);
    const inspect = JSON.parse((await tools.skopeo(["inspect", "--tls-verify=false", "--creds", `reader:${reader}`, dest])).stdout);
    expect(inspect.Digest).toBe(ociImage.manifestDigest);
    expectFailure(
      await tools.skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", `reader:${reader}`, `oci:${layout}:v1`, `docker://${jwtRegistry.ref("ci/other:v1")}`], { allowFailure: true }),
      /denied/i,
    );
    // A token signed by a key the registry does not trust.
    const stranger = await authTool(["mint", "--key", path.join(tmp.dir, "token-keys/private.jwk.json"), "--capabilities", "pull"]);
    expectFailure(await tools.skopeo(["inspect", "--tls-verify=false", "--creds", `x:${stranger}`, dest], { allowFailure: true }), /unauthorized|authentication required/i);
  });
});

describe.sequential("token flow", () => {
  test("docker login through /token, push, pull; a pull-only user is denied on push", async () => {
    expectFailure(await dockerLogin(tokenRegistry, "alice", "wrong"), /unauthorized|401/i);
    const login = await dockerLogin(tokenRegistry, "alice", "alice-pw");
    expect(login.stdout + login.stderr).toContain("Login Succeeded");
    const ref = tokenRegistry.ref("team/app:v1");
    await dockerLoad(ref);
    await docker.docker(["push", ref]);
    await docker.docker(["tag", ref, tokenRegistry.ref("public/base:v1")]);
    await docker.docker(["push", tokenRegistry.ref("public/base:v1")]);
    await docker.docker(["rmi", ref]);
    await docker.docker(["pull", ref]);

    expect((await dockerLogin(tokenRegistry, "bob", "bob-pw")).code).toBe(0);
    await docker.docker(["tag", ref, tokenRegistry.ref("team/app:bob")]);
    expectFailure(await docker.docker(["push", tokenRegistry.ref("team/app:bob")], { allowFailure: true }), /denied: requested access to the resource is denied/);
  });

  test("anonymous docker pull of a public pattern works; its push and private pulls do not", async () => {
    await docker.docker(["logout", tokenRegistry.host]);
    for (const ref of await docker.docker(["images", "--format", "{{.Repository}}:{{.Tag}}"]).then((r) => r.stdout.trim().split("\n").filter(Boolean))) {
      await docker.docker(["rmi", ref], { allowFailure: true });
    }
    const pub = tokenRegistry.ref("public/base:v1");
    await docker.docker(["pull", pub]);
    await docker.docker(["tag", pub, tokenRegistry.ref("public/base:anon")]);
    expectFailure(await docker.docker(["push", tokenRegistry.ref("public/base:anon")], { allowFailure: true }), /unauthorized|denied|authentication required/i);
    expectFailure(await docker.docker(["pull", tokenRegistry.ref("team/app:v1")], { allowFailure: true }), /unauthorized|denied|authentication required/i);
  });

  test("podman login and skopeo --creds use the token service too", async () => {
    const login = await tools.podman(["login", ...NO_TLS, "--username", "alice", "--password-stdin", tokenRegistry.host], { input: "alice-pw" });
    expect(login.stdout + login.stderr).toContain("Login Succeeded");
    await tools.podman(["pull", ...NO_TLS, tokenRegistry.ref("team/app:v1")]);
    await tools.podman(["logout", tokenRegistry.host]);
    const dest = `docker://${tokenRegistry.ref("team/skopeo:v1")}`;
    await tools.skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", "alice:alice-pw", `oci:${layout}:v1`, dest]);
    expectFailure(
      await tools.skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", "bob:bob-pw", `oci:${layout}:v1`, `docker://${tokenRegistry.ref("team/bob:v1")}`], { allowFailure: true }),
      /denied/i,
    );
    // skopeo copy registry → registry inside the token registry: a cross-repository mount with the right scopes.
    await tools.skopeo(["copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", "alice:alice-pw", "--dest-creds", "alice:alice-pw", dest, `docker://${tokenRegistry.ref("team/copy:v1")}`]);
    const api = new RegistryApi(tokenRegistry.url);
    const manifest = await api.request("GET", "/v2/team/copy/manifests/v1", {
      headers: { Authorization: `Basic ${Buffer.from("alice:alice-pw").toString("base64")}`, Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(manifest.status).toBe(200);
  });
});
