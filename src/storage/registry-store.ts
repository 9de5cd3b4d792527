// The registry's data model on top of an ObjectStore: a content-addressed blob store plus
// per-repository links, manifests, tags, referrers and the catalog index. Handlers use only this.
import { formatDigest, parseDigest, type Digest } from "../oci/digest";
import { keys } from "./layout";
import type { ByteRange, ObjectBody, ObjectStore } from "./object-store";
import { announceReuse, waitForSweeps } from "./sweeps";

export interface BlobInfo {
  size: number;
  /** Key holding the bytes: the blob key itself, or the multipart object a pointer names. */
  location: string;
}

export interface ManifestRecord {
  digest: Digest;
  mediaType: string;
  size: number;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface Page<T> {
  items: T[];
  /** Set when more items follow this page. */
  next?: string;
}

/** Lookups in flight at once while checking a manifest's references: never a flood on the store. */
const REFERENCE_CHECK_CONCURRENCY = 8;
/** Up to this many references are looked up one by one; more are found by listing the repository's links. */
const REFERENCE_LOOKUP_MAX = 16;
const LIST_PAGE = 1000;

export class RegistryStore {
  constructor(readonly objects: ObjectStore) {}

  // --- content store -------------------------------------------------------------------------

  async blobInfo(digest: Digest): Promise<BlobInfo | null> {
    const key = keys.blob(digest);
    const head = await this.objects.head(key);
    if (!head) return null;
    const location = head.metadata.location;
    if (location) return { size: Number(head.metadata.size), location };
    return { size: head.size, location: key };
  }

  /**
   * The stored blob, for a link whose bytes this request did not write (the upload's bytes were
   * stored already, a mount, a manifest pushed again): the reuse is announced first, so a garbage
   * collection deleting the blob right now either spares it or has deleted it by the time this
   * looks (storage/sweeps.ts). Null: not stored; the caller stores its own bytes or has none.
   */
  async reuseBlob(digest: Digest): Promise<BlobInfo | null> {
    if (!(await this.objects.head(keys.blob(digest)))) return null;
    await announceReuse(this.objects, digest);
    await waitForSweeps(this.objects, keys.blob(digest));
    return this.blobInfo(digest);
  }

  /** Opens a blob's bytes (optionally a range); `info` avoids a second lookup when already known. */
  async openBlob(digest: Digest, range?: ByteRange, info?: BlobInfo): Promise<ObjectBody | null> {
    const blob = info ?? (await this.blobInfo(digest));
    if (!blob) return null;
    return this.objects.get(blob.location, range);
  }

  /** Stores bytes whose digest the caller has verified. */
  async putBlobBytes(digest: Digest, bytes: Uint8Array, metadata?: Record<string, string>): Promise<BlobInfo> {
    await this.objects.put(keys.blob(digest), bytes, metadata);
    return { size: bytes.length, location: keys.blob(digest) };
  }

  /** Publishes a verified multipart object under its digest without copying it. */
  async putBlobPointer(digest: Digest, location: string, size: number): Promise<BlobInfo> {
    await this.objects.put(keys.blob(digest), "", { location, size: String(size) });
    return { size, location };
  }

  // --- per-repository blob links -----------------------------------------------------------

  async isLinked(name: string, digest: Digest): Promise<boolean> {
    return (await this.objects.head(keys.layerLink(name, digest))) !== null;
  }

  /**
   * The blob as linked into the repository, or null. Links made with the blob's size and location
   * answer HEAD and GET in one read; older links (null info) need blobInfo as well.
   */
  async linkedBlob(name: string, digest: Digest): Promise<{ info: BlobInfo | null } | null> {
    const head = await this.objects.head(keys.layerLink(name, digest));
    if (!head) return null;
    const { size, location } = head.metadata;
    return { info: size !== undefined && location ? { size: Number(size), location } : null };
  }

  /** Makes a stored blob visible in a repository; `info` (never changes once stored) is kept on the link. */
  async link(name: string, digest: Digest, info: BlobInfo): Promise<void> {
    await this.objects.put(keys.layerLink(name, digest), "", { size: String(info.size), location: info.location });
    await this.addToCatalog(name);
  }

  async unlink(name: string, digest: Digest): Promise<boolean> {
    if (!(await this.isLinked(name, digest))) return false;
    await this.objects.delete(keys.layerLink(name, digest));
    return true;
  }

  /**
   * The first of `digests` that is not linked into the repository (as a blob, or as a manifest),
   * or null when all are; stops at the first one missing. A few digests are looked up one by one;
   * many are matched against pages of the repository's sorted links (1,000 keys a page), so the
   * cost is at most one request per digest and usually far less, with at most
   * REFERENCE_CHECK_CONCURRENCY requests in flight.
   */
  async firstUnlinked(name: string, kind: "blob" | "manifest", digests: Digest[]): Promise<Digest | null> {
    if (digests.length === 0) return null;
    const keyOf = (d: Digest) => (kind === "blob" ? keys.layerLink(name, d) : keys.manifestLink(name, d));
    if (digests.length <= REFERENCE_LOOKUP_MAX) {
      return firstMatching(digests, REFERENCE_CHECK_CONCURRENCY, async (d) => (await this.objects.head(keyOf(d))) === null);
    }
    const prefix = kind === "blob" ? keys.layerLinks(name) : keys.manifestLinks(name);
    const wanted = digests.map((digest) => ({ digest, key: keyOf(digest) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // Contiguous runs of the sorted keys, each walked through the listing on its own.
    const runLength = Math.ceil(wanted.length / REFERENCE_CHECK_CONCURRENCY);
    const runs: (typeof wanted)[] = [];
    for (let at = 0; at < wanted.length; at += runLength) runs.push(wanted.slice(at, at + runLength));
    let missing: Digest | null = null;
    await Promise.all(runs.map(async (run) => {
      let next = 0;
      while (next < run.length && missing === null) {
        // Keys of one algorithm have one length, so dropping the last character sorts just before the key.
        const page = await this.objects.list(prefix, { startAfter: run[next]!.key.slice(0, -1), limit: LIST_PAGE });
        const listed = new Set(page.objects.map((o) => o.key));
        const lastListed = page.objects.at(-1)?.key;
        for (; next < run.length; next++) {
          const { key, digest } = run[next]!;
          if (listed.has(key)) continue;
          // Past the end of this page: the next page starts from this key.
          if (page.truncated && lastListed !== undefined && key > lastListed) break;
          missing ??= digest;
          return;
        }
      }
    }));
    return missing;
  }

  // --- manifests ---------------------------------------------------------------------------

  async manifest(name: string, digest: Digest): Promise<ManifestRecord | null> {
    const head = await this.objects.head(keys.manifestLink(name, digest));
    if (!head) return null;
    return { digest, mediaType: head.metadata.mediaType ?? "", size: Number(head.metadata.size) };
  }

  async openManifest(record: ManifestRecord): Promise<ObjectBody | null> {
    return this.objects.get(keys.blob(record.digest));
  }

  /** Stores the exact bytes, links them into the repository and records the subject, if any. */
  async putManifest(name: string, record: ManifestRecord, bytes: Uint8Array, referrer?: { subject: Digest; descriptor: Descriptor }): Promise<void> {
    const meta = { mediaType: record.mediaType, size: String(record.size) };
    // Everything that can fail is prepared before the first write.
    const referrerEntry = referrer ? JSON.stringify(referrer.descriptor) : null;
    if (!(await this.reuseBlob(record.digest))) await this.objects.put(keys.blob(record.digest), bytes);
    if (referrer && referrerEntry !== null) {
      await this.objects.put(keys.referrer(name, referrer.subject, record.digest), referrerEntry, {
        subject: formatDigest(referrer.subject),
      });
    }
    await this.objects.put(keys.manifestLink(name, record.digest), "", {
      ...meta,
      ...(referrer ? { subject: formatDigest(referrer.subject) } : {}),
    });
    await this.addToCatalog(name);
  }

  /** Removes a manifest from a repository, with every tag pointing at it and its referrer entry. */
  async deleteManifest(name: string, digest: Digest): Promise<boolean> {
    const head = await this.objects.head(keys.manifestLink(name, digest));
    if (!head) return false;
    const doomed: string[] = [];
    const target = formatDigest(digest);
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.objects.list(keys.tags(name), { startAfter, metadata: true });
      for (const o of page.objects) if (o.metadata.digest === target) doomed.push(o.key);
      if (!page.truncated || page.objects.length === 0) break;
      startAfter = page.objects[page.objects.length - 1]!.key;
    }
    if (head.metadata.subject) {
      doomed.push(keys.referrer(name, parseDigest(head.metadata.subject), digest));
    }
    doomed.push(keys.manifestLink(name, digest));
    await this.objects.delete(doomed);
    return true;
  }

  // --- tags --------------------------------------------------------------------------------

  /** The tag object's metadata (digest, media type, size, and a cached tag's upstream and cachedAt), or null. */
  async tagMetadata(name: string, tag: string): Promise<Record<string, string> | null> {
    return (await this.objects.head(keys.tag(name, tag)))?.metadata ?? null;
  }

  async resolveTag(name: string, tag: string): Promise<ManifestRecord | null> {
    const head = await this.objects.head(keys.tag(name, tag));
    if (!head || !head.metadata.digest) return null;
    return {
      digest: parseDigest(head.metadata.digest),
      mediaType: head.metadata.mediaType ?? "",
      size: Number(head.metadata.size),
    };
  }

  /**
   * A tag holds a copy of its manifest's bytes, so GET by tag is one read, not two. `extra`:
   * more metadata (a cached tag's `upstream` and `cachedAt`).
   */
  async putTag(name: string, tag: string, record: ManifestRecord, bytes: Uint8Array, extra: Record<string, string> = {}): Promise<void> {
    const digest = formatDigest(record.digest);
    await this.objects.put(keys.tag(name, tag), bytes, {
      ...extra,
      digest,
      mediaType: record.mediaType,
      size: String(record.size),
      inline: "1",
    });
  }

  /** The tagged manifest and its bytes; tags written without the copy (body = digest) take a second read. */
  async openTag(name: string, tag: string): Promise<{ record: ManifestRecord; body: ObjectBody } | null> {
    const object = await this.objects.get(keys.tag(name, tag));
    if (!object || !object.metadata.digest) return null;
    const record: ManifestRecord = {
      digest: parseDigest(object.metadata.digest),
      mediaType: object.metadata.mediaType ?? "",
      size: Number(object.metadata.size),
    };
    if (object.metadata.inline === "1" && object.size === record.size) return { record, body: object };
    await object.body.cancel();
    const body = await this.openManifest(record);
    return body ? { record, body } : null;
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    if (!(await this.objects.head(keys.tag(name, tag)))) return false;
    await this.objects.delete(keys.tag(name, tag));
    return true;
  }

  async listTags(name: string, limit: number, last?: string): Promise<Page<string>> {
    const prefix = keys.tags(name);
    return this.listNames(prefix, limit, last);
  }

  // --- referrers ---------------------------------------------------------------------------

  async listReferrers(name: string, subject: Digest): Promise<Descriptor[]> {
    const prefix = keys.referrers(name, subject);
    const result: Descriptor[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.objects.list(prefix, { startAfter });
      const bodies = await Promise.all(page.objects.map((o) => this.objects.get(o.key)));
      for (const body of bodies) {
        if (body) result.push(JSON.parse(await new Response(body.body).text()) as Descriptor);
      }
      if (!page.truncated || page.objects.length === 0) break;
      startAfter = page.objects[page.objects.length - 1]!.key;
    }
    return result;
  }

  // --- catalog -----------------------------------------------------------------------------

  async repositoryExists(name: string): Promise<boolean> {
    return (await this.objects.head(keys.catalogEntry(name))) !== null;
  }

  async addToCatalog(name: string): Promise<void> {
    if (!(await this.repositoryExists(name))) await this.objects.put(keys.catalogEntry(name), "");
  }

  async listRepositories(limit: number, last?: string): Promise<Page<string>> {
    return this.listNames(keys.catalog, limit, last);
  }

  /** A page of key suffixes under prefix, in lexical order, after `last`. */
  private async listNames(prefix: string, limit: number, last?: string): Promise<Page<string>> {
    const items: string[] = [];
    let startAfter = last !== undefined ? prefix + last : undefined;
    // Ask for one extra to learn whether another page follows.
    while (items.length <= limit) {
      const page = await this.objects.list(prefix, { startAfter, limit: Math.min(1000, limit + 1 - items.length) });
      for (const o of page.objects) items.push(o.key.slice(prefix.length));
      if (!page.truncated || page.objects.length === 0) break;
      startAfter = page.objects[page.objects.length - 1]!.key;
    }
    if (items.length > limit) {
      items.length = limit;
      return { items, next: items[items.length - 1] };
    }
    return { items };
  }
}

/** The first item (in completion order) for which `test` holds, running at most `concurrency` tests at once. */
async function firstMatching<T>(items: T[], concurrency: number, test: (item: T) => Promise<boolean>): Promise<T | null> {
  let found: T | null = null;
  let next = 0;
  const worker = async () => {
    while (found === null && next < items.length) {
      const item = items[next++]!;
      if (await test(item)) found ??= item;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return found;
}
