// Per-repository rules: patterns mapped to users, groups and anonymous callers; the catalog shows
// only what the caller may pull; a mount needs pull on the source.
import { beforeAll, describe, expect, it } from "vitest";
import { RepositoryPattern, parseActions, parseScope } from "../../src/auth/access";
import { Client, basic, expectChallenge, expectDenied, registryWith, userEntry } from "./auth-helpers";
import { randomBytes } from "./helpers";

let anon: Client;
let admin: Client; // everything
let dave: Client; // group team-a: pull, push, delete on team-a/*
let erin: Client; // no rights of her own; rule grants pull on shared/tools
const suffix = crypto.randomUUID().slice(0, 8);
const teamA = `team-a/app-${suffix}`;
const teamB = `team-b/app-${suffix}`;
const pub = `public/base-${suffix}`;

beforeAll(async () => {
  const registry = await registryWith({
    AUTH_MODE: "basic",
    AUTH_USERS: JSON.stringify([
      await userEntry("admin", "admin-pw", ["*"]),
      await userEntry("dave", "dave-pw", [], ["team-a"]),
      await userEntry("erin", "erin-pw", []),
    ]),
    AUTH_RULES: JSON.stringify([
      { repository: "public/*", anonymous: true, actions: ["pull"] },
      { repository: "team-a/*", groups: ["team-a"], actions: ["pull", "push", "delete"] },
      { repository: "shared/tools", users: ["erin"], actions: ["pull"] },
    ]),
  });
  anon = new Client(registry);
  admin = anon.as(basic("admin", "admin-pw"));
  dave = anon.as(basic("dave", "dave-pw"));
  erin = anon.as(basic("erin", "erin-pw"));
  await admin.pushImage(teamA, "v1");
  await admin.pushImage(teamB, "v1");
  await admin.pushImage(pub, "v1");
  await admin.pushImage("shared/tools", "v1");
});

describe("patterns and scopes", () => {
  it("'*' in a pattern spans any characters, slashes included; other names match exactly", () => {
    expect(new RepositoryPattern("team-a/*").matches("team-a/app")).toBe(true);
    expect(new RepositoryPattern("team-a/*").matches("team-a/tools/ci")).toBe(true);
    expect(new RepositoryPattern("team-a/*").matches("team-ab/app")).toBe(false);
    expect(new RepositoryPattern("team-a/*").matches("team-a")).toBe(false);
    expect(new RepositoryPattern("*").matches("anything/at/all")).toBe(true);
    expect(new RepositoryPattern("a.b").matches("axb")).toBe(false);
    expect(new RepositoryPattern("*", true).matches("other")).toBe(false);
  });

  it("parses token-spec scopes and never widens unknown actions", () => {
    expect(parseScope("repository:team/app:pull,push")).toEqual({ type: "repository", name: "team/app", actions: ["pull", "push"] });
    expect(parseScope("repository:localhost:5000/app:pull")).toEqual({ type: "repository", name: "localhost:5000/app", actions: ["pull"] });
    expect(parseScope("registry:catalog:*")).toEqual({ type: "registry", name: "catalog", actions: ["*"] });
    expect(parseScope("repository:app:admin")).toEqual({ type: "repository", name: "app", actions: [] });
    expect(parseScope("nonsense")).toBeNull();
    expect(parseActions(["*"])).toEqual(["pull", "push", "delete"]);
  });
});

describe("access rules", () => {
  it("anonymous callers pull public patterns, and are challenged (401) for anything else", async () => {
    expect(await anon.status("GET", `/v2/${pub}/manifests/v1`)).toBe(200);
    expect(await anon.status("GET", `/v2/${pub}/tags/list`)).toBe(200);
    await expectChallenge(await anon.call("POST", `/v2/${pub}/blobs/uploads/`), "Basic");
    await expectChallenge(await anon.call("GET", `/v2/${teamA}/manifests/v1`), "Basic");
    // skopeo and podman send an empty "Basic :" when they have no credentials: that is anonymous.
    expect(await anon.as(`Basic ${btoa(":")}`).status("GET", `/v2/${pub}/manifests/v1`)).toBe(200);
    await expectChallenge(await anon.as(`Basic ${btoa(":")}`).call("GET", `/v2/${teamA}/manifests/v1`), "Basic");
    // /v2/ still asks for credentials, so `docker login` verifies them.
    await expectChallenge(await anon.call("GET", "/v2/"), "Basic");
  });

  it("a group member pushes, pulls and deletes in the group's pattern and nowhere else", async () => {
    const repo = `team-a/new-${suffix}`;
    const { manifestDigest } = await dave.pushImage(repo, "v1");
    expect(await dave.status("GET", `/v2/${teamA}/manifests/v1`)).toBe(200);
    expect(await dave.status("DELETE", `/v2/${repo}/manifests/${manifestDigest}`)).toBe(202);
    await expectDenied(await dave.call("GET", `/v2/${teamB}/manifests/v1`));
    await expectDenied(await dave.call("POST", `/v2/${teamB}/blobs/uploads/`));
    await expectDenied(await dave.call("POST", `/v2/${pub}/blobs/uploads/`));
    expect(await dave.status("GET", `/v2/${pub}/manifests/v1`)).toBe(200);
  });

  it("a rule naming a user grants that user only what it says", async () => {
    expect(await erin.status("GET", "/v2/shared/tools/manifests/v1")).toBe(200);
    await expectDenied(await erin.call("POST", "/v2/shared/tools/blobs/uploads/"));
    await expectDenied(await erin.call("GET", `/v2/${teamA}/manifests/v1`));
    await expectDenied(await dave.call("GET", "/v2/shared/tools/manifests/v1"));
  });

  it("the catalog lists only repositories the caller may pull", async () => {
    const list = async (c: Client, query = "") => {
      const res = await c.call("GET", `/v2/_catalog${query}`);
      expect(res.status).toBe(200);
      return { names: ((await res.json()) as { repositories: string[] }).repositories, link: res.headers.get("Link") };
    };
    const all = (await list(admin)).names;
    expect(all).toEqual(expect.arrayContaining([teamA, teamB, pub, "shared/tools"]));
    const daves = (await list(dave)).names;
    expect(daves).toContain(teamA);
    expect(daves).toContain(pub);
    expect(daves).not.toContain(teamB);
    expect(daves).not.toContain("shared/tools");
    expect(daves.every((n) => n.startsWith("team-a/") || n.startsWith("public/"))).toBe(true);
    expect((await list(erin)).names).toEqual(expect.arrayContaining(["shared/tools", pub]));
    expect((await list(erin)).names).not.toContain(teamA);
    // Anonymous callers see the public patterns.
    const anonymous = (await list(anon)).names;
    expect(anonymous).toContain(pub);
    expect(anonymous.every((n) => n.startsWith("public/"))).toBe(true);

    // Pagination walks the filtered list: one name per page, all of dave's, nothing else.
    const seen: string[] = [];
    let query = "?n=1";
    for (let i = 0; i < 50; i++) {
      const page = await list(dave, query);
      seen.push(...page.names);
      if (!page.link) break;
      query = page.link.slice(page.link.indexOf("?"), page.link.indexOf(">"));
    }
    expect(seen).toEqual(daves);
  });

  it("a mount needs pull on the source: without it, or without `from`, it falls back to a new session", async () => {
    const target = `team-a/mount-${suffix}`;
    const { digest } = await admin.putBlob(teamB, randomBytes(512));
    const denied = await dave.call("POST", `/v2/${target}/blobs/uploads/?mount=${digest}&from=${teamB}`);
    expect(denied.status).toBe(202);
    const noFrom = await dave.call("POST", `/v2/${target}/blobs/uploads/?mount=${digest}`);
    expect(noFrom.status).toBe(202);
    expect(await dave.status("HEAD", `/v2/${target}/blobs/${digest}`)).toBe(404);

    const { digest: publicDigest } = await admin.putBlob(pub, randomBytes(512));
    const mounted = await dave.call("POST", `/v2/${target}/blobs/uploads/?mount=${publicDigest}&from=${pub}`);
    expect(mounted.status).toBe(201);
    // Someone who may pull everything may mount without naming the source.
    const adminMount = await admin.call("POST", `/v2/team-c/app-${suffix}/blobs/uploads/?mount=${digest}`);
    expect(adminMount.status).toBe(201);
  });
});

describe("configuration", () => {
  it("refuses every request, saying why, when no auth is configured", async () => {
    const registry = new Client(await registryWith({}));
    for (const [method, path] of [["GET", "/v2/"], ["GET", "/v2/app/manifests/v1"], ["POST", "/v2/app/blobs/uploads/"]] as const) {
      const res = await registry.call(method, path);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]!.code).toBe("UNAUTHORIZED");
      expect(body.errors[0]!.message).toMatch(/authentication is not configured.*AUTH_MODE=open/);
    }
  });

  it("refuses every request when a setting is broken, naming the setting", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ AUTH_MODE: "basic", AUTH_USERS: "[{not json" }, /AUTH_USERS is not valid JSON/],
      [{ AUTH_MODE: "basic", AUTH_USERS: JSON.stringify([{ username: "x", password: "plain" }]) }, /AUTH_USERS\[0\]\.password/],
      [{ AUTH_MODE: "sometimes" }, /AUTH_MODE must be/],
      [{ AUTH_MODE: "basic" }, /nobody could use this registry/],
      [{ AUTH_MODE: "token" }, /AUTH_TOKEN_SIGNING_KEY/],
      [{ AUTH_MODE: "basic", AUTH_JWT_PUBLIC_KEY: "not a key" }, /AUTH_JWT_PUBLIC_KEY/],
      [{ AUTH_MODE: "basic", AUTH_RULES: JSON.stringify([{ repository: "x/*", actions: ["write"] }]) }, /AUTH_RULES\[0\]\.actions/],
    ];
    for (const [vars, message] of cases) {
      const res = await new Client(await registryWith(vars)).call("GET", "/v2/");
      expect(res.status, JSON.stringify(vars)).toBe(401);
      expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(message);
    }
  });

  it("AUTH_MODE=open lets anyone do anything", async () => {
    const open = new Client(await registryWith({ AUTH_MODE: "open" }));
    expect(await open.status("GET", "/v2/")).toBe(200);
    await open.pushImage(`open/app-${suffix}`, "v1");
  });
});
