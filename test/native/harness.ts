// Runs a TypeScript entry on Node, Bun and Deno: bundled with esbuild (platform node, ESM) into a
// temp .mjs, spawned with node_modules/.bin/{node,bun,deno}. The entry prints "listening <port>".
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll } from "vitest";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const RUNTIMES = ["node", "bun", "deno"] as const;
export type Runtime = (typeof RUNTIMES)[number];

const BIN = path.join(ROOT, "node_modules", ".bin");

/** The command line that runs an ES module file on a runtime. */
export function runtimeCommand(runtime: Runtime, file: string): [string, string[]] {
  switch (runtime) {
    case "node":
      return [path.join(BIN, "node"), [file]];
    case "bun":
      return [path.join(BIN, "bun"), [file]];
    case "deno":
      return [path.join(BIN, "deno"), ["run", "-A", "--quiet", file]];
  }
}

/** Bundles `entry` (relative to the repository root) into a temp directory; returns the .mjs path and a cleanup. */
export async function bundle(entry: string): Promise<{ file: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "native-bundle-"));
  const file = path.join(dir, path.basename(entry).replace(/\.ts$/, ".mjs"));
  await build({
    entryPoints: [path.resolve(ROOT, entry)],
    outfile: file,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "es2022",
    logLevel: "warning",
  });
  return { file, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunningEntry {
  readonly runtime: Runtime;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** What the process printed (last lines), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Spawns a bundled entry on `runtime` and waits for its "listening <port>" line. */
export async function start(runtime: Runtime, file: string, env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunningEntry> {
  const [command, args] = runtimeCommand(runtime, file);
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime}: no "listening" line in ${timeoutMs} ms:\n${lines.join("\n")}`)), timeoutMs);
    const record = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        lines.push(line);
        const m = /^listening (\d+)$/.exec(line.trim());
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
      if (lines.length > 300) lines.splice(0, lines.length - 300);
    };
    child.stdout!.on("data", record);
    child.stderr!.on("data", record);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${runtime}: exited before listening:\n${lines.join("\n")}`));
    });
  });
  return {
    runtime,
    port,
    url: `http://127.0.0.1:${port}`,
    log: () => lines.slice(-40).join("\n"),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * One server per runtime for a test file, started in parallel before its tests and stopped
 * after them. The getter is valid inside tests.
 */
export function useServers(entry: string, env: Record<string, string> = {}): (runtime: Runtime) => RunningEntry {
  const running = new Map<Runtime, RunningEntry>();
  let bundled: { cleanup(): Promise<void> } | undefined;
  beforeAll(async () => {
    const b = await bundle(entry);
    bundled = b;
    const started = await Promise.allSettled(RUNTIMES.map((runtime) => start(runtime, b.file, env)));
    started.forEach((result, i) => {
      if (result.status === "fulfilled") running.set(RUNTIMES[i]!, result.value);
    });
    const failed = started.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }, 60_000);
  afterAll(async () => {
    await Promise.all([...running.values()].map((r) => r.stop()));
    await bundled?.cleanup();
  }, 30_000);
  return (runtime) => {
    const server = running.get(runtime);
    if (!server) throw new Error(`${runtime} server not started`);
    return server;
  };
}
