// Running client binaries (docker, skopeo, podman, buildah, ctr…) with useful failures:
// a non-zero exit throws an Error carrying the command line, exit status, stdout and stderr.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

export interface RunOptions {
  cwd?: string;
  /** Extra environment, merged over process.env. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Kill the command (SIGKILL, whole process group) after this many ms. Default 5 min. */
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; inspect result.code instead. */
  allowFailure?: boolean;
  /** Also echo output to this process's stderr as it arrives (debugging). */
  echo?: boolean;
}

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const MAX_CAPTURE = 8 * 1024 * 1024;
const MAX_IN_ERROR = 16 * 1024;

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(quote).join(" ");
}

function tail(text: string, max = MAX_IN_ERROR): string {
  return text.length <= max ? text : `…(${text.length - max} bytes cut)…\n${text.slice(-max)}`;
}

export class CommandError extends Error {
  constructor(result: RunResult, reason: string) {
    super(
      `command failed (${reason}) after ${(result.durationMs / 1000).toFixed(1)} s:\n  $ ${result.command}\n` +
        `--- stdout ---\n${tail(result.stdout) || "(empty)"}\n--- stderr ---\n${tail(result.stderr) || "(empty)"}`,
    );
    this.name = "CommandError";
    // (the RunResult is deliberately not kept as a property: vitest would print it all again)
  }
}

/** Runs `cmd args…` to completion. Throws CommandError on a non-zero exit unless allowFailure. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = commandLine(cmd, args);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true, // own process group, so a timeout can kill everything it started
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (stdout.length < MAX_CAPTURE) stdout += d;
      if (opts.echo) process.stderr.write(d);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < MAX_CAPTURE) stderr += d;
      if (opts.echo) process.stderr.write(d);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, opts.timeoutMs ?? 300_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = { command, code, signal, stdout, stderr, durationMs: Date.now() - started };
      if (timedOut) reject(new CommandError(result, `timed out after ${opts.timeoutMs ?? 300_000} ms`));
      else if (code !== 0 && !opts.allowFailure) reject(new CommandError(result, signal ? `signal ${signal}` : `exit ${code}`));
      else resolve(result);
    });
    child.stdin.on("error", () => {}); // EPIPE when the command does not read stdin
    child.stdin.end(opts.input ?? "");
  });
}

/** Full path of an executable on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return null;
}

/** Debian packages that provide each client binary (what CI must apt-get install). */
export const PACKAGE_OF: Record<string, string> = {
  docker: "docker.io",
  dockerd: "docker.io",
  podman: "podman",
  skopeo: "skopeo",
  buildah: "buildah",
  containerd: "containerd",
  ctr: "containerd",
  umoci: "umoci",
  runc: "runc",
  crun: "crun",
  openssl: "openssl",
};

/**
 * Fails (throws) unless every binary is on PATH. Call from beforeAll: a missing client must
 * fail the suite loudly, never skip it.
 */
export function requireBinaries(...names: string[]): void {
  const missing = names.filter((n) => which(n) === null);
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((n) => PACKAGE_OF[n] ?? n))];
    throw new Error(
      `required client binar${missing.length > 1 ? "ies" : "y"} not found on PATH: ${missing.join(", ")} ` +
        `(apt-get install ${pkgs.join(" ")}); PATH=${process.env.PATH}`,
    );
  }
}

/** Must run as root: dockerd, containerd and rootful podman/buildah storage need it. */
export function requireRoot(): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Error(`the e2e suite must run as root (uid ${process.getuid()}): dockerd, containerd and podman/buildah vfs storage need it`);
  }
}
