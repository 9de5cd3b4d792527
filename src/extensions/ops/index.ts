// Operations beside the core (zot style): health paths, the request log and metrics, wrapped
// around the router through its one seam (RegistryContext.observe, see app.ts). Web-standard only;
// each runtime gives it a log sink, a metrics recorder and a storage probe.
//
//   GET|HEAD /healthz   liveness: 200 {"status":"ok"} while the process answers
//   GET|HEAD /readyz    readiness: 200 {"status":"ready"}, or 503 {"status":"unavailable",...} when storage fails
//   GET|HEAD /metrics   Prometheus text, for callers in METRICS_GROUP (native runtimes; see metricsResponse)
// None of them can collide with a repository: every repository path starts with /v2/.
import type { RouteInfo, RequestObserver } from "../../app";
import type { Authenticator } from "../../auth/authenticator";
import type { ClientInfo } from "../../auth/failure-limiter";
import { RegistryError, errorResponse } from "../../oci/errors";
import type { RequestLog, RequestLogEntry } from "./log";
import { METRICS_CONTENT_TYPE, type AuthFailureReason, type Metrics, type MetricsRecorder } from "./metrics";
import { REQUEST_ID_HEADER, requestIdOf } from "./request-id";

export { RequestLog, parseLogLevel, type LogEntry, type LogLevel, type LogSink, type RequestLogEntry } from "./log";
export { Metrics, type MetricsRecorder, type RequestSample } from "./metrics";
export { operationsSettings, type OperationsSettings } from "./settings";

export const HEALTH_PATH = "/healthz";
export const READY_PATH = "/readyz";
export const METRICS_PATH = "/metrics";

/** A readiness check that has not answered by then counts as failed. */
export const READY_TIMEOUT_MS = 5_000;
/** Longest repository name or reference copied into a log line (longer ones are cut and marked). */
const MAX_LOGGED_PARAM = 256;

export interface OperationsOptions {
  log: RequestLog;
  /** Where request samples go; null: none. */
  metrics: MetricsRecorder | null;
  /** Serves GET /metrics on the registry's own port to callers in `metricsGroup`; absent: not served there. */
  scrape?: { metrics: Metrics; auth: Authenticator; group: string };
  /** Throws when storage cannot serve requests (readiness). */
  ready(): Promise<void>;
}

/** The caller as a runtime may describe it: the native HTTP server also counts the body bytes it received. */
export interface ObservedClient extends ClientInfo {
  receivedBytes?(): number;
}

/** The observer to put in RegistryContext.observe. */
export function operations(options: OperationsOptions): RequestObserver {
  const { log, metrics, scrape } = options;
  const logging = log.enabled;
  return async (request, client, route) => {
    const started = performance.now();
    const requestId = requestIdOf(request.headers);
    const path = pathOf(request.url);
    let response: Response;
    let info: RouteInfo | null = null;
    if (path === HEALTH_PATH || path === READY_PATH || path === METRICS_PATH) {
      response = await ownPath(path, request, client, options);
    } else {
      ({ response, info } = await route(request));
    }
    response = withHeader(response, REQUEST_ID_HEADER, requestId);
    if (!logging && metrics === null) return response;

    const durationMs = performance.now() - started;
    const status = info?.clientGone ? CLIENT_GONE : response.status;
    // Counted by the server where it can (a chunked push declares no length), else from the headers.
    const received = (client as ObservedClient).receivedBytes;
    const bytesIn = received !== undefined ? received() : requestBytes(request);
    const bytesOut = responseBytes(request.method, response);
    // Never the raw path: a request refused before routing (body over the limit) is "unrouted".
    const routeName = info === null ? path : (info.route ?? "unrouted");
    if (metrics !== null) {
      metrics.request({ method: request.method, route: routeName, status, durationMs, bytesIn, bytesOut, authFailure: authFailure(request, status) });
    }
    if (logging) {
      const params = info?.params ?? {};
      const entry: RequestLogEntry = {
        time: isoNow(),
        level: status >= 500 && status !== CLIENT_GONE ? "error" : "info",
        msg: "request",
        request_id: requestId,
        method: request.method,
        route: routeName,
        repository: param(params.name),
        reference: param(params.reference ?? params.digest),
        status,
        bytes_in: bytesIn,
        bytes_out: bytesOut,
        duration_ms: Math.round(durationMs * 1000) / 1000,
        caller: info?.caller ?? null,
        upload_id: param(params.id) ?? startedUploadId(routeName, response),
        remote: client.address || null,
      };
      if (info?.clientGone) entry.error = "the client went away before the request was complete";
      if (log.debug) entry.user_agent = request.headers.get("User-Agent");
      log.request(entry);
    }
    return response;
  };
}

/** Logged (and counted) for a request whose client went away before an answer: nobody saw a status. */
export const CLIENT_GONE = 499;

async function ownPath(path: string, request: Request, client: ClientInfo, options: OperationsOptions): Promise<Response> {
  const method = request.method;
  if (method !== "GET" && method !== "HEAD") {
    return new RegistryError("UNSUPPORTED", `${method} is not supported here`, { headers: { Allow: "GET, HEAD" } }).toResponse(method);
  }
  try {
    if (path === HEALTH_PATH) return status(method, 200, { status: "ok" });
    if (path === READY_PATH) return await readiness(method, options);
    if (options.scrape === undefined) throw new RegistryError("NAME_UNKNOWN", "no such endpoint", { status: 404 });
    await authorizeScrape(request, client, options.scrape);
    return metricsResponse(method, options.scrape.metrics);
  } catch (err) {
    return errorResponse(err, method);
  }
}

async function readiness(method: string, options: OperationsOptions): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      options.ready(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`storage did not answer in ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      }),
    ]);
    return status(method, 200, { status: "ready" });
  } catch (err) {
    // The reason goes to the operator's log only: it may name paths or buckets.
    options.log.event("error", "readiness check failed", { check: "storage", error: err instanceof Error ? err.message : String(err) });
    return status(method, 503, { status: "unavailable", checks: { storage: "failed" } });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Scrapes on the registry's port need a caller in the metrics group (Basic credentials work in every mode). */
async function authorizeScrape(request: Request, client: ClientInfo, scrape: NonNullable<OperationsOptions["scrape"]>): Promise<void> {
  const { auth, group } = scrape;
  if (auth.mode === "open") {
    throw new RegistryError("DENIED", "metrics are not served on this port in open mode (no caller can prove the metrics right): set METRICS_ADDRESS", { status: 403 });
  }
  const principal = await auth.identify(request, { kind: "base" }, client);
  if (principal.anonymous) {
    throw new RegistryError("UNAUTHORIZED", "authentication required", { headers: { "WWW-Authenticate": 'Basic realm="metrics", charset="UTF-8"' } });
  }
  if (!principal.groups.includes(group)) {
    throw new RegistryError("DENIED", `requested access to the resource is denied: ${principal.name} is not in the ${group} group`);
  }
}

export function metricsResponse(method: string, metrics: Metrics): Response {
  const body = metrics.render();
  return new Response(method === "HEAD" ? null : body, {
    status: 200,
    headers: { "Content-Type": METRICS_CONTENT_TYPE, "Content-Length": String(new TextEncoder().encode(body).length), "Cache-Control": "no-store" },
  });
}

/** The handler of a listener that serves only /metrics (METRICS_ADDRESS): no auth, nothing else. */
export function metricsOnlyHandler(metrics: Metrics): (request: Request) => Promise<Response> {
  return async (request) => {
    const method = request.method;
    if (pathOf(request.url) !== METRICS_PATH) return new RegistryError("NAME_UNKNOWN", "this listener serves only /metrics", { status: 404 }).toResponse(method);
    if (method !== "GET" && method !== "HEAD") {
      return new RegistryError("UNSUPPORTED", `${method} is not supported here`, { headers: { Allow: "GET, HEAD" } }).toResponse(method);
    }
    return metricsResponse(method, metrics);
  };
}

let isoMs = 0;
let isoText = "";
/** The time as ISO 8601, formatted once per millisecond (under load many requests share one). */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

function status(method: string, code: number, body: unknown): Response {
  const text = JSON.stringify(body);
  return new Response(method === "HEAD" ? null : text, {
    status: code,
    headers: { "Content-Type": "application/json", "Content-Length": String(text.length), "Cache-Control": "no-store" },
  });
}

/** The path of an absolute URL without parsing all of it (this runs for every request). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  const hash = url.indexOf("#", start);
  const end = query === -1 ? (hash === -1 ? url.length : hash) : query;
  return url.slice(start, end);
}

function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const headers = new Headers(response.headers); // immutable headers (a fetched response)
    headers.set(name, value);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

/** 0 without a body, else Content-Length, else the length a chunk's Content-Range declares, else unknown. */
function requestBytes(request: Request): number | null {
  // Checked first: a header lookup costs about a microsecond on Node, and most requests have no body.
  if (request.body === null) return 0;
  const length = request.headers.get("Content-Length");
  if (length !== null) return wholeNumber(length);
  const range = /^(?:bytes[= ])?(\d+)-(\d+)/.exec(request.headers.get("Content-Range") ?? "");
  return range ? Number(range[2]) - Number(range[1]) + 1 : null;
}

function responseBytes(method: string, response: Response): number | null {
  if (method === "HEAD" || response.status === 204 || response.status === 304) return 0;
  const length = response.headers.get("Content-Length");
  if (length !== null) return wholeNumber(length);
  return response.body === null ? 0 : null;
}

function wholeNumber(text: string): number | null {
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function authFailure(request: Request, status: number): AuthFailureReason | null {
  if (status === 401) return request.headers.has("Authorization") ? "invalid_credentials" : "credentials_required";
  if (status === 403) return "denied";
  if (status === 429) return "rate_limited";
  return null;
}

/** A path parameter as logged: percent-decoded when it can be, bounded. */
function param(value: string | undefined): string | null {
  if (value === undefined || value === "") return null;
  let text = value;
  if (text.includes("%")) {
    try {
      text = decodeURIComponent(text);
    } catch {
      // logged as sent
    }
  }
  return text.length > MAX_LOGGED_PARAM ? `${text.slice(0, MAX_LOGGED_PARAM)}…` : text;
}

/** POST .../blobs/uploads answers 202 with the new session's Location: its id is the last segment. */
function startedUploadId(route: string, response: Response): string | null {
  if (route !== "/v2/:name+/blobs/uploads" || response.status !== 202) return null;
  const location = response.headers.get("Location");
  if (location === null) return null;
  const id = location.slice(location.lastIndexOf("/") + 1).split("?")[0]!;
  return id === "" ? null : id;
}
export { analyticsRecorder, type AnalyticsDataset } from "./analytics";
