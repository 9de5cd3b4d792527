// Long-running background processes (registry, dockerd, containerd): start with output
// captured to a log file, wait until ready, stop the whole tree by pid.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A fresh temp dir per test file (short path: unix sockets must stay under 108 bytes).
 * Set E2E_KEEP_TMP=1 to keep it for debugging.
 */
export function makeTempDir(label: string): { dir: string; cleanup(): Promise<void> } {
  // lowercase only: podman derives an image name from an `oci:<dir>` path, and names must be lowercase
  const dir = path.join(process.env.E2E_TMPDIR ?? os.tmpdir(), `e2e-${label}-${randomBytes(5).toString("hex")}`);
  mkdirSync(dir, { mode: 0o700 });
  return {
    dir,
    async cleanup() {
      if (process.env.E2E_KEEP_TMP) {
        console.error(`E2E_KEEP_TMP: leaving ${dir}`);
        return;
      }
      // vfs layers and overlay leftovers can hold read-only dirs: retry a few times.
      for (let i = 0; i < 5; i++) {
        try {
          rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
          return;
        } catch (err) {
          if (i === 4) console.error(`could not remove ${dir}: ${(err as Error).message}`);
          await sleep(500);
        }
      }
    },
  };
}

export async function ensureDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

/** All descendant pids of `pid` (walks /proc), deepest last. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …; comm may contain spaces and parentheses
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Running: signalable and not a zombie (a killed child re-parented to a pid 1 that does not reap stays one). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Last lines of the daemon's combined output. */
  logTail(lines?: number): string;
  /** Resolves when a line matching `re` appears in the output (or rejects on exit/timeout). */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<void>;
  exited(): boolean;
  /** SIGTERM to the daemon and every process it started; SIGKILL whatever is left after graceMs. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the daemon and every process it started, at once (a crash). */
  kill(): Promise<void>;
}

// Safety net: if the test process exits without afterAll having run (worker killed on a
// timeout, Ctrl-C), SIGKILL every daemon still running and what it started, by pid.
const live = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    // collect every tree before killing anything (orphans get re-parented and lost)
    const all = [...live].flatMap((pid) => [pid, ...descendants(pid)]);
    for (const p of all) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    live.clear();
  };
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

export function startDaemon(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; logFile: string },
): Daemon {
  const log = createWriteStream(opts.logFile, { flags: "a" });
  let buffer = "";
  const listeners = new Set<() => void>();
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  installExitHook();
  if (child.pid !== undefined) live.add(child.pid);
  let spawnError: Error | null = null;
  child.on("error", (err) => {
    spawnError = err;
    for (const l of listeners) l();
  });
  log.on("error", () => {}); // a log file problem must not crash the test run
  const onData = (d: Buffer) => {
    if (!log.writableEnded) log.write(d);
    buffer += d.toString("utf8");
    if (buffer.length > 256 * 1024) buffer = buffer.slice(-128 * 1024);
    for (const l of listeners) l();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      if (child.pid !== undefined) live.delete(child.pid);
      for (const l of listeners) l();
      resolve();
    }),
  );

  const daemon: Daemon = {
    name,
    child,
    logFile: opts.logFile,
    logTail(lines = 40) {
      return buffer.split("\n").slice(-lines).join("\n");
    },
    exited: () => child.exitCode !== null || child.signalCode !== null,
    waitForOutput(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(buffer)) return done(null);
          if (spawnError) return done(new Error(`${name}: cannot start ${cmd}: ${spawnError.message}`));
          if (daemon.exited()) {
            return done(new Error(`${name} exited (code ${child.exitCode}, signal ${child.signalCode}) before ready; log ${opts.logFile}:\n${daemon.logTail()}`));
          }
        };
        const timer = setTimeout(
          () => done(new Error(`${name}: no output matching ${re} within ${timeoutMs} ms; log ${opts.logFile}:\n${daemon.logTail()}`)),
          timeoutMs,
        );
        function done(err: Error | null) {
          clearTimeout(timer);
          listeners.delete(check);
          if (err) reject(err);
          else resolve();
        }
        listeners.add(check);
        check();
      });
    },
    async kill() {
      const pid = child.pid;
      if (pid !== undefined && !daemon.exited()) {
        const tree = [pid, ...descendants(pid)];
        for (const p of tree) {
          try {
            process.kill(p, "SIGKILL");
          } catch {}
        }
        await Promise.race([exit, sleep(5000)]);
        // The whole tree, not only the daemon: a runtime child must be gone before a restart takes its data directory.
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline && tree.some(alive)) await sleep(50);
      }
      log.end();
    },
    async stop(graceMs = 10_000) {
      const pid = child.pid;
      if (pid === undefined || daemon.exited()) {
        log.end();
        return;
      }
      // Collect the tree first: some daemons (serve.mjs → wrangler → workerd) put their
      // children in process groups of their own.
      const tree = [pid, ...descendants(pid)];
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        try {
          process.kill(pid, "SIGTERM");
        } catch {}
      }
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && tree.some(alive)) await sleep(100);
      for (const p of tree.filter(alive)) {
        try {
          process.kill(p, "SIGKILL");
        } catch {}
      }
      await Promise.race([exit, sleep(2000)]);
      log.end();
    },
  };
  return daemon;
}

/** Polls `probe` until it resolves truthy. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}
