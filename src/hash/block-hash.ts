/**
 * The Merkle–Damgård frame shared by SHA-256 and SHA-512: buffering of the partial block,
 * padding, digest output, and export/restore of the state (format in resumable-hash.ts).
 * Each algorithm supplies only its constants and its compression function.
 */
import type { HashAlgorithm, ResumableHash } from "./resumable-hash";

export interface BlockHashSpec {
  algorithm: HashAlgorithm;
  /** Algorithm tag in the exported state. */
  tag: number;
  /** 64 (SHA-256) or 128 (SHA-512). */
  blockBytes: number;
  /** Size of the bit-length field that ends the padding: 8 or 16. */
  lengthFieldBytes: number;
  /** Initial chaining value as big-endian 32-bit words (8 or 16 of them). */
  iv: Int32Array;
  /**
   * Compresses the whole blocks in bytes [pos, end) of `view` into `H`. It takes a run of blocks,
   * not one, so the per-block call stays inside the algorithm's module where V8 can inline it.
   */
  compress(H: Int32Array, view: DataView, pos: number, end: number): void;
}

export const STATE_VERSION = 1;
const HEADER_BYTES = 10;
const TWO_32 = 0x100000000;

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? "0" : "") + i.toString(16));

export class BlockHash implements ResumableHash {
  readonly algorithm: HashAlgorithm;
  /** Chaining words, big-endian 32-bit halves. */
  private readonly h: Int32Array;
  /** Partial block; only the first `length % blockBytes` bytes are meaningful. */
  private readonly buf: Uint8Array;
  private readonly bufView: DataView;
  private len = 0;

  constructor(private readonly spec: BlockHashSpec) {
    this.algorithm = spec.algorithm;
    this.h = spec.iv.slice();
    this.buf = new Uint8Array(spec.blockBytes);
    this.bufView = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  update(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    if (this.len + n > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`${this.algorithm}: total input length exceeds 2^53 - 1 bytes`);
    }
    const { blockBytes, compress } = this.spec;
    const buffered = this.len % blockBytes;
    this.len += n;

    let pos = 0;
    if (buffered > 0) {
      const take = Math.min(blockBytes - buffered, n);
      this.buf.set(take === n ? data : data.subarray(0, take), buffered);
      if (buffered + take < blockBytes) return;
      compress(this.h, this.bufView, 0, blockBytes);
      pos = take;
    }

    // Whole blocks straight from the input, without copying.
    const rest = (n - pos) % blockBytes;
    const end = n - rest;
    if (end > pos) {
      compress(this.h, new DataView(data.buffer, data.byteOffset, data.byteLength), pos, end);
    }
    if (rest > 0) this.buf.set(data.subarray(end), 0);
  }

  digest(): Uint8Array {
    const H = this.finalWords();
    const out = new Uint8Array(H.length * 4);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < H.length; i++) dv.setInt32(i * 4, H[i]!);
    return out;
  }

  digestHex(): string {
    const H = this.finalWords();
    let s = "";
    for (let i = 0; i < H.length; i++) {
      const v = H[i]!;
      s += HEX[v >>> 24]! + HEX[(v >>> 16) & 0xff]! + HEX[(v >>> 8) & 0xff]! + HEX[v & 0xff]!;
    }
    return s;
  }

  exportState(): Uint8Array {
    const buffered = this.len % this.spec.blockBytes;
    const wordsBytes = this.h.length * 4;
    const out = new Uint8Array(HEADER_BYTES + wordsBytes + buffered);
    const dv = new DataView(out.buffer);
    out[0] = STATE_VERSION;
    out[1] = this.spec.tag;
    dv.setUint32(2, Math.floor(this.len / TWO_32));
    dv.setUint32(6, this.len >>> 0);
    for (let i = 0; i < this.h.length; i++) dv.setInt32(HEADER_BYTES + i * 4, this.h[i]!);
    out.set(this.buf.subarray(0, buffered), HEADER_BYTES + wordsBytes);
    return out;
  }

  /** Rebuilds a hash from `exportState()` output. Throws Error on anything malformed. */
  static fromState(spec: BlockHashSpec, state: Uint8Array): BlockHash {
    const name = `${spec.algorithm} state`;
    const wordsBytes = spec.iv.length * 4;
    if (!(state instanceof Uint8Array)) throw new Error(`${name}: expected a Uint8Array`);
    if (state.length < HEADER_BYTES + wordsBytes) throw new Error(`${name}: truncated`);
    if (state[0] !== STATE_VERSION) throw new Error(`${name}: unsupported format version ${state[0]}`);
    if (state[1] !== spec.tag) throw new Error(`${name}: wrong algorithm tag ${state[1]}`);
    const dv = new DataView(state.buffer, state.byteOffset, state.byteLength);
    const hi = dv.getUint32(2);
    const lo = dv.getUint32(6);
    if (hi > 0x1fffff) throw new Error(`${name}: length out of range`);
    const len = hi * TWO_32 + lo;
    if (state.length !== HEADER_BYTES + wordsBytes + (len % spec.blockBytes)) {
      throw new Error(`${name}: size does not match the recorded length`);
    }
    const hash = new BlockHash(spec);
    for (let i = 0; i < hash.h.length; i++) hash.h[i] = dv.getInt32(HEADER_BYTES + i * 4);
    hash.buf.set(state.subarray(HEADER_BYTES + wordsBytes), 0);
    hash.len = len;
    return hash;
  }

  /** Chaining words after padding, computed on copies so the live state is untouched. */
  private finalWords(): Int32Array {
    const { blockBytes, lengthFieldBytes, compress } = this.spec;
    const H = this.h.slice();
    const buffered = this.len % blockBytes;
    // Padding: 0x80, zeros, then the big-endian bit length; one or two blocks.
    const padLen = buffered < blockBytes - lengthFieldBytes ? blockBytes : 2 * blockBytes;
    const pad = new Uint8Array(padLen);
    pad.set(this.buf.subarray(0, buffered), 0);
    pad[buffered] = 0x80;
    // bit length = len * 8 < 2^56: only the low 64 bits of the field are non-zero.
    const dv = new DataView(pad.buffer);
    dv.setUint32(padLen - 8, Math.floor(this.len / 0x20000000));
    dv.setUint32(padLen - 4, ((this.len % 0x20000000) * 8) >>> 0);
    compress(H, dv, 0, padLen);
    return H;
  }
}
