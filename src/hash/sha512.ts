/**
 * SHA-512 (FIPS 180-4, section 6.4): constants and the compression function.
 *
 * 64-bit words are handled as (hi, lo) pairs of 32-bit integers; there is no
 * BigInt anywhere. Carries out of the low halves are obtained by summing the
 * unsigned low halves as ordinary numbers (exact, well below 2^53) and
 * dividing by 2^32.
 *
 * Buffering, padding and the resumable state live in block-hash.ts.
 */
import type { BlockHashSpec } from "./block-hash";

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

/**
 * Message schedule scratch (high / low halves), shared by all instances:
 * compression is synchronous and never re-entered, and module-level arrays are
 * measurably faster in V8 than ones reached through `this`.
 */
const WH = new Int32Array(80);
const WL = new Int32Array(80);

/**
 * Compress the 128-byte block at byte offset `pos` of `view` into `H`
 * (16 words: hi0, lo0, hi1, lo1, ...).
 *
 * 64-bit sums: the low halves are added as unsigned numbers (exact, < 2^35),
 * the carry is `(sum / 2^32) | 0`, and the high halves are added with `| 0`.
 */
function compressBlock(H: Int32Array, view: DataView, pos: number): void {
  for (let t = 0; t < 16; t++, pos += 8) {
    WH[t] = view.getInt32(pos);
    WL[t] = view.getInt32(pos + 4);
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

  let ah = H[0]! | 0, al = H[1]! | 0;
  let bh = H[2]! | 0, bl = H[3]! | 0;
  let ch = H[4]! | 0, cl = H[5]! | 0;
  let dh = H[6]! | 0, dl = H[7]! | 0;
  let eh = H[8]! | 0, el = H[9]! | 0;
  let fh = H[10]! | 0, fl = H[11]! | 0;
  let gh = H[12]! | 0, gl = H[13]! | 0;
  let hh = H[14]! | 0, hl = H[15]! | 0;
  let s0h = 0, s0l = 0, s1h = 0, s1l = 0, t1h = 0, t1l = 0, lo = 0;

  // 80 rounds, unrolled by 8. Instead of shifting h <- g <- ... <- a every
  // round, the variables' roles rotate: in round t + i the working variable
  // that FIPS 180-4 calls "a" is held i places earlier in a..h (cyclically),
  // and so on for b..h; after 8 rounds every role is back where it started.
  // Each round computes T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t], then
  // d += T1 (the new e) and h = T1 + Sigma0(a) + Maj(a, b, c) (the new a),
  // with Ch = g ^ (e & (f ^ g)) and Maj = (a & b) ^ (c & (a ^ b)).
  for (let t = 0; t < 80; t += 8) {
    // round t + 0: (a..h) = (a, b, c, d, e, f, g, h)
    // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
    s1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
    s1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
    lo = (hl >>> 0) + (s1l >>> 0) + ((gl ^ (el & (fl ^ gl))) >>> 0) + (KL[t + 0]! >>> 0) + (WL[t + 0]! >>> 0);
    t1h = (hh + s1h + (gh ^ (eh & (fh ^ gh))) + KH[t + 0]! + WH[t + 0]! + ((lo / TWO_32) | 0)) | 0;
    t1l = lo | 0;
    // d += T1
    lo = (dl >>> 0) + (t1l >>> 0);
    dh = (dh + t1h + ((lo / TWO_32) | 0)) | 0;
    dl = lo | 0;
    // h = T1 + Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
    s0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
    s0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
    lo = (t1l >>> 0) + (s0l >>> 0) + (((al & bl) ^ (cl & (al ^ bl))) >>> 0);
    hh = (t1h + s0h + ((ah & bh) ^ (ch & (ah ^ bh))) + ((lo / TWO_32) | 0)) | 0;
    hl = lo | 0;
    // round t + 1: (a..h) = (h, a, b, c, d, e, f, g)
    // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
    s1h = ((dh >>> 14) | (dl << 18)) ^ ((dh >>> 18) | (dl << 14)) ^ ((dl >>> 9) | (dh << 23));
    s1l = ((dl >>> 14) | (dh << 18)) ^ ((dl >>> 18) | (dh << 14)) ^ ((dh >>> 9) | (dl << 23));
    lo = (gl >>> 0) + (s1l >>> 0) + ((fl ^ (dl & (el ^ fl))) >>> 0) + (KL[t + 1]! >>> 0) + (WL[t + 1]! >>> 0);
    t1h = (gh + s1h + (fh ^ (dh & (eh ^ fh))) + KH[t + 1]! + WH[t + 1]! + ((lo / TWO_32) | 0)) | 0;
    t1l = lo | 0;
    // d += T1
    lo = (cl >>> 0) + (t1l >>> 0);
    ch = (ch + t1h + ((lo / TWO_32) | 0)) | 0;
    cl = lo | 0;
    // h = T1 + Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
    s0h = ((hh >>> 28) | (hl << 4)) ^ ((hl >>> 2) | (hh << 30)) ^ ((hl >>> 7) | (hh << 25));
    s0l = ((hl >>> 28) | (hh << 4)) ^ ((hh >>> 2) | (hl << 30)) ^ ((hh >>> 7) | (hl << 25));
    lo = (t1l >>> 0) + (s0l >>> 0) + (((hl & al) ^ (bl & (hl ^ al))) >>> 0);
    gh = (t1h + s0h + ((hh & ah) ^ (bh & (hh ^ ah))) + ((lo / TWO_32) | 0)) | 0;
    gl = lo | 0;
    // round t + 2: (a..h) = (g, h, a, b, c, d, e, f)
    // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
    s1h = ((ch >>> 14) | (cl << 18)) ^ ((ch >>> 18) | (cl << 14)) ^ ((cl >>> 9) | (ch << 23));
    s1l = ((cl >>> 14) | (ch << 18)) ^ ((cl >>> 18) | (ch << 14)) ^ ((ch >>> 9) | (cl << 23));
    lo = (fl >>> 0) + (s1l >>> 0) + ((el ^ (cl & (dl ^ el))) >>> 0) + (KL[t + 2]! >>> 0) + (WL[t + 2]! >>> 0);
    t1h = (fh + s1h + (eh ^ (ch & (dh ^ eh))) + KH[t + 2]! + WH[t + 2]! + ((lo / TWO_32) | 0)) | 0;
    t1l = lo | 0;
    // d += T1
    lo = (bl >>> 0) + (t1l >>> 0);
    bh = (bh + t1h + ((lo / TWO_32) | 0)) | 0;
    bl = lo | 0;
    // h = T1 + Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
    s0h = ((gh >>> 28) | (gl << 4)) ^ ((gl >>> 2) | (gh << 30)) ^ ((gl >>> 7) | (gh << 25));
    s0l = ((gl >>> 28) | (gh << 4)) ^ ((gh >>> 2) | (gl << 30)) ^ ((gh >>> 7) | (gl << 25));
    lo = (t1l >>> 0) + (s0l >>> 0) + (((gl & hl) ^ (al & (gl ^ hl))) >>> 0);
    fh = (t1h + s0h + ((gh & hh) ^ (ah & (gh ^ hh))) + ((lo / TWO_32) | 0)) | 0;
    fl = lo | 0;
    // round t + 3: (a..h) = (f, g, h, a, b, c, d, e)
    // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
    s1h = ((bh >>> 14) | (bl << 18)) ^ ((bh >>> 18) | (bl << 14)) ^ ((bl >>> 9) | (bh << 23));
    s1l = ((bl >>> 14) | (bh << 18)) ^ ((bl >>> 18) | (bh << 14)) ^ ((bh >>> 9) | (bl << 23));
    lo = (el >>> 0) + (s1l >>> 0) + ((dl ^ (bl & (cl ^ dl))) >>> 0) + (KL[t + 3]! >>> 0) + (WL[t + 3]! >>> 0);
    t1h = (eh + s1h + (dh ^ (bh & (ch ^ dh))) + KH[t + 3]! + WH[t + 3]! + ((lo / TWO_32) | 0)) | 0;
    t1l = lo | 0;
    // d += T1
    lo = (al >>> 0) + (t1l >>> 0);
    ah = (ah + t1h + ((lo / TWO_32) | 0)) | 0;
    al = lo | 0;
    // h = T1 + Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
    s0h = ((fh >>> 28) | (fl << 4)) ^ ((fl >>> 2) | (fh << 30)) ^ ((fl >>> 7) | (fh << 25));
    s0l = ((fl >>> 28) | (fh << 4)) ^ ((fh >>> 2) | (fl << 30)) ^ ((fh >>> 7) | (fl << 25));
    lo = (t1l >>> 0) + (s0l >>> 0) + (((fl & gl) ^ (hl & (fl ^ gl))) >>> 0);
    eh = (t1h + s0h + ((fh & gh) ^ (hh & (fh ^ gh))) + ((lo / TWO_32) | 0)) | 0;
    el = lo | 0;
    // round t + 4: (a..h) = (e, f, g, h, a, b, c, d)
    // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
    s1h = ((ah >>> 14) | (al << 18)) ^ ((ah >>> 18) | (al << 14)) ^ ((al >>> 9) | (ah << 23));
    s1l = ((al >>> 14) | (ah << 18)) ^ ((al >>> 18) | (ah << 14)) ^ ((ah >>> 9) | (al << 23));
    lo = (dl >>> 0) + (s1l >>> 0) + ((cl ^ (al & (bl ^ cl))) >>> 0) + (KL[t + 4]! >>> 0) + (WL[t + 4]! >>> 0);
    t1h = (dh + s1h + (ch ^ (ah & (bh ^ ch))) + KH[t + 4]! + WH[t + 4]! + ((lo / TWO_32) | 0)) | 0;
    t1l = lo | 0;
    // d += T1
    lo = (hl >>> 0) + (t1l >>> 0);
    hh = (hh + t1h + ((lo / TWO_32) | 0)) | 0;
    hl = lo | 0;
    // h = T1 + Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
    s0h = ((eh >>> 28) | (el << 4)) ^ ((el >>> 2) | (eh << 30)) ^ ((el >>> 7) | (eh << 25));
    s0l = ((el >>> 28) | (eh << 4)) ^ ((eh >>> 2) | (el << 30)) ^ ((eh >>> 7) | (el << 25));
    lo = (t1l >>> 0) + (s0l >>> 0) + (((el & fl) ^ (gl & (el ^ fl))) >>> 0);
    dh = (t1h + s0h + ((eh & fh) ^ (gh & (eh ^ fh))) + ((lo / TWO_32) | 0)) | 0;
    dl = lo | 0;
    // round t + 5: (a..h) = (d, e, f, g, h, a, b, c)
    // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
    s1h = ((hh >>> 14) | (hl << 18)) ^ ((hh >>> 18) | (hl << 14)) ^ ((hl >>> 9) | (hh << 23));
    s1l = ((hl >>> 14) | (hh << 18)) ^ ((hl >>> 18) | (hh << 14)) ^ ((hh >>> 9) | (hl << 23));
    lo = (cl >>> 0) + (s1l >>> 0) + ((bl ^ (hl & (al ^ bl))) >>> 0) + (KL[t + 5]! >>> 0) + (WL[t + 5]! >>> 0);
    t1h = (ch + s1h + (bh ^ (hh & (ah ^ bh))) + KH[t + 5]! + WH[t + 5]! + ((lo / TWO_32) | 0)) | 0;
    t1l = lo | 0;
    // d += T1
    lo = (gl >>> 0) + (t1l >>> 0);
    gh = (gh + t1h + ((lo / TWO_32) | 0)) | 0;
    gl = lo | 0;
    // h = T1 + Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
    s0h = ((dh >>> 28) | (dl << 4)) ^ ((dl >>> 2) | (dh << 30)) ^ ((dl >>> 7) | (dh << 25));
    s0l = ((dl >>> 28) | (dh << 4)) ^ ((dh >>> 2) | (dl << 30)) ^ ((dh >>> 7) | (dl << 25));
    lo = (t1l >>> 0) + (s0l >>> 0) + (((dl & el) ^ (fl & (dl ^ el))) >>> 0);
    ch = (t1h + s0h + ((dh & eh) ^ (fh & (dh ^ eh))) + ((lo / TWO_32) | 0)) | 0;
    cl = lo | 0;
    // round t + 6: (a..h) = (c, d, e, f, g, h, a, b)
    // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
    s1h = ((gh >>> 14) | (gl << 18)) ^ ((gh >>> 18) | (gl << 14)) ^ ((gl >>> 9) | (gh << 23));
    s1l = ((gl >>> 14) | (gh << 18)) ^ ((gl >>> 18) | (gh << 14)) ^ ((gh >>> 9) | (gl << 23));
    lo = (bl >>> 0) + (s1l >>> 0) + ((al ^ (gl & (hl ^ al))) >>> 0) + (KL[t + 6]! >>> 0) + (WL[t + 6]! >>> 0);
    t1h = (bh + s1h + (ah ^ (gh & (hh ^ ah))) + KH[t + 6]! + WH[t + 6]! + ((lo / TWO_32) | 0)) | 0;
    t1l = lo | 0;
    // d += T1
    lo = (fl >>> 0) + (t1l >>> 0);
    fh = (fh + t1h + ((lo / TWO_32) | 0)) | 0;
    fl = lo | 0;
    // h = T1 + Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
    s0h = ((ch >>> 28) | (cl << 4)) ^ ((cl >>> 2) | (ch << 30)) ^ ((cl >>> 7) | (ch << 25));
    s0l = ((cl >>> 28) | (ch << 4)) ^ ((ch >>> 2) | (cl << 30)) ^ ((ch >>> 7) | (cl << 25));
    lo = (t1l >>> 0) + (s0l >>> 0) + (((cl & dl) ^ (el & (cl ^ dl))) >>> 0);
    bh = (t1h + s0h + ((ch & dh) ^ (eh & (ch ^ dh))) + ((lo / TWO_32) | 0)) | 0;
    bl = lo | 0;
    // round t + 7: (a..h) = (b, c, d, e, f, g, h, a)
    // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
    s1h = ((fh >>> 14) | (fl << 18)) ^ ((fh >>> 18) | (fl << 14)) ^ ((fl >>> 9) | (fh << 23));
    s1l = ((fl >>> 14) | (fh << 18)) ^ ((fl >>> 18) | (fh << 14)) ^ ((fh >>> 9) | (fl << 23));
    lo = (al >>> 0) + (s1l >>> 0) + ((hl ^ (fl & (gl ^ hl))) >>> 0) + (KL[t + 7]! >>> 0) + (WL[t + 7]! >>> 0);
    t1h = (ah + s1h + (hh ^ (fh & (gh ^ hh))) + KH[t + 7]! + WH[t + 7]! + ((lo / TWO_32) | 0)) | 0;
    t1l = lo | 0;
    // d += T1
    lo = (el >>> 0) + (t1l >>> 0);
    eh = (eh + t1h + ((lo / TWO_32) | 0)) | 0;
    el = lo | 0;
    // h = T1 + Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
    s0h = ((bh >>> 28) | (bl << 4)) ^ ((bl >>> 2) | (bh << 30)) ^ ((bl >>> 7) | (bh << 25));
    s0l = ((bl >>> 28) | (bh << 4)) ^ ((bh >>> 2) | (bl << 30)) ^ ((bh >>> 7) | (bl << 25));
    lo = (t1l >>> 0) + (s0l >>> 0) + (((bl & cl) ^ (dl & (bl ^ cl))) >>> 0);
    ah = (t1h + s0h + ((bh & ch) ^ (dh & (bh ^ ch))) + ((lo / TWO_32) | 0)) | 0;
    al = lo | 0;
  }


  lo = (H[1]! >>> 0) + (al >>> 0); H[0] = (H[0]! + ah + ((lo / TWO_32) | 0)) | 0; H[1] = lo | 0;
  lo = (H[3]! >>> 0) + (bl >>> 0); H[2] = (H[2]! + bh + ((lo / TWO_32) | 0)) | 0; H[3] = lo | 0;
  lo = (H[5]! >>> 0) + (cl >>> 0); H[4] = (H[4]! + ch + ((lo / TWO_32) | 0)) | 0; H[5] = lo | 0;
  lo = (H[7]! >>> 0) + (dl >>> 0); H[6] = (H[6]! + dh + ((lo / TWO_32) | 0)) | 0; H[7] = lo | 0;
  lo = (H[9]! >>> 0) + (el >>> 0); H[8] = (H[8]! + eh + ((lo / TWO_32) | 0)) | 0; H[9] = lo | 0;
  lo = (H[11]! >>> 0) + (fl >>> 0); H[10] = (H[10]! + fh + ((lo / TWO_32) | 0)) | 0; H[11] = lo | 0;
  lo = (H[13]! >>> 0) + (gl >>> 0); H[12] = (H[12]! + gh + ((lo / TWO_32) | 0)) | 0; H[13] = lo | 0;
  lo = (H[15]! >>> 0) + (hl >>> 0); H[14] = (H[14]! + hh + ((lo / TWO_32) | 0)) | 0; H[15] = lo | 0;
}

export const sha512: BlockHashSpec = {
  algorithm: "sha512",
  tag: 2,
  blockBytes: BLOCK_BYTES,
  lengthFieldBytes: 16,
  iv: IV,
  compress(H, view, pos, end) {
    for (; pos < end; pos += BLOCK_BYTES) compressBlock(H, view, pos);
  },
};
