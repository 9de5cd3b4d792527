// The native entries as a user starts them (`node scripts/start.mjs --runtime <name>`): settings
// from one file and the environment, unknown names reported, the startup line, refusals at startup.
// The settings rules themselves are also checked directly (src/runtimes/native/settings.ts).
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readProcessSettings, readSettingsFile, parseSettingsFile, unknownSettingNames } from "../../src/runtimes/native/settings";
import { ROOT, RUNTIMES } from "./harness";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "native-entry-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

interface Started {
  /** The launcher's (start.mjs) pid. */
  pid: number;
  /** What was printed until the startup line (or the exit). */
  output: string;
  /** Everything printed so far. */
  all(): string;
  code: number | null;
  url: string | null;
  stop(): Promise<void>;
}

/** Runs start.mjs until it prints its startup line or exits. */
function start(runtime: string, env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [path.join(ROOT, "scripts", "start.mjs"), "--runtime", runtime], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  };
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ pid: child.pid!, output, all: () => output, code: null, url: null, stop }), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /registry listening on (http:\/\/\S+) \(/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ pid: child.pid!, output, all: () => output, code: null, url: m[1]!, stop });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, output, all: () => output, code, url: null, stop });
    });
  });
}

describe("settings rules", () => {
  test("KEY=value lines: comments, JSON strings, literal single quotes; a malformed line names its line number", () => {
    expect(parseSettingsFile(`# c\nA=1\nB="x\\ny"\nC='a "b"'\n\nexport D = spaced \n`)).toEqual({ A: "1", B: "x\ny", C: 'a "b"', D: "spaced" });
    expect(() => parseSettingsFile("A=1\nnot a setting\n", "f")).toThrow(/f:2: expected KEY=value/);
    expect(() => parseSettingsFile('A="unterminated\n', "f")).toThrow(/f:1: A: a "double-quoted" value must be a JSON string/);
  });

  test("an explicit settings file replaces .dev.vars; a missing explicit file is an error", async () => {
    const dir = await mkdtemp(path.join(tmp, "cwd-"));
    await writeFile(path.join(dir, ".dev.vars"), "AUTH_MODE=open\nBROWSE_PAGE=off\n");
    await writeFile(path.join(dir, "mine.vars"), "UPLOAD_TTL_SECONDS=60\n");
    expect(readSettingsFile({}, dir).values).toEqual({ AUTH_MODE: "open", BROWSE_PAGE: "off" });
    expect(readSettingsFile({ SETTINGS_FILE: "mine.vars" }, dir)).toEqual({ file: path.join(dir, "mine.vars"), values: { UPLOAD_TTL_SECONDS: "60" } });
    expect(() => readSettingsFile({ SETTINGS_FILE: "absent.vars" }, dir)).toThrow(/cannot read the settings file/);
  });

  test("the environment wins over the file; unknown names in the file and our-looking names in the environment are reported", async () => {
    const dir = await mkdtemp(path.join(tmp, "cwd-"));
    await writeFile(path.join(dir, "s.vars"), "AUTH_MODE=basic\nAUTH_USER=typo\nBROWSE_PAGE=off\n");
    const config = readProcessSettings({ SETTINGS_FILE: "s.vars", AUTH_MODE: "open", AUTH_MODEE: "x", PATH: "/bin" }, dir);
    expect(config.settings.AUTH_MODE).toBe("open");
    expect(config.settings.BROWSE_PAGE).toBe("off");
    expect(config.unknown).toEqual(["AUTH_MODEE", "AUTH_USER"]);
    expect(unknownSettingNames({ UPSTREAM_PASSWORD: "x" }, {}, ["UPSTREAM_PASSWORD"])).toEqual([]);
  });

  test("loopback without auth settings is open; token mode on loopback gets this server's address as audience and realm; elsewhere nothing is assumed", () => {
    expect(readProcessSettings({ SETTINGS_FILE: "/dev/null" }, tmp).settings.AUTH_MODE).toBe("open");
    const token = readProcessSettings({ SETTINGS_FILE: "/dev/null", AUTH_MODE: "token", PORT: "5123" }, tmp).settings;
    expect([token.AUTH_SERVICE, token.AUTH_TOKEN_REALM]).toEqual(["127.0.0.1:5123", "http://127.0.0.1:5123/token"]);
    const wide = readProcessSettings({ SETTINGS_FILE: "/dev/null", HOST: "0.0.0.0", AUTH_MODE: "token" }, tmp).settings;
    expect([wide.AUTH_SERVICE, wide.AUTH_TOKEN_REALM]).toEqual([undefined, undefined]);
    expect(readProcessSettings({ SETTINGS_FILE: "/dev/null", HOST: "0.0.0.0" }, tmp).settings.AUTH_MODE).toBeUndefined();
    // An auth setting given empty on purpose is a setting: no default on loopback either.
    expect(readProcessSettings({ SETTINGS_FILE: "/dev/null", AUTH_MODE: "" }, tmp).settings.AUTH_MODE).toBe("");
    expect(() => readProcessSettings({ SETTINGS_FILE: "/dev/null", PORT: "70000" }, tmp)).toThrow(/PORT must be a port number/);
    expect(() => readProcessSettings({ SETTINGS_FILE: "/dev/null", TLS_CERT: "x.pem" }, tmp)).toThrow(/TLS_CERT and TLS_KEY go together/);
  });
});

describe.each(RUNTIMES)("npm run start:%s", (runtime) => {
  test("startup line names runtime, auth mode, data directory, body limit and settings file; unknown names are reported; auth applies", async () => {
    const dataDir = await mkdtemp(path.join(tmp, `data-${runtime}-`));
    const file = path.join(dataDir, "settings.vars");
    // A hash of the password "secret" is not needed: basic mode with no valid login still challenges.
    await writeFile(file, `AUTH_MODE=basic\nAUTH_RULES='[{"repository":"public/*","actions":["pull"],"anonymous":true}]'\nMAX_REQUEST_BODY_BYTES=1000000\nAUTH_MODEE=oops\n`);
    const started = await start(runtime, { DATA_DIR: dataDir, SETTINGS_FILE: file });
    try {
      expect(started.url, started.output).not.toBeNull();
      const line = started.output.split("\n").find((l) => l.startsWith("registry listening on"))!;
      expect(line).toContain(`runtime ${runtime} `);
      expect(line).toContain("auth basic");
      expect(line).toContain(`data in ${dataDir}`);
      expect(line).toContain("body limit 1000000 bytes");
      expect(line).toContain(`settings from ${file}`);
      expect(started.output).toContain("ignoring unknown setting AUTH_MODEE");
      const res = await fetch(`${started.url}/v2/`);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic /);
      expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("UNAUTHORIZED");
      // One JSON line per request on stdout, the request id echoed.
      const id = res.headers.get("x-request-id");
      let logged: Record<string, unknown> | undefined;
      for (let i = 0; i < 50 && !logged; i++) {
        await new Promise((r) => setTimeout(r, 100));
        logged = started.all().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.request_id === id);
      }
      expect(logged, started.all()).toMatchObject({ method: "GET", status: 401 });
    } finally {
      await started.stop();
    }
  });

  test("refuses to start: no auth settings on a non-loopback address, auth settings that cannot work, a data directory in use", async () => {
    const dataDir = await mkdtemp(path.join(tmp, `data-${runtime}-`));
    const wide = await start(runtime, { DATA_DIR: dataDir, SETTINGS_FILE: "/dev/null", HOST: "0.0.0.0" });
    expect(wide.code, wide.output).toBe(1);
    expect(wide.output).toMatch(/authentication is not configured/);
    const broken = await start(runtime, { DATA_DIR: dataDir, SETTINGS_FILE: "/dev/null", AUTH_MODE: "token" });
    expect(broken.code, broken.output).toBe(1);
    expect(broken.output).toMatch(/AUTH_MODE=token needs AUTH_TOKEN_SIGNING_KEY/);
    const first = await start(runtime, { DATA_DIR: dataDir, SETTINGS_FILE: "/dev/null" });
    try {
      expect(first.url, first.output).not.toBeNull();
      const second = await start(runtime, { DATA_DIR: dataDir, SETTINGS_FILE: "/dev/null" });
      expect(second.code, second.output).toBe(1);
      expect(second.output).toMatch(/is in use by process/);
    } finally {
      await first.stop();
    }
  });

  test("a launcher killed with SIGKILL takes the registry with it: the port closes and the data directory is free again", async () => {
    const dataDir = await mkdtemp(path.join(tmp, `data-${runtime}-`));
    const first = await start(runtime, { DATA_DIR: dataDir, SETTINGS_FILE: "/dev/null" });
    expect(first.url, first.output).not.toBeNull();
    process.kill(first.pid, "SIGKILL");
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      await new Promise((r) => setTimeout(r, 100));
      refused = await fetch(`${first.url}/v2/`).then((r) => r.arrayBuffer().then(() => false), () => true);
    }
    expect(refused, "the orphaned registry still answers").toBe(true);
    const again = await start(runtime, { DATA_DIR: dataDir, SETTINGS_FILE: "/dev/null" });
    try {
      expect(again.url, again.output).not.toBeNull();
    } finally {
      await again.stop();
    }
  });
});
