// What every route handler receives besides the request: storage, upload sessions and auth.
import type { Authenticator } from "./auth/authenticator";
import type { GcConfig } from "./extensions/gc/config";
import type { RegistryStore } from "./storage/registry-store";
import type { UploadSessions } from "./uploads/sessions";

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
  /** Storage lifecycle (src/extensions/gc/): grace window, retention, immutable tags. Absent: no operator endpoints, no immutable tags. */
  lifecycle?: GcConfig;
}
