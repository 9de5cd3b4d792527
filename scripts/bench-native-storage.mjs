#!/usr/bin/env node
// Runs scripts/native-storage/bench.ts under Node, Bun and Deno (one esbuild bundle) and prints
// each runtime's figures: store operations, 1 GiB push/pull through handle() with the native hash,
// resident memory growth, the re-hash after a restart, and the cost of fsync.
//
//   node scripts/bench-native-storage.mjs [--runtimes node,bun,deno] [--json out.json] [-- bench args]
//   bench args: --sections store,push,rehash,fsync  --size-mib 1024  --part-mib 8  --parts-mib 8,16,32  --repeat 3
//
//   node scripts/bench-native-storage.mjs --rounds 5 [--runtimes …] [--json out.json]
//   Side by side: in each round, 1 GiB pushed to and pulled from the reference registry (Debian's
//   docker-registry, over loopback HTTP) and through handle() on each runtime, one after the other,
//   so a busy machine slows all of them alike. Prints the median of each.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RUNTIMES, bundle, runtimeVersion } from "./native-storage-contract.mjs";
import { freePort } from "./lib/free-port.mjs";
import { waitForAnswer, writeReferenceConfig } from "./lib/servers.mjs";

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
const own = split >= 0 ? argv.slice(0, split) : argv;
const benchArgs = split >= 0 ? argv.slice(split + 1) : [];
const option = (name) => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 ? own[i + 1] : undefined;
};
const runtimes = (option("runtimes") ?? "node,bun,deno").split(",");
const rounds = Number(option("rounds") ?? 0);
const file = await bundle("scripts/native-storage/bench.ts", "bench-native-storage");
const work = mkdtempSync(path.join(os.tmpdir(), "edge-registry-bench-"));
const MiB = 1024 * 1024;

function runBench(name, args) {
  const [command, runtimeArgs] = RUNTIMES[name];
  const extra = name === "node" ? ["--expose-gc"] : [];
  const child = spawnSync(command, [...runtimeArgs, ...extra, file, work, ...args], { encoding: "utf8", maxBuffer: 16 * MiB });
  const line = child.stdout.split("\n").find((l) => l.startsWith("{"));
  if (child.status !== 0 || !line) throw new Error(`${name}: failed (${child.status})\n${child.stderr.slice(-3000)}`);
  return JSON.parse(line);
}

// --- the reference registry ----------------------------------------------------------------------

async function startReference() {
  const port = await freePort();
  const root = path.join(work, "reference");
  mkdirSync(root, { recursive: true });
  const config = writeReferenceConfig(path.join(root, "config.yml"), { port, rootDirectory: `${root}/data`, accessLog: true, deletes: false });
  const child = spawn("docker-registry", ["serve", config], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForAnswer(`${url}/v2/`, { timeoutMs: 10_000, child });
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return { url, root, stop: () => child.kill("SIGTERM"), version: referenceVersion() };
}

function referenceVersion() {
  const out = spawnSync("dpkg-query", ["-W", "-f", "${Version}", "docker-registry"], { encoding: "utf8" });
  return out.stdout.trim() || "unknown";
}

/** The same content as the bench: one 64 MiB random block repeated to 1 GiB. */
const block = randomBytes(64 * MiB);
const SIZE = 1024 * MiB;
const digest = (() => {
  const hash = createHash("sha256");
  for (let at = 0; at < SIZE; at += block.length) hash.update(block);
  return `sha256:${hash.digest("hex")}`;
})();

function contentStream() {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= SIZE) return controller.close();
      const offset = at % block.length;
      controller.enqueue(new Uint8Array(block.subarray(offset, offset + MiB)));
      at += MiB;
    },
  }, { highWaterMark: 0 });
}

async function referenceRound(reference) {
  rmSync(path.join(reference.root, "data"), { recursive: true, force: true });
  const started = performance.now();
  const post = await fetch(`${reference.url}/v2/bench/big/blobs/uploads/`, { method: "POST" });
  const location = new URL(post.headers.get("Location"), reference.url);
  const patch = await fetch(location, { method: "PATCH", body: contentStream(), duplex: "half", headers: { "Content-Type": "application/octet-stream" } });
  const next = new URL(patch.headers.get("Location"), reference.url);
  next.searchParams.set("digest", digest);
  const put = await fetch(next, { method: "PUT" });
  if (put.status !== 201) throw new Error(`reference PUT: ${put.status}`);
  const pushSeconds = (performance.now() - started) / 1000;
  const pullStarted = performance.now();
  const get = await fetch(`${reference.url}/v2/bench/big/blobs/${digest}`);
  let pulled = 0;
  for await (const chunk of get.body) pulled += chunk.length;
  if (pulled !== SIZE) throw new Error(`reference pull: ${pulled} bytes`);
  return { pushSeconds, pullMBps: SIZE / 1e6 / ((performance.now() - pullStarted) / 1000) };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// --- main ------------------------------------------------------------------------------------------

const all = [];
const machine = `${os.cpus()[0]?.model} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}`;
try {
  if (rounds > 0) {
    const reference = await startReference();
    const runs = { reference: [], ...Object.fromEntries(runtimes.map((r) => [r, []])) };
    try {
      for (let round = 0; round < rounds; round++) {
        runs.reference.push(await referenceRound(reference));
        for (const name of runtimes) {
          const result = runBench(name, ["--sections", "push", "--size-mib", "1024", "--repeat", "1", ...benchArgs]);
          runs[name].push(Object.values(result.push)[0]);
        }
        console.error(`round ${round + 1}/${rounds} done, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
      }
    } finally {
      reference.stop();
    }
    for (const [name, list] of Object.entries(runs)) {
      const summary = {
        name,
        version: name === "reference" ? `docker-registry ${reference.version} (HTTP, loopback)` : `${runtimeVersion(name)} (handle())`,
        pushSeconds: median(list.map((r) => r.pushSeconds)),
        bestPushSeconds: Math.min(...list.map((r) => r.pushSeconds)),
        pullMBps: median(list.map((r) => r.pullMBps)),
        rssGrowthMiB: name === "reference" ? null : median(list.map((r) => r.rssGrowthMiB)),
        maxRssGrowthMiB: name === "reference" ? null : Math.max(...list.map((r) => r.rssGrowthMiB)),
        runs: list,
      };
      all.push(summary);
      const rss = summary.rssGrowthMiB === null ? "" : `, RSS growth ${summary.rssGrowthMiB} MiB (max ${summary.maxRssGrowthMiB})`;
      console.log(`${summary.version}: push ${summary.pushSeconds.toFixed(2)} s (best ${summary.bestPushSeconds.toFixed(2)}), pull ${summary.pullMBps.toFixed(0)} MB/s${rss}`);
    }
  } else {
    for (const name of runtimes) {
      const result = { version: runtimeVersion(name), ...runBench(name, benchArgs) };
      all.push(result);
      console.log(JSON.stringify(result, null, 1));
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(path.dirname(file), { recursive: true, force: true });
}
const out = option("json");
if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, load: os.loadavg(), results: all }, null, 2));
