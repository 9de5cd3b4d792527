// How object keys become paths under the filesystem store's root, and the byte order of keys.
//
// A key is split at "/" into segments; every segment but the last names a directory, the last
// names the object's file. Each segment is percent-encoded (UTF-8; every byte outside
// [a-z0-9._-] becomes %XX, upper-case hex), and an object's file name gets the suffix "=", which
// the encoding never produces. Upper-case letters are encoded too ("Latest" is "%4Catest"), so two
// keys never differ only by case on disk: the store is right on case-insensitive filesystems. So the object `catalog/a` (file `catalog/a=`) and the directory holding
// `catalog/a/b` (`catalog/a/`) can never collide, whatever keys exist. Names beginning with "."
// are reserved for the store itself (temporary files, multipart parts): key segments must not
// begin with ".", which also refuses "." and "..".

export class InvalidKeyError extends Error {
  constructor(key: string, why: string) {
    super(`invalid object key ${JSON.stringify(key.slice(0, 200))}: ${why}`);
    this.name = "InvalidKeyError";
  }
}

export const OBJECT_SUFFIX = "=";
/** R2's limit on key length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;
/** Most filesystems allow 255 bytes per name; one goes to the suffix. */
const MAX_NAME_BYTES = 254;

const utf8 = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const PLAIN = /^[a-z0-9._-]*$/;

/** The key's segments, or InvalidKeyError when it could leave the root or is not a key at all. */
export function keySegments(key: string): string[] {
  if (typeof key !== "string" || key.length === 0) throw new InvalidKeyError(String(key), "empty");
  if (key.includes("\0")) throw new InvalidKeyError(key, "contains NUL");
  if (key.includes("\\")) throw new InvalidKeyError(key, "contains a backslash");
  if (key.startsWith("/")) throw new InvalidKeyError(key, "absolute");
  if (LONE_SURROGATE.test(key)) throw new InvalidKeyError(key, "not valid Unicode");
  if (utf8.encode(key).length > MAX_KEY_BYTES) throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
  const segments = key.split("/");
  for (const segment of segments) {
    if (segment === "") throw new InvalidKeyError(key, "empty segment");
    if (segment.startsWith(".")) throw new InvalidKeyError(key, `segment ${JSON.stringify(segment)} begins with "." (reserved)`);
    if (encodeSegment(segment).length > MAX_NAME_BYTES) throw new InvalidKeyError(key, "segment too long");
  }
  return segments;
}

export function encodeSegment(segment: string): string {
  if (PLAIN.test(segment)) return segment;
  let out = "";
  for (const byte of utf8.encode(segment)) {
    const c = String.fromCharCode(byte);
    out += PLAIN.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The segment a directory entry encodes, or null for names the store did not write. */
export function decodeSegment(name: string): string | null {
  if (name === "" || name.startsWith(".")) return null;
  if (PLAIN.test(name)) return name;
  let segment: string;
  try {
    segment = decodeURIComponent(name);
  } catch {
    return null;
  }
  // Only the canonical encoding counts: "%61" is not another name for "a".
  return encodeSegment(segment) === name ? segment : null;
}

/** Relative path of a key's file: directories, then the last segment with the object suffix. */
export function objectPath(segments: string[]): string {
  const names = segments.map(encodeSegment);
  names[names.length - 1] += OBJECT_SUFFIX;
  return names.join("/");
}

/** Relative path of the directory holding keys that start with `segments.join("/") + "/"`. */
export function prefixPath(segments: string[]): string {
  return segments.map(encodeSegment).join("/");
}

/**
 * Compares strings by their UTF-8 bytes (R2's key order), which is code point order. JavaScript's
 * `<` compares UTF-16 units, which differs once astral characters meet U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return (a.codePointAt(i) ?? 0) - (b.codePointAt(i) ?? 0);
  }
  return a.length - b.length;
}
