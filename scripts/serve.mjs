#!/usr/bin/env node
// Starts the registry locally: the worker bundled with esbuild and run on workerd by miniflare,
// with the bindings of wrangler.local.toml, R2 and Durable Object state persisted under DATA_DIR,
// behind a small front on PORT that turns away TLS and paces requests into workerd.
// (Not `wrangler dev`: it reloads the worker whenever a source file changes, killing in-flight
// uploads, and puts a second proxying workerd in front.)
//
// Why the front: skopeo, podman and buildah try HTTPS before falling back to plain HTTP. A TLS
// ClientHello sent to workerd's HTTP port just hangs until the client's 10 s handshake timeout,
// on every connection. The front looks at the first byte; a TLS handshake (0x16) gets a plain
// HTTP answer at once, so the client falls back to HTTP immediately. Plain HTTP is forwarded
// request by request, at most MAX_IN_FLIGHT (default 16) at once: workerd's local HTTP server
// resets connections when a few dozen request bodies stream in together.
//
//   PORT      listening port (default 5000)
//   HOST      listening address (default 127.0.0.1)
//   DATA_DIR  persisted state (default .data)
//   TLS_CERT, TLS_KEY  optional PEM files: the same port then also accepts HTTPS
//   VARS_FILE  KEY=value lines that override the [vars] of wrangler.local.toml (auth settings and
//              secrets, as `wrangler secret put` would set them in production); default .dev.vars
import { build, stop as stopEsbuild } from "esbuild";
import { Miniflare, Log, LogLevel } from "miniflare";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";

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

// The build is done: end esbuild's service process instead of keeping it for the server's life.
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
const varsFile = process.env.VARS_FILE ?? path.join(root, ".dev.vars");
if (process.env.VARS_FILE || existsSync(varsFile)) {
  workerOptions.bindings = { ...workerOptions.bindings, ...readVarsFile(varsFile) };
}
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

/** .dev.vars format: KEY=value per line, # comments; a "double-quoted" value is a JSON string, 'single' is literal. */
function readVarsFile(file) {
  const vars = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2];
    if (/^".*"$/s.test(value)) value = JSON.parse(value);
    else if (/^'.*'$/s.test(value)) value = value.slice(1, -1);
    vars[m[1]] = value;
  }
  return vars;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port: p } = server.address();
      server.close(() => resolve(p));
    });
  });
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  front.close();
  await mf.dispose().catch(() => {});
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

const TLS_HANDSHAKE = 0x16;
// Optional local TLS: with TLS_CERT and TLS_KEY (PEM files) the same port also speaks HTTPS.
const tlsContext =
  process.env.TLS_CERT && process.env.TLS_KEY
    ? tls.createSecureContext({ cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) })
    : null;

// Requests are forwarded one by one to workerd, at most MAX_IN_FLIGHT at a time (the rest wait
// their turn). workerd's local HTTP server resets connections when a few
// dozen request bodies stream in at once, and closes kept-alive connections after large bodies
// without saying so; clients keep their own kept-alive connections to this front.
const MAX_IN_FLIGHT = Number(process.env.MAX_IN_FLIGHT ?? 16);
let inFlight = 0;
const waiting = [];
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"]);

function acquire() {
  if (inFlight < MAX_IN_FLIGHT) {
    inFlight++;
    return Promise.resolve();
  }
  return new Promise((resolve) => waiting.push(resolve));
}

function release() {
  const next = waiting.shift();
  if (next) next();
  else inFlight--;
}

// Requests without a body reuse connections (workerd only drops connections that carried large
// bodies); a request with a body gets a connection of its own.
const reusable = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
function agentFor(req) {
  const bodyless = (req.method === "GET" || req.method === "HEAD" || req.method === "DELETE") && !req.headers["content-length"] && !req.headers["transfer-encoding"];
  return bodyless ? reusable : false;
}

function endToEnd(rawHeaders) {
  const out = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) out.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return out;
}

async function forward(req, res) {
  await acquire();
  let released = false;
  const done = () => {
    if (!released) {
      released = true;
      release();
    }
  };
  const upstream = http.request(
    { host: "127.0.0.1", port: innerPort, method: req.method, path: req.url, headers: endToEnd(req.rawHeaders), agent: agentFor(req) },
    (answer) => {
      res.writeHead(answer.statusCode, answer.statusMessage, endToEnd(answer.rawHeaders));
      answer.pipe(res);
      answer.on("end", done);
      answer.on("error", () => res.destroy());
    },
  );
  upstream.on("error", () => {
    done();
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { "Content-Type": "text/plain", Connection: "close" }).end("registry worker unreachable\n");
  });
  // A client that goes away mid-request takes its upstream request with it.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
    done();
  });
  req.pipe(upstream);
}

// No request timeout: a large layer may take many minutes to upload.
const httpFront = http.createServer({ noDelay: true, requestTimeout: 0, keepAliveTimeout: 65_000 }, forward);

/** Hands a client connection (plain, or TLS already unwrapped) to the HTTP front. */
function relay(client) {
  httpFront.emit("connection", client);
  client.resume();
}

const front = net.createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => socket.destroy());
  socket.once("data", (first) => {
    socket.pause(); // hold further bytes until the pipe to the worker is in place
    socket.unshift(first);
    if (first[0] !== TLS_HANDSHAKE) return relay(socket);
    // Not a TLS server: answer in plain HTTP and close, so the client falls back to HTTP at once.
    // (Go reports "server gave HTTP response to HTTPS client", the one error the docker CLI
    // falls back on; a bare close would read as EOF there.)
    if (!tlsContext) return socket.end("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    relay(new tls.TLSSocket(socket, { isServer: true, secureContext: tlsContext }));
  });
});
front.listen(port, host, () => {
  const scheme = tlsContext ? "http and https" : "http";
  console.log(`registry listening on http://${host}:${port} (${scheme}; data in ${dataDir})`);
});
