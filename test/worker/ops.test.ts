// Operations on Workers (src/extensions/ops/ through the observe seam of createRegistry): health
// paths open in every auth mode, readiness failing when R2 fails, one request log object per
// request through console.log (Workers Logs) with no secret in it, the Analytics Engine data
// points, and bad settings.
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { basic, keyPair, registryWith, userEntry, type Fetch } from "./auth-helpers";
import * as h from "./helpers";

const PASSWORD = "worker-pa55word-never-logged";

// LOG_LEVEL=info: the suite's default is "error" (vitest.config.ts), to keep other files quiet.
async function basicVars() {
  return { LOG_LEVEL: "info", AUTH_MODE: "basic", AUTH_USERS: JSON.stringify([await userEntry("alice", PASSWORD, ["*"])]) };
}

async function tokenVars() {
  const keys = await keyPair();
  return {
    ...(await basicVars()),
    AUTH_MODE: "token",
    AUTH_TOKEN_SIGNING_KEY: JSON.stringify(keys.privateJwk),
    AUTH_SERVICE: "registry.test",
    AUTH_TOKEN_REALM: "http://registry/token",
  };
}

const get = (registry: Fetch, path: string, init: RequestInit = {}) => registry(new Request(h.BASE + path, init));

/** What the registry gives console.log while a test runs (the Workers Logs sink), kept as objects. */
let logged: unknown[] = [];
const realLog = console.log;
beforeEach(() => {
  logged = [];
  console.log = (...args: unknown[]) => {
    logged.push(...args);
  };
});
afterEach(() => {
  console.log = realLog;
});
const requestLines = () => logged.filter((e): e is Record<string, unknown> => typeof e === "object" && e !== null && (e as { msg?: string }).msg === "request");

describe.each([
  ["open", async () => ({ AUTH_MODE: "open" })],
  ["basic", basicVars],
  ["token", tokenVars],
])("health in %s mode", (mode, vars) => {
  it("answers /healthz and /readyz without credentials, GET and HEAD, revealing nothing", async () => {
    const registry = await registryWith(await vars());
    if (mode !== "open") expect((await get(registry, "/v2/")).status).toBe(401);
    const live = await get(registry, "/healthz");
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "ok" });
    const ready = await get(registry, "/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
    const head = await get(registry, "/readyz", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const put = await get(registry, "/healthz", { method: "PUT", body: "x" });
    expect(put.status).toBe(405);
    expect(((await put.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("UNSUPPORTED");
    // No in-memory metrics on Workers: /metrics is an unknown path like any other.
    const metrics = await get(registry, "/metrics");
    expect(metrics.status).toBe(404);
    await metrics.arrayBuffer();
  });
});

describe("readiness when R2 fails", () => {
  it("is 503 with a JSON body that names nothing; liveness stays 200", async () => {
    // The real binding, except that every HEAD fails as an unreachable bucket would.
    const failing = new Proxy(env.BUCKET, {
      get: (target, prop) =>
        prop === "head" ? () => Promise.reject(new Error("R2 bucket edge-registry-secret-name unreachable")) : (Reflect.get(target, prop) as () => unknown).bind?.(target) ?? Reflect.get(target, prop),
    });
    const registry = await registryWith({ AUTH_MODE: "open", LOG_LEVEL: "error", BUCKET: failing });
    const ready = await get(registry, "/readyz");
    expect(ready.status).toBe(503);
    const text = await ready.text();
    expect(JSON.parse(text)).toEqual({ status: "unavailable", checks: { storage: "failed" } });
    expect(text).not.toContain("secret-name");
    expect((await get(registry, "/healthz")).status).toBe(200);
    // The reason is for the operator's log only.
    expect(logged.some((e) => (e as { msg?: string }).msg === "readiness check failed")).toBe(true);
  });
});

describe("request log through console.log", () => {
  it("one object per request with every field, the route pattern, the request id echoed; no secret", async () => {
    const registry = await registryWith(await basicVars());
    const repo = h.uniqueRepo("ops");
    const auth = basic("alice", PASSWORD);
    const start = await get(registry, `/v2/${repo}/blobs/uploads/?_state=SECRETSTATE`, { method: "POST", headers: { Authorization: auth, "X-Request-Id": "w-start-1" } });
    expect(start.status).toBe(202);
    expect(start.headers.get("X-Request-Id")).toBe("w-start-1");
    const refused = await get(registry, "/v2/", { headers: { Authorization: "Bearer not.a-real.token", "X-Request-Id": "x".repeat(200) } });
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();
    const generated = refused.headers.get("X-Request-Id")!;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);

    const lines = requestLines();
    expect(lines).toHaveLength(2);
    const [first, second] = lines as [Record<string, unknown>, Record<string, unknown>];
    for (const field of ["time", "level", "msg", "request_id", "method", "route", "repository", "reference", "status", "bytes_in", "bytes_out", "duration_ms", "caller", "upload_id", "remote"]) {
      expect(first).toHaveProperty(field);
      expect(second).toHaveProperty(field);
    }
    expect(first).toMatchObject({ request_id: "w-start-1", method: "POST", route: "/v2/:name+/blobs/uploads", repository: repo, status: 202, caller: "alice" });
    expect(first.upload_id).toBe(start.headers.get("Location")!.split("/").pop()!.split("?")[0]);
    expect(second).toMatchObject({ request_id: generated, route: "/v2", status: 401, caller: null });
    const text = JSON.stringify(logged);
    for (const secret of [PASSWORD, auth.slice(6), "not.a-real.token", "SECRETSTATE"]) expect(text).not.toContain(secret);
  });

  it("a body refused before routing (over MAX_REQUEST_BODY_BYTES) is logged as unrouted, not by its path", async () => {
    const registry = await registryWith({ AUTH_MODE: "open", LOG_LEVEL: "info", MAX_REQUEST_BODY_BYTES: "10" });
    const refused = await get(registry, "/v2/private-name/blobs/uploads/some-upload-id", { method: "PATCH", headers: { "Content-Length": "100" }, body: "x".repeat(100) });
    expect(refused.status).toBe(413);
    await refused.arrayBuffer();
    const [line] = requestLines();
    expect(line).toMatchObject({ route: "unrouted", status: 413, bytes_in: 100, repository: null, upload_id: null });
    expect(JSON.stringify(logged)).not.toContain("private-name");
  });

  it("LOG_LEVEL=error logs only failures of the registry; off logs nothing", async () => {
    const errorsOnly = await registryWith({ AUTH_MODE: "open", LOG_LEVEL: "error" });
    await (await get(errorsOnly, "/v2/")).arrayBuffer();
    await (await get(errorsOnly, "/v2/nothing/here")).arrayBuffer();
    expect(requestLines()).toEqual([]);
    const off = await registryWith({ AUTH_MODE: "open", LOG_LEVEL: "off" });
    const answered = await get(off, "/v2/");
    expect(answered.headers.get("X-Request-Id")).toBeTruthy();
    expect(logged).toEqual([]);
  });

  it("an invalid LOG_LEVEL stops the registry with a message naming the setting", async () => {
    await expect(registryWith({ AUTH_MODE: "open", LOG_LEVEL: "loud" })).rejects.toThrow(/LOG_LEVEL must be one of off, error, info, debug/);
  });
});

describe("Analytics Engine data points (OPS_ANALYTICS)", () => {
  it("writes one point per request: route, method, status, auth failure; duration and bytes", async () => {
    const points: { indexes?: string[]; blobs?: string[]; doubles?: number[] }[] = [];
    const dataset = { writeDataPoint: (point: (typeof points)[number]) => void points.push(point) };
    const registry = await registryWith({ ...(await basicVars()), OPS_ANALYTICS: dataset });
    await (await get(registry, "/v2/", { headers: { Authorization: basic("alice", "wrong") } })).arrayBuffer();
    await (await get(registry, "/healthz")).arrayBuffer();
    expect(points).toHaveLength(2);
    expect(points[0]).toMatchObject({ indexes: ["/v2"], blobs: ["/v2", "GET", "401", "invalid_credentials"] });
    expect(points[1]).toMatchObject({ indexes: ["/healthz"], blobs: ["/healthz", "GET", "200", ""] });
    expect(points[1]!.doubles).toHaveLength(3);
    expect(points[1]!.doubles![2]).toBe(15); // {"status":"ok"}
  });
});
