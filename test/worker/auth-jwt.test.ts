// JWT as the Basic password: a token signed by the operator's private key, verified with the
// configured public key (JWK, base64 JWK, JWKS, PEM), its claims and capabilities honoured.
import { beforeAll, describe, expect, it } from "vitest";
import { Client, basic, expectChallenge, expectDenied, hmacToken, keyPair, mint, now, registryWith, unsignedToken, type KeyPair } from "./auth-helpers";
import { uniqueRepo } from "./helpers";

let es256: KeyPair;
let rs256: KeyPair;
let eddsa: KeyPair;
let stranger: KeyPair;
let registry: Client;

/** The claims the Python snippet of the older Workers registry's walkthrough signs (ES256, no exp). */
const seedClaims = () => ({ iat: now(), username: "v0", capabilities: ["pull", "push"] });

beforeAll(async () => {
  [es256, rs256, eddsa, stranger] = await Promise.all([keyPair("ES256"), keyPair("RS256"), keyPair("EdDSA"), keyPair("ES256")]);
  // The ES256 key in the base64-encoded JWK form, under the older registry's variable name.
  registry = new Client(await registryWith({
    AUTH_MODE: "basic",
    JWT_REGISTRY_TOKENS_PUBLIC_KEY: btoa(JSON.stringify({ ...es256.publicJwk, kid: "5910d7df" })),
  }));
});

const as = (token: string, user = "dong") => registry.as(basic(user, token));

describe("JWT as password", () => {
  it("accepts a token shaped like the walkthrough's Python snippet (ES256, username, capabilities, iat)", async () => {
    const token = await mint(es256, seedClaims());
    const repo = uniqueRepo("jwt");
    expect(await as(token).status("GET", "/v2/")).toBe(200);
    await as(token).pushImage(repo, "v1");
    expect(await as(token).status("GET", `/v2/${repo}/manifests/v1`)).toBe(200);
    expect(await as(token).status("GET", "/v2/_catalog")).toBe(200);
  });

  it("capabilities [pull] pulls but cannot push or delete (403 DENIED)", async () => {
    const repo = uniqueRepo("jwt-pull");
    const { manifestDigest } = await as(await mint(es256, seedClaims())).pushImage(repo, "v1");
    const reader = as(await mint(es256, { iat: now(), username: "reader", capabilities: ["pull"] }));
    expect(await reader.status("GET", `/v2/${repo}/manifests/v1`)).toBe(200);
    await expectDenied(await reader.call("POST", `/v2/${repo}/blobs/uploads/`));
    await expectDenied(await reader.call("DELETE", `/v2/${repo}/manifests/${manifestDigest}`));
  });

  it("honours the per-repository form: repositories {pattern: actions} and token-spec access entries", async () => {
    const scoped = as(await mint(es256, {
      iat: now(),
      username: "ci",
      repositories: { "team-a/*": ["pull", "push"] },
      access: [{ type: "repository", name: "shared/base", actions: ["pull"] }],
    }));
    await scoped.pushImage(`team-a/${uniqueRepo("jwt")}`, "v1");
    await expectDenied(await scoped.call("POST", `/v2/team-b/app/blobs/uploads/`));
    await expectDenied(await scoped.call("POST", `/v2/shared/base/blobs/uploads/`));
    expect(await scoped.status("GET", `/v2/shared/base/tags/list`)).not.toBe(403);
  });

  it("refuses alg none, HMAC signed with the public key, another key, and a tampered payload", async () => {
    const claims = seedClaims();
    const good = await mint(es256, claims);
    const [h, , s] = good.split(".");
    const tampered = `${h}.${btoa(JSON.stringify({ ...claims, username: "root" })).replace(/=+$/, "")}.${s}`;
    const refused = [
      unsignedToken(claims),
      await hmacToken(claims, JSON.stringify(es256.publicJwk)),
      await hmacToken(claims, btoa(JSON.stringify({ ...es256.publicJwk, kid: "5910d7df" }))),
      await mint(stranger, claims),
      tampered,
      "not-a-jwt-at-all",
    ];
    for (const token of refused) await expectChallenge(await as(token).call("GET", "/v2/"), "Basic");
  });

  it("refuses expired and not-yet-valid tokens", async () => {
    await expectChallenge(await as(await mint(es256, { ...seedClaims(), exp: now() - 60 })).call("GET", "/v2/"), "Basic");
    await expectChallenge(await as(await mint(es256, { ...seedClaims(), nbf: now() + 3600 })).call("GET", "/v2/"), "Basic");
    expect(await as(await mint(es256, { ...seedClaims(), exp: now() + 3600, nbf: now() - 5 })).status("GET", "/v2/")).toBe(200);
  });

  it("checks aud, iss and token age when configured", async () => {
    const strict = new Client(await registryWith({
      AUTH_MODE: "basic",
      AUTH_JWT_PUBLIC_KEY: JSON.stringify(es256.publicJwk),
      AUTH_JWT_AUDIENCE: "registry.example.com",
      AUTH_JWT_ISSUER: "ops",
      AUTH_JWT_MAX_AGE_SECONDS: "3600",
    }));
    const call = async (claims: Record<string, unknown>) => strict.as(basic("x", await mint(es256, { ...seedClaims(), ...claims }))).call("GET", "/v2/");
    expect((await call({ aud: "registry.example.com", iss: "ops" })).status).toBe(200);
    await expectChallenge(await call({ aud: "other.example.com", iss: "ops" }), "Basic");
    await expectChallenge(await call({ aud: "registry.example.com", iss: "someone-else" }), "Basic");
    await expectChallenge(await call({ iss: "ops" }), "Basic");
    await expectChallenge(await call({ aud: "registry.example.com", iss: "ops", iat: now() - 7200 }), "Basic");
  });

  it("verifies RS256 from a PEM public key and EdDSA from a JWKS holding several keys", async () => {
    const pem = new Client(await registryWith({ AUTH_MODE: "basic", AUTH_JWT_PUBLIC_KEY: rs256.publicPem }));
    expect(await pem.as(basic("u", await mint(rs256, seedClaims()))).status("GET", "/v2/")).toBe(200);
    await expectChallenge(await pem.as(basic("u", await mint(es256, seedClaims()))).call("GET", "/v2/"), "Basic");
    // An RSA public key must not be usable as an HMAC secret either.
    await expectChallenge(await pem.as(basic("u", await hmacToken(seedClaims(), rs256.publicPem))).call("GET", "/v2/"), "Basic");

    const jwks = new Client(await registryWith({
      AUTH_MODE: "basic",
      AUTH_JWT_PUBLIC_KEY: JSON.stringify({ keys: [{ ...es256.publicJwk, kid: "a" }, { ...eddsa.publicJwk, kid: "b" }] }),
    }));
    expect(await jwks.as(basic("u", await mint(eddsa, seedClaims(), { kid: "b" }))).status("GET", "/v2/")).toBe(200);
    expect(await jwks.as(basic("u", await mint(es256, seedClaims(), { kid: "a" }))).status("GET", "/v2/")).toBe(200);
    await expectChallenge(await jwks.as(basic("u", await mint(rs256, seedClaims()))).call("GET", "/v2/"), "Basic");
  });

  it("works beside Basic users: a configured user's password is checked as a password", async () => {
    const { userEntry } = await import("./auth-helpers");
    const both = new Client(await registryWith({
      AUTH_MODE: "basic",
      AUTH_USERS: JSON.stringify([await userEntry("alice", "pw", ["pull"])]),
      AUTH_JWT_PUBLIC_KEY: JSON.stringify(es256.publicJwk),
    }));
    expect(await both.as(basic("alice", "pw")).status("GET", "/v2/")).toBe(200);
    expect(await both.as(basic("dong", await mint(es256, seedClaims()))).status("GET", "/v2/")).toBe(200);
    // A user's name with a valid JWT is still a password check for that user: refused.
    await expectChallenge(await both.as(basic("alice", await mint(es256, seedClaims()))).call("GET", "/v2/"), "Basic");
  });
});

describe("a JWT password issued in the future", () => {
  it("iat more than 60 s ahead -> 401; iat a few seconds ahead (clock skew) is accepted", async () => {
    const ahead = await mint(es256, { ...seedClaims(), iat: now() + 3600 });
    const res = await as(ahead).call("GET", "/v2/");
    await expectChallenge(res, "Basic");
    const skewed = await mint(es256, { ...seedClaims(), iat: now() + 20 });
    expect(await as(skewed).status("GET", "/v2/")).toBe(200);
  });
});
