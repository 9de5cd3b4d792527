// Registry settings by name, the same names on every runtime: Workers vars and secrets, or the
// environment and settings file of a self-hosted process. Read and checked in one place.
import type { AuthEnv } from "./auth/config";
import type { GcSettings } from "./extensions/gc/config";
import type { OperationsEnv } from "./extensions/ops/settings";
import type { SessionConfig } from "./uploads/session";

/**
 * Upload, limit and auth settings (AuthEnv), operations (OperationsEnv: LOG_LEVEL, METRICS_*) and the
 * storage lifecycle's (GcSettings: GC_*, RETENTION_JSON, IMMUTABLE_TAGS), documented in the README.
 */
export interface RegistrySettings extends AuthEnv, OperationsEnv, GcSettings {
  /** Multipart part size in bytes (5 to 32 MiB); default 8 MiB. */
  UPLOAD_PART_SIZE?: string;
  /** Idle upload sessions are aborted after this many seconds; default 24 h. */
  UPLOAD_TTL_SECONDS?: string;
  /**
   * Largest request body in bytes, as the Cloudflare plan enforces it at the edge (100 MB on
   * Free/Pro). Unset: no limit. Set locally, the registry refuses the same bodies the edge would.
   */
  MAX_REQUEST_BODY_BYTES?: string;
  /** "on" (default): the browse page at / (src/extensions/browse/); "off": / is a 404 like any unknown path. */
  BROWSE_PAGE?: string;
  /**
   * "true": accept manifests whose layers, config or child manifests are not in the repository
   * ("sparse" manifests, which the spec lets a registry accept). Default "false": such a push is
   * refused with 400 MANIFEST_BLOB_UNKNOWN.
   */
  ACCEPT_SPARSE_MANIFESTS?: string;
  /**
   * The pull-through cache (src/extensions/pull-through/): a JSON list of upstreams, each
   * `{ prefix, url, username?, passwordSetting?, tokenSetting?, library?, tagCacheSeconds?, push? }`.
   */
  UPSTREAMS?: string;
  /** The older Workers registry's form: `[{ "registry": url, "username": ..., "password_env": SETTING }]`. */
  REGISTRIES_JSON?: string;
}

/** Every name above, once: a settings file naming anything else is reported (typos would pass silently). */
const CORE_SETTINGS: Record<keyof RegistrySettings, true> = {
  AUTH_MODE: true, AUTH_USERS: true, AUTH_RULES: true, AUTH_JWT_PUBLIC_KEY: true, JWT_REGISTRY_TOKENS_PUBLIC_KEY: true,
  AUTH_JWT_JWKS_URL: true, AUTH_JWT_ISSUER: true, AUTH_JWT_AUDIENCE: true, AUTH_JWT_MAX_AGE_SECONDS: true,
  AUTH_TOKEN_SIGNING_KEY: true, AUTH_TOKEN_TRUSTED_KEYS: true, AUTH_TOKEN_JWKS_URL: true, AUTH_TOKEN_REALM: true,
  AUTH_TOKEN_ISSUER: true, AUTH_SERVICE: true, AUTH_TOKEN_TTL_SECONDS: true, AUTH_REFRESH_TOKEN_TTL_SECONDS: true,
  AUTH_FAILURE_LIMIT: true, AUTH_FAILURE_WINDOW_SECONDS: true,
  UPLOAD_PART_SIZE: true, UPLOAD_TTL_SECONDS: true, MAX_REQUEST_BODY_BYTES: true, BROWSE_PAGE: true,
  ACCEPT_SPARSE_MANIFESTS: true, UPSTREAMS: true, REGISTRIES_JSON: true,
  LOG_LEVEL: true, METRICS_ADDRESS: true, METRICS_GROUP: true,
  GC_GRACE_SECONDS: true, GC_INTERVAL_SECONDS: true, GC_OPERATIONS_PER_RUN: true, RETENTION_JSON: true, IMMUTABLE_TAGS: true,
};
export const CORE_SETTING_NAMES: readonly string[] = Object.keys(CORE_SETTINGS);

const MiB = 1024 * 1024;

export function uploadConfig(settings: RegistrySettings): SessionConfig {
  const partSize = Number(settings.UPLOAD_PART_SIZE ?? 8 * MiB);
  const ttlSeconds = Number(settings.UPLOAD_TTL_SECONDS ?? 24 * 3600);
  // A session holds about two parts in memory while cutting one; isolates have 128 MB.
  if (!Number.isInteger(partSize) || partSize < 5 * MiB || partSize > 32 * MiB) {
    throw new Error(`UPLOAD_PART_SIZE must be an integer between 5 MiB and 32 MiB, got ${settings.UPLOAD_PART_SIZE}`);
  }
  if (!(ttlSeconds > 0)) throw new Error(`UPLOAD_TTL_SECONDS must be positive, got ${settings.UPLOAD_TTL_SECONDS}`);
  return { partSize, ttlMs: ttlSeconds * 1000 };
}

/** Whether the registry serves its browse page (BROWSE_PAGE=on|off, default on). */
export function browsePageEnabled(settings: RegistrySettings): boolean {
  const value = settings.BROWSE_PAGE;
  if (value === undefined || value === "" || value === "on") return true;
  if (value === "off") return false;
  throw new Error(`BROWSE_PAGE must be "on" or "off", got ${value}`);
}

/** The configured request body limit in bytes, or null when there is none. */
export function requestBodyLimit(settings: RegistrySettings): number | null {
  const raw = settings.MAX_REQUEST_BODY_BYTES;
  if (raw === undefined || raw === "") return null;
  const max = Number(raw);
  if (!Number.isInteger(max) || max < 1) throw new Error(`MAX_REQUEST_BODY_BYTES must be a positive integer, got ${raw}`);
  return max;
}

/** A yes/no setting: "true" or "false" (also "1" / "0"); unset or "" is the default. */
function flag(settings: RegistrySettings, name: keyof RegistrySettings, fallback: boolean): boolean {
  const raw = settings[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new Error(`${name} must be "true" or "false", got ${String(raw)}`);
}

export function acceptSparseManifests(settings: RegistrySettings): boolean {
  return flag(settings, "ACCEPT_SPARSE_MANIFESTS", false);
}
