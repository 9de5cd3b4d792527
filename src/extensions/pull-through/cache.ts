// The pull-through cache: what the core's manifest and blob routes ask through the PullThrough
// seam (src/context.ts). Fetched content is stored exactly as pushed content is (bytes under
// blobs/, links and tags under the local repository, a catalog entry); a cached tag's metadata
// also names its upstream and when it was fetched or revalidated (cachedAt, ms).
import type { ManifestReference, PulledBlob, PullThrough } from "../../context";
import { digestBytes, formatDigest, tryParseDigest, type Digest } from "../../oci/digest";
import { RegistryError } from "../../oci/errors";
import { parseManifest } from "../../oci/manifest";
import type { Descriptor, ManifestRecord, RegistryStore } from "../../storage/registry-store";
import type { UploadSessions } from "../../uploads/sessions";
import type { Upstream } from "./config";
import { forkBody } from "./fork";
import { MANIFEST_ACCEPT, UpstreamClient, readSmall, type Fetcher } from "./upstream";

/** Header on a manifest answered from the cache because its upstream could not revalidate it. */
export const STALE_HEADER = "X-Pull-Through";

export interface PullThroughOptions {
  upstreams: Upstream[];
  store: RegistryStore;
  uploads: UploadSessions;
  maxManifestBytes: number;
  /** How blob fetches are made once per digest; default: in this process (on Workers: a Durable Object per digest). */
  flights?: BlobFlights;
  fetcher?: Fetcher;
  now?: () => number;
  /** Counts pull_through_hits and pull_through_misses (the ops extension's metrics); absent: not counted. */
  metrics?: { count(name: string, n?: number): void };
}

/** A blob fetch as one flight per digest: the first caller leads (and gets the bytes), the others wait for the store. */
export interface BlobFlights {
  pull(name: string, digest: Digest, want: "body" | "stored"): Promise<PulledBlob>;
}

interface Route {
  upstream: Upstream;
  client: UpstreamClient;
  /** The repository's name upstream. */
  remote: string;
}

export class PullThroughCache implements PullThrough {
  private readonly clients: { upstream: Upstream; client: UpstreamClient }[];
  /** Flights in this process: the default, and what a Workers flight object runs inside. */
  readonly localFlights: LocalBlobFlights;
  private readonly flights: BlobFlights;
  private readonly now: () => number;

  constructor(private readonly options: PullThroughOptions) {
    this.clients = options.upstreams.map((upstream) => ({ upstream, client: new UpstreamClient(upstream, options.fetcher, options.now) }));
    this.localFlights = new LocalBlobFlights(this);
    this.flights = options.flights ?? this.localFlights;
    this.now = options.now ?? Date.now;
  }

  /** The upstream serving a local repository (longest prefix first), with the name it has there. */
  route(name: string): Route | null {
    for (const { upstream, client } of this.clients) {
      if (!name.startsWith(upstream.prefix) || name.length === upstream.prefix.length) continue;
      const rest = name.slice(upstream.prefix.length);
      return { upstream, client, remote: upstream.library && !rest.includes("/") ? `library/${rest}` : rest };
    }
    return null;
  }

  assertWritable(name: string): void {
    const route = this.route(name);
    if (route && !route.upstream.push) {
      throw new RegistryError("DENIED", `${name} mirrors upstream ${route.upstream.label}: pushing into it is not allowed`, {
        detail: { upstream: route.upstream.label },
      });
    }
  }

  // --- manifests ---------------------------------------------------------------------------

  async prepareManifest(name: string, ref: ManifestReference): Promise<Record<string, string> | null> {
    const route = this.route(name);
    if (!route) return null;
    if (ref.digest) {
      if (await this.options.store.manifest(name, ref.digest)) this.count("pull_through_hits");
      else await this.fetchManifest(route, name, formatDigest(ref.digest), ref.digest);
      return {};
    }
    const cached = await this.options.store.tagMetadata(name, ref.tag);
    if (!cached) {
      await this.fetchManifest(route, name, ref.tag, null);
      return {};
    }
    this.count("pull_through_hits");
    // A tag pushed here (push allowed) has no upstream: it is the registry's own.
    if (cached.upstream === undefined) return {};
    if (Number(cached.cachedAt) + route.upstream.tagTtlMs > this.now()) return {};
    try {
      await this.revalidateTag(route, name, ref.tag, cached);
      return {};
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      // The upstream cannot say (down, rate-limited, refusing): the copy we have is served, marked.
      console.warn(`pull-through: serving cached ${name}:${ref.tag}: ${err.message}`);
      return { [STALE_HEADER]: "stale" };
    }
  }

  /** An expired tag: HEAD upstream; the same digest renews it, another one is fetched. */
  private async revalidateTag(route: Route, name: string, tag: string, cached: Record<string, string>): Promise<void> {
    const head = await route.client.request("HEAD", route.remote, `manifests/${tag}`, MANIFEST_ACCEPT);
    if (!head.ok) throw await route.client.refusal(head, { kind: "manifest", remote: route.remote, reference: tag });
    const upstreamDigest = head.headers.get("Docker-Content-Digest");
    if (upstreamDigest !== null && upstreamDigest === cached.digest) {
      const opened = await this.options.store.openTag(name, tag);
      if (opened) {
        const bytes = new Uint8Array(await new Response(opened.body.body).arrayBuffer());
        await this.options.store.putTag(name, tag, opened.record, bytes, this.tagMetadata(route));
        return;
      }
    }
    await this.fetchManifest(route, name, tag, null);
  }

  /** GETs a manifest upstream, checks its digest against the bytes, and stores it (and the tag). */
  private async fetchManifest(route: Route, name: string, reference: string, expected: Digest | null): Promise<void> {
    this.count("pull_through_misses");
    const { client, remote } = route;
    const response = await client.request("GET", remote, `manifests/${reference}`, MANIFEST_ACCEPT);
    if (!response.ok) throw await client.refusal(response, { kind: "manifest", remote, reference });
    const stated = response.headers.get("Docker-Content-Digest");
    const bytes = await readSmall(response, this.options.maxManifestBytes);
    if (!bytes) throw client.error("UNAVAILABLE", `sent a manifest larger than ${this.options.maxManifestBytes} bytes for ${remote}:${reference}`, 502);
    const claimed = expected ?? (stated !== null ? tryParseDigest(stated) : null);
    const digest = await digestBytes(claimed?.algorithm ?? "sha256", bytes);
    if (claimed && claimed.hex !== digest.hex) {
      throw client.error("DIGEST_INVALID", `sent a manifest whose bytes do not match ${formatDigest(claimed)} (${remote}:${reference}); nothing was stored`, 502);
    }
    let manifest;
    try {
      manifest = parseManifest(bytes, response.headers.get("Content-Type"));
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      throw client.error("UNAVAILABLE", `sent a manifest this registry cannot use for ${remote}:${reference}: ${err.message}`, 502);
    }
    const record: ManifestRecord = { digest, mediaType: manifest.mediaType, size: bytes.length };
    let referrer: { subject: Digest; descriptor: Descriptor } | undefined;
    if (manifest.subject) {
      const descriptor: Descriptor = { mediaType: manifest.mediaType, digest: formatDigest(digest), size: bytes.length };
      if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
      referrer = { subject: manifest.subject, descriptor };
    }
    await this.options.store.putManifest(name, record, bytes, referrer);
    if (!expected) await this.options.store.putTag(name, reference, record, bytes, this.tagMetadata(route));
  }

  private tagMetadata(route: Route): Record<string, string> {
    return { upstream: route.upstream.label, cachedAt: String(this.now()) };
  }

  // --- blobs -------------------------------------------------------------------------------

  /** A blob of `name` served from the local copy (counted as a hit when an upstream serves the repository). */
  blobServedLocally(name: string): void {
    if (this.options.metrics && this.route(name)) this.count("pull_through_hits");
  }

  private count(name: "pull_through_hits" | "pull_through_misses"): void {
    this.options.metrics?.count(name);
  }

  async pullBlob(name: string, digest: Digest, want: "head" | "body" | "stored"): Promise<PulledBlob | null> {
    const route = this.route(name);
    if (!route) return null;
    this.count("pull_through_misses");
    if (want === "head") return { size: await this.upstreamBlobSize(route, digest) };
    return this.flights.pull(name, digest, want);
  }

  private async upstreamBlobSize(route: Route, digest: Digest): Promise<number> {
    const reference = formatDigest(digest);
    const head = await route.client.request("HEAD", route.remote, `blobs/${reference}`);
    if (!head.ok) throw await route.client.refusal(head, { kind: "blob", remote: route.remote, reference });
    const size = Number(head.headers.get("Content-Length"));
    if (!Number.isSafeInteger(size) || size < 0) throw route.client.error("UNAVAILABLE", `sent no size for blob ${reference}`, 502);
    return size;
  }

  /**
   * Makes the blob visible in `name` without fetching it, when it is stored already: linked here,
   * or stored for another repository and confirmed upstream (this repository must have it there
   * too, or a digest would open content of a repository the caller cannot see). Null: not stored.
   */
  async linkStored(name: string, digest: Digest): Promise<PulledBlob | null> {
    const store = this.options.store;
    const linked = await store.linkedBlob(name, digest);
    const linkedInfo = linked && (linked.info ?? (await store.blobInfo(digest)));
    if (linkedInfo) return { size: linkedInfo.size };
    const info = await store.reuseBlob(digest);
    if (!info) return null;
    const route = this.route(name);
    if (!route) return null;
    await this.upstreamBlobSize(route, digest);
    await store.link(name, digest, info);
    return { size: info.size };
  }

  /**
   * Fetches a blob and stores it through an ordinary upload session (digest verified, multipart
   * for large blobs, whole or not at all), linked into `name`. The client's copy streams while
   * the store writes; `stored` settles when the blob is stored or refused.
   */
  async fetchBlob(name: string, digest: Digest): Promise<{ size: number | null; body: ReadableStream<Uint8Array>; stored: Promise<void> }> {
    const route = this.route(name);
    if (!route) throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry");
    const { client, remote } = route;
    const reference = formatDigest(digest);
    const response = await client.request("GET", remote, `blobs/${reference}`);
    if (!response.ok || !response.body) throw await client.refusal(response, { kind: "blob", remote, reference });
    const declared = response.headers.get("Content-Length");
    const size = declared !== null && /^\d+$/.test(declared) ? Number(declared) : null;
    const fork = forkBody(response.body);

    const uploads = this.options.uploads;
    const id = uploads.newId();
    const session = uploads.get(id);
    if (!session) throw new Error("upload session unavailable");
    // The session records its multipart upload under uploads/<id> itself, so a collector can abort a crashed fetch's.
    const stored = (async () => {
      const created = await session.create(name, digest.algorithm);
      if (!created.ok) throw new Error(created.error.message);
      let finished;
      try {
        finished = await session.finish(name, reference, null, fork.store);
      } catch (err) {
        // The upstream body failed (cut off, stalled): the session's multipart upload goes too.
        await session.cancel(name).catch(() => {});
        throw client.error("UNAVAILABLE", `blob ${reference} broke off while it was fetched (${err instanceof Error ? err.message : String(err)}); nothing was stored`, 502);
      }
      if (!finished.ok) {
        await session.cancel(name);
        if (finished.error.code === "DIGEST_INVALID") {
          throw client.error("DIGEST_INVALID", `sent bytes that do not match ${reference} (${remote}); nothing was stored`, 502);
        }
        throw client.error("UNAVAILABLE", `blob ${reference} could not be stored: ${finished.error.message}`, 502);
      }
      if (size !== null && finished.value.size !== size) {
        throw client.error("UNAVAILABLE", `sent ${finished.value.size} bytes for ${reference}, not the ${size} it announced`, 502);
      }
    })();
    stored.then(
      () => fork.settle(),
      (err) => {
        console.warn(`pull-through: ${name}@${reference} not stored: ${err instanceof Error ? err.message : String(err)}`);
        fork.settle(err);
        void fork.store.cancel(err).catch(() => {});
      },
    );
    return { size, body: fork.client, stored };
  }
}

/** One fetch per digest in this process (natively; on Workers inside the digest's Durable Object). */
export class LocalBlobFlights implements BlobFlights {
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly cache: PullThroughCache) {}

  async pull(name: string, digest: Digest, want: "body" | "stored"): Promise<PulledBlob> {
    const key = formatDigest(digest);
    const running = this.running.get(key);
    if (running) {
      // Another request is fetching it: wait for the store (its failure is ours), then read it here.
      await running;
      return (await this.cache.linkStored(name, digest)) ?? this.pull(name, digest, want);
    }
    let resolveFlight!: (outcome: Promise<void>) => void;
    const flight = new Promise<void>((resolve) => (resolveFlight = resolve));
    let settled = false;
    const settle = (outcome: () => Promise<void>) => {
      if (settled) return;
      settled = true;
      resolveFlight(outcome());
    };
    this.running.set(key, flight);
    void flight.catch(() => {}).finally(() => {
      if (this.running.get(key) === flight) this.running.delete(key);
    });
    try {
      const stored = await this.cache.linkStored(name, digest);
      if (stored) {
        settle(() => Promise.resolve());
        return stored;
      }
      const fetched = await this.cache.fetchBlob(name, digest);
      settle(() => fetched.stored);
      if (want === "body" && fetched.size !== null) return { size: fetched.size, body: fetched.body };
      // No size to announce, or a range asked for: serve it from the store once it is there.
      await fetched.body.cancel();
      await fetched.stored;
      return (await this.cache.linkStored(name, digest)) ?? { size: 0 };
    } catch (err) {
      settle(() => Promise.reject(err));
      throw err;
    }
  }
}
