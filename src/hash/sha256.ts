/**
 * SHA-256 (FIPS 180-4, section 6.2): constants and the compression function.
 * Buffering, padding and the resumable state live in block-hash.ts.
 */
import type { BlockHashSpec } from "./block-hash";
import { compressWasm } from "./sha256-wasm";

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

/**
 * Message schedule scratch, shared by all instances: compression is synchronous
 * and never re-entered, and a module-level array is measurably faster in V8
 * than one reached through `this`.
 */
const W = new Int32Array(64);

/**
 * Compress the 64-byte block at byte offset `pos` of `view` into `H`.
 * (Called once per block: V8 optimizes this small function better than one
 * big loop over many blocks.)
 */
function compressBlock(H: Int32Array, view: DataView, pos: number): void {
  // Message schedule: 16 big-endian words straight from the input, then expand.
  for (let t = 0; t < 16; t++, pos += 4) W[t] = view.getInt32(pos);
  for (let t = 16; t < 64; t++) {
    const x = W[t - 15]! | 0;
    const y = W[t - 2]! | 0;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[t] = (s1 + W[t - 7]! + s0 + W[t - 16]!) | 0;
  }

  let a = H[0]! | 0;
  let b = H[1]! | 0;
  let c = H[2]! | 0;
  let d = H[3]! | 0;
  let e = H[4]! | 0;
  let f = H[5]! | 0;
  let g = H[6]! | 0;
  let h = H[7]! | 0;
  let T1 = 0;
  // 64 rounds, unrolled by 8. Instead of shifting h <- g <- ... <- a every
  // round, the variables' roles rotate: in round t + i the working variable
  // that FIPS 180-4 calls "a" is held i places earlier in a..h (cyclically),
  // and so on for b..h; after 8 rounds every role is back where it started.
  // Each round computes
  //   T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]
  //   d  = d + T1                                   (the new e)
  //   h  = T1 + Sigma0(a) + Maj(a, b, c)            (the new a)
  // with Sigma1(e) = ROTR6 ^ ROTR11 ^ ROTR25, Sigma0(a) = ROTR2 ^ ROTR13 ^ ROTR22,
  // Ch = g ^ (e & (f ^ g)), Maj = (a & b) ^ (c & (a ^ b)).
  for (let t = 0; t < 64; t += 8) {
    // round t + 0: (a..h) = (a, b, c, d, e, f, g, h)
    T1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[t + 0]! + W[t + 0]!) | 0;
    d = (d + T1) | 0;
    h = (T1 + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (c & (a ^ b)))) | 0;
    // round t + 1: (a..h) = (h, a, b, c, d, e, f, g)
    T1 = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + (f ^ (d & (e ^ f))) + K[t + 1]! + W[t + 1]!) | 0;
    c = (c + T1) | 0;
    g = (T1 + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) ^ (b & (h ^ a)))) | 0;
    // round t + 2: (a..h) = (g, h, a, b, c, d, e, f)
    T1 = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + (e ^ (c & (d ^ e))) + K[t + 2]! + W[t + 2]!) | 0;
    b = (b + T1) | 0;
    f = (T1 + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) ^ (a & (g ^ h)))) | 0;
    // round t + 3: (a..h) = (f, g, h, a, b, c, d, e)
    T1 = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + (d ^ (b & (c ^ d))) + K[t + 3]! + W[t + 3]!) | 0;
    a = (a + T1) | 0;
    e = (T1 + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) ^ (h & (f ^ g)))) | 0;
    // round t + 4: (a..h) = (e, f, g, h, a, b, c, d)
    T1 = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + (c ^ (a & (b ^ c))) + K[t + 4]! + W[t + 4]!) | 0;
    h = (h + T1) | 0;
    d = (T1 + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) ^ (g & (e ^ f)))) | 0;
    // round t + 5: (a..h) = (d, e, f, g, h, a, b, c)
    T1 = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + (b ^ (h & (a ^ b))) + K[t + 5]! + W[t + 5]!) | 0;
    g = (g + T1) | 0;
    c = (T1 + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) ^ (f & (d ^ e)))) | 0;
    // round t + 6: (a..h) = (c, d, e, f, g, h, a, b)
    T1 = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + (a ^ (g & (h ^ a))) + K[t + 6]! + W[t + 6]!) | 0;
    f = (f + T1) | 0;
    b = (T1 + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) ^ (e & (c ^ d)))) | 0;
    // round t + 7: (a..h) = (b, c, d, e, f, g, h, a)
    T1 = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + (h ^ (f & (g ^ h))) + K[t + 7]! + W[t + 7]!) | 0;
    e = (e + T1) | 0;
    a = (T1 + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) ^ (d & (b ^ c)))) | 0;
  }

  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

export const sha256: BlockHashSpec = {
  algorithm: "sha256",
  tag: 1,
  blockBytes: BLOCK_BYTES,
  lengthFieldBytes: 8,
  iv: IV,
  compress(H, view, pos, end) {
    if (compressWasm(H, view, pos, end)) return;
    for (; pos < end; pos += BLOCK_BYTES) compressBlock(H, view, pos);
  },
};
