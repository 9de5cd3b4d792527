#!/usr/bin/env node
// What the operations layer (src/extensions/ops/: request id, request log, metrics) costs on the
// native registry: createNativeRegistry behind the native HTTP server, measured with wrk (small
// requests) and curl (a large blob pulled and pushed), once per configuration, in alternation:
//
//   reference  Debian's docker-registry (/usr/bin/docker-registry), access log off, when installed
//   base       the same registry built from another checkout without the ops layer (--base DIR)
//   ops-off    this checkout, LOG_LEVEL=off (metrics still counted)
//   ops-info   this checkout, LOG_LEVEL=info: one JSON line per request on stdout (a pipe, as under
//              systemd or docker), read and counted by this script
//
//   node scripts/bench-ops.mjs [--base /tmp/ops-base] [--runtime node] [--duration 8] [--rounds 3]
//        [--connections 64] [--large-mib 1024]
//
// --base: a checkout of the commit before the ops layer (git worktree add /tmp/ops-base <commit>,
// node_modules linked). Without it only ops-off and ops-info run. Prints a Markdown table.
import { execFile as execFileCallback, spawn } from "node:child_process";
import { promisify } from "node:util";
import { createHash, randomFillSync } from "node:crypto";
import { createWriteStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { freePort } from "./lib/free-port.mjs";
import { stopProcess, waitForAnswer, writeReferenceConfig } from "./lib/servers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    base: { type: "string" },
    runtime: { type: "string", default: "node" },
    duration: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "64" },
    "large-mib": { type: "string", default: "1024" },
  },
});
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-ops-"));

/** The entry, bundled against `checkout`'s sources: with the ops layer when that checkout has it. */
async function bundle(checkout, name) {
  const hasOps = existsSync(path.join(checkout, "src/runtimes/native/ops.ts"));
  const contents = `
    import { serve } from "./src/runtimes/native/http";
    import { createNativeRegistry } from "./src/runtimes/native/registry";
    ${hasOps ? 'import { stdoutLog } from "./src/runtimes/native/ops";' : ""}
    const env = process.env;
    const registry = await createNativeRegistry({ dataDir: env.DATA_DIR, settings: env ${hasOps ? ", log: stdoutLog()" : ""} });
    const server = await serve({ host: "127.0.0.1", port: 0, handler: registry.handle });
    console.log("listening " + server.port);
    process.on("SIGTERM", async () => { await server.close(); await registry.close(); process.exit(0); });`;
  const outfile = path.join(tmp, `${name}.mjs`);
  await build({ stdin: { contents, resolveDir: checkout, sourcefile: "bench-entry.ts", loader: "ts" }, outfile, bundle: true, platform: "node", format: "esm", target: "es2022", logLevel: "warning" });
  return outfile;
}

const REFERENCE = "/usr/bin/docker-registry";
const configs = [];
if (existsSync(REFERENCE)) configs.push({ name: "reference", reference: true });
if (values.base) configs.push({ name: "base", file: await bundle(path.resolve(values.base), "base"), env: {} });
const ours = await bundle(root, "ops");
configs.push({ name: "ops-off", file: ours, env: { LOG_LEVEL: "off" } }, { name: "ops-info", file: ours, env: { LOG_LEVEL: "info" } });

async function startReference() {
  const dir = mkdtempSync(path.join(tmp, "reference-"));
  const port = await freePort();
  const config = writeReferenceConfig(path.join(dir, "config.yml"), { port, rootDirectory: `${dir}/data` });
  const child = spawn(REFERENCE, ["serve", config], { stdio: ["ignore", "ignore", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  await waitForAnswer(`${url}/v2/`, { intervalMs: 25, timeoutMs: 5_000, child });
  return { url, lines: () => 0, stop: () => stopProcess(child).then(() => rmSync(dir, { recursive: true, force: true })) };
}

async function start(config) {
  if (config.reference) return startReference();
  const dataDir = mkdtempSync(path.join(tmp, "data-"));
  const runtime = values.runtime;
  const [cmd, args] = runtime === "deno" ? [bin("deno"), ["run", "-A", "--quiet", config.file]] : [bin(runtime), [config.file]];
  const child = spawn(cmd, args, { env: { ...process.env, AUTH_MODE: "open", DATA_DIR: dataDir, ...config.env }, stdio: ["ignore", "pipe", "inherit"] });
  let lines = 0;
  const port = await new Promise((resolve, reject) => {
    let head = "";
    child.stdout.on("data", (chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      if (head !== null) {
        head += chunk;
        const m = /listening (\d+)/.exec(head);
        if (m) {
          head = null;
          resolve(Number(m[1]));
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`${config.name} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, lines: () => lines, stop: () => stopProcess(child).then(() => rmSync(dataDir, { recursive: true, force: true })) };
}

// Asynchronous on purpose: this process must keep reading the servers' stdout (the log) meanwhile.
const execFile = promisify(execFileCallback);
const output = async (cmd, args) => (await execFile(cmd, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 })).stdout;

/** Pushes `bytes` as one blob (POST, then PUT with the body from a file via curl); returns its digest and seconds. */
async function push(url, file, digest) {
  const location = await output("curl", ["-s", "-X", "POST", "-o", "/dev/null", "-w", "%header{location}", `${url}/v2/bench/app/blobs/uploads/`]);
  const target = new URL(location, url);
  target.searchParams.set("digest", digest);
  const started = performance.now();
  const status = await output("curl", ["-s", "-X", "PUT", "-H", "Content-Type: application/octet-stream", "-T", file, "-o", "/dev/null", "-w", "%{http_code}", target.href]);
  if (status !== "201") throw new Error(`push answered ${status}`);
  return (performance.now() - started) / 1000;
}

async function pull(url, digest) {
  const started = performance.now();
  const status = await output("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${url}/v2/bench/app/blobs/${digest}`]);
  if (status !== "200") throw new Error(`pull answered ${status}`);
  return (performance.now() - started) / 1000;
}

async function wrk(target, extra = []) {
  const out = await output("wrk", ["-t2", `-c${values.connections}`, `-d${values.duration}s`, ...extra, target]);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
}

async function randomFile(name, mib) {
  const file = path.join(tmp, name);
  const hash = createHash("sha256");
  const out = createWriteStream(file);
  const piece = Buffer.alloc(Math.round(mib * 1024 * 1024) < 1024 * 1024 ? Math.round(mib * 1024 * 1024) : 1024 * 1024);
  for (let i = 0; i < Math.max(1, mib); i++) {
    randomFillSync(piece);
    hash.update(piece);
    if (!out.write(piece)) await new Promise((resolve) => out.once("drain", resolve));
  }
  await new Promise((resolve) => out.end(resolve));
  return { file, digest: `sha256:${hash.digest("hex")}` };
}

const large = await randomFile("large.bin", Number(values["large-mib"]));
const small = await randomFile("small.bin", 1);
const tiny = await randomFile("tiny.bin", 1 / 256);
const results = new Map(configs.map((c) => [c.name, { v2: [], head: [], get1m: [], pull: [], push: [], lines: 0 }]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const config of configs) {
    const server = await start(config);
    const r = results.get(config.name);
    r.push.push(Number(values["large-mib"]) / (await push(server.url, large.file, large.digest)));
    await push(server.url, small.file, small.digest);
    await push(server.url, tiny.file, tiny.digest);
    r.pull.push(Number(values["large-mib"]) / (await pull(server.url, large.digest)));
    r.v2.push(await wrk(`${server.url}/v2/`));
    r.head.push(await wrk(`${server.url}/v2/bench/app/blobs/${tiny.digest}`));
    r.get1m.push(await wrk(`${server.url}/v2/bench/app/blobs/${small.digest}`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    r.lines += server.lines();
    await server.stop();
    process.stderr.write(`round ${round + 1} ${config.name} done\n`);
  }
}
rmSync(tmp, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1));
console.log(`| ${values.runtime}, ${values.connections} connections | ${configs.map((c) => c.name).join(" | ")} |`);
console.log(`|---|${configs.map(() => "---:").join("|")}|`);
const row = (label, key) => console.log(`| ${label} | ${configs.map((c) => fmt(median(results.get(c.name)[key]))).join(" | ")} |`);
row("GET /v2/ (req/s)", "v2");
row("GET 4 KiB blob (req/s)", "head");
row("GET 1 MiB blob (req/s)", "get1m");
row(`pull ${values["large-mib"]} MiB blob, curl (MiB/s)`, "pull");
row(`push ${values["large-mib"]} MiB blob, one PUT, curl (MiB/s)`, "push");
console.log(`| log lines read from stdout | ${configs.map((c) => results.get(c.name).lines.toLocaleString("en-US")).join(" | ")} |`);
