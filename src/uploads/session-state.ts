// Durable state of one upload session, and the small key-value interface it is kept in
// (a Durable Object's storage here; any transactional store in other runtimes).
import type { HashAlgorithm } from "../hash/resumable-hash";
import type { UploadedPart } from "../storage/object-store";

export interface SessionState {
  name: string;
  algorithm: HashAlgorithm;
  /** Bytes accepted so far = bytes in uploaded parts + bytes in the tail. */
  offset: number;
  /** Saved running hash of bytes [0, offset); null when the hash engine cannot save its state. */
  hash: Uint8Array | null;
  partSize: number;
  /** Object key of the multipart upload, once the first full part exists. */
  dataKey: string;
  multipartId?: string;
  parts: UploadedPart[];
  /** Bytes after the last full part, kept as segments `tail:<i>` until a part fills up. */
  tailSegments: number;
  tailLength: number;
  expiresAt: number;
}

export interface SessionStorage {
  get<T>(key: string): Promise<T | undefined>;
  getMany<T>(keys: string[]): Promise<Map<string, T>>;
  /** Writes all entries and deletes all keys atomically. */
  commit(entries: Record<string, unknown>, deletes?: string[]): Promise<void>;
  deleteAll(): Promise<void>;
  setAlarm(at: number): Promise<void>;
}

export const STATE_KEY = "session";
export const tailKey = (i: number) => `tail:${i}`;
/** Tail segment size: below the Durable Object 2 MB value limit. */
export const TAIL_SEGMENT = 1 << 20;
