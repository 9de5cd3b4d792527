// Small HTTP helpers shared by the route handlers: header parsing, pagination, capped body reads.
import { readAtMost } from "./bytes";
import { RegistryError } from "./oci/errors";
import type { ByteRange } from "./storage/object-store";

export const API_VERSION_HEADER = { "Docker-Distribution-API-Version": "registry/2.0" };

/** Content is addressed by digest and never changes; no-transform stops the edge from recompressing it. */
export const IMMUTABLE_CACHE = "public, max-age=31536000, immutable, no-transform";

/** Path parameters arrive percent-encoded (a digest's ":" may be sent as %3A). */
export function decodeParam(value: string | undefined): string {
  if (value === undefined) return "";
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * `Range: bytes=a-b | a- | -n` against an object of `size` bytes. Null (serve the whole object)
 * when absent or not a single byte range (RFC 9110 lets us ignore it); 416 when unsatisfiable or
 * when the end is before the start (RFC 9110 allows rejecting it; the OCI conformance suite expects 416).
 */
export function parseRangeHeader(header: string | null, size: number): ByteRange | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  const unsatisfiable = () =>
    new RegistryError("SIZE_INVALID", `range ${header} is not satisfiable for ${size} bytes`, {
      status: 416,
      headers: { "Content-Range": `bytes */${size}` },
    });
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(m[1]);
  if (start >= size || (m[2] !== "" && Number(m[2]) < start)) throw unsatisfiable();
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return { offset: start, length: end - start + 1 };
}

/** Upload `Content-Range: <start>-<end>` (inclusive); docker and some clients prefix "bytes=" or "bytes ". */
export function parseContentRange(header: string | null): { start: number; end: number } | null {
  if (!header) return null;
  const m = /^(?:bytes[= ])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryError("BLOB_UPLOAD_INVALID", "malformed Content-Range", { status: 416 });
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new RegistryError("BLOB_UPLOAD_INVALID", "Content-Range ends before it starts", { status: 416 });
  return { start, end };
}

export interface Pagination {
  n: number;
  last?: string;
}

/** `n` and `last` query parameters; without n, everything is one page. */
export function parsePagination(url: URL): Pagination {
  const raw = url.searchParams.get("n");
  let n = Number.POSITIVE_INFINITY;
  if (raw !== null) {
    if (!/^\d+$/.test(raw)) throw new RegistryError("UNSUPPORTED", "n must be a non-negative integer", { status: 400 });
    n = Number(raw);
  }
  const last = url.searchParams.get("last") ?? undefined;
  return last === undefined ? { n } : { n, last };
}

/** RFC 5988 link to the page after `last`. */
export function nextLink(url: URL, n: number, last: string): string {
  const next = new URL(url.pathname, "http://registry");
  if (Number.isFinite(n)) next.searchParams.set("n", String(n));
  next.searchParams.set("last", last);
  return `<${next.pathname}${next.search}>; rel="next"`;
}

/**
 * Reads a whole (small) body, refusing more than `max` bytes with 413. The excess is read and
 * dropped (up to 4 x `max`; a larger declared length is refused unread) before answering: closing
 * a connection with unread request bytes makes the client see a reset instead of the 413.
 */
export async function readCapped(request: Request, max: number): Promise<Uint8Array> {
  const drainLimit = 4 * max;
  const declared = Number(request.headers.get("Content-Length") ?? Number.NaN);
  const bytes = declared > drainLimit ? null : await readAtMost(request.body, max, drainLimit);
  if (!bytes) throw new RegistryError("SIZE_INVALID", `body exceeds ${max} bytes`, { status: 413 });
  return bytes;
}

export function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}

/** Bytes of an over-limit body read and dropped before answering, so the client sees the 413, not a reset. */
const DRAIN_LIMIT = 1024 * 1024 * 1024;

function bodyTooLarge(max: number): Response {
  const message =
    `request body exceeds this registry's limit of ${max} bytes; push large layers in chunks of at most ` +
    `${max} bytes (OCI-Chunk-Max-Length), e.g. through the push proxy or the push client (see the README: "Large layers behind a body limit")`;
  return new RegistryError("SIZE_INVALID", message, { status: 413, headers: API_VERSION_HEADER }).toResponse();
}

/**
 * The platform's request body limit, enforced as the edge would, before a handler stores anything:
 * a declared Content-Length over the limit is refused at once; a body without one (chunked) is
 * counted as it streams and cut off when it passes the limit, the rest drained, then refused.
 */
export async function withBodyLimit(
  request: Request,
  max: number | null,
  handle: (request: Request) => Promise<Response>,
): Promise<Response> {
  if (max === null || request.body === null) return handle(request);
  const declared = request.headers.get("Content-Length");
  if (declared !== null) return Number(declared) > max ? bodyTooLarge(max) : handle(request);

  const source = request.body.getReader();
  let seen = 0;
  let exceeded = false;
  let drained: Promise<void> = Promise.resolve();
  const limited = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await source.read();
      if (done) return controller.close();
      seen += value.length;
      if (seen <= max) return controller.enqueue(value);
      exceeded = true;
      controller.error(new RegistryError("SIZE_INVALID", `request body exceeds ${max} bytes`, { status: 413 }));
      drained = drain(source, DRAIN_LIMIT);
    },
    cancel: (reason) => source.cancel(reason),
  });
  const init = { method: request.method, headers: request.headers, body: limited, duplex: "half" } as RequestInit;
  let response: Response;
  try {
    response = await handle(new Request(request.url, init));
  } catch (err) {
    if (!exceeded) throw err;
    response = new Response(null);
  }
  if (!exceeded) return response;
  await response.body?.cancel();
  await drained;
  return bodyTooLarge(max);
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number): Promise<void> {
  let dropped = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      dropped += value.length;
      if (dropped > limit) return void (await reader.cancel());
    }
  } catch {
    // the client went away: nothing left to drain
  }
}
