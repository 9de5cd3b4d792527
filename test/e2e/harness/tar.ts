// A minimal ustar writer (and reader, for checking what comes back from the registry).
// Enough for image layers: regular files, directories, symlinks; names up to 255 bytes.
import { createHash } from "node:crypto";

export interface TarEntry {
  name: string;
  type?: "file" | "dir" | "symlink";
  content?: string | Buffer;
  /** For header-only use (streamed content): the file size. */
  size?: number;
  mode?: number;
  linkname?: string;
  /** Seconds since the epoch; fixed by default so layers are reproducible. */
  mtime?: number;
  uid?: number;
  gid?: number;
}

export const BLOCK = 512;
const FIXED_MTIME = 1_700_000_000;

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`tar field too long (${bytes.length} > ${length}): ${value}`);
  bytes.copy(buf, offset);
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  // length-1 octal digits, NUL-terminated
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`tar numeric field overflow: ${value}`);
  writeString(buf, offset, length, digits.padStart(length - 1, "0") + "\0");
}

function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  const cut = name.lastIndexOf("/", 155);
  if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar name too long: ${name}`);
  return { prefix: name.slice(0, cut), name: name.slice(cut + 1) };
}

/** One 512-byte ustar header. */
export function tarHeader(entry: TarEntry): Buffer {
  const type = entry.type ?? "file";
  const size = type === "file" ? (entry.size ?? (entry.content === undefined ? 0 : Buffer.byteLength(entry.content))) : 0;
  const h = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(type === "dir" && !entry.name.endsWith("/") ? `${entry.name}/` : entry.name);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, entry.mode ?? (type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644));
  writeOctal(h, 108, 8, entry.uid ?? 0);
  writeOctal(h, 116, 8, entry.gid ?? 0);
  if (size > 0o77777777777) {
    // GNU base-256 for sizes ≥ 8 GiB (not needed for the 1 GiB test, kept for safety)
    h[124] = 0x80;
    h.writeBigUInt64BE(BigInt(size), 128);
  } else writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, entry.mtime ?? FIXED_MTIME);
  h.fill(0x20, 148, 156); // checksum placeholder: spaces
  h[156] = (type === "dir" ? "5" : type === "symlink" ? "2" : "0").charCodeAt(0);
  if (entry.linkname) writeString(h, 157, 100, entry.linkname);
  writeString(h, 257, 6, "ustar\0");
  writeString(h, 263, 2, "00");
  writeString(h, 265, 32, "root");
  writeString(h, 297, 32, "root");
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  writeString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

export function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return Buffer.alloc(rem === 0 ? 0 : BLOCK - rem);
}

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** A whole tar archive in memory (small layers only). */
export function buildTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e));
    if ((e.type ?? "file") === "file" && e.content !== undefined) {
      const body = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content, "utf8");
      parts.push(body, padding(body.length));
    }
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

export interface ReadEntry {
  name: string;
  type: string;
  size: number;
  content: Buffer;
  linkname: string;
}

function readString(buf: Buffer, offset: number, length: number): string {
  const slice = buf.subarray(offset, offset + length);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul === -1 ? length : nul).toString("utf8");
}

/** Parses a (small, uncompressed) tar archive. Understands ustar prefixes and PAX/GNU long names. */
export function readTar(buf: Buffer): ReadEntry[] {
  const out: ReadEntry[] = [];
  let off = 0;
  let longName: string | null = null;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    let size: number;
    if (h[124]! & 0x80) size = Number(h.readBigUInt64BE(128));
    else size = parseInt(readString(h, 124, 12).trim() || "0", 8);
    const typeflag = String.fromCharCode(h[156]! || 0x30);
    const prefix = readString(h, 345, 155);
    let name = readString(h, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    const content = buf.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + size + padding(size).length;
    if (typeflag === "L") {
      longName = readString(content, 0, content.length);
      continue;
    }
    if (typeflag === "x") {
      const m = /\d+ path=([^\n]*)\n/.exec(content.toString("utf8"));
      if (m) longName = m[1]!;
      continue;
    }
    if (typeflag === "g") continue;
    if (longName !== null) {
      name = longName;
      longName = null;
    }
    out.push({ name, type: typeflag, size, content: Buffer.from(content), linkname: readString(h, 157, 100) });
  }
  return out;
}

export const sha256 = (data: string | Buffer | Uint8Array) => `sha256:${createHash("sha256").update(data).digest("hex")}`;
