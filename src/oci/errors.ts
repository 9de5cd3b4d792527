// The distribution-spec error envelope: every failure leaves the registry through RegistryError.
// Codes are only those the spec lists; the status and message say what is specific.

export type ErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  // Not in the spec's table: docker/distribution's code for a service (here: an upstream) that cannot answer.
  | "UNAVAILABLE";

const defaultStatus: Record<ErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNAVAILABLE: 503,
};

export class RegistryError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { status?: number; detail?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = options.status ?? defaultStatus[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  readonly detail: unknown;

  toResponse(method = "GET"): Response {
    const headers = new Headers(this.headers);
    // HEAD responses carry no body, but keep the status and headers.
    if (method === "HEAD") return new Response(null, { status: this.status, headers });
    headers.set("Content-Type", "application/json");
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.detail !== undefined) error.detail = this.detail;
    return new Response(JSON.stringify({ errors: [error] }), { status: this.status, headers });
  }
}

/**
 * Storage cannot take more bytes (disk or quota full). Stores throw it instead of their own error;
 * what was stored before stays readable, and the request answers 507 with a message saying so.
 */
export class StorageFullError extends Error {
  constructor(readonly reason: string) {
    super(`registry storage is full (${reason}): this request could not be completed; everything stored before is intact; free space, then retry`);
    this.name = "StorageFullError";
  }
}

/** Any thrown value as a response; unexpected errors become a 500 in the same envelope. */
export function errorResponse(err: unknown, method = "GET"): Response {
  if (err instanceof RegistryError) return err.toResponse(method);
  if (err instanceof StorageFullError) {
    console.error(err.message);
    const body = JSON.stringify({ errors: [{ code: "UNKNOWN", message: err.message }] });
    return new Response(method === "HEAD" ? null : body, { status: 507, headers: { "Content-Type": "application/json" } });
  }
  console.error("unhandled error", err);
  const headers = { "Content-Type": "application/json" };
  const body = JSON.stringify({ errors: [{ code: "UNKNOWN", message: "internal server error" }] });
  return new Response(method === "HEAD" ? null : body, { status: 500, headers });
}
