// Byte classes of RFC 9110 / 9112, as lookup tables (one array read per byte, no regular expressions).

function table(accept: (code: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = accept(c) ? 1 : 0;
  return t;
}

const TCHAR_PUNCTUATION = "!#$%&'*+-.^_`|~";

/** tchar: the bytes of a token (method, header name, transfer coding). */
export const TCHAR = table(
  (c) =>
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || TCHAR_PUNCTUATION.includes(String.fromCharCode(c)),
);

/** Bytes of a field value: field-vchar, SP, HTAB and obs-text (no CR, LF, NUL or other controls). */
export const FIELD_VALUE = table((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));

/** Bytes of a request target: visible ASCII except '#' (a fragment never travels). */
export const TARGET = table((c) => c > 0x20 && c < 0x7f && c !== 0x23);

/** Bytes of a host name (a reg-name without percent-encoding or sub-delims). */
export const HOST_NAME = table(
  (c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e,
);

/** Bytes inside the brackets of an IPv6 literal. */
export const IPV6 = table((c) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) || c === 0x3a || c === 0x2e);

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] === 0) return false;
  }
  return true;
}

/** Every character of s[from, to) is in the table. */
export function allIn(s: string, accepted: Uint8Array, from = 0, to = s.length): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || accepted[c] === 0) return false;
  }
  return true;
}

/** A decimal of 1 to 15 digits (Content-Length, ports), or -1. */
export function parseDecimal(s: string, from = 0, to = s.length): number {
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** `host [":" port]` as RFC 9110 7.2 allows it (reg-name limited to unreserved characters, or an IPv6 literal). */
export function isValidAuthority(value: string): boolean {
  let hostEnd: number;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf("]");
    if (close < 3 || !allIn(value, IPV6, 1, close)) return false;
    hostEnd = close + 1;
  } else {
    const colon = value.indexOf(":");
    hostEnd = colon === -1 ? value.length : colon;
    if (hostEnd === 0 || !allIn(value, HOST_NAME, 0, hostEnd)) return false;
  }
  if (hostEnd === value.length) return true;
  if (value.charCodeAt(hostEnd) !== 0x3a /* : */) return false;
  const port = parseDecimal(value, hostEnd + 1);
  return port >= 0 && port <= 65535 && value.length - hostEnd - 1 <= 5;
}
