// The pull-through cache on Workers: the same cache as natively, with one fetch per blob digest
// across every isolate (a BlobFlight Durable Object per digest, durable/blob-flight.ts).
import { pullThroughFromSettings, type BlobFlights, type PullThroughCache } from "../../extensions/pull-through";
import { RegistryStore } from "../../storage/registry-store";
import { durableUploadSessions } from "../../../durable/upload-session";
import type { Env } from "./env";
import { R2ObjectStore } from "./r2";

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The cache for this deployment's UPSTREAMS / REGISTRIES_JSON, or undefined; throws on a bad setting. */
export function workersPullThrough(
  env: Env,
  store: RegistryStore,
  flights?: BlobFlights,
  metrics?: { count(name: string, n?: number): void },
): PullThroughCache | undefined {
  const build = pullThroughFromSettings(env);
  return build({ store, uploads: durableUploadSessions(env.UPLOADS), maxManifestBytes: MAX_MANIFEST_BYTES, ...(flights ? { flights } : {}), ...(metrics ? { metrics } : {}) });
}

/** The store a flight object writes through (the same bucket and layout as the router's). */
export function flightStore(env: Env): RegistryStore {
  return new RegistryStore(new R2ObjectStore(env.BUCKET));
}
