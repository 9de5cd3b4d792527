#!/usr/bin/env node
// Upload/download throughput of a running registry (start one with `npm start` first).
//   node scripts/bench-upload.mjs [MiB=256] [chunkMiB=0 (0: one streaming PATCH, like docker)]
//   REGISTRY=http://127.0.0.1:5000
import { createHash, randomFillSync } from "node:crypto";

const registry = process.env.REGISTRY ?? "http://127.0.0.1:5000";
const totalMiB = Number(process.argv[2] ?? 256);
const chunkMiB = Number(process.argv[3] ?? 0);
const MiB = 1024 * 1024;
const repo = `bench/upload-${Date.now()}`;

// Deterministic-size random data produced on the fly, so memory stays flat.
function* pieces(total, size = MiB) {
  const buf = Buffer.alloc(size);
  for (let sent = 0; sent < total; sent += size) {
    randomFillSync(buf);
    yield buf.subarray(0, Math.min(size, total - sent));
  }
}

function streamOf(iterable, hash) {
  const it = iterable[Symbol.iterator]();
  return new ReadableStream({
    pull(controller) {
      const { done, value } = it.next();
      if (done) return controller.close();
      hash.update(value);
      controller.enqueue(new Uint8Array(value));
    },
  });
}

const total = totalMiB * MiB;
const hash = createHash("sha256");
const post = await fetch(`${registry}/v2/${repo}/blobs/uploads/`, { method: "POST" });
if (post.status !== 202) throw new Error(`POST ${post.status}`);
let location = new URL(post.headers.get("Location"), registry).href;

const t0 = performance.now();
if (chunkMiB > 0) {
  const chunk = chunkMiB * MiB;
  for (let at = 0; at < total; at += chunk) {
    const len = Math.min(chunk, total - at);
    const body = Buffer.alloc(len);
    randomFillSync(body);
    hash.update(body);
    const res = await fetch(location, {
      method: "PATCH",
      body,
      headers: { "Content-Range": `${at}-${at + len - 1}`, "Content-Type": "application/octet-stream" },
    });
    if (res.status !== 202) throw new Error(`PATCH ${res.status} ${await res.text()}`);
    location = new URL(res.headers.get("Location"), registry).href;
  }
} else {
  const res = await fetch(location, { method: "PATCH", body: streamOf(pieces(total), hash), duplex: "half" });
  if (res.status !== 202) throw new Error(`PATCH ${res.status} ${await res.text()}`);
  location = new URL(res.headers.get("Location"), registry).href;
}
const digest = `sha256:${hash.digest("hex")}`;
const put = await fetch(`${location}${location.includes("?") ? "&" : "?"}digest=${digest}`, { method: "PUT" });
if (put.status !== 201) throw new Error(`PUT ${put.status} ${await put.text()}`);
const upSeconds = (performance.now() - t0) / 1000;

const t1 = performance.now();
const get = await fetch(`${registry}/v2/${repo}/blobs/${digest}`);
const check = createHash("sha256");
for await (const part of get.body) check.update(part);
const downSeconds = (performance.now() - t1) / 1000;
if (`sha256:${check.digest("hex")}` !== digest) throw new Error("downloaded bytes do not match");

const rate = (s) => `${(totalMiB / s).toFixed(1)} MiB/s`;
console.log(`upload   ${totalMiB} MiB ${chunkMiB ? `in ${chunkMiB} MiB chunks` : "in one PATCH"}: ${upSeconds.toFixed(1)} s, ${rate(upSeconds)}`);
console.log(`download ${totalMiB} MiB: ${downSeconds.toFixed(1)} s, ${rate(downSeconds)}`);
