#!/usr/bin/env node
// `npm run gc -- --url <registry> [options] [collect|usage]`: the operator commands of the storage
// lifecycle against a local or deployed registry (README "Storage lifecycle").
//   collect (default)  POST /v2/_registry/gc            one garbage collection; --dry-run changes nothing
//   usage              GET  /v2/_registry/usage         bytes, blobs, manifests, tags per repository
// Credentials (an operator: "admin" in AUTH_USERS actions, or a JWT capability):
//   --user NAME --password PASS   Basic (or REGISTRY_USER / REGISTRY_PASSWORD in the environment)
//   --token TOKEN                 Bearer (or REGISTRY_TOKEN)
//   --json                        print the registry's JSON answer as it is
import process from "node:process";

const USAGE = "usage: npm run gc -- --url http://127.0.0.1:5000 [--user U --password P | --token T] [--dry-run] [--json] [collect|usage]";

function parse(argv) {
  const options = { command: "collect", dryRun: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${arg} needs a value`);
      return v;
    };
    if (arg === "--url") options.url = value();
    else if (arg === "--user") options.user = value();
    else if (arg === "--password") options.password = value();
    else if (arg === "--token") options.token = value();
    else if (arg === "--dry-run") options.dryRun = true;
    else if (arg === "--json") options.json = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === "collect" || arg === "usage") options.command = arg;
    else fail(`unknown argument ${arg}`);
  }
  options.url ??= process.env.REGISTRY_URL;
  options.user ??= process.env.REGISTRY_USER;
  options.password ??= process.env.REGISTRY_PASSWORD;
  options.token ??= process.env.REGISTRY_TOKEN;
  if (!options.url) fail("--url is required");
  if (options.command === "usage" && options.dryRun) fail("--dry-run belongs to collect");
  return options;
}

function fail(message) {
  console.error(`gc: ${message}\n${USAGE}`);
  process.exit(2);
}

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main() {
  const options = parse(process.argv.slice(2));
  const headers = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  else if (options.user !== undefined) headers.Authorization = `Basic ${Buffer.from(`${options.user}:${options.password ?? ""}`).toString("base64")}`;
  const base = options.url.replace(/\/+$/, "");
  const target = options.command === "usage" ? `${base}/v2/_registry/usage` : `${base}/v2/_registry/gc${options.dryRun ? "?dry-run=true" : ""}`;
  // A registry with a budget per run (Workers) answers complete: false; ask again until it is done.
  let text;
  let body;
  const total = { removed: {}, bytesFreed: 0, restoredLinks: 0, keys: [], rounds: 0 };
  for (;;) {
    const response = await fetch(target, { method: options.command === "usage" ? "GET" : "POST", headers });
    text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = JSON.parse(text).errors.map((e) => `${e.code}: ${e.message}`).join("; ");
      } catch {}
      console.error(`gc: ${response.status} from ${target}: ${message}`);
      process.exit(1);
    }
    body = JSON.parse(text);
    if (options.command === "usage") break;
    total.rounds += 1;
    total.bytesFreed += body.bytesFreed;
    total.restoredLinks += body.restoredLinks;
    total.keys.push(...body.keys);
    for (const [k, n] of Object.entries(body.removed)) total.removed[k] = (total.removed[k] ?? 0) + n;
    if (body.complete !== false || body.dryRun) break;
    if (total.rounds >= 10_000) fail("the registry never reported a complete run");
  }
  if (options.command === "collect" && total.rounds > 1) {
    body = { ...body, removed: total.removed, bytesFreed: total.bytesFreed, restoredLinks: total.restoredLinks, keys: total.keys.slice(0, 1000), keysTruncated: total.keys.length > 1000, invocations: total.rounds };
    text = JSON.stringify(body, null, 2);
  }
  if (options.json) {
    console.log(text);
    return;
  }

  if (options.command === "usage") {
    for (const r of body.repositories) console.log(`${r.name}\t${mib(r.bytes)}\t${r.blobs} blobs\t${r.manifests} manifests\t${r.tags} tags`);
    console.log(`stored: ${mib(body.stored.bytes)} in ${body.stored.blobs} blobs and manifests`);
    return;
  }
  const verb = body.dryRun ? "would free" : "freed";
  const parts = Object.entries(body.removed).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  console.log(`${verb} ${body.bytesFreed} bytes (${mib(body.bytesFreed)}) over ${body.repositories} repositories: ${parts.join(", ") || "nothing"}`);
  if (body.restoredLinks > 0) console.log(`${body.restoredLinks} links put back for manifests pushed during the run`);
  if (body.dryRun) for (const key of body.keys) console.log(`  ${key}`);
  if (body.keysTruncated) console.log("  … (more keys: the report lists at most 1000)");
}

main().catch((err) => {
  console.error(`gc: ${err.message}`);
  process.exit(1);
});
