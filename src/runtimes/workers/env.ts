// The Workers deployment's bindings (wrangler.toml) next to the registry settings (vars, secrets).
import type { RegistrySettings } from "../../settings";
import type { UploadSession } from "../../../durable/upload-session";
import type { AuthFailureCounter } from "../../../durable/auth-failures";
import type { BlobFlight } from "../../../durable/blob-flight";

export interface Env extends RegistrySettings {
  BUCKET: R2Bucket;
  UPLOADS: DurableObjectNamespace<UploadSession>;
  /** Failed-login counts, one object per client address or user name. Absent: counted per isolate. */
  AUTH_FAILURES?: DurableObjectNamespace<AuthFailureCounter>;
  /** Pull-through cache: one object per blob digest, so a blob is fetched upstream once. Absent: once per isolate. */
  BLOB_FLIGHTS?: DurableObjectNamespace<BlobFlight>;
  /** Workers Analytics Engine dataset for request metrics (src/extensions/ops/analytics.ts). Absent: none. */
  OPS_ANALYTICS?: AnalyticsEngineDataset;
  /** Read large blobs in ranged GETs of this many bytes (0 or absent: one GET); see r2.ts. */
  R2_READ_PIECE_BYTES?: string;
}

const MiB = 1024 * 1024;

export function r2ReadPieceBytes(env: Env): number {
  const bytes = Number(env.R2_READ_PIECE_BYTES ?? 0);
  if (!Number.isInteger(bytes) || (bytes !== 0 && bytes < MiB)) {
    throw new Error(`R2_READ_PIECE_BYTES must be 0 or an integer of at least 1 MiB, got ${env.R2_READ_PIECE_BYTES}`);
  }
  return bytes;
}
