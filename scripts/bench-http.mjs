#!/usr/bin/env node
// Requests per second and MB/s of the native HTTP server (src/runtimes/native/http) on Node, Bun
// and Deno, next to each runtime's own server (node:http, Bun.serve, Deno.serve), measured with
// wrk against trivial handlers (scripts/bench-http/server.ts). Servers run one at a time, in
// alternation, ROUNDS times; the median is reported.
//
//   node scripts/bench-http.mjs [--duration 8] [--rounds 3] [--connections 64] [--runtimes node,bun,deno]
//
// Needs wrk (Debian: apt-get install wrk). Prints a Markdown table.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "64" },
    runtimes: { type: "string", default: "node,bun,deno" },
  },
});
const runtimes = values.runtimes.split(",");

const dir = mkdtempSync(path.join(os.tmpdir(), "bench-http-"));
const entry = path.join(dir, "server.mjs");
await build({ entryPoints: [path.join(root, "scripts", "bench-http", "server.ts")], outfile: entry, bundle: true, platform: "node", format: "esm", target: "es2022", logLevel: "warning" });
const putScript = path.join(dir, "put.lua");
writeFileSync(putScript, `wrk.method = "PUT"\nwrk.body = string.rep("a", 1048576)\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);

const WORKLOADS = [
  { name: "GET, 2-byte body (req/s)", path: "/", args: [], metric: "rps" },
  { name: "GET, 1 MiB body (MB/s)", path: "/1m", args: [], metric: "mbps" },
  { name: "PUT, 1 MiB body (MB/s)", path: "/sink", args: ["-s", putScript], metric: "mbps-up" },
];
const BUILTIN = { node: "node:http", bun: "Bun.serve", deno: "Deno.serve" };

function command(runtime) {
  return runtime === "deno" ? [bin("deno"), ["run", "-A", "--quiet", entry]] : [bin(runtime), [entry]];
}

async function startServer(runtime, kind) {
  const [cmd, args] = command(runtime);
  // Deno.serve logs every request wrk cuts off at the end of a run ("BadResource"); only ours may speak.
  const child = spawn(cmd, args, { env: { ...process.env, SERVER: kind, HOST: "127.0.0.1" }, stdio: ["ignore", "pipe", kind === "native" ? "inherit" : "ignore"] });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`${runtime} ${kind} exited with ${code}`)));
  });
  return { port, stop: () => new Promise((resolve) => { child.once("exit", resolve); child.kill("SIGTERM"); }) };
}

function wrk(port, workload, seconds) {
  const out = execFileSync("wrk", ["-t1", `-c${values.connections}`, `-d${seconds}s`, ...workload.args, `http://127.0.0.1:${port}${workload.path}`], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)?.[0] ?? "";
  return { rps, mbps: workload.metric === "rps" ? null : (rps * 1048576) / 1e6, errors };
}

const results = new Map(); // key runtime|kind|workload -> numbers
for (let round = 0; round < Number(values.rounds); round++) {
  for (const runtime of runtimes) {
    for (const kind of ["native", "builtin"]) {
      const server = await startServer(runtime, kind);
      for (const workload of WORKLOADS) {
        wrk(server.port, workload, 2); // warm-up
        const r = wrk(server.port, workload, Number(values.duration));
        const key = `${runtime}|${kind}|${workload.name}`;
        if (!results.has(key)) results.set(key, []);
        results.get(key).push(workload.metric === "rps" ? r.rps : r.mbps);
        if (r.errors) console.error(`${key}: ${r.errors}`);
      }
      await server.stop();
    }
  }
}
rmSync(dir, { recursive: true, force: true });

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const version = (runtime) => execFileSync(bin(runtime), runtime === "deno" ? ["--version"] : ["--version"], { encoding: "utf8" }).split("\n")[0].trim();
console.log(`\n${new Date().toISOString()} — ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), ${runtimes.map(version).join(", ")}, wrk -t1 -c${values.connections} -d${values.duration}s, median of ${values.rounds}\n`);
console.log(`| workload | ${runtimes.map((r) => `${r}: native | ${r}: ${BUILTIN[r]}`).join(" | ")} |`);
console.log(`| --- | ${runtimes.map(() => "--- | ---").join(" | ")} |`);
for (const workload of WORKLOADS) {
  const cells = runtimes.flatMap((runtime) =>
    ["native", "builtin"].map((kind) => {
      const value = median(results.get(`${runtime}|${kind}|${workload.name}`));
      return workload.metric === "rps" ? String(Math.round(value)) : value.toFixed(0);
    }),
  );
  console.log(`| ${workload.name} | ${cells.join(" | ")} |`);
}
