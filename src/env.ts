// Bindings and settings of the Workers deployment (wrangler.toml), read in one place.
import type { SessionConfig } from "../durable/session";
import type { AuthEnv } from "./auth/config";

/** Bindings, upload settings, and the auth settings (AuthEnv, documented in the README). */
export interface Env extends AuthEnv {
  BUCKET: R2Bucket;
  UPLOADS: DurableObjectNamespace<import("../durable/upload-session").UploadSession>;
  /** R2 multipart part size in bytes (5 to 32 MiB); default 8 MiB. */
  UPLOAD_PART_SIZE?: string;
  /** Idle upload sessions are aborted after this many seconds; default 24 h. */
  UPLOAD_TTL_SECONDS?: string;
  /** Read large blobs in ranged GETs of this many bytes (0 or absent: one GET); see src/storage/r2.ts. */
  R2_READ_PIECE_BYTES?: string;
  /**
   * Largest request body in bytes, as the Cloudflare plan enforces it at the edge (100 MB on
   * Free/Pro). Unset: no limit. Set locally, the worker refuses the same bodies the edge would.
   */
  MAX_REQUEST_BODY_BYTES?: string;
}

const MiB = 1024 * 1024;

export function uploadConfig(env: Env): SessionConfig {
  const partSize = Number(env.UPLOAD_PART_SIZE ?? 8 * MiB);
  const ttlSeconds = Number(env.UPLOAD_TTL_SECONDS ?? 24 * 3600);
  // A session holds about two parts in memory while cutting one; isolates have 128 MB.
  if (!Number.isInteger(partSize) || partSize < 5 * MiB || partSize > 32 * MiB) {
    throw new Error(`UPLOAD_PART_SIZE must be an integer between 5 MiB and 32 MiB, got ${env.UPLOAD_PART_SIZE}`);
  }
  if (!(ttlSeconds > 0)) throw new Error(`UPLOAD_TTL_SECONDS must be positive, got ${env.UPLOAD_TTL_SECONDS}`);
  return { partSize, ttlMs: ttlSeconds * 1000 };
}

export function r2ReadPieceBytes(env: Env): number {
  const bytes = Number(env.R2_READ_PIECE_BYTES ?? 0);
  if (!Number.isInteger(bytes) || (bytes !== 0 && bytes < MiB)) {
    throw new Error(`R2_READ_PIECE_BYTES must be 0 or an integer of at least 1 MiB, got ${env.R2_READ_PIECE_BYTES}`);
  }
  return bytes;
}

/** The configured request body limit in bytes, or null when there is none. */
export function requestBodyLimit(env: Env): number | null {
  const raw = env.MAX_REQUEST_BODY_BYTES;
  if (raw === undefined || raw === "") return null;
  const max = Number(raw);
  if (!Number.isInteger(max) || max < 1) throw new Error(`MAX_REQUEST_BODY_BYTES must be a positive integer, got ${raw}`);
  return max;
}
