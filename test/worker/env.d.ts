// Types for `env` from "cloudflare:test" in this suite: the Worker's bindings (see src/runtimes/workers/env.ts).
declare namespace Cloudflare {
  interface Env {
    BUCKET: R2Bucket;
    UPLOADS: DurableObjectNamespace<import("../../durable/upload-session").UploadSession>;
    BLOB_FLIGHTS: DurableObjectNamespace<import("../../durable/blob-flight").BlobFlight>;
    UPLOAD_PART_SIZE?: string;
    UPLOAD_TTL_SECONDS?: string;
    MAX_REQUEST_BODY_BYTES?: string;
  }
}
