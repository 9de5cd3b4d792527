// Child processes for the crash tests: a TypeScript entry bundled once with esbuild, run by Node,
// Bun or Deno, talking in JSON lines on stdout, killed with SIGKILL when the test decides.
import { spawn, type ChildProcess } from "node:child_process";
import { build } from "esbuild";
import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../../..");
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);
export const RUNTIMES: Record<string, [string, string[]]> = {
  node: [bin("node"), ["--disable-warning=ExperimentalWarning"]],
  bun: [bin("bun"), ["run"]],
  deno: [bin("deno"), ["run", "-A"]],
};

const bundles = new Map<string, Promise<string>>();

/** The child entry bundled into one .mjs file (once per test process). */
export function childBundle(entry: string): Promise<string> {
  let file = bundles.get(entry);
  if (!file) {
    file = (async () => {
      const result = await build({
        entryPoints: [path.join(import.meta.dirname, "children", entry)],
        bundle: true,
        write: false,
        format: "esm",
        platform: "node",
        target: "node22",
        logLevel: "warning",
      });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-registry-child-"));
      const out = path.join(dir, entry.replace(/\.ts$/, ".mjs"));
      fs.writeFileSync(out, result.outputFiles[0]!.text);
      return out;
    })();
    bundles.set(entry, file);
  }
  return file;
}

/** Removes the bundles made by childBundle (call once the test file is done). */
export async function removeBundles(): Promise<void> {
  for (const file of bundles.values()) fs.rmSync(path.dirname(await file), { recursive: true, force: true });
  bundles.clear();
}

export interface Child {
  process: ChildProcess;
  /** Resolves with the first message for which `match` is true. */
  waitFor<T = Record<string, unknown>>(match: (message: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<T>;
  /** SIGKILL, then wait until the process is gone. */
  kill9(): Promise<void>;
  exited: Promise<number | null>;
  stderr(): string;
}

export async function startChild(entry: string, args: string[], runtime = "node"): Promise<Child> {
  const file = await childBundle(entry);
  const [command, runtimeArgs] = RUNTIMES[runtime]!;
  const child = spawn(command, [...runtimeArgs, file, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const messages: Record<string, unknown>[] = [];
  const waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  let buffered = "";
  let errors = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (text: string) => {
    buffered += text;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith("{")) continue;
      const message = JSON.parse(line) as Record<string, unknown>;
      messages.push(message);
      for (const w of waiters.splice(0)) (w.match(message) ? w.resolve(message) : waiters.push(w));
    }
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (text: string) => (errors += text));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    process: child,
    exited,
    stderr: () => errors,
    waitFor<T>(match: (m: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<T> {
      const seen = messages.find(match);
      if (seen) return Promise.resolve(seen as T);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child: no matching message in ${timeoutMs} ms; stderr: ${errors.slice(-2000)}`)), timeoutMs);
        waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m as T)) });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`child exited (${code}) before the message; stderr: ${errors.slice(-2000)}`));
        });
      });
    },
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
