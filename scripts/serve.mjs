#!/usr/bin/env node
// Starts the registry locally: workerd (through `wrangler dev`) with R2 and Durable Object
// state persisted under DATA_DIR, behind a tiny TCP front on PORT that turns away TLS.
//
// Why the front: skopeo, podman and buildah try HTTPS before falling back to plain HTTP. A TLS
// ClientHello sent to workerd's HTTP port just hangs until the client's 10 s handshake timeout,
// on every connection. The front looks at the first byte; a TLS handshake (0x16) is closed at
// once, so the client falls back to HTTP immediately. Everything else is piped through untouched.
//
//   PORT      listening port (default 5000)
//   HOST      listening address (default 127.0.0.1)
//   DATA_DIR  persisted state (default .data)
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT ?? 5000);
const host = process.env.HOST ?? "127.0.0.1";
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, ".data"));

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

async function waitForRegistry(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`registry did not answer on ${url} within ${timeoutMs} ms`);
}

const innerPort = await freePort();
const inspectorPort = await freePort();
const wrangler = path.join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const child = spawn(
  process.execPath,
  [
    wrangler, "dev",
    "--config", path.join(root, "wrangler.local.toml"),
    "--ip", "127.0.0.1",
    "--port", String(innerPort),
    "--inspector-port", String(inspectorPort),
    "--persist-to", dataDir,
    "--show-interactive-dev-session=false",
    "--log-level", process.env.LOG_LEVEL ?? "warn",
  ],
  { cwd: root, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" }, detached: true },
);

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {}
  setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
    process.exit(code);
  }, 2000).unref();
  child.once("exit", () => process.exit(code));
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
child.on("exit", (code) => {
  if (!stopping) {
    console.error(`wrangler dev exited (${code})`);
    process.exit(code ?? 1);
  }
});

await waitForRegistry(`http://127.0.0.1:${innerPort}/v2/`, child, 120_000).catch((err) => {
  console.error(err.message);
  stop(1);
});

const TLS_HANDSHAKE = 0x16;
const front = net.createServer({ pauseOnConnect: false, noDelay: true }, (client) => {
  client.once("data", (first) => {
    if (first[0] === TLS_HANDSHAKE) {
      client.destroy(); // not a TLS server: say so at once instead of hanging
      return;
    }
    const upstream = net.connect({ host: "127.0.0.1", port: innerPort, noDelay: true }, () => {
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", close);
    client.on("error", close);
    upstream.on("close", close);
    client.on("close", () => upstream.end());
  });
  client.on("error", () => client.destroy());
});
front.listen(port, host, () => {
  console.log(`registry listening on http://${host}:${port} (data in ${dataDir})`);
});
