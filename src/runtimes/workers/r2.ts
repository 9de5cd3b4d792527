// ObjectStore on a Cloudflare R2 bucket binding.
import { concatBytes } from "../../bytes";
import { keys } from "../../storage/layout";
import type { ByteRange, ListPage, ObjectBody, ObjectInfo, ObjectStore, PartBytes, UploadedPart } from "../../storage/object-store";

export interface R2StoreOptions {
  /**
   * Read multipart-assembled blobs (blob-data/) in ranged GETs of this many bytes, each asked for
   * only when the client has taken the previous one; 0 reads with one GET. For miniflare's local
   * R2, which does not hold back a GET body for a slow reader: one GET of a 1 GiB blob can sit
   * whole in workerd's memory while the client downloads it (see BENCHMARKS.md).
   */
  readPieceBytes?: number;
}

const BLOB_DATA = keys.blobData("");

function info(object: R2Object): ObjectInfo {
  return { key: object.key, size: object.size, metadata: object.customMetadata ?? {}, uploaded: object.uploaded.getTime() };
}

export class R2ObjectStore implements ObjectStore {
  private readonly readPieceBytes: number;

  constructor(
    private readonly bucket: R2Bucket,
    options: R2StoreOptions = {},
  ) {
    this.readPieceBytes = options.readPieceBytes ?? 0;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const object = await this.bucket.head(key);
    return object ? info(object) : null;
  }

  async get(key: string, range?: ByteRange): Promise<ObjectBody | null> {
    if (this.readPieceBytes > 0 && key.startsWith(BLOB_DATA)) return this.getInPieces(key, range);
    const object = await this.bucket.get(key, range ? { range } : undefined);
    if (!object) return null;
    const result: ObjectBody = { ...info(object), body: object.body };
    if (range) result.range = range;
    return result;
  }

  private async getInPieces(key: string, range?: ByteRange): Promise<ObjectBody | null> {
    const head = await this.bucket.head(key);
    if (!head) return null;
    const offset = range?.offset ?? 0;
    const length = range?.length ?? head.size - offset;
    // FixedLengthStream: the response keeps its Content-Length, as with a plain R2 body.
    const out = new FixedLengthStream(length);
    void pipePieces(this.bucket, key, offset, length, this.readPieceBytes, out.writable);
    const result: ObjectBody = { ...info(head), body: out.readable };
    if (range) result.range = range;
    return result;
  }

  async put(key: string, body: Uint8Array | string, metadata?: Record<string, string>): Promise<void> {
    await this.bucket.put(key, body, metadata ? { customMetadata: metadata } : undefined);
  }

  async delete(keys: string | string[]): Promise<void> {
    const all = Array.isArray(keys) ? keys : [keys];
    for (let i = 0; i < all.length; i += 1000) await this.bucket.delete(all.slice(i, i + 1000));
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number; metadata?: boolean } = {}): Promise<ListPage> {
    const result = await this.bucket.list({
      prefix,
      startAfter: options.startAfter,
      limit: Math.min(options.limit ?? 1000, 1000),
      ...(options.metadata ? { include: ["customMetadata" as const] } : {}),
    });
    return { objects: result.objects.map(info), truncated: result.truncated };
  }

  async createMultipart(key: string): Promise<string> {
    return (await this.bucket.createMultipartUpload(key)).uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, data: PartBytes): Promise<UploadedPart> {
    // R2 takes one body of known length.
    const body = data instanceof Uint8Array ? data : concatBytes([...data]);
    const part = await this.bucket.resumeMultipartUpload(key, uploadId).uploadPart(partNumber, body);
    return { partNumber: part.partNumber, etag: part.etag };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    await this.bucket.resumeMultipartUpload(key, uploadId).complete(parts);
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.bucket.resumeMultipartUpload(key, uploadId).abort();
  }
}

/**
 * Writes bytes [offset, offset + length) of an object into `out` as ranged GETs, asking for the
 * next piece only when the reader has taken the previous one (a FixedLengthStream's writes wait
 * for its reader). Each piece is piped by the runtime, not chunk by chunk in JavaScript.
 */
async function pipePieces(
  bucket: R2Bucket,
  key: string,
  offset: number,
  length: number,
  pieceBytes: number,
  out: WritableStream<Uint8Array>,
): Promise<void> {
  try {
    for (let next = offset, end = offset + length; next < end; next += pieceBytes) {
      const object = await bucket.get(key, { range: { offset: next, length: Math.min(pieceBytes, end - next) } });
      if (!object) throw new Error(`${key} disappeared while being read`);
      await object.body.pipeTo(out, { preventClose: true });
    }
    await out.close();
  } catch (err) {
    // The reader sees a body cut short; nothing else is waiting for this promise.
    await out.abort(err).catch(() => {});
  }
}
