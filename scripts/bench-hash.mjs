#!/usr/bin/env node
// Throughput of the resumable hashers (src/hash/) against WebCrypto, on this machine.
//   node scripts/bench-hash.mjs [MiB=256]
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { outputFiles } = await build({
  entryPoints: [path.join(root, "src/hash/resumable-hash.ts")],
  bundle: true,
  format: "esm",
  write: false,
  logLevel: "error",
});
const { createHash } = await import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString("base64")}`);

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MiB;
const data = new Uint8Array(64 * MiB);
for (let i = 0; i < data.length; i += 997) data[i] = i & 255;
const chunk = 64 * 1024; // about what a request body stream delivers per read

for (const algorithm of ["sha256", "sha512"]) {
  const hash = createHash(algorithm);
  const start = performance.now();
  for (let done = 0; done < total; done += data.length) {
    for (let at = 0; at < data.length; at += chunk) hash.update(data.subarray(at, at + chunk));
  }
  hash.digestHex();
  const ours = (total / MiB) / ((performance.now() - start) / 1000);

  const webStart = performance.now();
  for (let done = 0; done < total; done += data.length) {
    await crypto.subtle.digest(algorithm === "sha256" ? "SHA-256" : "SHA-512", data);
  }
  const web = (total / MiB) / ((performance.now() - webStart) / 1000);
  console.log(`${algorithm}: ${ours.toFixed(0)} MiB/s resumable, ${web.toFixed(0)} MiB/s WebCrypto (one-shot)`);
}
