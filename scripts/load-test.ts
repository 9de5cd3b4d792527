// Load test for any OCI / Docker registry, speaking the HTTP API itself (no docker needed).
//   npm run load-test -- --url http://127.0.0.1:5000 [--compare URL] [--help for the rest]
// Runs each selected scenario on --url and, with --compare, on the second registry in
// alternation; prints a table per registry and the ratios, and writes JSON with --json.
import { writeFileSync } from "node:fs";
import os from "node:os";
import { HELP, parseArgs, UsageError, type Options } from "./load-test/args.ts";
import { Authenticator } from "./load-test/auth.ts";
import { RegistryClient } from "./load-test/client.ts";
import { registryPids, RssSampler } from "./load-test/memory.ts";
import { errorReport, Progress, ratios, ratioTable, resultTable } from "./load-test/report.ts";
import { ping } from "./load-test/registry.ts";
import { scenarios, Target } from "./load-test/scenarios.ts";
import type { Row } from "./load-test/stats.ts";

function machine() {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

function makeTargets(o: Options, runId: string): Target[] {
  const urls: Array<[string, string]> = [["url", o.url]];
  if (o.compare) urls.push(["compare", o.compare]);
  // Enough sockets for the most concurrent scenario; connections are reused.
  const sockets = Math.max(o.concurrency ?? 0, 32) + 4;
  return urls.map(([label, url]) => {
    const auth = new Authenticator({ user: o.user, password: o.password, token: o.token });
    const live = { label: "", recorder: null, moved: 0, totalOps: null };
    // Each target writes under its own repositories, so two URLs of one registry do not move each other's tags.
    return new Target(label, url, new RegistryClient(url, auth, sockets, o.keepAlive), `${o.repo}/${runId}/${label}`, live);
  });
}

/** Runs every scenario on every target, alternating which goes first each round. */
async function runAll(o: Options, targets: Target[], progress: Progress): Promise<Row[]> {
  const peaks = new Map<string, { peak: number; growth: number }>();
  const pids = new Map(targets.map((t) => [t, registryPids(t.url, t.label === "url" ? o.pid : o.comparePid)]));
  for (const name of o.scenarios) {
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const roots = pids.get(t);
        const sampler = roots ? new RssSampler(roots) : null;
        t.touched.clear();
        progress.watch(t.label, t.live);
        sampler?.start();
        try {
          await scenarios[name](t, o);
        } catch (err) {
          // A failed setup (or anything unexpected) is an error of this scenario, and the run goes on.
          t.recorder(`${name} (aborted)`, false).fail(err);
        }
        const peak = sampler ? sampler.stop() : null;
        for (const row of t.touched) {
          const key = `${t.label} ${row}`;
          const before = peaks.get(key);
          if (peak !== null) peaks.set(key, { peak: Math.max(peak.peak, before?.peak ?? 0), growth: Math.max(peak.growth, before?.growth ?? 0) });
          if (round === o.rounds - 1) progress.print(`${t.label.padEnd(7)} ${summaryLine(t.recorders.get(row)!.row(row, t.label, null))}`);
        }
      }
    }
  }
  progress.stop();
  return targets.flatMap((t) => [...t.recorders].map(([row, rec]) => rec.row(row, t.label, peaks.get(`${t.label} ${row}`) ?? null)));
}

function summaryLine(r: Row): string {
  const rate = r.mbPerSecond !== null ? `${r.mbPerSecond} MB/s` : `${r.requestsPerSecond} req/s`;
  return `${r.scenario}: ${rate}, ${r.ops} ops, ${r.errors} errors, ${r.seconds} s`;
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`load-test: ${err.message}`);
    return 1;
  }
  if (o.help) {
    console.log(HELP);
    return 0;
  }
  const runId = Date.now().toString(36);
  const targets = makeTargets(o, runId);
  for (const t of targets) {
    try {
      await ping(t.client);
    } catch (err) {
      console.error(`load-test: GET ${t.url}/v2/ failed, nothing measured: ${err instanceof Error ? err.message : err}`);
      return 1;
    }
  }
  const progress = new Progress(o.progress);
  const started = new Date();
  const rows = await runAll(o, targets, progress);

  for (const t of targets) {
    console.log(`\n${t.label}: ${t.url}`);
    console.log(resultTable(rows.filter((r) => r.target === t.label)));
  }
  const compared = ratios(rows);
  if (compared.length > 0) {
    console.log(`\nratios (url ${o.url} vs compare ${o.compare}; above 1.00x: url is better)`);
    console.log(ratioTable(compared));
  }
  console.log(`\n${errorReport(rows)}`);
  for (const t of targets) {
    if (t.client.staleRetries > 0) {
      console.log(`${t.label}: ${t.client.staleRetries} request(s) sent again after the server closed a kept-alive connection without answering`);
    }
  }
  if (o.json) {
    const report = {
      date: started.toISOString(),
      machine: machine(),
      targets: Object.fromEntries(targets.map((t) => [t.label, t.url])),
      options: { ...o, password: o.password === null ? null : "***", token: o.token === null ? null : "***" },
      tokenRequests: Object.fromEntries(targets.map((t) => [t.label, t.client.auth.tokenRequests])),
      staleConnectionRetries: Object.fromEntries(targets.map((t) => [t.label, t.client.staleRetries])),
      results: rows,
      ratios: compared,
    };
    writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`JSON: ${o.json}`);
  }
  for (const t of targets) t.client.close();
  return rows.some((r) => r.errors > 0) ? 2 : 0;
}

process.exitCode = await main();
