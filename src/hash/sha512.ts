/**
 * Resumable SHA-512 (FIPS 180-4, section 6.4), pure TypeScript.
 *
 * 64-bit words are handled as (hi, lo) pairs of 32-bit integers; there is no
 * BigInt anywhere. Carries out of the low halves are obtained by summing the
 * unsigned low halves as ordinary numbers (exact, well below 2^53) and
 * dividing by 2^32.
 *
 * Serialized state layout (all integers big-endian), see resumable-hash.ts:
 *   [0]       format version (1)
 *   [1]       algorithm tag (SHA512_STATE_TAG)
 *   [2..9]    total bytes hashed so far (uint64, <= 2^53 - 1)
 *   [10..73]  H0..H7 chaining words (8 x uint64, i.e. hi/lo uint32 pairs)
 *   [74..]    buffered partial block, exactly (length % 128) bytes
 */
import type { ResumableHash } from "./resumable-hash.js";

export const SHA512_STATE_TAG = 2;
const STATE_VERSION = 1;
const HEADER_BYTES = 10;
const WORDS_BYTES = 64;
const BLOCK_BYTES = 128;
const TWO_32 = 0x100000000;

/**
 * SHA-512 round constants as (hi, lo) pairs: first 64 bits of the fractional
 * parts of the cube roots of the first 80 primes.
 */
const K_PAIRS = [
  0x428a2f98, 0xd728ae22, 0x71374491, 0x23ef65cd, 0xb5c0fbcf, 0xec4d3b2f, 0xe9b5dba5, 0x8189dbbc,
  0x3956c25b, 0xf348b538, 0x59f111f1, 0xb605d019, 0x923f82a4, 0xaf194f9b, 0xab1c5ed5, 0xda6d8118,
  0xd807aa98, 0xa3030242, 0x12835b01, 0x45706fbe, 0x243185be, 0x4ee4b28c, 0x550c7dc3, 0xd5ffb4e2,
  0x72be5d74, 0xf27b896f, 0x80deb1fe, 0x3b1696b1, 0x9bdc06a7, 0x25c71235, 0xc19bf174, 0xcf692694,
  0xe49b69c1, 0x9ef14ad2, 0xefbe4786, 0x384f25e3, 0x0fc19dc6, 0x8b8cd5b5, 0x240ca1cc, 0x77ac9c65,
  0x2de92c6f, 0x592b0275, 0x4a7484aa, 0x6ea6e483, 0x5cb0a9dc, 0xbd41fbd4, 0x76f988da, 0x831153b5,
  0x983e5152, 0xee66dfab, 0xa831c66d, 0x2db43210, 0xb00327c8, 0x98fb213f, 0xbf597fc7, 0xbeef0ee4,
  0xc6e00bf3, 0x3da88fc2, 0xd5a79147, 0x930aa725, 0x06ca6351, 0xe003826f, 0x14292967, 0x0a0e6e70,
  0x27b70a85, 0x46d22ffc, 0x2e1b2138, 0x5c26c926, 0x4d2c6dfc, 0x5ac42aed, 0x53380d13, 0x9d95b3df,
  0x650a7354, 0x8baf63de, 0x766a0abb, 0x3c77b2a8, 0x81c2c92e, 0x47edaee6, 0x92722c85, 0x1482353b,
  0xa2bfe8a1, 0x4cf10364, 0xa81a664b, 0xbc423001, 0xc24b8b70, 0xd0f89791, 0xc76c51a3, 0x0654be30,
  0xd192e819, 0xd6ef5218, 0xd6990624, 0x5565a910, 0xf40e3585, 0x5771202a, 0x106aa070, 0x32bbd1b8,
  0x19a4c116, 0xb8d2d0c8, 0x1e376c08, 0x5141ab53, 0x2748774c, 0xdf8eeb99, 0x34b0bcb5, 0xe19b48a8,
  0x391c0cb3, 0xc5c95a63, 0x4ed8aa4a, 0xe3418acb, 0x5b9cca4f, 0x7763e373, 0x682e6ff3, 0xd6b2b8a3,
  0x748f82ee, 0x5defb2fc, 0x78a5636f, 0x43172f60, 0x84c87814, 0xa1f0ab72, 0x8cc70208, 0x1a6439ec,
  0x90befffa, 0x23631e28, 0xa4506ceb, 0xde82bde9, 0xbef9a3f7, 0xb2c67915, 0xc67178f2, 0xe372532b,
  0xca273ece, 0xea26619c, 0xd186b8c7, 0x21c0c207, 0xeada7dd6, 0xcde0eb1e, 0xf57d4f7f, 0xee6ed178,
  0x06f067aa, 0x72176fba, 0x0a637dc5, 0xa2c898a6, 0x113f9804, 0xbef90dae, 0x1b710b35, 0x131c471b,
  0x28db77f5, 0x23047d84, 0x32caab7b, 0x40c72493, 0x3c9ebe0a, 0x15c9bebc, 0x431d67c4, 0x9c100d4c,
  0x4cc5d4be, 0xcb3e42b6, 0x597f299c, 0xfc657e2a, 0x5fcb6fab, 0x3ad6faec, 0x6c44198c, 0x4a475817,
];
const KH = new Int32Array(80);
const KL = new Int32Array(80);
for (let i = 0; i < 80; i++) {
  KH[i] = K_PAIRS[2 * i]!;
  KL[i] = K_PAIRS[2 * i + 1]!;
}

/** Initial hash value as (hi, lo) pairs: fractional parts of the square roots of the first 8 primes. */
const IV = new Int32Array([
  0x6a09e667, 0xf3bcc908, 0xbb67ae85, 0x84caa73b, 0x3c6ef372, 0xfe94f82b, 0xa54ff53a, 0x5f1d36f1,
  0x510e527f, 0xade682d1, 0x9b05688c, 0x2b3e6c1f, 0x1f83d9ab, 0xfb41bd6b, 0x5be0cd19, 0x137e2179,
]);

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? "0" : "") + i.toString(16));

/**
 * Compress every complete 128-byte block of `p[pos..end)` into `H`
 * (16 words: hi0, lo0, hi1, lo1, ...). `end - pos` must be a multiple of 128.
 * `WH`/`WL` are 80-word scratch schedules (high and low halves).
 */
function compress(
  H: Int32Array,
  WH: Int32Array,
  WL: Int32Array,
  p: Uint8Array,
  pos: number,
  end: number,
): void {
  let h0h = H[0]! | 0, h0l = H[1]! | 0;
  let h1h = H[2]! | 0, h1l = H[3]! | 0;
  let h2h = H[4]! | 0, h2l = H[5]! | 0;
  let h3h = H[6]! | 0, h3l = H[7]! | 0;
  let h4h = H[8]! | 0, h4l = H[9]! | 0;
  let h5h = H[10]! | 0, h5l = H[11]! | 0;
  let h6h = H[12]! | 0, h6l = H[13]! | 0;
  let h7h = H[14]! | 0, h7l = H[15]! | 0;

  while (pos < end) {
    for (let t = 0; t < 16; t++, pos += 8) {
      WH[t] = (p[pos]! << 24) | (p[pos + 1]! << 16) | (p[pos + 2]! << 8) | p[pos + 3]!;
      WL[t] = (p[pos + 4]! << 24) | (p[pos + 5]! << 16) | (p[pos + 6]! << 8) | p[pos + 7]!;
    }
    for (let t = 16; t < 80; t++) {
      // sigma0(x) = ROTR1 ^ ROTR8 ^ SHR7 of W[t-15]
      const xh = WH[t - 15]! | 0;
      const xl = WL[t - 15]! | 0;
      const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
      const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
      // sigma1(y) = ROTR19 ^ ROTR61 ^ SHR6 of W[t-2]
      const yh = WH[t - 2]! | 0;
      const yl = WL[t - 2]! | 0;
      const s1h = ((yh >>> 19) | (yl << 13)) ^ ((yl >>> 29) | (yh << 3)) ^ (yh >>> 6);
      const s1l = ((yl >>> 19) | (yh << 13)) ^ ((yh >>> 29) | (yl << 3)) ^ ((yl >>> 6) | (yh << 26));
      // W[t] = sigma1 + W[t-7] + sigma0 + W[t-16]
      const lo = (s1l >>> 0) + (WL[t - 7]! >>> 0) + (s0l >>> 0) + (WL[t - 16]! >>> 0);
      WH[t] = (s1h + WH[t - 7]! + s0h + WH[t - 16]! + ((lo / TWO_32) | 0)) | 0;
      WL[t] = lo | 0;
    }

    let ah = h0h, al = h0l;
    let bh = h1h, bl = h1l;
    let ch = h2h, cl = h2l;
    let dh = h3h, dl = h3l;
    let eh = h4h, el = h4l;
    let fh = h5h, fl = h5l;
    let gh = h6h, gl = h6l;
    let hh = h7h, hl = h7l;

    for (let t = 0; t < 80; t++) {
      // Sigma1(e) = ROTR14 ^ ROTR18 ^ ROTR41
      const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
      const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
      // Ch(e, f, g)
      const chh = gh ^ (eh & (fh ^ gh));
      const chl = gl ^ (el & (fl ^ gl));
      // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]
      const t1lo = (hl >>> 0) + (S1l >>> 0) + (chl >>> 0) + (KL[t]! >>> 0) + (WL[t]! >>> 0);
      const t1l = t1lo | 0;
      const t1h = (hh + S1h + chh + KH[t]! + WH[t]! + ((t1lo / TWO_32) | 0)) | 0;
      // Sigma0(a) = ROTR28 ^ ROTR34 ^ ROTR39
      const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
      const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
      // Maj(a, b, c)
      const majh = (ah & bh) ^ (ch & (ah ^ bh));
      const majl = (al & bl) ^ (cl & (al ^ bl));
      // T2 = Sigma0(a) + Maj(a, b, c)
      const t2lo = (S0l >>> 0) + (majl >>> 0);
      const t2l = t2lo | 0;
      const t2h = (S0h + majh + ((t2lo / TWO_32) | 0)) | 0;

      hh = gh; hl = gl;
      gh = fh; gl = fl;
      fh = eh; fl = el;
      // e = d + T1
      const elo = (dl >>> 0) + (t1l >>> 0);
      eh = (dh + t1h + ((elo / TWO_32) | 0)) | 0;
      el = elo | 0;
      dh = ch; dl = cl;
      ch = bh; cl = bl;
      bh = ah; bl = al;
      // a = T1 + T2
      const alo = (t1l >>> 0) + (t2l >>> 0);
      ah = (t1h + t2h + ((alo / TWO_32) | 0)) | 0;
      al = alo | 0;
    }

    let s: number;
    s = (h0l >>> 0) + (al >>> 0); h0h = (h0h + ah + ((s / TWO_32) | 0)) | 0; h0l = s | 0;
    s = (h1l >>> 0) + (bl >>> 0); h1h = (h1h + bh + ((s / TWO_32) | 0)) | 0; h1l = s | 0;
    s = (h2l >>> 0) + (cl >>> 0); h2h = (h2h + ch + ((s / TWO_32) | 0)) | 0; h2l = s | 0;
    s = (h3l >>> 0) + (dl >>> 0); h3h = (h3h + dh + ((s / TWO_32) | 0)) | 0; h3l = s | 0;
    s = (h4l >>> 0) + (el >>> 0); h4h = (h4h + eh + ((s / TWO_32) | 0)) | 0; h4l = s | 0;
    s = (h5l >>> 0) + (fl >>> 0); h5h = (h5h + fh + ((s / TWO_32) | 0)) | 0; h5l = s | 0;
    s = (h6l >>> 0) + (gl >>> 0); h6h = (h6h + gh + ((s / TWO_32) | 0)) | 0; h6l = s | 0;
    s = (h7l >>> 0) + (hl >>> 0); h7h = (h7h + hh + ((s / TWO_32) | 0)) | 0; h7l = s | 0;
  }

  H[0] = h0h; H[1] = h0l;
  H[2] = h1h; H[3] = h1l;
  H[4] = h2h; H[5] = h2l;
  H[6] = h3h; H[7] = h3l;
  H[8] = h4h; H[9] = h4l;
  H[10] = h5h; H[11] = h5l;
  H[12] = h6h; H[13] = h6l;
  H[14] = h7h; H[15] = h7l;
}

export class Sha512 implements ResumableHash {
  readonly algorithm = "sha512" as const;

  /** Chaining words H0..H7 as hi/lo pairs. */
  private readonly h = new Int32Array(16);
  /** Message schedule scratch (high / low halves), reused for every block. */
  private readonly wh = new Int32Array(80);
  private readonly wl = new Int32Array(80);
  /** Partial block; only the first `length % 128` bytes are meaningful. */
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
      throw new RangeError("sha512: total input length exceeds 2^53 - 1 bytes");
    }
    const buffered = this.len % BLOCK_BYTES;
    this.len += n;

    let pos = 0;
    if (buffered > 0) {
      const take = Math.min(BLOCK_BYTES - buffered, n);
      this.buf.set(take === n ? data : data.subarray(0, take), buffered);
      if (buffered + take < BLOCK_BYTES) return;
      compress(this.h, this.wh, this.wl, this.buf, 0, BLOCK_BYTES);
      pos = take;
    }

    const rest = (n - pos) % BLOCK_BYTES;
    const end = n - rest;
    if (end > pos) compress(this.h, this.wh, this.wl, data, pos, end);
    if (rest > 0) this.buf.set(data.subarray(end), 0);
  }

  digest(): Uint8Array {
    const H = this.finalWords();
    const out = new Uint8Array(64);
    for (let i = 0; i < 16; i++) {
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
    for (let i = 0; i < 16; i++) {
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
    out[1] = SHA512_STATE_TAG;
    dv.setUint32(2, Math.floor(this.len / TWO_32));
    dv.setUint32(6, this.len >>> 0);
    for (let i = 0; i < 16; i++) dv.setInt32(HEADER_BYTES + i * 4, this.h[i]!);
    out.set(this.buf.subarray(0, buffered), HEADER_BYTES + WORDS_BYTES);
    return out;
  }

  /** Rebuild a hash from `exportState()` output. Throws Error on anything malformed. */
  static fromState(state: Uint8Array): Sha512 {
    if (!(state instanceof Uint8Array)) throw new Error("sha512 state: expected a Uint8Array");
    if (state.length < HEADER_BYTES + WORDS_BYTES) throw new Error("sha512 state: truncated");
    if (state[0] !== STATE_VERSION) throw new Error(`sha512 state: unsupported format version ${state[0]}`);
    if (state[1] !== SHA512_STATE_TAG) throw new Error(`sha512 state: wrong algorithm tag ${state[1]}`);
    const dv = new DataView(state.buffer, state.byteOffset, state.byteLength);
    const hi = dv.getUint32(2);
    const lo = dv.getUint32(6);
    if (hi > 0x1fffff) throw new Error("sha512 state: length out of range");
    const len = hi * TWO_32 + lo;
    const buffered = len % BLOCK_BYTES;
    if (state.length !== HEADER_BYTES + WORDS_BYTES + buffered) {
      throw new Error("sha512 state: size does not match the recorded length");
    }
    const s = new Sha512();
    for (let i = 0; i < 16; i++) s.h[i] = dv.getInt32(HEADER_BYTES + i * 4);
    s.buf.set(state.subarray(HEADER_BYTES + WORDS_BYTES), 0);
    s.len = len;
    return s;
  }

  /** Chaining words after padding, computed on copies so the live state is untouched. */
  private finalWords(): Int32Array {
    const H = this.h.slice();
    const buffered = this.len % BLOCK_BYTES;
    // Padding: 0x80, zeros, then the 128-bit big-endian bit length; 1 or 2 blocks.
    const padLen = buffered < 112 ? BLOCK_BYTES : 2 * BLOCK_BYTES;
    const pad = new Uint8Array(padLen);
    pad.set(this.buf.subarray(0, buffered), 0);
    pad[buffered] = 0x80;
    // bit length = len * 8 < 2^56, so only the low 64 of the 128 length bits are non-zero
    const bitsHi = Math.floor(this.len / 0x20000000);
    const bitsLo = ((this.len % 0x20000000) * 8) >>> 0;
    const dv = new DataView(pad.buffer);
    dv.setUint32(padLen - 8, bitsHi);
    dv.setUint32(padLen - 4, bitsLo);
    compress(H, this.wh, this.wl, pad, 0, padLen);
    return H;
  }
}
