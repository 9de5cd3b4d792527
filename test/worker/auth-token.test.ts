// The Docker token flow: Bearer challenges with realm/service/scope, the built-in /token service
// (GET with Basic, POST password and refresh_token grants), and tokens from an external issuer.
import { beforeAll, describe, expect, it } from "vitest";
import {
  Client, basic, bearer, decodePayload, expectChallenge, expectDenied, hmacToken, keyPair, mint, now, registryWith,
  unsignedToken, userEntry, type KeyPair,
} from "./auth-helpers";
import { MiB, randomBytes, sha256 } from "./helpers";

let signing: KeyPair;
let anon: Client;
const suffix = crypto.randomUUID().slice(0, 8);
const teamA = `team-a/app-${suffix}`;
const pub = `public/base-${suffix}`;

interface TokenAnswer {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  refresh_token?: string;
}

async function getToken(client: Client, query: string, status = 200): Promise<TokenAnswer> {
  const res = await client.call("GET", `/token?service=registry&${query}`);
  expect(res.status, await res.clone().text()).toBe(status);
  return (await res.json()) as TokenAnswer;
}

async function postToken(form: Record<string, string>, status = 200): Promise<TokenAnswer> {
  const res = await anon.call("POST", "/token", {
    body: new URLSearchParams(form).toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  expect(res.status, await res.clone().text()).toBe(status);
  return (await res.json()) as TokenAnswer;
}

const withToken = (t: TokenAnswer) => anon.as(bearer(t.token));

/** Token mode needs both; these are what the tests' host (http://registry) would be. */
const LOCAL_TOKEN_SERVICE = { AUTH_SERVICE: "registry", AUTH_TOKEN_REALM: "http://registry/token" };

beforeAll(async () => {
  signing = await keyPair("ES256");
  anon = new Client(await registryWith({
    AUTH_MODE: "token",
    AUTH_TOKEN_SIGNING_KEY: JSON.stringify(signing.privateJwk),
    ...LOCAL_TOKEN_SERVICE,
    AUTH_USERS: JSON.stringify([
      await userEntry("alice", "alice-pw", ["pull", "push"]),
      await userEntry("bob", "bob-pw", ["pull"]),
      await userEntry("dave", "dave-pw", [], ["team-a"]),
    ]),
    AUTH_RULES: JSON.stringify([
      { repository: "public/*", anonymous: true, actions: ["pull"] },
      { repository: "team-a/*", groups: ["team-a"], actions: ["pull", "push"] },
    ]),
  }));
  // Basic credentials are accepted directly in token mode too (curl, scripts).
  const admin = anon.as(basic("alice", "alice-pw"));
  await admin.pushImage(teamA, "v1");
  await admin.pushImage(pub, "v1");
});

describe("challenges", () => {
  it("401 with Bearer realm and service on /v2/, plus the scope a resource request needs", async () => {
    expect(await expectChallenge(await anon.call("GET", "/v2/"), "Bearer")).toBe('Bearer realm="http://registry/token",service="registry"');
    expect(await expectChallenge(await anon.call("GET", `/v2/${teamA}/manifests/v1`), "Bearer"))
      .toContain(`scope="repository:${teamA}:pull"`);
    expect(await expectChallenge(await anon.call("POST", `/v2/${teamA}/blobs/uploads/`), "Bearer"))
      .toContain(`scope="repository:${teamA}:pull,push"`);
    expect(await expectChallenge(await anon.call("DELETE", `/v2/${teamA}/manifests/v1`), "Bearer"))
      .toContain(`scope="repository:${teamA}:delete"`);
    expect(await expectChallenge(await anon.call("GET", "/v2/_catalog"), "Bearer")).toContain('scope="registry:catalog:*"');
  });
});

describe("built-in token service", () => {
  it("GET /token with Basic credentials grants the requested scope, and the token works", async () => {
    const answer = await getToken(anon.as(basic("alice", "alice-pw")), `scope=repository:${teamA}:pull,push`);
    expect(answer.token).toBe(answer.access_token);
    expect(answer.expires_in).toBe(300);
    expect(Date.parse(answer.issued_at)).toBeGreaterThan(Date.now() - 60_000);
    const claims = decodePayload(answer.token);
    expect(claims).toMatchObject({ iss: "edge-registry", aud: "registry", sub: "alice", access: [{ type: "repository", name: teamA, actions: ["pull", "push"] }] });
    expect(await withToken(answer).status("GET", "/v2/")).toBe(200);
    expect(await withToken(answer).status("GET", `/v2/${teamA}/manifests/v1`)).toBe(200);
    await withToken(answer).pushImage(teamA, "v2");
  });

  it("grants only what the caller may do: a pull-only user's push token is pull-only, and push is 403", async () => {
    const answer = await getToken(anon.as(basic("bob", "bob-pw")), `scope=repository:${teamA}:pull,push`);
    expect(decodePayload(answer.token).access).toEqual([{ type: "repository", name: teamA, actions: ["pull"] }]);
    expect(await withToken(answer).status("GET", `/v2/${teamA}/manifests/v1`)).toBe(200);
    await expectDenied(await withToken(answer).call("POST", `/v2/${teamA}/blobs/uploads/`));
    await expectDenied(await withToken(answer).call("DELETE", `/v2/${teamA}/manifests/v1`));
  });

  it("a token for repository A is refused on repository B", async () => {
    const answer = await getToken(anon.as(basic("alice", "alice-pw")), `scope=repository:${teamA}:pull,push`);
    await expectDenied(await withToken(answer).call("GET", `/v2/${pub}/manifests/v1`));
    await expectDenied(await withToken(answer).call("POST", `/v2/${pub}/blobs/uploads/`));
  });

  it("several scopes in one request (repeated and space-separated), unknown ones dropped", async () => {
    const answer = await getToken(
      anon.as(basic("dave", "dave-pw")),
      `scope=repository:${teamA}:pull,push&scope=${encodeURIComponent(`repository:${pub}:pull,push repository:other/x:pull bogus`)}`,
    );
    expect(decodePayload(answer.token).access).toEqual([
      { type: "repository", name: teamA, actions: ["pull", "push"] },
      { type: "repository", name: pub, actions: ["pull"] },
    ]);
  });

  it("anonymous tokens pull public patterns; pushing with one is 401, other repositories too", async () => {
    const answer = await getToken(anon, `scope=repository:${pub}:pull,push`);
    expect(answer.refresh_token).toBeUndefined();
    expect(decodePayload(answer.token)).toMatchObject({ sub: "", access: [{ name: pub, actions: ["pull"] }] });
    expect(await withToken(answer).status("GET", `/v2/${pub}/manifests/v1`)).toBe(200);
    const push = await expectChallenge(await withToken(answer).call("POST", `/v2/${pub}/blobs/uploads/`), "Bearer");
    expect(push).toContain('error="insufficient_scope"');
    const privateToken = await getToken(anon, `scope=repository:${teamA}:pull`);
    expect(decodePayload(privateToken.token).access).toEqual([]);
    await expectChallenge(await withToken(privateToken).call("GET", `/v2/${teamA}/manifests/v1`), "Bearer");
  });

  it("refuses bad credentials at the token endpoint with 401", async () => {
    const res = await anon.as(basic("alice", "wrong")).call("GET", `/token?service=registry&scope=repository:${teamA}:pull`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("UNAUTHORIZED");
    await postToken({ grant_type: "password", username: "alice", password: "wrong", service: "registry", client_id: "docker" }, 401);
    await postToken({ grant_type: "client_credentials", service: "registry" }, 400);
  });

  it("POST password grant with access_type=offline returns a refresh token; the refresh grant issues new tokens", async () => {
    const login = await postToken({ grant_type: "password", username: "dave", password: "dave-pw", service: "registry", client_id: "docker", access_type: "offline" });
    expect(login.refresh_token).toBeTruthy();
    expect(await withToken(login).status("GET", "/v2/")).toBe(200);
    const refreshed = await postToken({
      grant_type: "refresh_token", refresh_token: login.refresh_token!, service: "registry", client_id: "docker",
      scope: `repository:${teamA}:pull,push`,
    });
    expect(decodePayload(refreshed.access_token).access).toEqual([{ type: "repository", name: teamA, actions: ["pull", "push"] }]);
    expect(await anon.as(bearer(refreshed.access_token)).status("GET", `/v2/${teamA}/manifests/v1`)).toBe(200);
    // A refresh token is not an access token, and an access token is not a refresh token.
    await expectChallenge(await anon.as(bearer(login.refresh_token!)).call("GET", "/v2/"), "Bearer");
    await postToken({ grant_type: "refresh_token", refresh_token: refreshed.access_token, service: "registry" }, 401);
  });

  it("refuses forged, malformed and overlong bearer tokens: alg none, HMAC with the public key, another key, expired, wrong aud or iss", async () => {
    const claims = { iss: "edge-registry", aud: "registry", sub: "alice", exp: now() + 300, access: [{ type: "repository", name: teamA, actions: ["pull", "push"] }] };
    const stranger = await keyPair("ES256");
    const forged = [
      unsignedToken(claims),
      await hmacToken(claims, JSON.stringify(signing.publicJwk)),
      await hmacToken(claims, signing.publicPem),
      await mint(stranger, claims),
      await mint(signing, { ...claims, exp: now() - 10 }),
      await mint(signing, { ...claims, nbf: now() + 600 }),
      await mint(signing, { ...claims, aud: "another-registry" }),
      await mint(signing, { ...claims, iss: "someone" }),
      await mint(signing, { ...claims, exp: undefined }),
    ];
    for (const token of forged) {
      const challenge = await expectChallenge(await anon.as(bearer(token)).call("GET", `/v2/${teamA}/manifests/v1`), "Bearer");
      expect(challenge).toContain('error="invalid_token"');
    }
    for (const header of ["Bearer not-a-jwt", "Bearer", `Bearer ${"a".repeat(9000)}.${"b".repeat(9000)}.c`, "Bearer a.b.c d"]) {
      await expectChallenge(await anon.as(header).call("GET", `/v2/${teamA}/manifests/v1`), "Bearer");
    }
    // The same claims signed properly do work: the refusals above are about the forgery.
    expect(await anon.as(bearer(await mint(signing, claims))).status("GET", `/v2/${teamA}/manifests/v1`)).toBe(200);
  });

  it("the catalog scope lists only repositories the caller may pull", async () => {
    const list = async (answer: TokenAnswer) => {
      const res = await withToken(answer).call("GET", "/v2/_catalog");
      expect(res.status).toBe(200);
      return ((await res.json()) as { repositories: string[] }).repositories;
    };
    const daves = await list(await getToken(anon.as(basic("dave", "dave-pw")), "scope=registry:catalog:*"));
    expect(daves).toEqual(expect.arrayContaining([teamA, pub]));
    expect(daves.every((n) => n.startsWith("team-a/") || n.startsWith("public/"))).toBe(true);
    const anonymous = await list(await getToken(anon, "scope=registry:catalog:*"));
    expect(anonymous).toContain(pub);
    expect(anonymous).not.toContain(teamA);
    // Without the catalog scope in the token: 403 for a named caller.
    await expectDenied(await withToken(await getToken(anon.as(basic("dave", "dave-pw")), `scope=repository:${teamA}:pull`)).call("GET", "/v2/_catalog"));
  });

  it("an upload outlives a short-lived token: each chunk needs a valid token, the session keeps its offset", async () => {
    const short = new Client(await registryWith({
      AUTH_MODE: "token",
      AUTH_TOKEN_SIGNING_KEY: JSON.stringify(signing.privateJwk),
      ...LOCAL_TOKEN_SERVICE,
      AUTH_TOKEN_TTL_SECONDS: "2",
      AUTH_USERS: JSON.stringify([await userEntry("alice", "alice-pw", ["pull", "push"])]),
    }));
    const fresh = async () => short.as(bearer((await getToken(short.as(basic("alice", "alice-pw")), `scope=repository:${teamA}:pull,push`)).token));
    const bytes = randomBytes(6 * MiB);
    const first = await fresh();
    const start = await first.call("POST", `/v2/${teamA}/blobs/uploads/`);
    expect(start.status).toBe(202);
    const location = start.headers.get("Location")!;
    const chunk1 = await first.call("PATCH", location, { body: bytes.subarray(0, 3 * MiB), headers: { "Content-Range": `0-${3 * MiB - 1}` } });
    expect(chunk1.status).toBe(202);
    await new Promise((r) => setTimeout(r, 3100));
    const expired = await first.call("PATCH", location, { body: bytes.subarray(3 * MiB), headers: { "Content-Range": `${3 * MiB}-${6 * MiB - 1}` } });
    expect(expired.status).toBe(401);
    expect(expired.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    const status = await (await fresh()).call("GET", location);
    expect(status.headers.get("Range")).toBe(`0-${3 * MiB - 1}`);
    const chunk2 = await (await fresh()).call("PATCH", location, { body: bytes.subarray(3 * MiB), headers: { "Content-Range": `${3 * MiB}-${6 * MiB - 1}` } });
    expect(chunk2.status).toBe(202);
    const digest = await sha256(bytes);
    const done = await (await fresh()).call("PUT", `${location}${location.includes("?") ? "&" : "?"}digest=${digest}`);
    expect(done.status).toBe(201);
  });
});

describe("external token service", () => {
  let external: KeyPair;
  let registry: Client;
  const claims = () => ({
    iss: "auth.example", aud: "registry.example", sub: "ci", exp: now() + 300,
    access: [{ type: "repository", name: teamA, actions: ["pull", "push"] }, { type: "registry", name: "catalog", actions: ["*"] }],
  });

  beforeAll(async () => {
    external = await keyPair("RS256");
    registry = new Client(await registryWith({
      AUTH_MODE: "token",
      AUTH_TOKEN_REALM: "https://auth.example/token",
      AUTH_SERVICE: "registry.example",
      AUTH_TOKEN_ISSUER: "auth.example",
      AUTH_TOKEN_TRUSTED_KEYS: external.publicPem,
    }));
  });

  it("challenges with the external realm and does not issue tokens itself", async () => {
    expect(await expectChallenge(await registry.call("GET", "/v2/"), "Bearer")).toBe('Bearer realm="https://auth.example/token",service="registry.example"');
    expect(await registry.status("GET", "/token?service=registry.example")).toBe(404);
  });

  it("accepts its tokens with their access claim (catalog unfiltered), refuses others", async () => {
    const ok = registry.as(bearer(await mint(external, claims())));
    await ok.pushImage(teamA, "ext");
    expect(await ok.status("GET", "/v2/_catalog")).toBe(200);
    await expectDenied(await ok.call("GET", `/v2/${pub}/manifests/v1`));
    for (const token of [
      await mint(external, { ...claims(), aud: "registry" }),
      await mint(external, { ...claims(), iss: "edge-registry" }),
      await mint(signing, claims()),
      await hmacToken(claims(), external.publicPem),
    ]) {
      await expectChallenge(await registry.as(bearer(token)).call("GET", "/v2/"), "Bearer");
    }
  });
});

describe("audience and realm come from configuration, never from the request", () => {
  const claimsFor = (aud: string) => ({ iss: "edge-registry", aud, sub: "alice", exp: now() + 300, access: [{ type: "repository", name: teamA, actions: ["pull"] }] });

  it("with AUTH_SERVICE unset, a token signed for aud=other-registry.example is not accepted when sent with Host: other-registry.example", async () => {
    const registry = new Client(await registryWith({ AUTH_MODE: "token", AUTH_TOKEN_SIGNING_KEY: JSON.stringify(signing.privateJwk) }));
    const token = await mint(signing, claimsFor("other-registry.example"));
    const res = await registry.as(bearer(token)).call("GET", `http://other-registry.example/v2/${teamA}/manifests/v1`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/AUTH_SERVICE.*AUTH_TOKEN_REALM/);
  });

  it("token mode without AUTH_SERVICE or without AUTH_TOKEN_REALM refuses every request, naming what is missing", async () => {
    const key = JSON.stringify(signing.privateJwk);
    for (const vars of [
      { AUTH_TOKEN_REALM: "https://registry.example/token" },
      { AUTH_SERVICE: "registry.example" },
      { AUTH_SERVICE: "registry.example", AUTH_TOKEN_REALM: "not a url" },
    ]) {
      const res = await new Client(await registryWith({ AUTH_MODE: "token", AUTH_TOKEN_SIGNING_KEY: key, ...vars })).call("GET", "/v2/");
      expect(res.status, JSON.stringify(vars)).toBe(401);
      const message = ((await res.json()) as { errors: { message: string }[] }).errors[0]!.message;
      expect(message, JSON.stringify(vars)).toMatch(vars.AUTH_SERVICE ? /AUTH_TOKEN_REALM/ : /AUTH_SERVICE/);
    }
  });

  it("with AUTH_SERVICE set, only its audience is accepted and the challenge is the same whatever the Host", async () => {
    const registry = new Client(await registryWith({
      AUTH_MODE: "token",
      AUTH_TOKEN_SIGNING_KEY: JSON.stringify(signing.privateJwk),
      AUTH_SERVICE: "registry.example",
      AUTH_TOKEN_REALM: "https://registry.example/token",
      AUTH_USERS: JSON.stringify([await userEntry("alice", "alice-pw", ["pull", "push"])]),
    }));
    const ours = await mint(signing, claimsFor("registry.example"));
    const theirs = await mint(signing, claimsFor("other-registry.example"));
    for (const host of ["registry.example", "other-registry.example", "127.0.0.1:5000"]) {
      expect(await registry.as(bearer(ours)).status("GET", `http://${host}/v2/`), host).toBe(200);
      await expectChallenge(await registry.as(bearer(theirs)).call("GET", `http://${host}/v2/`), "Bearer");
      expect(await expectChallenge(await registry.call("GET", `http://${host}/v2/`), "Bearer"), host)
        .toBe('Bearer realm="https://registry.example/token",service="registry.example"');
      // Tokens the service issues carry the configured audience, whatever Host the login came to.
      const res = await registry.as(basic("alice", "alice-pw")).call("GET", `http://${host}/token?service=${host}&scope=repository:${teamA}:pull`);
      expect(res.status).toBe(200);
      expect(decodePayload(((await res.json()) as TokenAnswer).token).aud).toBe("registry.example");
    }
  });
});

describe("tokens issued in the future", () => {
  const claims = (iat: number) => ({ iss: "edge-registry", aud: "registry", sub: "alice", iat, exp: now() + 3600, access: [{ type: "repository", name: teamA, actions: ["pull"] }] });

  it(`a bearer token whose iat is more than ${60} s ahead is refused; within the clock skew it is accepted`, async () => {
    const ahead = await expectChallenge(await anon.as(bearer(await mint(signing, claims(now() + 600)))).call("GET", `/v2/${teamA}/manifests/v1`), "Bearer");
    expect(ahead).toContain('error="invalid_token"');
    expect(await anon.as(bearer(await mint(signing, claims(now() + 30)))).status("GET", `/v2/${teamA}/manifests/v1`)).toBe(200);
  });
});
