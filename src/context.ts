// What every route handler receives besides the request: storage, upload sessions and auth.
import type { RequestObserver } from "./app";
import type { Authenticator } from "./auth/authenticator";
import type { GcConfig } from "./extensions/gc/config";
import type { RegistryStore } from "./storage/registry-store";
import type { Digest } from "./oci/digest";
import type { UploadSessions } from "./uploads/sessions";

/** A manifest reference: a digest, or a tag. */
export type ManifestReference = { digest: Digest; tag?: undefined } | { tag: string; digest?: undefined };

/** A blob fetched through from an upstream: its size, and its bytes when they stream while being stored. */
export interface PulledBlob {
  size: number;
  /** The whole blob as it arrives; absent: it is stored now (read it locally) or the request was a HEAD. */
  body?: ReadableStream<Uint8Array>;
}

/**
 * The pull-through cache (src/extensions/pull-through/) as the core's handlers see it: the one
 * seam between them. Every method leaves repositories no upstream serves alone.
 */
export interface PullThrough {
  /**
   * Before a manifest is read from storage: fetches it when missing, revalidates an expired
   * cached tag. Returns headers for the answer (e.g. a stale tag), or null for a repository no
   * upstream serves.
   */
  prepareManifest(name: string, ref: ManifestReference): Promise<Record<string, string> | null>;
  /** A blob the repository does not hold: fetched (and stored) from its upstream, or null when none serves it. */
  pullBlob(name: string, digest: Digest, want: "head" | "body" | "stored"): Promise<PulledBlob | null>;
  /** Throws DENIED when an upstream serves the repository and pushing into it is not allowed. */
  assertWritable(name: string): void;
  /** A blob of the repository was served from the local copy (a cache hit, when an upstream serves it). */
  blobServedLocally(name: string): void;
}

export interface RegistryContext {
  store: RegistryStore;
  uploads: UploadSessions;
  /** Who may do what; Authenticator.open() for a registry without auth. */
  auth: Authenticator;
  /** Largest manifest accepted, in bytes (the spec asks for at least 4 MiB). */
  maxManifestBytes: number;
  /** Advertised as OCI-Chunk-Min-Length. */
  chunkMinLength: number;
  /** Largest request body (the platform's limit); advertised as OCI-Chunk-Max-Length. Absent: none. */
  maxRequestBodyBytes?: number | null;
  /** Serve the browse page at / (BROWSE_PAGE); absent: on. */
  browsePage?: boolean;
  /** Accept manifests whose blobs or children are not in the repository (ACCEPT_SPARSE_MANIFESTS). */
  acceptSparseManifests?: boolean;
  /** The pull-through cache (UPSTREAMS / REGISTRIES_JSON); absent: none configured. */
  pullThrough?: PullThrough;
  /** Around every request: health paths, request log, metrics (src/extensions/ops/). Absent: none. */
  observe?: RequestObserver;
  /**
   * Named counters for extensions, e.g. `ctx.metrics?.count("pull_through_hits")`: registry_<name>_total
   * on /metrics (native runtimes), an Analytics Engine data point on Workers. Absent: not counted.
   */
  metrics?: { count(name: string, n?: number): void };
  /** Storage lifecycle (src/extensions/gc/): grace window, retention, immutable tags. Absent: no operator endpoints, no immutable tags. */
  lifecycle?: GcConfig;
}
