#!/usr/bin/env node
// Where the local registry's time goes during a load-test scenario: starts scripts/serve.mjs with
// the V8 inspector on, CPU-profiles the registry worker's isolate (router worker and upload-session
// Durable Object) while scripts/load-test.ts runs, and prints the functions with the most self time
// next to the CPU seconds of each process (node front + miniflare, workerd).
//   node scripts/profile-registry.mjs [load-test flags; default --scenarios push-stream --size 512MiB]
//   PROFILE_OUT=file.cpuprofile also writes the raw profile (Chrome DevTools can open it)
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./lib/free-port.mjs";
import { startServe, stopProcess } from "./lib/servers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const loadTestArgs = process.argv.length > 2 ? process.argv.slice(2) : ["--scenarios", "push-stream", "--size", "512MiB"];

const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").slice(readFileSync(`/proc/${pid}/stat`, "utf8").lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
};

function childPids(pid) {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
async function devtools(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) reject(new Error(msg.error.message));
      else resolve(msg.result);
    }
  };
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        waiting.set(++id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Self time per function (name, file, line), from the profile's samples. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map();
  let all = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = profile.timeDeltas[i] ?? 0;
    all += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : "";
    const key = `${functionName || "(anonymous)"} ${where}`.trim();
    totals.set(key, (totals.get(key) ?? 0) + dt);
  }
  return { all, rows: [...totals].sort((a, b) => b[1] - a[1]) };
}

const port = await freePort();
const inspectorPort = await freePort();
const dataDir = mkdtempSync(path.join(os.tmpdir(), "profile-registry-"));
let server;
try {
  server = await startServe(root, { PORT: String(port), DATA_DIR: dataDir, INSPECTOR_PORT: String(inspectorPort) });
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const target = targets.find((t) => /registry/.test(`${t.title} ${t.url}`)) ?? targets[0];
  if (!target) throw new Error("no inspector target");
  const cdp = await devtools(target.webSocketDebuggerUrl);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
  await cdp.send("Profiler.start");

  const workerd = childPids(server.pid).find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes("workerd"));
  const before = { node: cpuSeconds(server.pid), workerd: cpuSeconds(workerd) };
  const t0 = performance.now();
  const loadTest = spawn(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", path.join(root, "scripts/load-test.ts"),
      "--url", `http://127.0.0.1:${port}`, "--no-progress", ...loadTestArgs],
    { stdio: "inherit" },
  );
  await new Promise((resolve) => loadTest.on("exit", resolve));
  const wall = (performance.now() - t0) / 1000;
  const cpu = { node: cpuSeconds(server.pid) - before.node, workerd: cpuSeconds(workerd) - before.workerd };

  const { profile } = await cdp.send("Profiler.stop");
  cdp.close();
  if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
  const { all, rows } = selfTimes(profile);
  console.log(`\nwall ${wall.toFixed(1)} s; CPU: workerd ${cpu.workerd.toFixed(1)} s, node (front + miniflare) ${cpu.node.toFixed(1)} s`);
  console.log(`registry isolate (${target.title}): ${(all / 1e6).toFixed(1)} s profiled; self time by function:`);
  for (const [name, us] of rows.slice(0, 15)) {
    console.log(`  ${(us / 1e6).toFixed(2).padStart(7)} s  ${((100 * us) / all).toFixed(1).padStart(5)} %  ${name}`);
  }
} finally {
  if (server) await stopProcess(server);
  rmSync(dataDir, { recursive: true, force: true });
}
