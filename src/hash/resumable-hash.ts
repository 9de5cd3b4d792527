/**
 * Resumable SHA-256 / SHA-512 for chunked blob uploads.
 *
 * WebCrypto's `crypto.subtle.digest` is one-shot, and workerd cannot compile
 * WebAssembly at runtime, so uploads that span many requests are hashed with
 * this pure-TypeScript implementation whose state can be persisted between
 * chunks (`exportState()`) and picked up again later (`restoreHash()`).
 *
 * Exported state format (version 1), all integers big-endian:
 *
 *   offset  size        field
 *   0       1           format version = 1
 *   1       1           algorithm tag: 1 = sha256, 2 = sha512
 *   2       8           total bytes hashed so far (uint64, at most 2^53 - 1)
 *   10      32 | 64     chaining words H0..H7 (sha256: 8 x uint32; sha512: 8 x uint64)
 *   42 | 74 len % B     buffered partial block (B = 64 for sha256, 128 for sha512)
 *
 * The size of the buffered tail is implied by the length, so the total size
 * is checked exactly on restore.
 */
import { BlockHash, STATE_VERSION, type BlockHashSpec } from "./block-hash";
import { sha256 } from "./sha256";
import { sha512 } from "./sha512";

export type HashAlgorithm = "sha256" | "sha512";

export interface ResumableHash {
  readonly algorithm: HashAlgorithm;
  /** Total bytes hashed so far. */
  readonly length: number;
  /** Feed more data; any size, including empty. */
  update(data: Uint8Array): void;
  /** Lowercase hex digest of everything fed so far. Does not change the state. */
  digestHex(): string;
  /** Compact, versioned binary snapshot of the state; see the format above. */
  exportState(): Uint8Array;
}

const specs: Record<HashAlgorithm, BlockHashSpec> = { sha256, sha512 };

export function createHash(algorithm: HashAlgorithm): ResumableHash {
  const spec = specs[algorithm];
  if (!spec) throw new Error(`unsupported hash algorithm: ${String(algorithm)}`);
  return new BlockHash(spec);
}

/** Rebuild a hash from `exportState()` output. Throws Error on malformed state. */
export function restoreHash(state: Uint8Array): ResumableHash {
  if (!(state instanceof Uint8Array)) throw new Error("hash state: expected a Uint8Array");
  if (state.length < 2) throw new Error("hash state: truncated");
  if (state[0] !== STATE_VERSION) throw new Error(`hash state: unsupported format version ${state[0]}`);
  const spec = Object.values(specs).find((s) => s.tag === state[1]);
  if (!spec) throw new Error(`hash state: unknown algorithm tag ${state[1]}`);
  return BlockHash.fromState(spec, state);
}

/**
 * How an upload session hashes. The portable engine (below) saves its state after every chunk, so
 * any process can resume it. A native engine (node:crypto on Bun, Deno and Node) is several times
 * faster but cannot save its state: `save` answers null, and a session restarted without its live
 * hash re-reads the bytes it has stored once (as the reference registry does).
 */
export interface HashEngine {
  create(algorithm: HashAlgorithm): RunningHash;
  /** Rebuilds a hash saved by `save`. */
  restore(state: Uint8Array): RunningHash;
}

export interface RunningHash {
  readonly algorithm: HashAlgorithm;
  readonly length: number;
  update(data: Uint8Array): void;
  digestHex(): string;
  /** An independent copy at this point. */
  fork(): RunningHash;
  /** State that `restore` can rebuild, or null when this engine cannot save it. */
  save(): Uint8Array | null;
}

class PortableHash implements RunningHash {
  constructor(private readonly inner: ResumableHash) {}
  get algorithm(): HashAlgorithm {
    return this.inner.algorithm;
  }
  get length(): number {
    return this.inner.length;
  }
  update(data: Uint8Array): void {
    this.inner.update(data);
  }
  digestHex(): string {
    return this.inner.digestHex();
  }
  fork(): RunningHash {
    return new PortableHash(restoreHash(this.inner.exportState()));
  }
  save(): Uint8Array {
    return this.inner.exportState();
  }
}

/** The TypeScript / WebAssembly hashers of this folder: state saved after every chunk (Workers). */
export const portableHashes: HashEngine = {
  create: (algorithm) => new PortableHash(createHash(algorithm)),
  restore: (state) => new PortableHash(restoreHash(state)),
};
