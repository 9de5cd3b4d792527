/**
 * Resumable SHA-256 (FIPS 180-4, section 6.2), pure TypeScript.
 *
 * The full internal state (byte count, eight chaining words and the partial
 * block not yet compressed) can be exported to bytes and restored later, so a
 * stream can be hashed across many requests / process restarts.
 *
 * Serialized state layout (all integers big-endian), see resumable-hash.ts:
 *   [0]       format version (1)
 *   [1]       algorithm tag (SHA256_STATE_TAG)
 *   [2..9]    total bytes hashed so far (uint64, <= 2^53 - 1)
 *   [10..41]  H0..H7 chaining words (8 x uint32)
 *   [42..]    buffered partial block, exactly (length % 64) bytes
 */
import type { ResumableHash } from "./resumable-hash.js";

export const SHA256_STATE_TAG = 1;
const STATE_VERSION = 1;
const HEADER_BYTES = 10;
const WORDS_BYTES = 32;
const BLOCK_BYTES = 64;

/** SHA-256 round constants: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** Initial hash value: first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? "0" : "") + i.toString(16));

/**
 * Compress every complete 64-byte block of `p[pos..end)` into `H`.
 * `end - pos` must be a multiple of 64. `W` is a 64-word scratch schedule.
 */
function compress(H: Int32Array, W: Int32Array, p: Uint8Array, pos: number, end: number): void {
  let h0 = H[0]! | 0;
  let h1 = H[1]! | 0;
  let h2 = H[2]! | 0;
  let h3 = H[3]! | 0;
  let h4 = H[4]! | 0;
  let h5 = H[5]! | 0;
  let h6 = H[6]! | 0;
  let h7 = H[7]! | 0;

  while (pos < end) {
    // Message schedule: 16 big-endian words straight from the input, then expand.
    for (let t = 0; t < 16; t++, pos += 4) {
      W[t] = (p[pos]! << 24) | (p[pos + 1]! << 16) | (p[pos + 2]! << 8) | p[pos + 3]!;
    }
    for (let t = 16; t < 64; t++) {
      const x = W[t - 15]! | 0;
      const y = W[t - 2]! | 0;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[t] = (s1 + W[t - 7]! + s0 + W[t - 16]!) | 0;
    }

    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let h = h7;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = g ^ (e & (f ^ g));
      const T1 = (h + S1 + ch + K[t]! + W[t]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (c & (a ^ b));
      const T2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + T1) | 0;
      d = c;
      c = b;
      b = a;
      a = (T1 + T2) | 0;
    }

    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }

  H[0] = h0;
  H[1] = h1;
  H[2] = h2;
  H[3] = h3;
  H[4] = h4;
  H[5] = h5;
  H[6] = h6;
  H[7] = h7;
}

export class Sha256 implements ResumableHash {
  readonly algorithm = "sha256" as const;

  /** Chaining words H0..H7. */
  private readonly h = new Int32Array(8);
  /** Message schedule scratch, reused for every block. */
  private readonly w = new Int32Array(64);
  /** Partial block; only the first `length % 64` bytes are meaningful. */
  private readonly buf = new Uint8Array(BLOCK_BYTES);
  private len = 0;

  constructor() {
    this.h.set(IV);
  }

  get length(): number {
    return this.len;
  }

  update(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    if (this.len + n > Number.MAX_SAFE_INTEGER) {
      throw new RangeError("sha256: total input length exceeds 2^53 - 1 bytes");
    }
    const buffered = this.len % BLOCK_BYTES;
    this.len += n;

    let pos = 0;
    if (buffered > 0) {
      const take = Math.min(BLOCK_BYTES - buffered, n);
      this.buf.set(take === n ? data : data.subarray(0, take), buffered);
      if (buffered + take < BLOCK_BYTES) return;
      compress(this.h, this.w, this.buf, 0, BLOCK_BYTES);
      pos = take;
    }

    const rest = (n - pos) % BLOCK_BYTES;
    const end = n - rest;
    if (end > pos) compress(this.h, this.w, data, pos, end);
    if (rest > 0) this.buf.set(data.subarray(end), 0);
  }

  digest(): Uint8Array {
    const H = this.finalWords();
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) {
      const v = H[i]!;
      out[i * 4] = v >>> 24;
      out[i * 4 + 1] = (v >>> 16) & 0xff;
      out[i * 4 + 2] = (v >>> 8) & 0xff;
      out[i * 4 + 3] = v & 0xff;
    }
    return out;
  }

  digestHex(): string {
    const H = this.finalWords();
    let s = "";
    for (let i = 0; i < 8; i++) {
      const v = H[i]!;
      s += HEX[v >>> 24]! + HEX[(v >>> 16) & 0xff]! + HEX[(v >>> 8) & 0xff]! + HEX[v & 0xff]!;
    }
    return s;
  }

  exportState(): Uint8Array {
    const buffered = this.len % BLOCK_BYTES;
    const out = new Uint8Array(HEADER_BYTES + WORDS_BYTES + buffered);
    const dv = new DataView(out.buffer);
    out[0] = STATE_VERSION;
    out[1] = SHA256_STATE_TAG;
    dv.setUint32(2, Math.floor(this.len / 0x100000000));
    dv.setUint32(6, this.len >>> 0);
    for (let i = 0; i < 8; i++) dv.setInt32(HEADER_BYTES + i * 4, this.h[i]!);
    out.set(this.buf.subarray(0, buffered), HEADER_BYTES + WORDS_BYTES);
    return out;
  }

  /** Rebuild a hash from `exportState()` output. Throws Error on anything malformed. */
  static fromState(state: Uint8Array): Sha256 {
    if (!(state instanceof Uint8Array)) throw new Error("sha256 state: expected a Uint8Array");
    if (state.length < HEADER_BYTES + WORDS_BYTES) throw new Error("sha256 state: truncated");
    if (state[0] !== STATE_VERSION) throw new Error(`sha256 state: unsupported format version ${state[0]}`);
    if (state[1] !== SHA256_STATE_TAG) throw new Error(`sha256 state: wrong algorithm tag ${state[1]}`);
    const dv = new DataView(state.buffer, state.byteOffset, state.byteLength);
    const hi = dv.getUint32(2);
    const lo = dv.getUint32(6);
    if (hi > 0x1fffff) throw new Error("sha256 state: length out of range");
    const len = hi * 0x100000000 + lo;
    const buffered = len % BLOCK_BYTES;
    if (state.length !== HEADER_BYTES + WORDS_BYTES + buffered) {
      throw new Error("sha256 state: size does not match the recorded length");
    }
    const s = new Sha256();
    for (let i = 0; i < 8; i++) s.h[i] = dv.getInt32(HEADER_BYTES + i * 4);
    s.buf.set(state.subarray(HEADER_BYTES + WORDS_BYTES), 0);
    s.len = len;
    return s;
  }

  /** Chaining words after padding, computed on copies so the live state is untouched. */
  private finalWords(): Int32Array {
    const H = this.h.slice();
    const buffered = this.len % BLOCK_BYTES;
    // Padding: 0x80, zeros, then the 64-bit big-endian bit length; 1 or 2 blocks.
    const padLen = buffered < 56 ? BLOCK_BYTES : 2 * BLOCK_BYTES;
    const pad = new Uint8Array(padLen);
    pad.set(this.buf.subarray(0, buffered), 0);
    pad[buffered] = 0x80;
    // bit length = len * 8, split without losing precision (len <= 2^53 - 1)
    const bitsHi = Math.floor(this.len / 0x20000000);
    const bitsLo = ((this.len % 0x20000000) * 8) >>> 0;
    const dv = new DataView(pad.buffer);
    dv.setUint32(padLen - 8, bitsHi);
    dv.setUint32(padLen - 4, bitsLo);
    compress(H, this.w, pad, 0, padLen);
    return H;
  }
}
