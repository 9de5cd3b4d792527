// The single interface every byte of registry storage goes through.
// Implementations: R2 on Workers (src/runtimes/workers/r2.ts), the filesystem when self-hosted.

export interface ObjectInfo {
  key: string;
  size: number;
  /** Small string metadata stored with the object (R2: customMetadata, at most 8 KiB). */
  metadata: Record<string, string>;
  /**
   * When the object was last written, in ms since the epoch (R2: `uploaded`; filesystem: the file's
   * mtime). The garbage collector's grace window is measured with it.
   */
  uploaded: number;
}

export interface ObjectBody extends ObjectInfo {
  body: ReadableStream<Uint8Array>;
  /** The byte range returned, when a range was asked for. */
  range?: { offset: number; length: number };
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** True when more keys follow; continue with startAfter = last key. */
  truncated: boolean;
}

/** The bytes of one part: one buffer, or chunks written in order (no copy where the store can avoid it). */
export type PartBytes = Uint8Array | readonly Uint8Array[];

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

export interface ObjectStore {
  head(key: string): Promise<ObjectInfo | null>;
  get(key: string, range?: ByteRange): Promise<ObjectBody | null>;
  put(key: string, body: Uint8Array | string, metadata?: Record<string, string>): Promise<void>;
  delete(keys: string | string[]): Promise<void>;
  /**
   * Keys under prefix in lexical order, after startAfter, at most limit (<= 1000). `metadata`:
   * also each object's metadata (costs more; without it `metadata` is empty).
   */
  list(prefix: string, options?: { startAfter?: string; limit?: number; metadata?: boolean }): Promise<ListPage>;

  // Multipart uploads: every part but the last has the same size.
  createMultipart(key: string): Promise<string>;
  uploadPart(key: string, uploadId: string, partNumber: number, data: PartBytes): Promise<UploadedPart>;
  completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /**
   * The bytes of uploaded parts of an unfinished multipart upload, in order. Optional: R2 cannot
   * read parts before completion. Upload sessions whose hash state cannot be saved need it.
   */
  readParts?(key: string, uploadId: string, parts: UploadedPart[]): ReadableStream<Uint8Array>;
}
