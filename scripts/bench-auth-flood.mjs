// Not in CI: a flood of wrong passwords (random user names, one client address, 8 at a time)
// against the local registry in basic mode with a real 100,000-iteration PBKDF2 user, once with the
// failed-login limit off (AUTH_FAILURE_LIMIT=0) and once with the default; meanwhile an anonymous
// client pulls a public tag list, and at the end the real user logs in from another address.
// Prints a table for BENCHMARKS.md.
//   node scripts/bench-auth-flood.mjs [requests]     (default 1000)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hashPassword } from "../src/auth/passwords.ts";
import { freePort } from "./lib/free-port.mjs";
import { startServe, stopProcess, waitForAnswer } from "./lib/servers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const requests = Number(process.argv[2] ?? 1000);
const CONCURRENCY = 8;
const FLOOD_ADDRESS = "203.0.113.7";

async function startRegistry(vars) {
  const work = mkdtempSync(path.join(tmpdir(), "bench-auth-"));
  const varsFile = path.join(work, "vars");
  writeFileSync(varsFile, Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}\n`).join(""));
  const port = await freePort();
  const child = await startServe(root, { PORT: String(port), DATA_DIR: path.join(work, "data"), VARS_FILE: varsFile });
  const url = `http://127.0.0.1:${port}`;
  // Until the worker behind the front answers (502: "registry worker unreachable").
  await waitForAnswer(`${url}/v2/public/app/tags/list`, { accept: (status) => status !== 502, intervalMs: 200, child });
  const stop = async () => {
    await stopProcess(child);
    rmSync(work, { recursive: true, force: true });
  };
  return { url, stop };
}

const basic = (user, password) => `Basic ${btoa(`${user}:${password}`)}`;

async function flood(url) {
  const statuses = {};
  let sent = 0;
  const anonymous = [];
  let flooding = true;
  const prober = (async () => {
    while (flooding) {
      const t = performance.now();
      await fetch(`${url}/v2/public/app/tags/list`).then((r) => r.arrayBuffer());
      anonymous.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (sent < requests) {
      sent++;
      const user = `guess-${Math.random().toString(36).slice(2)}`;
      const res = await fetch(`${url}/v2/`, { headers: { Authorization: basic(user, "wrong"), "CF-Connecting-IP": FLOOD_ADDRESS } });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  flooding = false;
  await prober;
  anonymous.sort((a, b) => a - b);
  const owner = await fetch(`${url}/v2/`, { headers: { Authorization: basic("alice", "s3cret"), "CF-Connecting-IP": "203.0.113.8" } });
  return { seconds, statuses, p50: anonymous[Math.floor(anonymous.length / 2)], max: anonymous.at(-1), owner: owner.status };
}

const idle = await startRegistry({ AUTH_MODE: "open" });
const baseline = [];
for (let i = 0; i < 40; i++) {
  const t = performance.now();
  await fetch(`${idle.url}/v2/public/app/tags/list`).then((r) => r.arrayBuffer());
  if (i >= 10) baseline.push(performance.now() - t);
}
await idle.stop();
baseline.sort((a, b) => a - b);

const users = JSON.stringify([{ username: "alice", password: await hashPassword("s3cret"), actions: ["pull", "push"] }]);
const rows = [];
for (const limit of ["0", "10"]) {
  const registry = await startRegistry({
    AUTH_MODE: "basic",
    AUTH_USERS: users,
    AUTH_RULES: JSON.stringify([{ repository: "public/*", anonymous: true, actions: ["pull"] }]),
    AUTH_FAILURE_LIMIT: limit,
  });
  try {
    rows.push({ limit, ...(await flood(registry.url)) });
  } finally {
    await registry.stop();
  }
}

console.log(`\nanonymous tag list with nothing else going on: p50 ${baseline[15].toFixed(1)} ms`);
console.log(`\n| AUTH_FAILURE_LIMIT | ${requests} wrong passwords (c=${CONCURRENCY}, one address) | answers | anonymous tag list meanwhile p50 / max | the real user from another address |`);
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) {
  const answers = Object.entries(r.statuses).map(([s, n]) => `${n} x ${s}`).join(", ");
  console.log(`| ${r.limit === "0" ? "0 (off)" : r.limit} | ${r.seconds.toFixed(1)} s (${(requests / r.seconds).toFixed(0)}/s) | ${answers} | ${r.p50.toFixed(0)} / ${r.max.toFixed(0)} ms | ${r.owner} |`);
}
