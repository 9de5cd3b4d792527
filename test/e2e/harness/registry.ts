// The registry under test: `node scripts/serve.mjs` (wrangler dev on workerd, R2 + Durable
// Objects persisted under DATA_DIR) on a free loopback port, one per test file.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDir, freePort, startDaemon, waitFor, type Daemon } from "./proc";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

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
  /** Worker vars/secrets (auth settings, limits), written to a VARS_FILE for serve.mjs. */
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
  const varsFile = path.join(opts.workDir, "registry.vars");
  await writeFile(varsFile, Object.entries(opts.vars ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n") + "\n");
  let daemon: Daemon | null = null;
  let starts = 0;

  async function launch(): Promise<void> {
    starts++;
    const d = startDaemon(`registry#${starts}`, process.execPath, [path.join(REPO_ROOT, "scripts", "serve.mjs")], {
      cwd: REPO_ROOT,
      env: { PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, VARS_FILE: varsFile, LOG_LEVEL: process.env.E2E_REGISTRY_LOG_LEVEL ?? "warn" },
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
