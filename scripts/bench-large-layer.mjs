// Not in CI: pushes and pulls one very large layer (default 6 GiB, above R2's 5 GiB single-put
// limit) through a registry limited to 100 MB request bodies, with the push client, and prints
// time and peak memory for BENCHMARKS.md.
//   node scripts/bench-large-layer.mjs [GiB]      (needs ~2x the size in free disk under $TMPDIR)
import { spawn } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, writeSync, closeSync, renameSync, writeFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./lib/free-port.mjs";
import { startServe, stopProcess } from "./lib/servers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const size = Math.round(Number(process.argv[2] ?? 6) * GiB);
const work = mkdtempSync(path.join(tmpdir(), "bench-large-"));
const sha = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A tar holding one file of random bytes, written and hashed as it goes; returns its digest. */
function writeLayer(file) {
  const hash = createHash("sha256");
  const fd = openSync(file, "w");
  const put = (b) => (hash.update(b), writeSync(fd, b));
  const header = Buffer.alloc(512);
  header.write("big/random.bin", 0);
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  // sizes past 8 GiB do not fit 11 octal digits: base-256
  if (size < 8 * GiB) header.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  else {
    header[124] = 0x80;
    header.writeBigUInt64BE(BigInt(size), 128);
  }
  header.write("00000000000\0", 136);
  header.write("0", 156);
  header.write("ustar\x0000", 257);
  header.fill(" ", 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  put(header);
  const chunk = Buffer.allocUnsafe(16 * MiB);
  for (let left = size; left > 0; left -= chunk.length) put(randomFillSync(chunk).subarray(0, Math.min(left, chunk.length)));
  put(Buffer.alloc((512 - (size % 512)) % 512 + 1024));
  closeSync(fd);
  return { digest: `sha256:${hash.digest("hex")}`, bytes: statSync(file).size };
}

function runTimed(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn("/usr/bin/time", ["-f", "maxrss_kb=%M", cmd, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
      process.stderr.write(d);
    });
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}`));
      resolve({ seconds: (Date.now() - started) / 1000, maxRssMiB: Number(/maxrss_kb=(\d+)/.exec(err)?.[1] ?? 0) / 1024 });
    });
  });
}

// 1. an OCI layout with one image whose only layer is the big tar
const layout = path.join(work, "layout");
mkdirSync(path.join(layout, "blobs", "sha256"), { recursive: true });
let t = Date.now();
const tmpLayer = path.join(layout, "blobs", "sha256", "layer.tmp");
const layer = writeLayer(tmpLayer);
renameSync(tmpLayer, path.join(layout, "blobs", "sha256", layer.digest.slice(7)));
console.log(`generated ${(layer.bytes / GiB).toFixed(2)} GiB layer in ${((Date.now() - t) / 1000).toFixed(0)} s`);
const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] }, config: {} }));
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layer.digest, size: layer.bytes }],
}));
writeFileSync(path.join(layout, "blobs", "sha256", sha(config).slice(7)), config);
writeFileSync(path.join(layout, "blobs", "sha256", sha(manifest).slice(7)), manifest);
writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
writeFileSync(path.join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(manifest), size: manifest.length, annotations: { "org.opencontainers.image.ref.name": "big" } }] }));

// 2. the registry, limited to 100 MB bodies
const port = await freePort();
writeFileSync(path.join(work, "vars"), 'MAX_REQUEST_BODY_BYTES="100000000"\n');
let registry;
try {
  registry = await startServe(root, { PORT: String(port), DATA_DIR: path.join(work, "data"), VARS_FILE: path.join(work, "vars") });
  registry.on("exit", (code, signal) => console.error(`registry exited (code ${code}, signal ${signal})`));
  // 3. push with the client (chunks of at most OCI-Chunk-Max-Length)
  const cli = path.join(root, "tools", "push", "cli.ts");
  const push = await runTimed(process.execPath, [cli, "push", "--state-file", path.join(work, "state.json"), `oci:${layout}:big`, `127.0.0.1:${port}/bench/large:v1`]);
  // 4. pull the layer back (streamed GET, hashed)
  t = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}/v2/bench/large/blobs/${layer.digest}`);
  const hash = createHash("sha256");
  let got = 0;
  for await (const c of res.body) {
    hash.update(c);
    got += c.length;
  }
  const pullSeconds = (Date.now() - t) / 1000;
  const pulled = `sha256:${hash.digest("hex")}`;
  if (pulled !== layer.digest || got !== layer.bytes) throw new Error(`pulled ${got} bytes with digest ${pulled}, expected ${layer.digest}`);
  const rate = (s) => (layer.bytes / MiB / s).toFixed(1);
  console.log(`\n| layer | push (client, 100 MB limit) | client peak RSS | pull (GET, hashed) | digest |`);
  console.log(`| --- | --- | --- | --- | --- |`);
  console.log(`| ${(layer.bytes / GiB).toFixed(2)} GiB | ${push.seconds.toFixed(0)} s (${rate(push.seconds)} MiB/s) | ${push.maxRssMiB.toFixed(0)} MiB | ${pullSeconds.toFixed(0)} s (${rate(pullSeconds)} MiB/s) | identical |`);
} finally {
  if (registry) await stopProcess(registry);
  rmSync(work, { recursive: true, force: true });
}
