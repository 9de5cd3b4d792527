// Limits and timeouts of the native HTTP server, with their defaults and their setting names.

export interface HttpLimits {
  /** Largest request head (request line and header fields); larger heads get 431. */
  maxHeaderBytes: number;
  /** A request head must be complete this long after the connection opened or its first byte arrived (slowloris). */
  headersTimeoutMs: number;
  /** A request body that delivers no byte for this long while the handler waits for it fails, and the connection closes. */
  bodyIdleTimeoutMs: number;
  /** A client that takes no byte of its response for this long is dropped and the response body cancelled. */
  responseIdleTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: HttpLimits = Object.freeze({
  // Room for a 16 KiB Authorization header (the auth layer's own limit) and everything else.
  maxHeaderBytes: 64 * 1024,
  headersTimeoutMs: 20_000,
  bodyIdleTimeoutMs: 30_000,
  responseIdleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 30_000,
});

/** Longest request target (path and query); longer ones get 414. */
export const MAX_TARGET_BYTES = 8 * 1024;

/** Longest chunk-size line (size and extensions) in a chunked body. */
export const MAX_CHUNK_LINE_BYTES = 4 * 1024;

/**
 * Lingering close: after answering a request whose body was not read to its end, the server
 * half-closes and discards what the client still sends, for at most this long and this many
 * bytes, so that the answer reaches the client instead of being destroyed by a TCP reset.
 */
export const LINGER_MS = 5_000;
export const LINGER_BYTES = 1024 * 1024 * 1024;

/** Request body bytes read ahead of the handler (the socket pauses beyond this). */
export const BODY_READ_AHEAD_BYTES = 256 * 1024;

/** RunningServer.close() waits this long for requests in progress, then drops them. */
export const CLOSE_GRACE_MS = 10_000;

/** Setting names (environment or settings file) of each limit. */
export const LIMIT_SETTINGS: Readonly<Record<keyof HttpLimits, string>> = Object.freeze({
  maxHeaderBytes: "HTTP_MAX_HEADER_BYTES",
  headersTimeoutMs: "HTTP_HEADERS_TIMEOUT_MS",
  bodyIdleTimeoutMs: "HTTP_BODY_IDLE_TIMEOUT_MS",
  responseIdleTimeoutMs: "HTTP_RESPONSE_IDLE_TIMEOUT_MS",
  keepAliveTimeoutMs: "HTTP_KEEP_ALIVE_TIMEOUT_MS",
});

/** The limits set by name in `settings` (unset or empty: the default); throws on a value that is not a positive integer. */
export function limitsFromSettings(settings: Readonly<Record<string, string | undefined>>): Partial<HttpLimits> {
  const limits: Partial<HttpLimits> = {};
  for (const key of Object.keys(LIMIT_SETTINGS) as (keyof HttpLimits)[]) {
    const name = LIMIT_SETTINGS[key];
    const raw = settings[name];
    if (raw === undefined || raw === "") continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
    limits[key] = value;
  }
  return limits;
}

/** Defaults completed with `overrides`, each checked. */
export function resolveLimits(overrides: Partial<HttpLimits> = {}): HttpLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof HttpLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`HTTP limit ${key} must be a positive integer, got ${value}`);
    limits[key] = value;
  }
  return limits;
}
