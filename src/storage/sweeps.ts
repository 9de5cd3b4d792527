// How a registry write that reuses a stored blob and a garbage collection deleting it stay out of
// each other's way, on a store with no locks and no conditional delete (R2, the filesystem).
//
// Whoever links a blob it did not just write (an upload whose bytes are already stored, a mount,
// a manifest pushed again, a pull-through hit) first announces the reuse, then looks for sweeps in
// progress. The collector first announces a sweep (the blob keys it is about to delete), then reads
// the reuse announcements. Each side writes before it reads, so at least one sees the other:
//   - the collector sees the reuse: it spares the blob;
//   - the writer sees the sweep: it waits for it to end and looks again; the blob is then either
//     still there (spared) or gone, and the writer stores its own bytes, or reports it missing.
// A sweep that outlives SWEEP_WINDOW_MS by the collector's clock deletes nothing; writers stop
// waiting on a sweep marker older than MARKER_TTL_MS (a collector that crashed mid-sweep).
import type { Digest } from "../oci/digest";
import { keys } from "./layout";
import type { ObjectInfo, ObjectStore } from "./object-store";

/** The longest a sweep may take from its announcement to its last delete call. */
export const SWEEP_WINDOW_MS = 10_000;
/** Markers older than this are ignored (and removed by the next collection). */
export const MARKER_TTL_MS = 60_000;
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 500;

/** Announces that `digest` is about to be linked though this request did not write it. */
export async function announceReuse(objects: ObjectStore, digest: Digest): Promise<void> {
  await objects.put(keys.reuse(digest), "");
}

/** Waits while a sweep in progress names the blob; the caller then looks at the blob again (it may be gone). */
export async function waitForSweeps(objects: ObjectStore, blobKey: string): Promise<void> {
  for (const marker of (await objects.list(keys.sweeps, { limit: 1000 })).objects) {
    if (!isCurrent(marker, Date.now)) continue;
    if (!(await sweepKeys(objects, marker.key))?.includes(blobKey)) continue;
    for (let delay = POLL_FIRST_MS; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
      const still = await objects.head(marker.key);
      if (!still || !isCurrent(still, Date.now)) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** The collector's side: announces the keys it is about to delete; returns the marker's key. */
export async function announceSweep(objects: ObjectStore, id: string, blobKeys: string[]): Promise<string> {
  const key = keys.sweep(id);
  await objects.put(key, JSON.stringify(blobKeys));
  return key;
}

/** Blob keys of the reuse announcements (a listing of keys.reuses) made at or after `since` (ms since epoch). */
export function reusedSince(reuses: ObjectInfo[], since: number): Set<string> {
  const out = new Set<string>();
  for (const o of reuses) if (o.uploaded >= since) out.add(keys.blobs + o.key.slice(keys.reuses.length));
  return out;
}

export const isStale = (o: ObjectInfo, now: () => number = Date.now) => !isCurrent(o, now);

function isCurrent(marker: ObjectInfo, now: () => number): boolean {
  return marker.uploaded > now() - MARKER_TTL_MS;
}

async function sweepKeys(objects: ObjectStore, key: string): Promise<string[] | null> {
  const object = await objects.get(key);
  if (!object) return null;
  try {
    const parsed: unknown = JSON.parse(await new Response(object.body).text());
    return Array.isArray(parsed) ? parsed.filter((k): k is string => typeof k === "string") : null;
  } catch {
    return null;
  }
}
