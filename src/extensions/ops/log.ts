// The request log: one JSON object per request, built from what the router matched (the route
// pattern, never the raw path or query string) and what the response says. No header value of the
// request is copied except X-Request-Id (checked) and, at debug, User-Agent: nothing that can carry
// a secret (Authorization, tokens, `_state`, query strings) ever reaches a line.

export const LOG_LEVELS = ["off", "error", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The local workerd form (scripts/serve.mjs) also gives LOG_LEVEL to miniflare, whose levels are
 * none, error, warn, info, debug and verbose: those mean the nearest level here.
 */
const ALIASES: Record<string, LogLevel> = { none: "off", warn: "error", warning: "error", verbose: "debug" };

/** LOG_LEVEL: off | error (5xx answers and failed checks) | info (default: one line per request) | debug (info + user agent). */
export function parseLogLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === "") return "info";
  const level = raw.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  const alias = ALIASES[level];
  if (alias !== undefined) return alias;
  throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (or none, warn, verbose), got ${JSON.stringify(raw.slice(0, 40))}`);
}

const RANK: Record<LogLevel, number> = { off: 0, error: 1, info: 2, debug: 3 };

/** One request, as logged. Absent facts are null, never guessed. */
export interface RequestLogEntry {
  time: string;
  level: "info" | "error";
  msg: "request";
  request_id: string;
  method: string;
  /** The route pattern that matched, e.g. "/v2/:name+/blobs/:digest"; "*" for no route. */
  route: string;
  repository: string | null;
  /** Tag or digest (manifests), digest (blobs, referrers). */
  reference: string | null;
  status: number;
  /** Request body bytes: as counted by the native HTTP server; on Workers Content-Length, else the Content-Range of a chunk, else null. */
  bytes_in: number | null;
  /** Response body bytes: Content-Length (the range served for a 206); null when not known up front. */
  bytes_out: number | null;
  /** Until the response head was ready (a streamed body is not included), in milliseconds. */
  duration_ms: number;
  /** The authenticated user; null for anonymous callers and unauthenticated requests. */
  caller: string | null;
  upload_id: string | null;
  /** The client's address as the runtime reports it. */
  remote: string | null;
  /** Why the request failed without a response from the registry (e.g. the client went away). */
  error?: string;
  user_agent?: string | null;
}

/** Any other line the operations layer writes (failed readiness checks). */
export interface EventLogEntry {
  time: string;
  level: "error" | "info";
  msg: string;
  [field: string]: unknown;
}

export type LogEntry = RequestLogEntry | EventLogEntry;

/** Where lines go: console.log of the object on Workers, one JSON line on stdout on native runtimes. */
export type LogSink = (entry: LogEntry) => void;

export class RequestLog {
  private readonly rank: number;

  constructor(
    readonly level: LogLevel,
    private readonly sink: LogSink | null,
  ) {
    this.rank = sink === null ? 0 : RANK[level];
  }

  /** Whether anything is written at all (skips building entries when off). */
  get enabled(): boolean {
    return this.rank > 0;
  }

  get debug(): boolean {
    return this.rank >= RANK.debug;
  }

  request(entry: RequestLogEntry): void {
    if (this.rank >= (entry.level === "error" ? RANK.error : RANK.info)) this.sink!(entry);
  }

  event(level: "error" | "info", msg: string, fields: Record<string, unknown> = {}): void {
    if (this.rank >= RANK[level]) this.sink!({ ...fields, time: new Date().toISOString(), level, msg });
  }
}
