// Serializing response heads and chunk frames; the Date header, computed once per second.

/**
 * Response headers sent as one field line per value (OCI-Tag: one per tag applied on push, src/routes/manifests.ts).
 * Iterating `Headers` joins repeated values with ", "; a tag holds no comma or space, so splitting is exact.
 */
const LINE_PER_VALUE_HEADERS: ReadonlySet<string> = new Set(["oci-tag"]);

const REASONS: Record<number, string> = {
  100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content",
  301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified", 307: "Temporary Redirect",
  308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
  405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
  411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large", 414: "URI Too Long",
  415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed", 422: "Unprocessable Content",
  429: "Too Many Requests", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
  501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** Below this, body pieces are copied together into one write; above, written as they are. */
export const SMALL_WRITE_BYTES = 16 * 1024;

/** Response header fields the connection itself decides. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

export interface ResponseHead {
  /** Status line and header fields, without the final blank line. */
  text: string;
  /** The Content-Length the response declared, or -1. */
  contentLength: number;
}

/** Status line and the response's own header fields (hop-by-hop fields and Content-Length left to the caller). */
export function responseHead(response: Response): ResponseHead {
  const status = response.status;
  let text = `HTTP/1.1 ${status} ${REASONS[status] ?? (sanitizeReason(response.statusText) || "Unknown")}\r\n`;
  let contentLength = -1;
  let hasDate = false;
  for (const [name, value] of response.headers) {
    if (name === "content-length") {
      const n = Number(value);
      if (Number.isSafeInteger(n) && n >= 0) contentLength = n;
      continue;
    }
    if (HOP_BY_HOP.has(name)) continue;
    if (name === "date") hasDate = true;
    if (LINE_PER_VALUE_HEADERS.has(name)) {
      for (const one of value.split(", ")) text += `${name}: ${one}\r\n`;
      continue;
    }
    text += `${name}: ${value}\r\n`;
  }
  if (!hasDate) text += `date: ${httpDate()}\r\n`;
  return { text, contentLength };
}

/** A reason phrase may hold HTAB, SP, VCHAR and obs-text only. */
function sanitizeReason(reason: string): string {
  let out = "";
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if (c === 0x09 || (c >= 0x20 && c !== 0x7f && c <= 0xff)) out += reason[i];
  }
  return out;
}

let dateSecond = -1;
let dateText = "";

/** IMF-fixdate of the current second. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

export const CRLF = Buffer.from("\r\n", "latin1");
export const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");
export const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");

/** The frame of one chunk of a chunked body: size line, data, CRLF, as one buffer. */
export function chunkFrame(data: Uint8Array): Buffer {
  const size = data.length.toString(16);
  const frame = Buffer.allocUnsafe(size.length + 2 + data.length + 2);
  frame.write(size, 0, "latin1");
  frame[size.length] = 0x0d;
  frame[size.length + 1] = 0x0a;
  frame.set(data, size.length + 2);
  frame[frame.length - 2] = 0x0d;
  frame[frame.length - 1] = 0x0a;
  return frame;
}
