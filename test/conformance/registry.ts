// Starts one registry (node scripts/start.mjs --runtime <REGISTRY_RUNTIME>, default workerd; the
// vitest projects of vitest.conformance.config.ts run every file on each runtime) for a conformance test file: a free loopback port,
// a fresh DATA_DIR under the OS temp dir, stopped with SIGTERM and cleaned up afterwards.
// Independent of test/e2e/ on purpose: these tests only speak HTTP to the server.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import { freePort } from "../../scripts/lib/free-port.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The runtime under test: bun, deno, node or workerd. */
export const RUNTIME = process.env.REGISTRY_RUNTIME || "workerd";

export interface RunningRegistry {
  /** e.g. http://127.0.0.1:43817 (no trailing slash) */
  readonly url: string;
  readonly dataDir: string;
  /** Last lines the server printed, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  timeoutMs?: number;
  /** Extra environment for the registry process (HTTP_* limits, MAX_IN_FLIGHT, ...). */
  env?: Record<string, string>;
  /** Registry settings (auth, BROWSE_PAGE, ACCEPT_SPARSE_MANIFESTS, MAX_REQUEST_BODY_BYTES, …), written to a SETTINGS_FILE. */
  vars?: Record<string, string>;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "oci-conformance-"));
  const lines: string[] = [];
  const env: Record<string, string> = { ...process.env, ...options.env, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir } as Record<string, string>;
  if (options.vars) {
    env.SETTINGS_FILE = path.join(dataDir, "vars");
    await writeFile(env.SETTINGS_FILE, Object.entries(options.vars).map(([k, v]) => `${k}=${JSON.stringify(v)}\n`).join(""));
  }
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, "scripts", "start.mjs"), "--runtime", RUNTIME], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const record = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) lines.push(line);
    if (lines.length > 400) lines.splice(0, lines.length - 400);
  };
  child.stderr?.on("data", record);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registry did not start in ${timeoutMs} ms:\n${lines.join("\n")}`)), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      record(chunk);
      if (lines.some((l) => l.includes("registry listening on"))) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`registry exited with ${code} before listening:\n${lines.join("\n")}`));
    });
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  // The front listens before the worker answers on every path: wait for the version check.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      // 401: the worker answers, with auth configured.
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`registry never answered GET /v2/:\n${lines.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, dataDir, log: () => lines.slice(-60).join("\n"), stop };
}

/**
 * Starts a registry for the current test file. The returned getter is valid inside tests
 * (after beforeAll ran).
 */
export function useRegistry(options: RegistryOptions = {}): () => RunningRegistry {
  let registry: RunningRegistry | undefined;
  beforeAll(async () => {
    registry = await startRegistry(options);
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  }, 30_000);
  return () => {
    if (!registry) throw new Error("registry not started");
    return registry;
  };
}
