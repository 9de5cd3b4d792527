// The pull-through cache (README "Pull-through cache"): repositories served from upstream
// registries, fetched once, stored like pushed content, served locally from then on.
import { upstreamsFromSettings, type SettingsByName } from "./config";
import { PullThroughCache, type PullThroughOptions } from "./cache";

export { PullThroughCache, LocalBlobFlights, STALE_HEADER, type BlobFlights } from "./cache";
export { referencedSettingNames, upstreamsFromSettings, type Upstream } from "./config";

/**
 * The cache for UPSTREAMS / REGISTRIES_JSON, given the registry's parts, or undefined when neither
 * is set. The settings are checked at once (throws, naming the setting), before any part exists.
 */
export function pullThroughFromSettings(settings: object): (parts: Omit<PullThroughOptions, "upstreams">) => PullThroughCache | undefined {
  const upstreams = upstreamsFromSettings(settings as SettingsByName);
  return (parts) => (upstreams.length > 0 ? new PullThroughCache({ ...parts, upstreams }) : undefined);
}
