#!/usr/bin/env node
// Starts the registry locally: the worker bundled with esbuild and run on workerd by miniflare,
// with the bindings of wrangler.local.toml, R2 and Durable Object state persisted under DATA_DIR,
// behind a front on PORT: the native HTTP server (src/runtimes/native/http, the one the Bun, Deno
// and Node forms use, bundled here at start) forwarding to workerd (scripts/workerd-front/).
// (Not `wrangler dev`: it reloads the worker whenever a source file changes, killing in-flight
// uploads, and puts a second proxying workerd in front.)
//
// Why the front: the same limits, timeouts and JSON error answers as the native forms; a TLS
// ClientHello gets a plain HTTP answer at once (skopeo, podman and buildah try HTTPS first; sent
// to workerd's port it would hang until their 10 s handshake timeout); bodies are paced into
// workerd, whose local HTTP server resets connections when a few dozen bodies stream in at once;
// and workerd's habits (a reset right after an early answer, kept-alive connections closed after
// 5 s idle) are handled so that clients see the worker's real answers (scripts/workerd-front/upstream.ts).
//
//   PORT      listening port (default 5000)
//   HOST      listening address (default 127.0.0.1)
//   DATA_DIR  persisted state (default .data)
//   TLS_CERT, TLS_KEY  optional PEM files: the same port then also accepts HTTPS
//   SETTINGS_FILE  KEY=value lines over the [vars] of wrangler.local.toml (auth settings and secrets,
//              as `wrangler secret put` would set them in production); default .dev.vars if present
//   MAX_IN_FLIGHT           requests with a body in flight to workerd at once (default 16)
//   MAX_IN_FLIGHT_BODYLESS  requests without a body in flight to workerd at once (default 64)
//   HTTP_MAX_HEADER_BYTES, HTTP_HEADERS_TIMEOUT_MS, HTTP_BODY_IDLE_TIMEOUT_MS,
//   HTTP_RESPONSE_IDLE_TIMEOUT_MS, HTTP_KEEP_ALIVE_TIMEOUT_MS  the front's HTTP limits (README)
import { build, stop as stopEsbuild } from "esbuild";
import { Miniflare, Log, LogLevel } from "miniflare";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execFileSync } from "node:child_process";
import { freePort } from "./lib/free-port.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 5000);
const host = process.env.HOST ?? "127.0.0.1";
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, ".data"));
const configPath = path.join(root, "wrangler.local.toml");

const buildDir = path.join(dataDir, "build");
mkdirSync(buildDir, { recursive: true });
const scriptPath = path.join(buildDir, "worker.mjs");
await build({
  entryPoints: [path.join(root, "src", "runtimes", "workers", "index.ts")],
  outfile: scriptPath,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "neutral",
  external: ["cloudflare:*"],
  plugins: [wasmModules(buildDir)],
  sourcemap: true,
  logLevel: "warning",
});

/**
 * `import x from "./file.wasm"` stays an import of a module file next to the bundle, which
 * workerd loads as a compiled WebAssembly.Module (wrangler's CompiledWasm rule; workerd does not
 * compile WebAssembly from bytes at run time).
 */
function wasmModules(outDir) {
  return {
    name: "wasm-modules",
    setup(b) {
      b.onResolve({ filter: /\.wasm$/ }, (args) => {
        const source = path.resolve(args.resolveDir, args.path);
        copyFileSync(source, path.join(outDir, path.basename(source)));
        return { path: `./${path.basename(source)}`, external: true };
      });
    },
  };
}

// The front: the native HTTP server and the workerd client, bundled for Node.
const frontPath = path.join(buildDir, "front.mjs");
await build({
  entryPoints: [path.join(root, "scripts", "workerd-front", "front.ts")],
  outfile: frontPath,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "node",
  logLevel: "warning",
});

// The builds are done: end esbuild's service process instead of keeping it for the server's life.
stopEsbuild();

// Bindings, vars, compatibility date and Durable Object classes exactly as wrangler reads them.
const workerOptions = wranglerWorkerOptions(configPath);

/**
 * Asks wrangler in a short-lived child process: importing wrangler here would keep ~120 MiB
 * resident for the server's whole life (measured with scripts/load-test.ts, which samples it).
 * The options are plain data; wrangler may print warnings, so the JSON follows a marker line.
 */
function wranglerWorkerOptions(config) {
  const MARK = "--- worker options ---";
  const script = `const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
    const { workerOptions } = unstable_getMiniflareWorkerOptions(${JSON.stringify(config)});
    process.stdout.write("\\n${MARK}\\n" + JSON.stringify(workerOptions));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.slice(out.lastIndexOf(MARK) + MARK.length));
}
const front = await import(pathToFileURL(frontPath).href);
// One settings file (SETTINGS_FILE, else .dev.vars if present) over the [vars] of wrangler.local.toml;
// the environment's values of the same names over both, as on the native runtimes.
let settingsSource;
try {
  settingsSource = front.readSettingsFile(process.env, root);
} catch (err) {
  console.error(`registry: ${err.message}`);
  process.exit(1);
}
const named = front.referencedSettingNames({ ...workerOptions.bindings, ...settingsSource.values, ...process.env });
const fromEnv = Object.fromEntries(
  [...Object.keys({ ...workerOptions.bindings, ...settingsSource.values }), ...front.CORE_SETTING_NAMES, ...named].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]),
);
workerOptions.bindings = { ...workerOptions.bindings, ...settingsSource.values, ...fromEnv };
// The secrets an upstream's password or token is read from are known names too.
const unknown = front.unknownSettingNames(settingsSource.values, process.env, named);
if (unknown.length > 0) console.error(`registry: ignoring unknown setting${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (names are listed in the README)`);
const httpsToo = Boolean(process.env.TLS_CERT && process.env.TLS_KEY);
// Token mode's audience and realm: this server's own address on loopback unless configured (never a request's Host).
workerOptions.bindings = front.withLocalAuthDefaults(workerOptions.bindings, { host, port, https: false });
const innerPort = await freePort();
const mf = new Miniflare({
  ...workerOptions,
  name: "registry",
  modules: true,
  scriptPath,
  modulesRoot: buildDir,
  host: "127.0.0.1",
  port: innerPort,
  r2Persist: path.join(dataDir, "r2"),
  durableObjectsPersist: path.join(dataDir, "do"),
  cf: false,
  // INSPECTOR_PORT: V8 inspector for the worker (scripts/profile-registry.mjs profiles through it).
  ...(process.env.INSPECTOR_PORT ? { inspectorPort: Number(process.env.INSPECTOR_PORT) } : {}),
  log: new Log(LogLevel[(process.env.LOG_LEVEL ?? "warn").toUpperCase()] ?? LogLevel.WARN),
});
await mf.ready;

const running = await front.startFront({
  host,
  port,
  ...(process.env.TLS_CERT && process.env.TLS_KEY
    ? { tls: { cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) } }
    : {}),
  limits: front.limitsFromSettings({ ...workerOptions.bindings, ...process.env }),
  upstream: { host: "127.0.0.1", port: innerPort },
  maxBodies: positive("MAX_IN_FLIGHT", 16),
  maxBodyless: positive("MAX_IN_FLIGHT_BODYLESS", 64),
});

function positive(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  // Requests in progress get a moment to finish; then workerd goes, and whatever is left with it.
  await Promise.race([running.close(), new Promise((resolve) => setTimeout(resolve, 2_000))]);
  await mf.dispose().catch(() => {});
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

const scheme = httpsToo ? "http and https" : "http";
const bindings = workerOptions.bindings ?? {};
const authMode = bindings.AUTH_MODE || "inferred from the auth settings";
const bodyLimit = bindings.MAX_REQUEST_BODY_BYTES ? `${bindings.MAX_REQUEST_BODY_BYTES} bytes` : "none";
console.log(
  `registry listening on http://${host}:${port} (${scheme}; runtime workerd via miniflare; auth ${authMode}; ` +
    `data in ${dataDir}; body limit ${bodyLimit}; settings from wrangler.local.toml${settingsSource.file ? ` and ${settingsSource.file}` : ""})`,
);
