// The load-test tool (scripts/load-test.ts) run as a user runs it, against a local registry:
// it reports real figures, counts failures instead of hiding them, and speaks the Docker token
// flow. (Here because this suite already starts a registry per file and runs in plain Node.)
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port.mjs";
import { useRegistry } from "./registry";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const registry = useRegistry();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: { results: Array<{ scenario: string; target: string; ops: number; errors: number; errorSamples: string[]; bytes: number }> } | null;
}

let workDir = "";
beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "load-test-"));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function loadTest(args: string[]): Promise<Run> {
  const jsonPath = path.join(workDir, `${Math.random().toString(36).slice(2)}.json`);
  const child = spawn(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", "scripts/load-test.ts", ...args, "--json", jsonPath, "--no-progress"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  const json = await readFile(jsonPath, "utf8").then((t) => JSON.parse(t) as Run["json"], () => null);
  return { code, stdout, stderr, json };
}

/** A tiny HTTP server for one test, closed afterwards. */
async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await freePort();
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe("load test tool", () => {
  it("rejects unknown flags and a missing --url with exit status 1", async () => {
    const unknown = await loadTest(["--url", "http://127.0.0.1:1", "--frobnicate"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown flag --frobnicate");
    const missing = await loadTest([]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("--url is required");
  });

  it("measures push, pull and request rates on a real registry without errors", async () => {
    const run = await loadTest([
      "--url", registry().url,
      "--scenarios", "push-stream,push-chunked,pull,pull-range,manifest-get,blob-head",
      "--size", "7MiB", "--chunk-size", "3MiB", "--range-size", "2MiB", "--duration", "1",
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const rows = run.json!.results;
    expect(rows.map((r) => r.scenario)).toEqual([
      "push-stream 7MiB",
      "push-chunked 7MiB / 3MiB",
      "pull 7MiB",
      "pull-range 7MiB / 2MiB",
      "manifest-get (c=16)",
      "blob-head (c=16)",
    ]);
    for (const row of rows) {
      expect(row.errors, `${row.scenario}: ${row.errorSamples.join("; ")}`).toBe(0);
      expect(row.ops).toBeGreaterThan(0);
    }
    expect(rows.find((r) => r.scenario === "pull 7MiB")!.bytes).toBe(7 * 1024 * 1024);
    expect(run.stdout).toContain("errors: none");
  }, 120_000);

  it("counts and shows failures, and exits with status 2", async () => {
    // Looks like a registry at /v2/, fails everything else.
    const broken = await serve((req, res) => {
      req.resume();
      if (req.url === "/v2/") return res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
      res.writeHead(500, { "Content-Type": "application/json" }).end('{"errors":[{"code":"UNKNOWN","message":"boom"}]}');
    });
    try {
      const run = await loadTest(["--url", broken.url, "--scenarios", "push-stream,manifest-get", "--size", "1MiB", "--duration", "1"]);
      expect(run.code).toBe(2);
      const rows = run.json!.results;
      expect(rows.every((r) => r.errors > 0), JSON.stringify(rows)).toBe(true);
      expect(rows.flatMap((r) => r.errorSamples).join("\n")).toContain("HTTP 500");
      expect(run.stdout).toMatch(/errors: \d+ in \d+ scenario/);
      expect(run.stdout).toContain("POST upload: HTTP 500");
    } finally {
      await broken.close();
    }
  }, 60_000);

  it("follows the Docker token flow: 401 Bearer challenge, token from the realm with Basic credentials", async () => {
    const upstream = new URL(registry().url);
    const seen = { tokenRequests: 0, badCredentials: 0, scopes: new Set<string>() };
    const TOKEN = "good-token";
    // An auth gate in front of the real registry, as a token-authenticated deployment behaves.
    const gate = await serve((req, res) => {
      const url = new URL(req.url!, "http://gate");
      if (url.pathname === "/token") {
        seen.tokenRequests += 1;
        for (const s of url.searchParams.getAll("scope")) seen.scopes.add(s);
        const basic = `Basic ${Buffer.from("alice:secret").toString("base64")}`;
        if (req.headers.authorization !== basic || url.searchParams.get("service") !== "test-registry") {
          seen.badCredentials += 1;
          return res.writeHead(401).end();
        }
        return res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ token: TOKEN, expires_in: 300 }));
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        req.resume();
        const repo = /^\/v2\/(.+?)\/(?:blobs|manifests|tags)\//.exec(url.pathname)?.[1];
        const scope = repo ? `repository:${repo}:pull,push` : "";
        return res
          .writeHead(401, {
            "WWW-Authenticate": `Bearer realm="http://${req.headers.host}/token",service="test-registry"${scope ? `,scope="${scope}"` : ""}`,
            "Content-Type": "application/json",
          })
          .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      }
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (up) => {
          res.writeHead(up.statusCode!, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(forward);
    });
    try {
      const run = await loadTest(["--url", gate.url, "--user", "alice:secret", "--scenarios", "push-stream,pull", "--size", "2MiB"]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(seen.badCredentials).toBe(0);
      expect(seen.tokenRequests).toBeGreaterThan(0);
      // One token per repository scope, reused for every later request.
      expect(seen.tokenRequests).toBeLessThanOrEqual(3);
      expect([...seen.scopes].some((s) => /^repository:loadtest\/.+:pull,push$/.test(s))).toBe(true);

      // Wrong credentials: the very first request (GET /v2/) cannot get a token; say so and stop.
      const wrong = await loadTest(["--url", gate.url, "--user", "alice:wrong", "--scenarios", "pull", "--size", "1MiB"]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/token request to .*\/token failed: 401/);
    } finally {
      await gate.close();
    }
  }, 120_000);
});
