#!/usr/bin/env node
// Side by side: starts this registry (scripts/start.mjs on each runtime asked for) and the
// reference registry (Debian's docker-registry, CNCF distribution 2.8, filesystem storage) on free
// loopback ports, each with a fresh data directory, runs scripts/load-test.ts against both, then
// stops both and cleans up; one runtime after the other, the reference started afresh for each.
//   npm run bench [-- --runtime bun,deno,node,workerd] [-- <load-test flags, e.g. --scenarios rates --duration 5>]
//   BENCH_KEEP=1 keeps the data directories; BENCH_JSON=path (default bench-results.json; one
//   file per runtime, the runtime's name inserted before .json when several are run)
// With workerd, the resumable-hash throughput inside workerd is measured first (scripts/bench-hash.mjs --workerd).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./lib/free-port.mjs";
import { stopProcess, waitForAnswer, writeReferenceConfig } from "./lib/servers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const REFERENCE_BIN = process.env.REFERENCE_REGISTRY ?? "/usr/bin/docker-registry";
const jsonPath = path.resolve(process.env.BENCH_JSON ?? path.join(root, "bench-results.json"));
const children = [];
const tempDirs = [];

function tempDir(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Starts a server process; its output goes to a log file so a failure can be explained. */
function start(name, command, args, env) {
  const log = path.join(tempDir(`bench-${name}-log-`), "out.log");
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines = [];
  const keep = (chunk) => {
    lines.push(...chunk.toString().split("\n"));
    lines.splice(0, Math.max(0, lines.length - 40));
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.on("exit", () => writeFileSync(log, lines.join("\n")));
  children.push(child);
  return { child, tail: () => lines.join("\n") };
}

function waitForRegistry(url, server) {
  const accept = (status) => status === 200 || status === 401;
  return waitForAnswer(`${url}/v2/`, { accept, intervalMs: 250, timeoutMs: 120_000, child: server.child, log: server.tail });
}

async function stopAll() {
  await Promise.all(children.map(stopProcess));
  if (!process.env.BENCH_KEEP) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

process.on("SIGINT", () => stopAll().then(() => process.exit(130)));

/** `--runtime a,b` out of the arguments; the rest go to the load test. */
function splitArgs(argv) {
  const rest = [];
  let runtimes = ["bun"];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--runtime") runtimes = argv[++i].split(",");
    else if (argv[i].startsWith("--runtime=")) runtimes = argv[i].slice(10).split(",");
    else rest.push(argv[i]);
  }
  return { runtimes, rest };
}

/** The process whose memory counts: the runtime start.mjs spawned (native), or start.mjs itself (workerd runs in its tree). */
async function registryPid(launcher, runtime) {
  if (runtime === "workerd") return launcher.pid;
  for (let i = 0; i < 50; i++) {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === launcher.pid) return Number(entry);
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return launcher.pid;
}

async function main() {
  if (!existsSync(REFERENCE_BIN)) {
    console.error(`bench: ${REFERENCE_BIN} not found; install it with: apt-get install -y docker-registry`);
    return 1;
  }
  const { runtimes, rest } = splitArgs(process.argv.slice(2));
  let worst = 0;
  for (const runtime of runtimes) {
    const json = runtimes.length > 1 ? jsonPath.replace(/\.json$/, "") + `-${runtime}.json` : jsonPath;
    worst = Math.max(worst, await benchRuntime(runtime, rest, json));
  }
  return worst;
}

async function benchRuntime(runtime, loadTestArgs, json) {
  if (runtime === "workerd") {
    console.log("resumable hash inside workerd:");
    spawnSync(process.execPath, [path.join(root, "scripts/bench-hash.mjs"), "--workerd", "256"], { stdio: "inherit" });
  }
  const [ourPort, refPort] = [await freePort(), await freePort()];
  const ours = start(`ours-${runtime}`, process.execPath, [path.join(root, "scripts/start.mjs"), "--runtime", runtime], {
    PORT: String(ourPort),
    HOST: "127.0.0.1",
    DATA_DIR: tempDir("bench-ours-"),
    SETTINGS_FILE: "/dev/null",
  });
  const refDir = tempDir("bench-reference-");
  const config = writeReferenceConfig(path.join(refDir, "config.yml"), { port: refPort, rootDirectory: path.join(refDir, "data") });
  const reference = start("reference", REFERENCE_BIN, ["serve", config], {});
  const ourUrl = `http://127.0.0.1:${ourPort}`;
  const refUrl = `http://127.0.0.1:${refPort}`;
  await Promise.all([waitForRegistry(ourUrl, ours), waitForRegistry(refUrl, reference)]);
  const ourPid = await registryPid(ours.child, runtime);
  console.log(`\nours on ${runtime}: ${ourUrl} (pid ${ourPid}), reference: ${refUrl} (pid ${reference.child.pid})\n`);

  const loadTest = spawn(
    process.execPath,
    [
      "--experimental-strip-types",
      "--disable-warning=ExperimentalWarning",
      path.join(root, "scripts/load-test.ts"),
      "--url", ourUrl,
      "--compare", refUrl,
      "--pid", String(ourPid),
      "--compare-pid", String(reference.child.pid),
      "--json", json,
      ...loadTestArgs,
    ],
    { cwd: root, stdio: "inherit" },
  );
  const code = await new Promise((r) => loadTest.on("exit", (c) => r(c ?? 1)));
  await stopAll();
  children.length = 0;
  tempDirs.length = 0;
  return code;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`bench: ${err.message}`);
} finally {
  await stopAll();
}
process.exit(code);
