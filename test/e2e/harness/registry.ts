// The registry under test: `node scripts/start.mjs --runtime <REGISTRY_RUNTIME>` on a free loopback
// port, one per test file, data under DATA_DIR. The runtime comes from the vitest project
// (vitest.e2e.config.ts): the default native runtime (Bun) and workerd.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../scripts/lib/free-port.mjs";
import { ensureDir, startDaemon, waitFor, type Daemon } from "./proc";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The runtime this run tests (bun, deno, node or workerd). */
export const RUNTIME = process.env.REGISTRY_RUNTIME || "workerd";

export interface Registry {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** 127.0.0.1:PORT — what image references start with. */
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** `${host}/${repoAndTag}` */
  ref(repoAndTag: string): string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
  /**
   * Stops the process and starts a new one on the same port with the same DATA_DIR.
   * `{ kill: true }`: SIGKILL instead of a graceful SIGTERM (a crash).
   */
  restart(opts?: { kill?: boolean }): Promise<void>;
}

export interface StartRegistryOptions {
  /** Parent for DATA_DIR and the log (normally the test file's temp dir). */
  workDir: string;
  port?: number;
  /** Registry settings (auth, limits), written to the SETTINGS_FILE the registry reads. */
  vars?: Record<string, string>;
  /** Default 120 s: the first start compiles the worker. */
  startTimeoutMs?: number;
}

export async function startRegistry(opts: StartRegistryOptions): Promise<Registry> {
  const port = opts.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const dataDir = await ensureDir(path.join(opts.workDir, "registry-data"));
  const logFile = path.join(opts.workDir, "registry.log");
  const timeout = opts.startTimeoutMs ?? 120_000;
  const settingsFile = path.join(opts.workDir, "registry.vars");
  await writeFile(settingsFile, Object.entries(opts.vars ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n") + "\n");
  let daemon: Daemon | null = null;
  let starts = 0;

  async function launch(): Promise<void> {
    starts++;
    const d = startDaemon(`registry#${starts}`, process.execPath, [path.join(REPO_ROOT, "scripts", "start.mjs"), "--runtime", RUNTIME], {
      cwd: REPO_ROOT,
      env: { PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, SETTINGS_FILE: settingsFile, LOG_LEVEL: process.env.E2E_REGISTRY_LOG_LEVEL ?? "warn" },
      logFile,
    });
    daemon = d;
    await d.waitForOutput(new RegExp(`registry listening on http://127\\.0\\.0\\.1:${port}\\b`), timeout);
    await waitFor(
      `${url}/v2/ to answer (200, or 401 when auth is on)`,
      async () => {
        const res = await fetch(`${url}/v2/`);
        await res.arrayBuffer();
        return res.status === 200 || res.status === 401;
      },
      30_000,
    );
  }

  await launch();
  return {
    url,
    host,
    port,
    dataDir,
    logFile,
    ref: (repoAndTag) => `${host}/${repoAndTag}`,
    logTail: (lines) => daemon?.logTail(lines) ?? "",
    async stop() {
      await daemon?.stop(15_000);
    },
    async restart(o = {}) {
      if (o.kill) await daemon?.kill();
      else await daemon?.stop(15_000);
      await launch();
    },
  };
}
