// Basic users: PBKDF2-hashed passwords, pull or pull+push rights, 401 with a Basic challenge,
// 403 DENIED for a known user without the right, and strict parsing of the header.
import { beforeAll, describe, expect, it } from "vitest";
import { hashPassword, parsePasswordHash, verifyPassword } from "../../src/auth/passwords";
import { Client, basic, bearer, expectChallenge, expectDenied, registryWith } from "./auth-helpers";
import { randomBytes, uniqueRepo } from "./helpers";

let anon: Client;
let alice: Client; // pull, push, delete everywhere
let bob: Client; // pull only

beforeAll(async () => {
  const { userEntry } = await import("./auth-helpers");
  const registry = await registryWith({
    AUTH_MODE: "basic",
    AUTH_USERS: JSON.stringify([
      await userEntry("alice", "alice-secret", ["pull", "push", "delete"]),
      await userEntry("bob", "bob-secret", ["pull"]),
    ]),
  });
  anon = new Client(registry);
  alice = anon.as(basic("alice", "alice-secret"));
  bob = anon.as(basic("bob", "bob-secret"));
});

describe("password hashes", () => {
  it("verify the right password only, with a fresh salt each time", async () => {
    const a = await hashPassword("hunter2", 1000);
    const b = await hashPassword("hunter2", 1000);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^pbkdf2-sha256\$1000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword("hunter2", parsePasswordHash(a))).toBe(true);
    expect(await verifyPassword("hunter3", parsePasswordHash(a))).toBe(false);
    expect(await verifyPassword("", parsePasswordHash(a))).toBe(false);
  });

  it("refuse plain-text or malformed stored passwords", () => {
    expect(() => parsePasswordHash("hunter2")).toThrow(/pbkdf2-sha256/);
    expect(() => parsePasswordHash("pbkdf2-sha256$999999999$AAAA$AAAA")).toThrow(/iterations/);
  });
});

describe("basic mode", () => {
  it("challenges a request without credentials with Basic, in the error envelope", async () => {
    const challenge = await expectChallenge(await anon.call("GET", "/v2/"), "Basic");
    expect(challenge).toContain('realm="registry"');
    await expectChallenge(await anon.call("GET", "/v2/app/manifests/latest"), "Basic");
    await expectChallenge(await anon.call("POST", "/v2/app/blobs/uploads/"), "Basic");
  });

  it("HEAD without credentials is 401 with the challenge and no body", async () => {
    const res = await anon.call("HEAD", "/v2/app/manifests/latest");
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
    expect(await res.text()).toBe("");
  });

  it("lets a user with the right password log in (GET /v2/), refuses wrong passwords and unknown users", async () => {
    expect(await alice.status("GET", "/v2/")).toBe(200);
    expect(await bob.status("GET", "/v2/")).toBe(200);
    await expectChallenge(await anon.as(basic("alice", "wrong")).call("GET", "/v2/"), "Basic");
    await expectChallenge(await anon.as(basic("mallory", "alice-secret")).call("GET", "/v2/"), "Basic");
    await expectChallenge(await anon.as(basic("alice", "")).call("GET", "/v2/"), "Basic");
  });

  it("a pull+push user pushes; a pull-only user pulls but gets 403 DENIED on push and delete", async () => {
    const repo = uniqueRepo("basic");
    const { manifestDigest, layerDigest } = await alice.pushImage(repo, "v1");
    expect(await bob.status("GET", `/v2/${repo}/manifests/v1`)).toBe(200);
    expect(await bob.status("GET", `/v2/${repo}/blobs/${layerDigest}`)).toBe(200);
    expect(await bob.status("GET", `/v2/${repo}/tags/list`)).toBe(200);

    await expectDenied(await bob.call("POST", `/v2/${repo}/blobs/uploads/`));
    await expectDenied(await bob.call("PUT", `/v2/${repo}/manifests/v2`, { body: "{}" }));
    await expectDenied(await bob.call("DELETE", `/v2/${repo}/manifests/${manifestDigest}`));
    await expectDenied(await bob.call("DELETE", `/v2/${repo}/blobs/${layerDigest}`));
    // Nothing changed for the refusals.
    expect(await alice.status("GET", `/v2/${repo}/manifests/${manifestDigest}`)).toBe(200);
    expect(await alice.status("DELETE", `/v2/${repo}/manifests/${manifestDigest}`)).toBe(202);
  });

  it("a pull-only user cannot write into another user's upload session", async () => {
    const repo = uniqueRepo("basic-session");
    const res = await alice.call("POST", `/v2/${repo}/blobs/uploads/`);
    expect(res.status).toBe(202);
    const location = res.headers.get("Location")!;
    await expectDenied(await bob.call("PATCH", location, { body: randomBytes(10) }));
    await expectDenied(await bob.call("DELETE", location));
    const status = await alice.call("GET", location);
    expect(status.status).toBe(204);
    expect(status.headers.get("Range")).toBe("0-0");
  });

  it("refuses malformed and overlong Authorization headers with 401", async () => {
    const bad = [
      "Basic !!!not-base64!!!",
      `Basic ${btoa("no-colon-here")}`,
      "Basic",
      "Digest username=alice",
      "Basic a b c",
      `Basic ${btoa(`alice:${"x".repeat(20_000)}`)}`,
      `Basic ${btoa(`${"u".repeat(300)}:pw`)}`,
    ];
    for (const header of bad) await expectChallenge(await anon.as(header).call("GET", "/v2/"), "Basic");
  });

  it("refuses bearer tokens: this mode takes Basic credentials only", async () => {
    await expectChallenge(await anon.as(bearer("aaa.bbb.ccc")).call("GET", "/v2/"), "Basic");
  });

  it("lists the whole catalog for a user who may pull everything", async () => {
    const repo = uniqueRepo("basic-cat");
    await alice.pushImage(repo, "v1");
    const res = await bob.call("GET", "/v2/_catalog");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { repositories: string[] }).repositories).toContain(repo);
    await expectChallenge(await anon.call("GET", "/v2/_catalog"), "Basic");
  });
});
