// Failed-login limiting (AUTH_FAILURE_LIMIT per AUTH_FAILURE_WINDOW_SECONDS): per client address
// and per user name, 429 TOOMANYREQUESTS with Retry-After, decided before any verification, never
// locking a user out of addresses that have not failed. Counts live in the AuthFailureCounter
// Durable Objects (one count for every isolate), or in memory without the binding.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/runtimes/workers/index";
import type { Env } from "../../src/runtimes/workers/env";
import { Client, basic, bearer, keyPair, mint, now, registryWith, userEntry, type KeyPair } from "./auth-helpers";
import { uniqueRepo } from "./helpers";

const LIMIT = 3;
let users: string;
let seq = 0;
/** A client address no other test uses. */
const freshAddress = () => `198.51.100.${++seq}`;
/** A user name no other test uses, with password `${name}-pw`. */
const names: string[] = Array.from({ length: 40 }, (_, i) => `user${i}`);
let nextName = 0;
function freshUser(): string {
  const name = names[nextName++];
  if (!name) throw new Error("out of test user names");
  return name;
}

beforeAll(async () => {
  users = JSON.stringify(await Promise.all(names.map((n) => userEntry(n, `${n}-pw`, ["pull", "push"]))));
});

const basicRegistry = async (vars: Record<string, string> = {}) =>
  new Client(await registryWith({ AUTH_MODE: "basic", AUTH_USERS: users, AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_SECONDS: "60", ...vars }));

/** 429 TOOMANYREQUESTS with Retry-After (at most the window) in the header and the envelope's detail. */
async function expectTooMany(res: Response, windowSeconds = 300): Promise<number> {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get("Retry-After"));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  const body = (await res.json()) as { errors: { code: string; detail: { retryAfterSeconds: number } }[] };
  expect(body.errors[0]!.code).toBe("TOOMANYREQUESTS");
  expect(body.errors[0]!.detail.retryAfterSeconds).toBe(retryAfter);
  return retryAfter;
}

async function fail(client: Client, times: number, path = "/v2/"): Promise<void> {
  for (let i = 0; i < times; i++) expect(await client.status("GET", path), `failure ${i + 1}`).toBe(401);
}

describe("per client address", () => {
  it(`${LIMIT} wrong passwords from an address -> 429 with Retry-After, even with the right password (refused before checking it)`, async () => {
    const registry = await basicRegistry();
    const address = freshAddress();
    const user = freshUser();
    await fail(registry.from(address).as(basic(user, "wrong")), LIMIT);
    await expectTooMany(await registry.from(address).as(basic(user, `${user}-pw`)).call("GET", "/v2/"));
    // Wrong passwords for other names from the same address: refused too.
    await expectTooMany(await registry.from(address).as(basic(freshUser(), "guess")).call("GET", "/v2/"));
  });

  it("other addresses are not affected, and anonymous requests from the blocked address still get their 401 challenge", async () => {
    const registry = await basicRegistry();
    const blocked = freshAddress();
    await fail(registry.from(blocked).as(basic(freshUser(), "wrong")), LIMIT);
    const user = freshUser();
    expect(await registry.from(freshAddress()).as(basic(user, `${user}-pw`)).status("GET", "/v2/")).toBe(200);
    expect(await registry.from(blocked).status("GET", "/v2/")).toBe(401);
  });

  it("forged bearer tokens count; genuine but expired ones do not", async () => {
    const signing: KeyPair = await keyPair("ES256");
    const stranger = await keyPair("ES256");
    const registry = new Client(await registryWith({
      AUTH_MODE: "token",
      AUTH_TOKEN_SIGNING_KEY: JSON.stringify(signing.privateJwk),
      AUTH_SERVICE: "registry",
      AUTH_TOKEN_REALM: "http://registry/token",
      AUTH_FAILURE_LIMIT: String(LIMIT),
    }));
    const claims = { iss: "edge-registry", aud: "registry", sub: "ci", exp: now() + 300, access: [] };
    const good = await mint(signing, claims);
    const expiredAddress = freshAddress();
    for (let i = 0; i < LIMIT + 2; i++) {
      expect(await registry.from(expiredAddress).as(bearer(await mint(signing, { ...claims, exp: now() - 60 - i }))).status("GET", "/v2/")).toBe(401);
    }
    expect(await registry.from(expiredAddress).as(bearer(good)).status("GET", "/v2/")).toBe(200);
    const forger = freshAddress();
    for (let i = 0; i < LIMIT; i++) {
      expect(await registry.from(forger).as(bearer(await mint(stranger, { ...claims, jti: String(i) }))).status("GET", "/v2/")).toBe(401);
    }
    await expectTooMany(await registry.from(forger).as(bearer(await mint(signing, { ...claims, jti: "x" }))).call("GET", "/v2/"));
  });

  it("the /token endpoint counts wrong passwords and answers 429 the same way", async () => {
    const registry = new Client(await registryWith({
      AUTH_MODE: "token",
      AUTH_TOKEN_SIGNING_KEY: JSON.stringify((await keyPair("ES256")).privateJwk),
      AUTH_SERVICE: "registry",
      AUTH_TOKEN_REALM: "http://registry/token",
      AUTH_USERS: users,
      AUTH_FAILURE_LIMIT: String(LIMIT),
    }));
    const address = freshAddress();
    const user = freshUser();
    for (let i = 0; i < LIMIT; i++) {
      const form = new URLSearchParams({ grant_type: "password", username: user, password: "wrong", service: "registry" });
      const res = await registry.from(address).call("POST", "/token", { body: form.toString(), headers: { "Content-Type": "application/x-www-form-urlencoded" } });
      expect(res.status).toBe(401);
      await res.arrayBuffer();
    }
    await expectTooMany(await registry.from(address).as(basic(user, `${user}-pw`)).call("GET", "/token?service=registry"));
  });
});

describe("per user name", () => {
  it("a name guessed from many addresses: each address that failed is refused for it, its owner from another address gets in", async () => {
    const registry = await basicRegistry();
    const victim = freshUser();
    const attackers = Array.from({ length: LIMIT }, freshAddress);
    for (const address of attackers) await fail(registry.from(address).as(basic(victim, "guess")), 1);
    // The name is over the limit: addresses with failures may not try it again, not even with the right password...
    await expectTooMany(await registry.from(attackers[0]!).as(basic(victim, `${victim}-pw`)).call("GET", "/v2/"));
    // ...a new address gets one guess, then it is refused too...
    const another = freshAddress();
    await fail(registry.from(another).as(basic(victim, "guess")), 1);
    await expectTooMany(await registry.from(another).as(basic(victim, "guess")).call("GET", "/v2/"));
    // ...and the owner, from an address that never failed, logs in.
    expect(await registry.from(freshAddress()).as(basic(victim, `${victim}-pw`)).status("GET", "/v2/")).toBe(200);
  });
});

describe("counts and settings", () => {
  it("the count is shared by every isolate (the Durable Object), not per registry instance", async () => {
    const [first, second] = [await basicRegistry(), await basicRegistry()];
    const address = freshAddress();
    await fail(first.from(address).as(basic(freshUser(), "wrong")), LIMIT);
    await expectTooMany(await second.from(address).as(basic(freshUser(), "wrong")).call("GET", "/v2/"));
  });

  it("without the AUTH_FAILURES binding the same rule holds in the isolate's memory", async () => {
    const registry = await basicRegistry({ AUTH_FAILURES: undefined } as unknown as Record<string, string>);
    const address = freshAddress();
    await fail(registry.from(address).as(basic(freshUser(), "wrong")), LIMIT);
    await expectTooMany(await registry.from(address).as(basic(freshUser(), "wrong")).call("GET", "/v2/"));
  });

  it("the window passes: the address may try again", async () => {
    const registry = await basicRegistry({ AUTH_FAILURE_WINDOW_SECONDS: "1" });
    const address = freshAddress();
    const user = freshUser();
    await fail(registry.from(address).as(basic(user, "wrong")), LIMIT);
    expect(await expectTooMany(await registry.from(address).as(basic(user, `${user}-pw`)).call("GET", "/v2/"))).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await registry.from(address).as(basic(user, `${user}-pw`)).status("GET", "/v2/")).toBe(200);
  });

  it("AUTH_FAILURE_LIMIT=0 turns the limit off; a broken value refuses every request naming it", async () => {
    const unlimited = await basicRegistry({ AUTH_FAILURE_LIMIT: "0" });
    await fail(unlimited.from(freshAddress()).as(basic(freshUser(), "wrong")), LIMIT + 3);
    const broken: Record<string, string>[] = [{ AUTH_FAILURE_LIMIT: "-1" }, { AUTH_FAILURE_LIMIT: "many" }, { AUTH_FAILURE_WINDOW_SECONDS: "0" }];
    for (const vars of broken) {
      const res = await (await basicRegistry(vars)).call("GET", "/v2/");
      expect(res.status).toBe(401);
      expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(Object.keys(vars)[0]!);
    }
  });

  it("the Workers entry takes the client address from CF-Connecting-IP", async () => {
    const limited = { ...env, AUTH_MODE: "basic", AUTH_USERS: users, AUTH_FAILURE_LIMIT: String(LIMIT) } as Env;
    const call = (ip: string, authorization: string) =>
      worker.fetch(new Request("http://registry/v2/", { headers: { "CF-Connecting-IP": ip, Authorization: authorization } }), limited);
    const ip = freshAddress();
    for (let i = 0; i < LIMIT; i++) expect((await call(ip, basic(freshUser(), "wrong"))).status).toBe(401);
    await expectTooMany(await call(ip, basic("nobody", "wrong")));
    expect((await call(freshAddress(), basic("nobody", "wrong"))).status).toBe(401);
  });
});

it("a cached login keeps working from an address that is then blocked (it is no guess)", async () => {
  const registry = await basicRegistry();
  const address = freshAddress();
  const user = freshUser();
  const owner = registry.from(address).as(basic(user, `${user}-pw`));
  expect(await owner.status("GET", "/v2/")).toBe(200);
  await fail(registry.from(address).as(basic(freshUser(), "wrong")), LIMIT);
  expect(await owner.status("GET", `/v2/${uniqueRepo("c")}/tags/list`)).not.toBe(429);
});
