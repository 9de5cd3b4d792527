// The garbage collector: mark from every repository's tags and manifests, sweep what nothing links.
// Runtime-independent: it speaks only to the ObjectStore (and asks the runtime whether an upload
// session still exists). ARCHITECTURE.md "Storage lifecycle" says why it is safe on a live registry.
//
// One run, in phases; each walks its listing in pages, and a budget may stop the run anywhere
// between two items and hand back a cursor (and what it learned so far) to go on from. Each
// deletion removes only garbage, so a run stopped anywhere leaves a consistent store.
//   1. repositories (catalog order): retention (tags, then untagged manifests), dangling tags and
//      referrer entries, blob links no manifest of the repository lists; what the remaining links
//      name is live; repositories left with nothing are noted
//   2. blob links removed in step 1 that a manifest pushed meanwhile lists are put back
//   3. blobs/: old blobs that are not live go, pointer first, then the multipart object holding
//      their bytes; a blob linked since step 1 was reused, and reuses are announced
//      (storage/sweeps.ts)
//   4. blob-data/ objects no pointer names whose session is gone
//   5. uploads/ records whose session is gone: abort the multipart upload, drop the record
//   6. catalog entries of the repositories step 1 found empty, unless a push arrived since
//   7. reuse announcements and sweep markers that have done their job
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
  /** Where an earlier invocation of this run stopped, and what it had learned. */
  resume?: GcProgress | null;
  /** Keys per listing call (tests make it small; R2 lists at most 1,000). */
  pageSize?: number;
}

export const GC_PHASES = ["repositories", "blobs", "blobData", "uploads", "finish"] as const;

/** Where a run that hit its budget goes on: the phase, and the last key of its listing done. */
export interface GcCursor {
  startedAt: number;
  phase: (typeof GC_PHASES)[number];
  after?: string;
}

/** What a split run carries from one invocation to the next (stored with the cursor, not reported). */
export interface GcProgress {
  cursor: GcCursor;
  /** Blob keys the links of step 1 name. */
  live: string[];
  /** blob-data keys that kept blobs point to (step 3), so step 4 leaves them. */
  pointed: string[];
  /** Repositories step 1 found with nothing left, for step 6. */
  emptied: string[];
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
  private carried: GcProgress | null = null;

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
    const resumed = this.options.resume;
    const cursor: GcCursor = resumed ? { ...resumed.cursor } : { startedAt: invoked, phase: "repositories" };
    const live = new Set(resumed?.live ?? []);
    const pointed = new Set(resumed?.pointed ?? []);
    const emptied = new Set(resumed?.emptied ?? []);
    this.carried = null;
    // A run continued from a cursor keeps its first cutoff: older, so it only ever spares more.
    const cutoff = cursor.startedAt - this.options.graceMs;
    const old = (o: { uploaded: number }) => o.uploaded < cutoff;
    const objects = this.objects;
    const pageSize = this.options.pageSize ?? 1000;
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
      this.carried = { cursor: { ...cursor }, live: [...live], pointed: [...pointed], emptied: [...emptied] };
      report.finishedAt = new Date(this.now()).toISOString();
      return report;
    };
    const enter = (phase: GcCursor["phase"]) => {
      cursor.phase = phase;
      delete cursor.after;
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
    /**
     * Pages of a prefix from the cursor on. `handle` returns how many of a page's objects it dealt
     * with (fewer when the budget ran out); the cursor moves past them. False: stopped by the budget.
     */
    const eachPage = async (prefix: string, metadata: boolean, handle: (objects: ObjectInfo[]) => Promise<number>): Promise<boolean> => {
      for (;;) {
        if (overBudget()) return false;
        const page = await objects.list(prefix, { startAfter: cursor.after, limit: pageSize, metadata });
        const handled = await handle(page.objects);
        if (handled > 0) cursor.after = page.objects[handled - 1]!.key;
        if (handled < page.objects.length) return false;
        if (!page.truncated || page.objects.length === 0) return true;
      }
    };

    /** Runs `each` on the page's objects while the budget lasts (on one at least: every invocation moves on); returns how many. */
    const whileBudget = async (page: ObjectInfo[], each: (o: ObjectInfo) => Promise<void>): Promise<number> => {
      for (const [i, o] of page.entries()) {
        if (i > 0 && overBudget()) return i;
        await each(o);
      }
      return page.length;
    };

    // 1. Each repository's own objects, in catalog order from the cursor (the budget may stop the
    // run between two repositories); what their remaining links name is live.
    if (cursor.phase === "repositories") {
      const removedLinks = new Map<string, ObjectInfo>(); // blob link key → the link, to put back if needed
      const done: string[] = [];
      const finished = await eachPage(keys.catalog, false, (entries) =>
        whileBudget(entries, async (entry) => {
          const name = entry.key.slice(keys.catalog.length);
          const found = await this.collectRepository(name, old, removedLinks, remove);
          for (const key of found.linked) live.add(key);
          if (found.empty && old(entry)) emptied.add(name);
          done.push(name);
          report.repositories += 1;
        }),
      );
      // 2. A manifest pushed while its blob links were being removed (it checked them just before)
      // gets them back: the race lasts milliseconds, so this invocation's removals are the ones to check.
      for (const key of await this.restoreLinks(done, invoked, removedLinks, gone, report)) live.add(key);
      if (!finished) return stopHere();
      enter("blobs");
    }

    // 3. Blobs nothing linked in step 1, old: the pointer first, so a stop in between leaves only
    // blob-data garbage. A link made since (to bytes already stored: a reuse) is announced, and
    // each batch is announced before it goes: storage/sweeps.ts.
    if (cursor.phase === "blobs") {
      const finished = await eachPage(keys.blobs, true, async (page) => {
        const doomed: ObjectInfo[] = [];
        for (const o of page) {
          if (live.has(o.key) || !old(o)) {
            if (o.metadata.location) pointed.add(o.metadata.location);
          } else {
            doomed.push(o);
          }
        }
        await this.sweepBlobs(doomed, `${cursor.startedAt}-${invoked}-${this.operations()}`, cutoff, pointed, remove, report);
        return page.length;
      });
      if (!finished) return stopHere();
      enter("blobData");
    }

    // 4. Multipart objects no pointer names (a session that completed and died before publishing,
    // or a digest that did not match), once old and their session is gone. A pointer written
    // since step 3 names young bytes (completed just now), so is never among these.
    if (cursor.phase === "blobData") {
      const finished = await eachPage(keys.blobDataPrefix, false, async (page) => {
        const strays: { key: string; size: number }[] = [];
        const handled = await whileBudget(page, async (o) => {
          if (pointed.has(o.key) || gone.has(o.key) || !old(o)) return;
          if (await this.sessionExists(o.key.slice(keys.blobDataPrefix.length))) return;
          strays.push({ key: o.key, size: o.size });
        });
        await remove("blobData", strays);
        return handled;
      });
      if (!finished) return stopHere();
      enter("uploads");
    }

    // 5. Unfinished multipart uploads of sessions that no longer exist.
    if (cursor.phase === "uploads") {
      const finished = await eachPage(keys.uploads, true, async (page) => {
        const abandoned: { key: string; size: number }[] = [];
        const handled = await whileBudget(page, async (o) => {
          if (!old(o) || (await this.sessionExists(o.key.slice(keys.uploads.length)))) return;
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
        });
        await remove("uploads", abandoned);
        return handled;
      });
      if (!finished) return stopHere();
      enter("finish");
    }

    // 6. Repositories step 1 found empty leave the catalog, unless a push arrived since: it links
    // before it looks at the catalog entry, and this looks at the links after removing the entry.
    for (const name of emptied) {
      if (overBudget()) return stopHere();
      if (!(await this.isEmpty(name, gone))) continue;
      const entry = keys.catalogEntry(name);
      await remove("catalog", [{ key: entry, size: 0 }]);
      if (!report.dryRun && !(await this.isEmpty(name, gone))) {
        await objects.put(entry, "");
        report.removed.catalog -= 1;
        gone.delete(entry);
      }
      emptied.delete(name);
    }

    // 7. Reuse announcements past the grace window (their links, if any, were listed in step 1)
    // and sweep announcements of runs that died mid-sweep.
    if (overBudget()) return stopHere();
    const markers = [
      ...(await listAll(objects, keys.reuses)).filter((o) => old(o)),
      ...(await listAll(objects, keys.sweeps)).filter((o) => isStale(o, this.now)),
    ];
    await remove("markers", markers.map((o) => ({ key: o.key, size: 0 })));

    report.complete = true;
    report.finishedAt = new Date(this.now()).toISOString();
    return report;
  }

  /** What a run stopped by its budget carries to the next invocation; null once the run is complete. */
  progress(): GcProgress | null {
    return this.carried;
  }

  /**
   * One batch of unlinked old blobs: announced, then those reused meanwhile (or all, if this took
   * too long to delete safely) are spared; the rest go, pointers before the bytes they name.
   */
  private async sweepBlobs(
    doomed: ObjectInfo[],
    id: string,
    cutoff: number,
    pointed: Set<string>,
    remove: (step: Step, objects: { key: string; size: number }[]) => Promise<void>,
    report: GcReport,
  ): Promise<void> {
    if (doomed.length === 0) return;
    const began = this.now();
    const marker = report.dryRun ? null : await announceSweep(this.objects, id, doomed.map((o) => o.key));
    try {
      const reused = reusedSince(await listAll(this.objects, keys.reuses), cutoff);
      const tooSlow = this.now() - began > SWEEP_WINDOW_MS; // reusers may have stopped waiting: next run
      const spared = doomed.filter((o) => tooSlow || reused.has(o.key));
      for (const o of spared) if (o.metadata.location) pointed.add(o.metadata.location);
      report.sparedBlobs += spared.length;
      const going = doomed.filter((o) => !spared.includes(o));
      await remove("blobs", going.map((o) => ({ key: o.key, size: o.metadata.location ? 0 : o.size })));
      await remove(
        "blobData",
        going.filter((o) => o.metadata.location).map((o) => ({ key: o.metadata.location!, size: Number(o.metadata.size) || 0 })),
      );
    } finally {
      if (marker) await this.objects.delete(marker);
    }
  }

  /** No tag, manifest or blob link left in the repository (keys this run removed do not count). */
  private async isEmpty(name: string, gone: Set<string>): Promise<boolean> {
    for (const prefix of [keys.tags(name), keys.manifestLinks(name), keys.layerLinks(name)]) {
      if ((await listAll(this.objects, prefix)).some((o) => !gone.has(o.key))) return false;
    }
    return true;
  }

  private async sessionExists(id: string): Promise<boolean> {
    this.count += 1; // a Durable Object call on Workers: a subrequest like a store call
    return this.options.sessionExists(id);
  }

  /** Puts back blob links this invocation removed that a manifest pushed since `since` lists; returns their blob keys. */
  private async restoreLinks(names: string[], since: number, removedLinks: Map<string, ObjectInfo>, gone: Set<string>, report: GcReport): Promise<string[]> {
    const restored: string[] = [];
    if (removedLinks.size === 0) return restored;
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
          restored.push(blobKey(blob));
          report.restoredLinks += 1;
        }
      }
    }
    return restored;
  }

  /**
   * Retention, dangling entries and unlisted blob links of one repository. Returns the blob keys
   * its remaining links name, and whether nothing (no tag, manifest or blob link) is left.
   */
  private async collectRepository(
    name: string,
    old: (o: { uploaded: number }) => boolean,
    removedLinks: Map<string, ObjectInfo>,
    remove: (step: Step, objects: { key: string; size: number }[]) => Promise<void>,
  ): Promise<{ linked: string[]; empty: boolean }> {
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
    const remainingLinks: string[] = [];
    for (const link of await listAll(this.objects, layerPrefix, true)) {
      const digest = digestOfPath(link.key.slice(layerPrefix.length));
      if (!digest) continue;
      if (!listed.has(digest) && old(link)) doomedLinks.push(link);
      else remainingLinks.push(digest);
    }
    await remove("layerLinks", doomedLinks);
    for (const link of doomedLinks) removedLinks.set(link.key, link);

    const linked = [...manifests.keys(), ...remainingLinks].map(blobKey);
    return { linked, empty: manifests.size === 0 && remainingLinks.length === 0 && tags.length === 0 };
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
