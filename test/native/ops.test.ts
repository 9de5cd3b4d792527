// Operations (src/extensions/ops/) on the native registry, on Node, Bun and Deno: health paths in
// every auth mode, readiness failing when the data directory goes, the request log on stdout
// (every field, no secret, one line for a client that leaves mid-upload), Prometheus metrics on
// the registry's port (with the metrics right) and on the metrics-only listener, and bad settings.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { hashPassword } from "../../src/auth/passwords";
import { ROOT, RUNTIMES, bundle, runtimeCommand, type Runtime } from "./harness";
import { RawConnection, sleep } from "./raw";

const ALICE = { name: "alice", password: "alice-pa55word-do-not-log" };
const BOB = { name: "bob", password: "bob-pa55word-do-not-log" };
const SCRAPER = { name: "scraper", password: "scraper-pa55word-do-not-log" };
const basic = (user: { name: string; password: string }) => `Basic ${Buffer.from(`${user.name}:${user.password}`).toString("base64")}`;

async function basicVars(): Promise<Record<string, string>> {
  const users = [
    // Few PBKDF2 iterations: the tests check the flow, not the hash's cost.
    { username: ALICE.name, password: await hashPassword(ALICE.password, 1000), actions: ["*"] },
    { username: BOB.name, password: await hashPassword(BOB.password, 1000), actions: ["pull"] },
    { username: SCRAPER.name, password: await hashPassword(SCRAPER.password, 1000), actions: [], groups: ["metrics"] },
  ];
  return { AUTH_MODE: "basic", AUTH_USERS: JSON.stringify(users) };
}

interface Server {
  url: string;
  port: number;
  metricsPort: number | null;
  dataDir: string;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** The JSON lines on stdout, parsed. */
  lines(): Record<string, unknown>[];
  stop(): Promise<void>;
}

let entry: { file: string; cleanup(): Promise<void> };
beforeAll(async () => {
  entry = await bundle("test/native/ops/server.ts");
}, 60_000);
afterAll(async () => entry?.cleanup());

function launch(runtime: Runtime, env: Record<string, string>): { child: ChildProcess; out: string[]; err: string[]; dataDir: string; exited: Promise<number | null> } {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "ops-data-"));
  const [command, args] = runtimeCommand(runtime, entry.file);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", NO_COLOR: "1", DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout!.on("data", (chunk: Buffer) => out.push(chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => err.push(chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, out, err, dataDir, exited };
}

async function startServer(runtime: Runtime, env: Record<string, string>): Promise<Server> {
  const { child, out, err, dataDir, exited } = launch(runtime, env);
  const text = () => out.join("");
  const deadline = Date.now() + 20_000;
  let port = 0;
  while (port === 0) {
    const m = /^listening (\d+)$/m.exec(text());
    if (m) port = Number(m[1]);
    else if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${runtime} did not start:\n${text()}\n${err.join("")}`);
    else await sleep(20);
  }
  const metrics = /^metrics (\d+)$/m.exec(text());
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    metricsPort: metrics ? Number(metrics[1]) : null,
    dataDir,
    stdout: text,
    stderr: () => err.join(""),
    lines: () =>
      text()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Log lines are written once per event-loop turn: wait until the line for `requestId` is there. */
async function lineFor(server: Server, requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const found = server.lines().filter((l) => l.request_id === requestId);
    if (found.length > 0) return found[0]!;
    await sleep(10);
  }
  throw new Error(`no log line for ${requestId}:\n${server.stdout().slice(-2000)}`);
}

async function json(response: Response): Promise<unknown> {
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return response.json();
}

/** Prometheus text → samples by their full name with labels (e.g. `x_total{a="b"}`). */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

const LOG_FIELDS = ["time", "level", "msg", "request_id", "method", "route", "repository", "reference", "status", "bytes_in", "bytes_out", "duration_ms", "caller", "upload_id", "remote"];
const BLOB_ROUTE = "/v2/:name+/blobs/:digest";
const UPLOAD_ROUTE = "/v2/:name+/blobs/uploads/:id";
const START_ROUTE = "/v2/:name+/blobs/uploads";

describe.each(RUNTIMES)("%s, basic auth, METRICS_ADDRESS", (runtime) => {
  let server: Server;
  const alice = { Authorization: basic(ALICE) };
  beforeAll(async () => {
    server = await startServer(runtime, { ...(await basicVars()), METRICS_ADDRESS: "127.0.0.1:0", UPLOAD_PART_SIZE: String(5 * 1024 * 1024) });
  }, 60_000);
  afterAll(async () => server?.stop());

  const scrape = async (): Promise<Map<string, number>> => {
    const response = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    return parseMetrics(await response.text());
  };

  /** Pushes a blob in one POST + PUT (two requests), returns its digest and the upload's request ids. */
  const pushBlob = async (name: string, bytes: Uint8Array) => {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    const start = await fetch(`${server.url}/v2/${name}/blobs/uploads/`, { method: "POST", headers: alice });
    expect(start.status).toBe(202);
    const location = start.headers.get("location")!;
    const put = await fetch(new URL(`${location}${location.includes("?") ? "&" : "?"}digest=${digest}`, server.url), {
      method: "PUT",
      headers: { ...alice, "Content-Type": "application/octet-stream", "X-Request-Id": `put-${name.replace(/\//g, "-")}` },
      body: bytes,
    });
    expect(put.status).toBe(201);
    return { digest, uploadId: location.split("/").pop()!.split("?")[0]!, startId: start.headers.get("x-request-id")!, putId: put.headers.get("x-request-id")! };
  };

  test("liveness and readiness answer without credentials, GET and HEAD, and say nothing about content", async () => {
    const v2 = await fetch(`${server.url}/v2/`);
    expect(v2.status).toBe(401); // auth is on
    for (const path of ["/healthz", "/readyz"]) {
      const get = await fetch(server.url + path);
      expect(get.status).toBe(200);
      const body = await json(get);
      expect(body).toEqual({ status: path === "/healthz" ? "ok" : "ready" });
      expect(get.headers.get("x-request-id")).toBeTruthy();
      const head = await fetch(server.url + path, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe("");
      const post = await fetch(server.url + path, { method: "POST", body: "x" });
      expect(post.status).toBe(405);
      expect(((await json(post)) as { errors: { code: string }[] }).errors[0]!.code).toBe("UNSUPPORTED");
    }
    // No path under them is anything.
    const under = await fetch(`${server.url}/healthz/x`);
    expect(under.status).toBe(404);
  });

  test("one JSON line per request with every field; the route pattern, never the raw path", async () => {
    const bytes = randomBytes(3000);
    const { digest, uploadId, startId, putId } = await pushBlob("team/app", bytes);
    const pull = await fetch(`${server.url}/v2/team/app/blobs/${digest}`, { headers: { ...alice, "X-Request-Id": "pull-1.a_b:c" } });
    expect(pull.status).toBe(200);
    expect(pull.headers.get("x-request-id")).toBe("pull-1.a_b:c");
    expect((await pull.arrayBuffer()).byteLength).toBe(3000);
    const ranged = await fetch(`${server.url}/v2/team/app/blobs/${digest}`, { headers: { ...alice, Range: "bytes=0-99", "X-Request-Id": "ranged-1" } });
    expect(ranged.status).toBe(206);
    await ranged.arrayBuffer();

    const start = await lineFor(server, startId);
    const put = await lineFor(server, putId);
    const get = await lineFor(server, "pull-1.a_b:c");
    const range = await lineFor(server, "ranged-1");
    for (const line of [start, put, get, range]) {
      for (const field of LOG_FIELDS) expect(line, `${field} in ${JSON.stringify(line)}`).toHaveProperty(field);
      expect(new Date(line.time as string).toISOString()).toBe(line.time);
      expect(typeof line.duration_ms).toBe("number");
      expect(line.caller).toBe("alice");
      expect(line.repository).toBe("team/app");
      expect(line.remote).toBe("127.0.0.1");
      expect(line.level).toBe("info");
      expect(line.msg).toBe("request");
    }
    expect(start).toMatchObject({ method: "POST", route: START_ROUTE, status: 202, upload_id: uploadId, bytes_in: 0, reference: null });
    expect(put).toMatchObject({ method: "PUT", route: UPLOAD_ROUTE, status: 201, upload_id: uploadId, bytes_in: 3000, bytes_out: 0 });
    expect(get).toMatchObject({ method: "GET", route: BLOB_ROUTE, status: 200, reference: digest, bytes_in: 0, bytes_out: 3000, upload_id: null });
    expect(range).toMatchObject({ status: 206, bytes_out: 100 });
    // Raw paths (with the upload id or digest in them) are not routes.
    expect(server.lines().every((l) => l.msg !== "request" || !String(l.route).includes(uploadId))).toBe(true);

    const unknown = await fetch(`${server.url}/v2/team/app/manifests/nope`, { headers: { ...alice, "X-Request-Id": "missing-1" } });
    expect(unknown.status).toBe(404);
    expect(await lineFor(server, "missing-1")).toMatchObject({ route: "/v2/:name+/manifests/:reference", reference: "nope", status: 404 });
    const nowhere = await fetch(`${server.url}/somewhere/else?x=1`, { headers: { "X-Request-Id": "nowhere-1" } });
    expect(nowhere.status).toBe(404);
    expect(await lineFor(server, "nowhere-1")).toMatchObject({ route: "*", repository: null, caller: null, status: 404 });
  });

  test("bytes in of a chunked push (no Content-Length) are what the server received", async () => {
    const start = await fetch(`${server.url}/v2/team/chunked/blobs/uploads/`, { method: "POST", headers: alice });
    const location = new URL(start.headers.get("location")!, server.url);
    const pieces = [randomBytes(70_000), randomBytes(50_000), randomBytes(3)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = pieces.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const before = await scrape();
    const patch = await fetch(location, { method: "PATCH", headers: { ...alice, "X-Request-Id": "chunked-1" }, body, duplex: "half" } as RequestInit);
    expect(patch.status).toBe(202);
    expect(await lineFor(server, "chunked-1")).toMatchObject({ route: UPLOAD_ROUTE, bytes_in: 120_003, status: 202 });
    const key = `registry_received_bytes_total{route="${UPLOAD_ROUTE}"}`;
    expect(((await scrape()).get(key) ?? 0) - (before.get(key) ?? 0)).toBe(120_003);
    await fetch(location, { method: "DELETE", headers: alice });
  });

  test("X-Request-Id: a well-formed one is kept, oversized or unsafe ones are replaced", async () => {
    const cases = ["x".repeat(129), "has space", "quote\"d", "<script>", "semi;colon", "é"];
    const seen = new Set<string>();
    for (const given of cases) {
      const response = await fetch(`${server.url}/healthz`, { headers: { "X-Request-Id": encodeURI(given) === given ? given : encodeURIComponent(given) } });
      const id = response.headers.get("x-request-id")!;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(cases.length);
    const longest = "k".repeat(128);
    expect((await fetch(`${server.url}/healthz`, { headers: { "X-Request-Id": longest } })).headers.get("x-request-id")).toBe(longest);
  });

  test("no secret reaches the log: Basic credentials, bearer tokens, _state and token query values", async () => {
    const token = `eyJhbGciOiJFUzI1NiJ9.${randomBytes(24).toString("base64url")}.${randomBytes(32).toString("base64url")}`;
    const secret = `S3CRET${randomBytes(6).toString("hex")}`;
    const ids: string[] = [];
    const send = async (path: string, headers: Record<string, string>, init: RequestInit = {}) => {
      const response = await fetch(server.url + path, { ...init, headers });
      await response.arrayBuffer();
      ids.push(response.headers.get("x-request-id")!);
    };
    await send("/v2/", { Authorization: basic(ALICE) });
    await send("/v2/", { Authorization: basic({ name: "alice", password: "wrong-" + secret }) });
    await send("/v2/", { Authorization: `Bearer ${token}` });
    await send(`/v2/team/app/blobs/uploads/0123?_state=${secret}`, { Authorization: basic(ALICE) });
    await send(`/token?account=alice&scope=repository:x:pull&password=${secret}`, { Authorization: basic(ALICE) });
    await send(`/v2/_catalog?n=1&token=${secret}`, { Authorization: basic(BOB) });
    await send(`/metrics?token=${secret}`, { Authorization: basic(SCRAPER) });
    for (const id of ids) await lineFor(server, id);
    const everything = server.stdout() + server.stderr();
    for (const needle of [ALICE.password, BOB.password, SCRAPER.password, secret, token, token.split(".")[2]!, basic(ALICE).slice(6), basic(BOB).slice(6), basic(SCRAPER).slice(6)]) {
      expect(everything.includes(needle), `log contains ${needle}`).toBe(false);
    }
    expect(everything.toLowerCase()).not.toContain("authorization");
  });

  test("metrics: counts move with requests, histogram buckets are cumulative, bytes and open sessions are counted", async () => {
    const blobKey = `registry_requests_total{method="GET",route="${BLOB_ROUTE}",status="200"}`;
    const before = await scrape();
    const bytes = randomBytes(5000);
    const { digest } = await pushBlob("team/metrics", bytes);
    for (let i = 0; i < 3; i++) await (await fetch(`${server.url}/v2/team/metrics/blobs/${digest}`, { headers: alice })).arrayBuffer();
    const start = await fetch(`${server.url}/v2/team/metrics/blobs/uploads/`, { method: "POST", headers: alice });
    expect(start.status).toBe(202);
    await fetch(`${server.url}/v2/`, { headers: { Authorization: basic({ name: "alice", password: "nope" }) } });
    await fetch(`${server.url}/v2/team/metrics/blobs/${digest}`, { method: "DELETE", headers: { Authorization: basic(BOB) } });
    const after = await scrape();

    expect((after.get(blobKey) ?? 0) - (before.get(blobKey) ?? 0)).toBe(3);
    const sent = `registry_sent_bytes_total{route="${BLOB_ROUTE}"}`;
    expect((after.get(sent) ?? 0) - (before.get(sent) ?? 0)).toBe(15000);
    const received = `registry_received_bytes_total{route="${UPLOAD_ROUTE}"}`;
    expect((after.get(received) ?? 0) - (before.get(received) ?? 0)).toBe(5000);
    expect(after.get("registry_upload_sessions_open")).toBe((before.get("registry_upload_sessions_open") ?? 0) + 1);
    expect((after.get('registry_auth_failures_total{reason="invalid_credentials"}') ?? 0) - (before.get('registry_auth_failures_total{reason="invalid_credentials"}') ?? 0)).toBe(1);
    expect((after.get('registry_auth_failures_total{reason="denied"}') ?? 0) - (before.get('registry_auth_failures_total{reason="denied"}') ?? 0)).toBe(1);
    expect(after.get("registry_pull_through_hits_total")).toBe(0);

    // The histogram of the blob route: cumulative, ending in +Inf = _count, with a _sum.
    const buckets = [...after].filter(([k]) => k.startsWith(`registry_request_duration_seconds_bucket{route="${BLOB_ROUTE}"`));
    expect(buckets.length).toBe(16);
    const counts = buckets.map(([, v]) => v);
    for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeGreaterThanOrEqual(counts[i - 1]!);
    expect(buckets.at(-1)![0]).toContain('le="+Inf"');
    expect(counts.at(-1)).toBe(after.get(`registry_request_duration_seconds_count{route="${BLOB_ROUTE}"}`));
    expect(after.get(`registry_request_duration_seconds_sum{route="${BLOB_ROUTE}"}`)).toBeGreaterThan(0);

    // Cancelled: the session no longer counts as open.
    await fetch(new URL(start.headers.get("location")!, server.url), { method: "DELETE", headers: alice });
    expect((await scrape()).get("registry_upload_sessions_open")).toBe(before.get("registry_upload_sessions_open") ?? 0);
  });

  test("metrics on the registry's port need the metrics right; refusals are the error envelope", async () => {
    const anonymous = await fetch(`${server.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect(((await json(anonymous)) as { errors: { code: string }[] }).errors[0]!.code).toBe("UNAUTHORIZED");
    const wrong = await fetch(`${server.url}/metrics`, { headers: { Authorization: basic({ name: "scraper", password: "guess" }) } });
    expect(wrong.status).toBe(401);
    await json(wrong);
    // alice may do everything with repositories, but is not in the metrics group.
    const notInGroup = await fetch(`${server.url}/metrics`, { headers: alice });
    expect(notInGroup.status).toBe(403);
    expect(((await json(notInGroup)) as { errors: { code: string }[] }).errors[0]!.code).toBe("DENIED");
    const scraper = await fetch(`${server.url}/metrics`, { headers: { Authorization: basic(SCRAPER) } });
    expect(scraper.status).toBe(200);
    expect(parseMetrics(await scraper.text()).size).toBeGreaterThan(0);
  });

  test("the metrics listener serves /metrics and nothing else", async () => {
    const base = `http://127.0.0.1:${server.metricsPort}`;
    for (const path of ["/v2/", "/healthz", "/", "/metrics/x", "/token"]) {
      const response = await fetch(base + path);
      expect(response.status, path).toBe(404);
      expect(((await json(response)) as { errors: { code: string }[] }).errors[0]!.code).toBe("NAME_UNKNOWN");
    }
    const post = await fetch(`${base}/metrics`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    const head = await fetch(`${base}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  test("a client that goes away mid-upload is one log line, no stack trace", async () => {
    const start = await fetch(`${server.url}/v2/team/gone/blobs/uploads/`, { method: "POST", headers: alice });
    const location = new URL(start.headers.get("location")!, server.url);
    // "after-part": 6 MiB of a 16 MiB chunk, past the first 5 MiB part (UPLOAD_PART_SIZE), then a reset.
    for (const how of ["reset", "end", "after-part"] as const) {
      const id = `gone-${how}`;
      const raw = new RawConnection(server.port);
      await raw.ready();
      raw.write(
        `PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice.Authorization}\r\nX-Request-Id: ${id}\r\n` +
          `Content-Type: application/octet-stream\r\nContent-Length: ${16 * 1024 * 1024}\r\n\r\n`,
      );
      if (how === "after-part") await raw.pump(6 * 1024 * 1024);
      else raw.write(randomBytes(256 * 1024));
      await sleep(how === "after-part" ? 300 : 100);
      if (how !== "end") raw.socket.resetAndDestroy();
      else raw.socket.end();
      const line = await lineFor(server, id);
      expect(line).toMatchObject({ route: UPLOAD_ROUTE, method: "PATCH", repository: "team/gone", caller: "alice" });
      expect([400, 499]).toContain(line.status);
      await sleep(200);
      expect(server.lines().filter((l) => l.request_id === id)).toHaveLength(1);
      if (how === "end") raw.destroy();
    }
    const printed = server.stdout() + server.stderr();
    expect(printed).not.toMatch(/\n\s+at /); // a stack frame
    expect(printed).not.toContain("unhandled error");
    // The registry still answers.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  // Last: it takes the data directory away.
  test("readiness fails with 503 and a JSON body once the data directory is gone; liveness stays up", async () => {
    rmSync(server.dataDir, { recursive: true, force: true });
    const response = await fetch(`${server.url}/readyz`, { headers: { "X-Request-Id": "ready-gone" } });
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ status: "unavailable", checks: { storage: "failed" } });
    expect(text).not.toContain(server.dataDir);
    expect((await fetch(`${server.url}/readyz`, { method: "HEAD" })).status).toBe(503);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await lineFor(server, "ready-gone")).toMatchObject({ route: "/readyz", status: 503 });
    expect(server.lines().some((l) => l.msg === "readiness check failed" && l.level === "error")).toBe(true);
  });
});

describe("node: other auth modes and settings", () => {
  test("open mode: health open; /metrics refused on the registry's port (only METRICS_ADDRESS serves it)", async () => {
    const server = await startServer("node", { AUTH_MODE: "open", LOG_LEVEL: "error" });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      const metrics = await fetch(`${server.url}/metrics`);
      expect(metrics.status).toBe(403);
      expect(((await json(metrics)) as { errors: { code: string }[] }).errors[0]!.code).toBe("DENIED");
      // LOG_LEVEL=error: the 200s and the 403 are not logged.
      await sleep(100);
      expect(server.lines().filter((l) => l.msg === "request")).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  test("token mode: health open without a token; LOG_LEVEL=debug adds the user agent", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const server = await startServer("node", {
      ...(await basicVars()),
      AUTH_MODE: "token",
      AUTH_TOKEN_SIGNING_KEY: JSON.stringify(await exportJWK(privateKey)),
      AUTH_SERVICE: "registry.test",
      AUTH_TOKEN_REALM: "http://127.0.0.1/token",
      LOG_LEVEL: "debug",
    });
    try {
      expect((await fetch(`${server.url}/v2/`)).status).toBe(401);
      const health = await fetch(`${server.url}/healthz`, { headers: { "User-Agent": "ops-test/1" } });
      expect(health.status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(await lineFor(server, health.headers.get("x-request-id")!)).toMatchObject({ route: "/healthz", user_agent: "ops-test/1" });
      // A bearer token's holder has no groups: scraping needs Basic credentials of a metrics-group user.
      expect((await fetch(`${server.url}/metrics`, { headers: { Authorization: basic(SCRAPER) } })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("LOG_LEVEL=off writes no request lines", async () => {
    const server = await startServer("node", { AUTH_MODE: "open", LOG_LEVEL: "off" });
    try {
      const r = await fetch(`${server.url}/v2/`);
      expect(r.status).toBe(200);
      expect(r.headers.get("x-request-id")).toBeTruthy();
      await sleep(100);
      expect(server.lines()).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  test.each([
    ["LOG_LEVEL", "loud", /LOG_LEVEL must be one of off, error, info, debug/],
    ["LOG_LEVEL", "x".repeat(5000), /LOG_LEVEL must be one of off, error, info, debug/],
    ["METRICS_ADDRESS", "9090", /METRICS_ADDRESS must be host:port/],
    ["METRICS_ADDRESS", "127.0.0.1:99999", /METRICS_ADDRESS must be host:port/],
    ["METRICS_GROUP", "a b", /METRICS_GROUP must be a group name/],
  ])("%s=%s stops the start with a clear error", async (name, value, message) => {
    const { child, out, err, dataDir, exited } = launch("node", { AUTH_MODE: "open", [name]: value });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await exited;
    clearTimeout(timer);
    rmSync(dataDir, { recursive: true, force: true });
    expect(code).not.toBe(0);
    expect(out.join("")).not.toMatch(/^listening/m);
    expect(err.join("")).toMatch(message);
  });
});
