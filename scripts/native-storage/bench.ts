// Native storage benchmark, one runtime per run (bundled and started by bench-native-storage.mjs):
// filesystem store operations, 1 GiB pushed and pulled through createNativeRegistry(...).handle
// with the node:crypto hash, the re-hash after a restart, and what fsync costs. Prints one JSON object.
//
//   args: <work dir> [--sections store,push,rehash,fsync] [--size-mib 1024] [--part-mib 8] [--parts-mib 8,16,32] [--repeat 3]
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { FilesystemObjectStore } from "../../src/runtimes/native/fs-store";
import { createNativeRegistry, type NativeRegistry } from "../../src/runtimes/native/registry";

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const work = args[0]!;
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const sections = new Set(flag("sections", "store,push,rehash,fsync").split(","));
const sizeMiB = Number(flag("size-mib", "1024"));
const partMiB = Number(flag("part-mib", "8"));
/** Each large-transfer figure is the median of this many runs (the machine is shared: noisy). */
const repeat = Number(flag("repeat", "3"));
const BASE = "http://bench";
const results: Record<string, unknown> = { runtime: runtimeName(), sizeMiB, partMiB, repeat };

function runtimeName(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.version}`;
}

function fresh(label: string): string {
  const dir = path.join(work, label);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

async function rate(seconds: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < until) await op(n++);
  return Math.round(n / seconds);
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

// --- store operations --------------------------------------------------------------------------

async function storeOps(durable: boolean): Promise<Record<string, number>> {
  const store = await FilesystemObjectStore.open(fresh(`store-${durable}`), { durable });
  const small = randomBytes(200);
  const meta = { digest: `sha256:${"a".repeat(64)}`, mediaType: "application/vnd.oci.image.manifest.v1+json", size: "200" };
  const out: Record<string, number> = {};
  let puts = 0;
  out.putPerSecond = await rate(2, (i) => store.put(`repositories/demo/_tags/t${(puts = i + 1) - 1}`, small, meta));
  for (let i = 0; i < 100; i++) await store.put(`repositories/list/_tags/v${i}`, small, meta);
  out.headPerSecond = await rate(2, (i) => store.head(`repositories/demo/_tags/t${i % puts}`));
  out.getSmallPerSecond = await rate(2, async (i) => {
    const object = await store.get(`repositories/demo/_tags/t${i % puts}`);
    await new Response(object!.body).arrayBuffer();
  });
  out.list100PerSecond = await rate(2, () => store.list("repositories/list/_tags/"));
  out.list100MetadataPerSecond = await rate(2, () => store.list("repositories/list/_tags/", { metadata: true }));
  const big = randomBytes(64 * MiB);
  let started = performance.now();
  await store.put("blobs/big", big);
  out.put64MiBMBps = round(64 * MiB / 1e6 / ((performance.now() - started) / 1000));
  started = performance.now();
  const object = await store.get("blobs/big");
  await drain(object!.body);
  out.get64MiBMBps = round(64 * MiB / 1e6 / ((performance.now() - started) / 1000));
  return out;
}

async function drain(body: ReadableStream<Uint8Array>, hash?: ReturnType<typeof createHash>): Promise<number> {
  let n = 0;
  const reader = body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    n += r.value.length;
    hash?.update(r.value);
  }
  return n;
}

// --- 1 GiB through handle() ----------------------------------------------------------------------

/** `sizeMiB` of content made of one 64 MiB random block repeated (its digest computed beforehand). */
const BLOCK = 64 * MiB;
let block: Uint8Array | null = null;
let blobDigest = "";
function content(): { block: Uint8Array; digest: string; size: number } {
  const size = sizeMiB * MiB;
  if (!block) {
    block = new Uint8Array(randomBytes(BLOCK));
    const hash = createHash("sha256");
    for (let at = 0; at < size; at += BLOCK) hash.update(block.subarray(0, Math.min(BLOCK, size - at)));
    blobDigest = `sha256:${hash.digest("hex")}`;
  }
  return { block, digest: blobDigest, size };
}

/** The content as a request body of 1 MiB chunks (views of the block: no copies, as a socket would give). */
function contentStream(): ReadableStream<Uint8Array> {
  const { block, size } = content();
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= size) return controller.close();
      const offset = at % BLOCK;
      const n = Math.min(MiB, size - at, BLOCK - offset);
      controller.enqueue(block.slice(offset, offset + n)); // a fresh buffer per chunk, as from a socket
      at += n;
    },
  }, { highWaterMark: 0 });
}

function rssSampler(): { stop(): { peakMiB: number; baselineMiB: number } } {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return { peakMiB: round(peak / MiB), baselineMiB: round(baseline / MiB) };
    },
  };
}

function req(method: string, url: string, body: BodyInit | null = null, headers: Record<string, string> = {}): Request {
  return new Request(BASE + url, { method, body, headers, duplex: "half" } as RequestInit);
}

async function pushOnce(registry: NativeRegistry, finish: boolean): Promise<{ location: string; seconds: number; patchSeconds: number }> {
  const { digest } = content();
  const started = performance.now();
  const post = await registry.handle(req("POST", "/v2/bench/big/blobs/uploads/"));
  const location = post.headers.get("Location")!;
  const patched = await registry.handle(req("PATCH", location, contentStream(), { "Content-Type": "application/octet-stream" }));
  if (patched.status !== 202) throw new Error(`PATCH: ${patched.status} ${await patched.text()}`);
  const patchSeconds = (performance.now() - started) / 1000;
  if (finish) {
    const put = await registry.handle(req("PUT", `${location}?digest=${digest}`));
    if (put.status !== 201) throw new Error(`PUT: ${put.status} ${await put.text()}`);
  }
  return { location, seconds: (performance.now() - started) / 1000, patchSeconds };
}

/** Median of each figure over `repeat` runs, plus the best push time. */
async function repeated(run: () => Promise<Record<string, number>>): Promise<Record<string, number>> {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await run());
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const out: Record<string, number> = {};
  for (const key of Object.keys(runs[0]!)) out[key] = median(runs.map((r) => r[key]!));
  if ("pushSeconds" in out) out.bestPushSeconds = Math.min(...runs.map((r) => r.pushSeconds!));
  if ("rssGrowthMiB" in out) out.maxRssGrowthMiB = Math.max(...runs.map((r) => r.rssGrowthMiB!));
  return out;
}

async function pushAndPull(durable: boolean, partMiBHere: number): Promise<Record<string, number>> {
  const { digest, size } = content();
  const dataDir = fresh(`push-${durable}-${partMiBHere}`);
  const registry = await createNativeRegistry({ dataDir, settings: { AUTH_MODE: "open", UPLOAD_PART_SIZE: String(partMiBHere * MiB) }, durable });
  try {
    (globalThis as { gc?: () => void }).gc?.();
    const memory = rssSampler();
    const push = await pushOnce(registry, true);
    const rss = memory.stop();
    let started = performance.now();
    const get = await registry.handle(req("GET", `/v2/bench/big/blobs/${digest}`));
    const pulled = await drain(get.body!);
    const pullSeconds = (performance.now() - started) / 1000;
    if (pulled !== size) throw new Error(`pulled ${pulled} of ${size} bytes`);
    started = performance.now();
    const hash = createHash("sha256");
    await drain((await registry.handle(req("GET", `/v2/bench/big/blobs/${digest}`))).body!, hash);
    const verifySeconds = (performance.now() - started) / 1000;
    if (`sha256:${hash.digest("hex")}` !== digest) throw new Error("pulled bytes differ");
    return {
      pushSeconds: round(push.seconds, 2),
      patchSeconds: round(push.patchSeconds, 2),
      pushMBps: round(size / 1e6 / push.seconds),
      pullMBps: round(size / 1e6 / pullSeconds),
      pullVerifiedMBps: round(size / 1e6 / verifySeconds),
      rssBaselineMiB: rss.baselineMiB,
      rssGrowthMiB: round(rss.peakMiB - rss.baselineMiB),
    };
  } finally {
    await registry.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Push without finishing, restart, then PUT: the new process re-hashes the stored parts once. */
async function rehash(): Promise<Record<string, number>> {
  const { digest, size } = content();
  const dataDir = fresh("rehash");
  const settings = { AUTH_MODE: "open", UPLOAD_PART_SIZE: String(partMiB * MiB) };
  let registry = await createNativeRegistry({ dataDir, settings });
  const { location } = await pushOnce(registry, false);
  await registry.close();
  registry = await createNativeRegistry({ dataDir, settings });
  try {
    const started = performance.now();
    const put = await registry.handle(req("PUT", `${location}?digest=${digest}`));
    const seconds = (performance.now() - started) / 1000;
    if (put.status !== 201) throw new Error(`PUT after restart: ${put.status} ${await put.text()}`);
    return { rehashSeconds: round(seconds, 2), rehashMBps: round(size / 1e6 / seconds) };
  } finally {
    await registry.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (sections.has("store")) {
  results.store = await storeOps(true);
  if (sections.has("fsync")) results.storeNoFsync = await storeOps(false);
}
if (sections.has("push")) {
  const parts = flag("parts-mib", String(partMiB)).split(",").map(Number);
  const byPart: Record<string, unknown> = {};
  for (const part of parts) byPart[`${part}MiB`] = await repeated(() => pushAndPull(true, part));
  results.push = byPart;
  if (sections.has("fsync")) results.pushNoFsync = await repeated(() => pushAndPull(false, partMiB));
}
if (sections.has("rehash")) results.rehash = await repeated(rehash);
console.log(JSON.stringify(results));
process.exit(0);
