// The request head (RFC 9112 sections 3, 5, 6): request line, header fields, and how the body is framed.
// Strict on purpose: every shape that proxies and servers might read differently (request
// smuggling) is refused with 400 before a handler sees the request.
import { MAX_TARGET_BYTES } from "./limits";
import { refusal } from "./refusal";
import { FIELD_VALUE, TARGET, allIn, isToken, isValidAuthority, parseDecimal } from "./syntax";

/** Methods handed to the handler, exactly as spelled here (methods are case-sensitive). */
const SERVED_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** Known methods a registry never serves (and the Fetch `Request` refuses). */
const REFUSED_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
export const ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

export interface RequestHead {
  readonly method: string;
  /** "*" (OPTIONS only), or the path and query ("/v2/..."); for an absolute-form target, its path and query. */
  readonly path: string;
  /** scheme://authority of an absolute-form target (it wins over Host, RFC 9112 3.2.2), else null. */
  readonly absoluteOrigin: string | null;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minorVersion: 0 | 1;
  /** Header fields as received (names as sent), in order. */
  readonly headers: [string, string][];
  /** The Host field value, or null when absent (HTTP/1.0 only). */
  readonly host: string | null;
  /** The body: none, Content-Length bytes, or chunked. */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** The client asks to keep the connection open after this exchange. */
  readonly keepAlive: boolean;
  /** Expect: 100-continue (HTTP/1.1). */
  readonly expectContinue: boolean;
}

const bad = (message: string) => refusal(400, message);

/**
 * Parses a request head: `text` is its bytes as latin1, without the blank line that ends it and
 * without leading empty lines. Throws a RegistryError (400, 405, 414, 417, 501, 505) on refusal.
 */
export function parseRequestHead(text: string): RequestHead {
  let lineEnd = text.indexOf("\r\n");
  if (lineEnd === -1) lineEnd = text.length;
  const sp1 = text.indexOf(" ");
  const sp2 = sp1 === -1 ? -1 : text.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || sp2 >= lineEnd) throw bad("malformed request line");
  const method = text.slice(0, sp1);
  const version = text.slice(sp2 + 1, lineEnd);
  let minorVersion: 0 | 1;
  if (version === "HTTP/1.1") minorVersion = 1;
  else if (version === "HTTP/1.0") minorVersion = 0;
  else if (version.length === 8 && version.startsWith("HTTP/") && version.charCodeAt(6) === 0x2e && isDigit(version, 5) && isDigit(version, 7))
    throw refusal(505, `${version} is not supported; use HTTP/1.1`);
  else throw bad("malformed request line");

  if (!SERVED_METHODS.has(method)) {
    if (!isToken(method)) throw bad("malformed request line");
    if (REFUSED_METHODS.has(method)) throw refusal(405, `${method} is not allowed`, { Allow: ALLOW });
    throw refusal(501, `method ${JSON.stringify(method)} is not implemented (methods are case-sensitive)`, { Allow: ALLOW });
  }

  const targetLength = sp2 - sp1 - 1;
  if (targetLength > MAX_TARGET_BYTES) throw refusal(414, `request target longer than ${MAX_TARGET_BYTES} bytes`);
  if (targetLength === 0 || !allIn(text, TARGET, sp1 + 1, sp2)) throw bad("malformed request target");
  let path = text.slice(sp1 + 1, sp2);
  let absoluteOrigin: string | null = null;
  if (path.charCodeAt(0) !== 0x2f /* / */) {
    if (path === "*") {
      if (method !== "OPTIONS") throw bad(`"*" is a target for OPTIONS only`);
    } else {
      const absolute = splitAbsoluteForm(path);
      absoluteOrigin = absolute.origin;
      path = absolute.path;
    }
  }

  const headers: [string, string][] = [];
  let host: string | null = null;
  let contentLength = -1;
  let codings: string[] | null = null;
  let close = false;
  let keepAliveToken = false;
  let expectContinue = false;
  let pos = lineEnd + 2;
  while (pos < text.length) {
    let end = text.indexOf("\r\n", pos);
    if (end === -1) end = text.length;
    const first = text.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) throw bad("obsolete line folding in header fields");
    const colon = text.indexOf(":", pos);
    if (colon === -1 || colon >= end) throw bad("malformed header field");
    const name = text.slice(pos, colon);
    if (!isToken(name)) throw bad("malformed header field name");
    let vStart = colon + 1;
    let vEnd = end;
    while (vStart < vEnd && isOws(text.charCodeAt(vStart))) vStart++;
    while (vEnd > vStart && isOws(text.charCodeAt(vEnd - 1))) vEnd--;
    if (!allIn(text, FIELD_VALUE, vStart, vEnd)) throw bad(`invalid bytes in header field ${name}`);
    const value = text.slice(vStart, vEnd);
    headers.push([name, value]);
    pos = end + 2;

    // Only a few names matter to framing; compare lengths before lower-casing.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") {
          if (host !== null) throw bad("more than one Host header field");
          host = value;
        }
        break;
      case 6:
        if (name.toLowerCase() === "expect") {
          if (value.toLowerCase() !== "100-continue") throw refusal(417, `Expect: ${value} is not supported`);
          expectContinue = minorVersion === 1;
        }
        break;
      case 10:
        if (name.toLowerCase() === "connection") {
          for (const option of listElements(value)) {
            if (option === "close") close = true;
            else if (option === "keep-alive") keepAliveToken = true;
          }
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          if (contentLength !== -1) throw bad("more than one Content-Length");
          contentLength = parseDecimal(value);
          if (contentLength < 0 || contentLength > Number.MAX_SAFE_INTEGER) throw bad("invalid Content-Length");
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") (codings ??= []).push(...listElements(value));
        break;
    }
  }

  if (host === null) {
    if (minorVersion === 1) throw bad("missing Host header field");
  } else if (!isValidAuthority(host)) {
    throw bad("invalid Host header field");
  }

  let chunked = false;
  if (codings !== null) {
    if (minorVersion === 0) throw bad("Transfer-Encoding in an HTTP/1.0 request");
    if (contentLength !== -1) throw bad("both Content-Length and Transfer-Encoding");
    if (codings.at(-1) !== "chunked") throw bad("Transfer-Encoding must end with chunked");
    if (codings.indexOf("chunked") !== codings.length - 1) throw bad("chunked applied more than once");
    if (codings.length > 1) throw refusal(501, `transfer coding ${codings[0]} is not supported`);
    chunked = true;
  }
  if ((method === "GET" || method === "HEAD") && (chunked || contentLength > 0)) throw bad(`a ${method} request carries no body`);

  return {
    method,
    path,
    absoluteOrigin,
    minorVersion,
    headers,
    host,
    contentLength: contentLength === -1 ? 0 : contentLength,
    chunked,
    keepAlive: minorVersion === 1 ? !close : keepAliveToken && !close,
    expectContinue,
  };
}

/** `http://authority/path?query` (RFC 9112 3.2.2): the origin to use instead of Host, and the path. */
function splitAbsoluteForm(target: string): { origin: string; path: string } {
  const schemeEnd = target.indexOf("://");
  const scheme = schemeEnd === -1 ? "" : target.slice(0, schemeEnd).toLowerCase();
  if (scheme !== "http" && scheme !== "https") throw bad("malformed request target");
  const authorityStart = schemeEnd + 3;
  let authorityEnd = authorityStart;
  while (authorityEnd < target.length) {
    const c = target.charCodeAt(authorityEnd);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */) break;
    authorityEnd++;
  }
  const authority = target.slice(authorityStart, authorityEnd);
  if (!isValidAuthority(authority)) throw bad("invalid authority in the request target");
  const rest = target.slice(authorityEnd);
  const path = rest === "" ? "/" : rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest;
  return { origin: `${scheme}://${authority}`, path };
}

/** Elements of a comma-separated list, trimmed and lower-cased, empty ones dropped. */
function listElements(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(",")) {
    const element = part.trim().toLowerCase();
    if (element !== "") out.push(element);
  }
  return out;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0x30 && c <= 0x39;
}
