// Starting, waiting for and stopping the servers the benchmark and profiling scripts measure
// (plain node; types in servers.d.mts for the esbuild-bundled .ts scripts).
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";

/** True until `child` has exited or been killed by a signal. */
export const running = (child) => child.exitCode === null && child.signalCode === null;

/** Sends SIGTERM to `child` unless it has already ended, and waits until it has. */
export async function stopProcess(child) {
  if (!running(child)) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** Resolves once `child` writes text matching `pattern` to stdout; rejects if it exits first. */
export function waitForOutput(child, pattern) {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (chunk) => {
      seen = (seen + chunk).slice(-4096); // a match split across chunks still counts
      if (!pattern.test(seen)) return;
      child.stdout.off("data", onData);
      child.off("exit", onExit);
      resolve();
    };
    const onExit = (code, signal) => reject(new Error(`the server exited (code ${code}, signal ${signal}) before printing ${pattern}`));
    child.stdout.on("data", onData);
    child.once("exit", onExit);
  });
}

/**
 * Asks `url` every `intervalMs` until its status passes `accept` (a refused connection is retried).
 * Fails after `timeoutMs`, or at once when `child` (if given) has ended; `log()` explains the failure.
 */
export async function waitForAnswer(url, { accept = (status) => status === 200, intervalMs = 100, timeoutMs = Infinity, child, log = () => "" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && !running(child)) throw new Error(`${url}: the server exited early\n${log()}`);
    const status = await fetch(url).then(
      async (res) => (await res.body?.cancel(), res.status),
      () => 0,
    );
    if (status > 0 && accept(status)) return;
    if (Date.now() >= deadline) throw new Error(`${url} did not answer in ${timeoutMs / 1000} s\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Starts `root`'s scripts/serve.mjs (the workerd form) on 127.0.0.1 with `env` over this process's
 * environment, its stdout piped (returned once it has printed its listening line), stderr inherited.
 */
export async function startServe(root, env) {
  const child = spawn(process.execPath, [path.join(root, "scripts", "serve.mjs")], {
    cwd: root,
    env: { ...process.env, HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await waitForOutput(child, /listening/);
  return child;
}

/**
 * Writes a config.yml for the reference registry (Debian's docker-registry, distribution 2.8):
 * errors only, filesystem storage under `rootDirectory`, listening on 127.0.0.1:`port`.
 */
export function writeReferenceConfig(file, { port, rootDirectory, accessLog = false, deletes = true }) {
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    ...(accessLog ? [] : ["  accesslog:", "    disabled: true"]),
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${rootDirectory}`,
    ...(deletes ? ["  delete:", "    enabled: true"] : []),
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "",
  ];
  writeFileSync(file, lines.join("\n"));
  return file;
}
