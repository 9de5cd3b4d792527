// What the router asks of one upload session, and what it gets back. Results, not exceptions,
// cross this boundary so that an RPC hop (Durable Object) keeps the error code and the offset.
import type { ErrorCode } from "../oci/errors";
import type { HashAlgorithm } from "../hash/resumable-hash";

export interface UploadStatus {
  /** Bytes received and durably stored so far. */
  offset: number;
}

export interface UploadFailure {
  code: ErrorCode;
  message: string;
  status?: number;
  detail?: unknown;
  /** Present on offset mismatches (416): where the client must resume. */
  offset?: number;
}

export interface AppendOptions {
  /** Store the chunk only once all of it has arrived (set when request bodies are limited). */
  wholeChunk?: boolean;
}

export type SessionResult<T> = { ok: true; value: T } | { ok: false; error: UploadFailure };

export interface UploadSessionApi {
  create(name: string, algorithm: HashAlgorithm): Promise<SessionResult<UploadStatus>>;
  status(name: string): Promise<SessionResult<UploadStatus>>;
  /** Appends a chunk. `start` is the Content-Range start (null: append at the current offset). */
  append(name: string, start: number | null, body: ReadableStream<Uint8Array>, options?: AppendOptions): Promise<SessionResult<UploadStatus>>;
  /** Appends the optional last chunk, verifies the digest and publishes the blob into `name`. */
  finish(name: string, digest: string, start: number | null, body: ReadableStream<Uint8Array> | null, options?: AppendOptions): Promise<SessionResult<{ size: number }>>;
  cancel(name: string): Promise<SessionResult<null>>;
  /** Whether the session exists, whatever repository it belongs to (the garbage collector asks). */
  exists(): Promise<boolean>;
}
