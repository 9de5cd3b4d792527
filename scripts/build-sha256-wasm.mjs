#!/usr/bin/env node
// Generates src/hash/sha256.wasm: the SHA-256 compression function (FIPS 180-4, 6.2) as a
// WebAssembly module, emitted instruction by instruction (no toolchain needed).
//   node scripts/build-sha256-wasm.mjs           writes the file
//   node scripts/build-sha256-wasm.mjs --check   exits 1 if the committed file differs
//
// Why WebAssembly: it has a native 32-bit rotate (JavaScript needs two shifts and an or) and
// keeps the working variables in registers; the TypeScript version runs ~150 MB/s, this ~210 MB/s
// (scripts/bench-hash.mjs --workerd).
// Why generated: the 64 rounds are unrolled with the roles of a..h rotating between locals
// instead of moving values, which is tedious to write by hand and easy to write as a loop here.
//
// Module interface (used by src/hash/sha256-wasm.ts):
//   memory  exported, 2 pages; bytes 0..31 hold the chaining value H0..H7 (little-endian i32)
//   blocks(ptr, n)  compresses the n 64-byte blocks at ptr into H
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(root, "src", "hash", "sha256.wasm");

// The round constants by their definition (first 32 bits of the fractional parts of the cube roots
// of the first 64 primes), not a second copy of the table in src/hash/sha256.ts; --check and the
// hash tests would catch any difference.
const K = firstPrimes(64).map((p) => Math.floor((Math.cbrt(p) % 1) * 2 ** 32) | 0);

function firstPrimes(n) {
  const primes = [];
  for (let c = 2; primes.length < n; c++) if (primes.every((p) => c % p !== 0)) primes.push(c);
  return primes;
}

// --- binary encoding ------------------------------------------------------------------------
const uleb = (n) => {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n) => {
  n |= 0;
  const out = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
};
const str = (s) => [...uleb(s.length), ...Buffer.from(s, "utf8")];
const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];
const vec = (items) => [...uleb(items.length), ...items.flat()];

const I32 = 0x7f;
const op = {
  block: [0x02, 0x40], loop: [0x03, 0x40], end: [0x0b], brIf: 0x0d,
  get: 0x20, set: 0x21, tee: 0x22, load: 0x28, store: 0x36, const: 0x41,
  eqz: 0x45, add: 0x6a, sub: 0x6b, and: 0x71, or: 0x72, xor: 0x73, shrU: 0x76, rotl: 0x77, rotr: 0x78,
};

// --- the function body ----------------------------------------------------------------------
const PTR = 0, N = 1; // parameters
let nextLocal = 2;
const local = () => nextLocal++;
const H = Array.from({ length: 8 }, local); // chaining value, kept in locals across blocks
const V = Array.from({ length: 8 }, local); // working variables a..h
const W = Array.from({ length: 16 }, local); // message schedule, a rolling window of 16
const T1 = local(), T2 = local(), TMP = local(), AB = [local(), local()];

const code = [];
const emit = (...bytes) => code.push(...bytes.flat());
const get = (l) => emit(op.get, uleb(l));
const set = (l) => emit(op.set, uleb(l));
const tee = (l) => emit(op.tee, uleb(l));
const i32 = (n) => emit(op.const, sleb(n));
const rotr = (l, n) => { get(l); i32(n); emit(op.rotr); };
/** rotr(x, a) ^ rotr(x, b) ^ rotr(x, c), or with `shift` the last term is x >>> c. */
const sigma = (x, a, b, c, shift = false) => {
  rotr(x, a);
  rotr(x, b);
  emit(op.xor);
  get(x); i32(c); emit(shift ? op.shrU : op.rotr);
  emit(op.xor);
};

// Load H from memory into locals.
for (let i = 0; i < 8; i++) { i32(0); emit(op.load, 2, uleb(i * 4)); set(H[i]); }
emit(op.block);
get(N); emit(op.eqz, op.brIf, 0);
emit(op.loop);
for (let i = 0; i < 8; i++) { get(H[i]); set(V[i]); }
let v = [...V]; // v[0] holds the role "a" this round, v[1] "b", ...
for (let t = 0; t < 64; t++) {
  const w = W[t % 16];
  if (t < 16) {
    // Big-endian word from the input: byte-swap the little-endian load with two rotates.
    get(PTR); emit(op.load, 2, uleb(t * 4)); tee(TMP);
    i32(8); emit(op.rotl); i32(0x00ff00ff); emit(op.and);
    get(TMP); i32(8); emit(op.rotr); i32(0xff00ff00); emit(op.and);
    emit(op.or); set(w);
  } else {
    // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]
    sigma(W[(t - 2) % 16], 17, 19, 10, true);
    get(W[(t - 7) % 16]); emit(op.add);
    sigma(W[(t - 15) % 16], 7, 18, 3, true); emit(op.add);
    get(w); emit(op.add);
    set(w);
  }
  const [a, b, c, d, e, f, g, h] = v;
  // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Ch = g ^ (e & (f ^ g))
  get(h);
  sigma(e, 6, 11, 25); emit(op.add);
  get(g); get(e); get(f); get(g); emit(op.xor, op.and, op.xor, op.add);
  i32(K[t]); emit(op.add);
  get(w); emit(op.add);
  set(T1);
  // T2 = Sigma0(a) + Maj(a, b, c), with Maj = ((a ^ b) & (b ^ c)) ^ b: this round's b ^ c is the
  // previous round's a ^ b, kept in a local, which saves two operations a round.
  sigma(a, 2, 13, 22);
  const ab = AB[t % 2], bc = AB[(t + 1) % 2];
  if (t === 0) { get(b); get(c); emit(op.xor); set(bc); }
  get(a); get(b); emit(op.xor); tee(ab); get(bc); emit(op.and); get(b); emit(op.xor, op.add);
  set(T2);
  // The new e goes where d was, the new a where h was; then the roles shift by one.
  get(d); get(T1); emit(op.add); set(d);
  get(T1); get(T2); emit(op.add); set(h);
  v = [h, a, b, c, d, e, f, g];
}
// After 64 rounds (a multiple of 8) every role is back in its own local.
for (let i = 0; i < 8; i++) { get(H[i]); get(V[i]); emit(op.add); set(H[i]); }
get(PTR); i32(64); emit(op.add); set(PTR);
get(N); i32(1); emit(op.sub); tee(N);
emit(op.brIf, 0); // next block
emit(op.end, op.end);
for (let i = 0; i < 8; i++) { i32(0); get(H[i]); emit(op.store, 2, uleb(i * 4)); }
emit(op.end);

const locals = vec([[...uleb(nextLocal - 2), I32]]);
const body = [...locals, ...code];

const module = Buffer.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vec([[0x60, 2, I32, I32, 0]])), // type: (i32, i32) -> ()
  ...section(3, vec([[0]])), // function 0 has type 0
  ...section(5, vec([[0x00, 2]])), // memory: 2 pages, no maximum
  ...section(7, vec([[...str("memory"), 0x02, 0], [...str("blocks"), 0x00, 0]])),
  ...section(10, vec([[...uleb(body.length), ...body]])),
]);

if (process.argv.includes("--check")) {
  const same = Buffer.compare(readFileSync(OUT), module) === 0;
  console.log(same ? `${path.relative(root, OUT)} is up to date` : `${path.relative(root, OUT)} differs from the generator: run node scripts/build-sha256-wasm.mjs`);
  process.exit(same ? 0 : 1);
}
writeFileSync(OUT, module);
console.log(`wrote ${path.relative(root, OUT)} (${module.length} bytes)`);
