// The garbage collector: mark from every repository's tags and manifests, sweep what nothing links.
// Runtime-independent: it speaks only to the ObjectStore (and asks the runtime whether an upload
// session still exists). ARCHITECTURE.md "Storage lifecycle" says why it is safe on a live registry.
//
// One run, in this order (each deletion removes only garbage, so a run stopped anywhere leaves a
// consistent store and the next run finishes the job):
//   1. per repository (catalog order; a budget may stop the run between repositories and hand back
//      a cursor): retention (tags, then untagged manifests), dangling tags and referrer entries,
//      blob links no manifest of the repository lists
//   2. blob links removed in step 1 that a manifest pushed meanwhile lists are put back
//   3. list blobs/ (what exists, with pointer locations)
//   4. list every repository's links again: whatever they name is live, so a blob linked during
//      the run (a push or mount of bytes that already existed) stays
//   5. blobs nothing links (pointer first, then the multipart object holding its bytes)
//   6. blob-data/ objects no pointer names whose session is gone
//   7. uploads/ records whose session is gone: abort the multipart upload, drop the record
//   8. catalog entries of repositories with nothing left
//   9. reuse announcements and sweep markers that have done their job
// Everything written or linked within the grace window is left alone.
import { formatDigest, parseDigest } from "../../oci/digest";
import { keys } from "../../storage/layout";
import type { ObjectInfo, ObjectStore } from "../../storage/object-store";
import { SWEEP_WINDOW_MS, announceSweep, isStale, reusedSince } from "../../storage/sweeps";
import { isImmutable, ruleFor, type RetentionRule, type TagPattern } from "./config";

export interface CollectorOptions {
  graceMs: number;
  dryRun?: boolean;
  retention?: RetentionRule[];
  /** Tags retention never drops. */
  immutableTags?: TagPattern[];
  /** Whether the upload session with this id still exists. */
  sessionExists(id: string): Promise<boolean>;
  now?: () => number;
  /** Called before each deletion with what it removes; a throw stops the run there (tests). */
  beforeDelete?(step: Step, keys: string[]): Promise<void> | void;
  /**
   * Store operations this invocation may spend (Workers: subrequests). Checked between
   * repositories and before the sweep; when spent, the run stops and reports a cursor to go on from.
   */
  budget?: number;
  /** Where an earlier invocation of this run stopped. */
  cursor?: GcCursor | null;
}

/** Where a run that hit its budget goes on: the repositories after `after`, then the sweep. */
export interface GcCursor {
  startedAt: number;
  phase: "repositories" | "sweep";
  after?: string;
}

export type Step = "tags" | "manifests" | "referrers" | "layerLinks" | "blobs" | "blobData" | "uploads" | "catalog" | "markers";

export interface GcReport {
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  graceSeconds: number;
  repositories: number;
  /** How many objects of each kind were (dry run: would be) removed. */
  removed: Record<Step, number>;
  /** Bytes freed: every removed object, with the bytes of multipart-assembled blobs. */
  bytesFreed: number;
  /** Blob links removed in step 2 and put back because a manifest pushed meanwhile lists them. */
  restoredLinks: number;
  /** Unlinked blobs step 5 left because they were reused while it ran (or it ran too slowly to delete them safely). */
  sparedBlobs: number;
  /** The removed keys (at most MAX_REPORTED_KEYS). */
  keys: string[];
  keysTruncated: boolean;
  /** False when the budget ran out: run again with `cursor` to finish (the store is consistent meanwhile). */
  complete: boolean;
  cursor?: GcCursor;
}

const MAX_REPORTED_KEYS = 1000;
const READ_CONCURRENCY = 8;
const DELETE_BATCH = 1000;

interface ManifestRefs {
  blobs: string[];
  manifests: string[];
  subject?: string;
}

interface BlobEntry {
  size: number;
  uploaded: number;
  /** The multipart object holding the bytes (pointers only). */
  location?: string;
}

/** "sha256/<hex>" (a key's last two segments) → "sha256:<hex>", or null when it is no digest. */
function digestOfPath(path: string): string | null {
  const slash = path.indexOf("/");
  if (slash < 0) return null;
  try {
    return formatDigest(parseDigest(`${path.slice(0, slash)}:${path.slice(slash + 1)}`));
  } catch {
    return null;
  }
}

const blobKey = (digest: string) => {
  const d = parseDigest(digest);
  return keys.blob(d);
};

export async function listAll(objects: ObjectStore, prefix: string, metadata = false): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await objects.list(prefix, { startAfter, metadata });
    out.push(...page.objects);
    if (!page.truncated || page.objects.length === 0) return out;
    startAfter = page.objects[page.objects.length - 1]!.key;
  }
}

/** What a stored manifest points at; lenient (it was checked when pushed): unknown shapes point at nothing. */
export function manifestRefs(bytes: Uint8Array): ManifestRefs {
  const refs: ManifestRefs = { blobs: [], manifests: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return refs;
  }
  if (typeof doc !== "object" || doc === null) return refs;
  const d = doc as Record<string, unknown>;
  const digestOf = (v: unknown): string | null => {
    if (typeof v !== "object" || v === null) return null;
    const raw = (v as { digest?: unknown }).digest;
    if (typeof raw !== "string") return null;
    try {
      return formatDigest(parseDigest(raw));
    } catch {
      return null;
    }
  };
  const list = (v: unknown) => (Array.isArray(v) ? v.map(digestOf).filter((x): x is string => x !== null) : []);
  const config = digestOf(d.config);
  if (config) refs.blobs.push(config);
  refs.blobs.push(...list(d.layers), ...list(d.blobs));
  refs.manifests.push(...list(d.manifests));
  const subject = digestOf(d.subject);
  if (subject) refs.subject = subject;
  return refs;
}

async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class Collector {
  private readonly now: () => number;
  private readonly refsCache = new Map<string, ManifestRefs>();
  private readonly objects: ObjectStore;
  private count = 0;

  constructor(
    store: ObjectStore,
    private readonly options: CollectorOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.objects = countingStore(store, () => (this.count += 1));
  }

  /** Store operations made so far (what the budget counts). */
  operations(): number {
    return this.count;
  }

  async run(): Promise<GcReport> {
    const invoked = this.now();
    const cursor: GcCursor = this.options.cursor ? { ...this.options.cursor } : { startedAt: invoked, phase: "repositories" };
    // A run continued from a cursor keeps its first cutoff: older, so it only ever spares more.
    const cutoff = cursor.startedAt - this.options.graceMs;
    const old = (o: { uploaded: number }) => o.uploaded < cutoff;
    const objects = this.objects;
    const report: GcReport = {
      dryRun: this.options.dryRun === true,
      startedAt: new Date(cursor.startedAt).toISOString(),
      finishedAt: "",
      graceSeconds: Math.round(this.options.graceMs / 1000),
      repositories: 0,
      removed: { tags: 0, manifests: 0, referrers: 0, layerLinks: 0, blobs: 0, blobData: 0, uploads: 0, catalog: 0, markers: 0 },
      bytesFreed: 0,
      restoredLinks: 0,
      sparedBlobs: 0,
      keys: [],
      keysTruncated: false,
      complete: false,
    };
    const overBudget = () => this.options.budget !== undefined && this.operations() >= this.options.budget;
    const stopHere = () => {
      report.cursor = { ...cursor };
      report.finishedAt = new Date(this.now()).toISOString();
      return report;
    };
    // Keys removed by this run (a dry run only pretends): later steps see the store as it would be.
    const gone = new Set<string>();
    const remove = async (step: Step, doomed: { key: string; size: number }[]) => {
      if (doomed.length === 0) return;
      const keyList = doomed.map((o) => o.key);
      for (let at = 0; at < keyList.length; at += DELETE_BATCH) {
        const batch = keyList.slice(at, at + DELETE_BATCH);
        await this.options.beforeDelete?.(step, batch);
        if (!report.dryRun) await objects.delete(batch);
      }
      report.removed[step] += doomed.length;
      for (const key of keyList) gone.add(key);
      for (const o of doomed) report.bytesFreed += o.size;
      for (const key of keyList) {
        if (report.keys.length < MAX_REPORTED_KEYS) report.keys.push(key);
        else report.keysTruncated = true;
      }
    };

    // 1. Each repository's own objects, in catalog order from the cursor; a budget stops between repositories.
    if (cursor.phase === "repositories") {
      const removedLinks = new Map<string, ObjectInfo>(); // blob link key → the link, to put back if needed
      const done: string[] = [];
      let finished = false;
      for (let startAfter = cursor.after === undefined ? undefined : keys.catalogEntry(cursor.after); ;) {
        const page = await objects.list(keys.catalog, { startAfter });
        let stopped = false;
        for (const entry of page.objects) {
          if (overBudget()) {
            stopped = true;
            break;
          }
          const name = entry.key.slice(keys.catalog.length);
          await this.collectRepository(name, old, removedLinks, remove);
          done.push(name);
          cursor.after = name;
          report.repositories += 1;
        }
        if (stopped) break;
        if (!page.truncated || page.objects.length === 0) {
          finished = true;
          break;
        }
        startAfter = page.objects[page.objects.length - 1]!.key;
      }
      // 2. A manifest pushed while its blob links were being removed (it checked them just before)
      // gets them back: the race lasts milliseconds, so this invocation's removals are the ones to check.
      await this.restoreLinks(done, invoked, removedLinks, gone, report);
      if (!finished) return stopHere();
      cursor.phase = "sweep";
      delete cursor.after;
      if (overBudget()) return stopHere();
    }

    // 3. What is stored. Blobs written after this listing are never candidates.
    const blobs = new Map<string, BlobEntry>();
    for (const o of await listAll(objects, keys.blobs, true)) {
      const entry: BlobEntry = { size: o.size, uploaded: o.uploaded };
      if (o.metadata.location) {
        entry.location = o.metadata.location;
        entry.size = Number(o.metadata.size) || 0;
      }
      blobs.set(o.key, entry);
    }

    // 4. Every link, listed after the blobs: a blob linked by then (a push, a mount of old bytes) is live.
    const live = new Set<string>();
    const emptied: string[] = [];
    for (const entry of await listAll(objects, keys.catalog)) {
      const name = entry.key.slice(keys.catalog.length);
      let left = 0;
      for (const prefix of [keys.manifestLinks(name), keys.layerLinks(name)]) {
        for (const link of await listAll(objects, prefix)) {
          if (gone.has(link.key)) continue;
          left += 1;
          const digest = digestOfPath(link.key.slice(prefix.length));
          if (digest) live.add(blobKey(digest));
        }
      }
      if (left === 0 && old(entry)) {
        const tags = (await listAll(objects, keys.tags(name))).filter((t) => !gone.has(t.key));
        if (tags.length === 0) emptied.push(name);
      }
    }

    // 5. Blobs no repository links: the pointer first, so a stop in between leaves only blob-data
    // garbage. Each batch is announced before it goes, and a blob reused meanwhile (an upload of
    // bytes already stored, a mount) is spared: storage/sweeps.ts.
    const doomed: [string, BlobEntry][] = [];
    const pointed = new Set<string>();
    for (const [key, blob] of blobs) {
      if (live.has(key) || !old(blob)) {
        if (blob.location) pointed.add(blob.location);
      } else {
        doomed.push([key, blob]);
      }
    }
    const doomedData = new Set<string>();
    for (let at = 0; at < doomed.length; at += DELETE_BATCH) {
      let batch = doomed.slice(at, at + DELETE_BATCH);
      const began = this.now();
      const marker = report.dryRun ? null : await announceSweep(objects, `${cursor.startedAt}-${invoked}-${at}`, batch.map(([key]) => key));
      try {
        const reused = reusedSince(await listAll(objects, keys.reuses), cutoff);
        const tooSlow = this.now() - began > SWEEP_WINDOW_MS; // reusers may have stopped waiting: next run
        const spared = batch.filter(([key]) => tooSlow || reused.has(key));
        for (const [, blob] of spared) if (blob.location) pointed.add(blob.location);
        report.sparedBlobs += spared.length;
        batch = batch.filter((entry) => !spared.includes(entry));
        await remove("blobs", batch.map(([key, blob]) => ({ key, size: blob.location ? 0 : blob.size })));
        const data = batch.filter(([, blob]) => blob.location).map(([, blob]) => ({ key: blob.location!, size: blob.size }));
        await remove("blobData", data);
        for (const d of data) doomedData.add(d.key);
      } finally {
        if (marker) await objects.delete(marker);
      }
    }

    // 6. Multipart objects no pointer names (a session that completed and died before publishing,
    // or a digest that did not match), once old and their session is gone.
    let strays: { key: string; size: number }[] = [];
    for (const o of await listAll(objects, keys.blobDataPrefix)) {
      if (pointed.has(o.key) || doomedData.has(o.key) || !old(o)) continue;
      const id = o.key.slice(keys.blobDataPrefix.length);
      if (await this.options.sessionExists(id)) continue;
      strays.push({ key: o.key, size: o.size });
    }
    if (strays.length > 0) {
      // Blobs published after step 3 name their data too.
      const since = new Set<string>();
      for (const o of await listAll(objects, keys.blobs, true)) {
        if (!gone.has(o.key) && o.metadata.location) since.add(o.metadata.location);
      }
      strays = strays.filter((s) => !since.has(s.key));
    }
    await remove("blobData", strays);

    // 7. Unfinished multipart uploads of sessions that no longer exist.
    const abandoned: { key: string; size: number }[] = [];
    for (const o of await listAll(objects, keys.uploads, true)) {
      if (!old(o)) continue;
      const id = o.key.slice(keys.uploads.length);
      if (await this.options.sessionExists(id)) continue;
      if (!report.dryRun && o.metadata.key && o.metadata.multipartId) {
        await this.options.beforeDelete?.("uploads", [o.key]);
        try {
          await objects.abortMultipart(o.metadata.key, o.metadata.multipartId);
        } catch (err) {
          // Already gone (aborted by the session's own sweep, or R2's 7-day expiry): the record goes anyway.
          console.warn(`gc: aborting multipart upload ${o.metadata.multipartId} failed`, err);
        }
      }
      abandoned.push({ key: o.key, size: 0 });
    }
    await remove("uploads", abandoned);

    // 8. Repositories with nothing left leave the catalog.
    await remove("catalog", emptied.map((name) => ({ key: keys.catalogEntry(name), size: 0 })));

    // 9. Reuse announcements past the grace window (their links, if any, are listed now) and
    // sweep markers of runs that died mid-sweep.
    const markers = [
      ...(await listAll(objects, keys.reuses)).filter((o) => old(o)),
      ...(await listAll(objects, keys.sweeps)).filter((o) => isStale(o, this.now)),
    ];
    await remove("markers", markers.map((o) => ({ key: o.key, size: 0 })));

    report.complete = true;
    report.finishedAt = new Date(this.now()).toISOString();
    return report;
  }

  /** Puts back blob links this invocation removed that a manifest pushed since `since` lists. */
  private async restoreLinks(names: string[], since: number, removedLinks: Map<string, ObjectInfo>, gone: Set<string>, report: GcReport): Promise<void> {
    if (removedLinks.size === 0) return;
    for (const name of names) {
      const prefix = keys.manifestLinks(name);
      for (const link of await listAll(this.objects, prefix)) {
        if (link.uploaded < since || gone.has(link.key)) continue;
        const digest = digestOfPath(link.key.slice(prefix.length));
        const refs = digest ? await this.refs(digest) : null;
        for (const blob of refs?.blobs ?? []) {
          const linkKey = keys.layerLink(name, parseDigest(blob));
          const removed = removedLinks.get(linkKey);
          if (!removed) continue;
          if (!report.dryRun) await this.objects.put(linkKey, "", removed.metadata);
          removedLinks.delete(linkKey);
          gone.delete(linkKey);
          report.restoredLinks += 1;
        }
      }
    }
  }

  /**
   * Retention, dangling entries and unlisted blob links of one repository.
   */
  private async collectRepository(
    name: string,
    old: (o: { uploaded: number }) => boolean,
    removedLinks: Map<string, ObjectInfo>,
    remove: (step: Step, objects: { key: string; size: number }[]) => Promise<void>,
  ): Promise<void> {
    const manifestPrefix = keys.manifestLinks(name);
    const tagPrefix = keys.tags(name);
    const layerPrefix = keys.layerLinks(name);
    const referrerPrefix = `repositories/${name}/_referrers/`;

    const manifests = new Map<string, ObjectInfo>();
    for (const o of await listAll(this.objects, manifestPrefix, true)) {
      const digest = digestOfPath(o.key.slice(manifestPrefix.length));
      if (digest) manifests.set(digest, o);
    }
    let tags = await listAll(this.objects, tagPrefix, true);

    // Dangling tags: their manifest is not in the repository.
    const danglingTags = tags.filter((t) => !(t.metadata.digest && manifests.has(t.metadata.digest)) && old(t));
    await remove("tags", danglingTags);
    tags = tags.filter((t) => !danglingTags.includes(t));

    const refsOf = new Map<string, ManifestRefs>();
    await eachLimited([...manifests.keys()], READ_CONCURRENCY, async (digest) => {
      const refs = await this.refs(digest);
      if (refs) refsOf.set(digest, refs);
    });

    // Retention: tags first (the most recently written `keepTags` matching ones stay), then
    // manifests no remaining tag reaches.
    const rule = ruleFor(this.options.retention ?? [], name);
    if (rule) {
      if (rule.keepTags !== undefined) {
        const matching = tags
          .filter((t) => rule.tagPattern.matches(t.key.slice(tagPrefix.length)))
          .sort((a, b) => b.uploaded - a.uploaded || (a.key < b.key ? 1 : -1));
        const dropped = matching
          .slice(rule.keepTags)
          .filter((t) => old(t) && !isImmutable(this.options.immutableTags ?? [], t.key.slice(tagPrefix.length)));
        await remove("tags", dropped);
        tags = tags.filter((t) => !dropped.includes(t));
      }
      if (rule.untaggedAfterMs !== undefined) {
        const reached = reachable(tags.map((t) => t.metadata.digest!).filter((d) => manifests.has(d)), manifests, refsOf);
        const ageCutoff = this.now() - rule.untaggedAfterMs;
        const dropped = [...manifests.entries()].filter(([digest, o]) => !reached.has(digest) && old(o) && o.uploaded < ageCutoff);
        const doomed: { key: string; size: number }[] = [];
        for (const [digest, o] of dropped) {
          manifests.delete(digest);
          doomed.push({ key: o.key, size: 0 });
        }
        await remove("manifests", doomed);
      }
    }

    // Dangling referrer entries: the referring manifest is not in the repository.
    const referrers = await listAll(this.objects, referrerPrefix);
    const danglingReferrers = referrers.filter((o) => {
      const rest = o.key.slice(referrerPrefix.length).split("/");
      const digest = rest.length === 4 ? digestOfPath(`${rest[2]}/${rest[3]}`) : null;
      return digest !== null && !manifests.has(digest) && old(o);
    });
    await remove("referrers", danglingReferrers);

    // Blob links: live while a manifest of the repository lists them, or while young (a push in progress).
    const listed = new Set<string>();
    for (const digest of manifests.keys()) for (const blob of refsOf.get(digest)?.blobs ?? []) listed.add(blob);
    const doomedLinks: ObjectInfo[] = [];
    for (const link of await listAll(this.objects, layerPrefix, true)) {
      const digest = digestOfPath(link.key.slice(layerPrefix.length));
      if (digest && !listed.has(digest) && old(link)) doomedLinks.push(link);
    }
    await remove("layerLinks", doomedLinks);
    for (const link of doomedLinks) removedLinks.set(link.key, link);
  }

  /** The references of a stored manifest (cached per run); null when its bytes are missing. */
  private async refs(digest: string): Promise<ManifestRefs | null> {
    const cached = this.refsCache.get(digest);
    if (cached) return cached;
    const object = await this.objects.get(blobKey(digest));
    if (!object) return null;
    const refs = manifestRefs(new Uint8Array(await new Response(object.body).arrayBuffer()));
    this.refsCache.set(digest, refs);
    return refs;
  }
}

/** Manifests reached from `roots` through index children and, backwards, through subjects. */
function reachable(roots: string[], manifests: Map<string, ObjectInfo>, refsOf: Map<string, ManifestRefs>): Set<string> {
  const bySubject = new Map<string, string[]>();
  for (const [digest, refs] of refsOf) {
    if (refs.subject) bySubject.set(refs.subject, [...(bySubject.get(refs.subject) ?? []), digest]);
  }
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const digest = queue.pop()!;
    if (seen.has(digest) || !manifests.has(digest)) continue;
    seen.add(digest);
    queue.push(...(refsOf.get(digest)?.manifests ?? []), ...(bySubject.get(digest) ?? []));
  }
  return seen;
}

/** The store, counting each call (a delete per 1,000 keys, as R2 takes them). */
function countingStore(store: ObjectStore, tick: () => void): ObjectStore {
  return {
    head: (key) => (tick(), store.head(key)),
    get: (key, range) => (tick(), store.get(key, range)),
    put: (key, body, metadata) => (tick(), store.put(key, body, metadata)),
    delete: (keyList) => {
      const n = Array.isArray(keyList) ? Math.max(1, Math.ceil(keyList.length / 1000)) : 1;
      for (let i = 0; i < n; i++) tick();
      return store.delete(keyList);
    },
    list: (prefix, options) => (tick(), store.list(prefix, options)),
    createMultipart: (key) => (tick(), store.createMultipart(key)),
    uploadPart: (key, id, n, data) => (tick(), store.uploadPart(key, id, n, data)),
    completeMultipart: (key, id, parts) => (tick(), store.completeMultipart(key, id, parts)),
    abortMultipart: (key, id) => (tick(), store.abortMultipart(key, id)),
  };
}
