// Bun's collector lets the large, short-lived buffers of an upload (request chunks, 16 MiB parts)
// pile up: 1 GiB pushed grew its resident memory by 300-400 MiB, against ~70 MiB with a collection
// after each part (BENCHMARKS.md). A full collection costs ~5 ms, so it runs only once resident
// memory has grown by COLLECT_AFTER since the last one. Node and Deno (V8) need no hint.
import process from "node:process";

const COLLECT_AFTER = 64 * 1024 * 1024;
const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
let residentAfterLast = 0;

/** Called once per stored part: on Bun, collects garbage when memory has grown enough. */
export function partStored(): void {
  if (!bun) return;
  const resident = process.memoryUsage.rss();
  if (resident - residentAfterLast < COLLECT_AFTER) return;
  bun.gc(true);
  residentAfterLast = process.memoryUsage.rss();
}
