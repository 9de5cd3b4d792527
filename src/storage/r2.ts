// ObjectStore on a Cloudflare R2 bucket binding.
import type { ByteRange, ListPage, ObjectBody, ObjectInfo, ObjectStore, UploadedPart } from "./object-store";

function info(object: R2Object): ObjectInfo {
  return { key: object.key, size: object.size, metadata: object.customMetadata ?? {} };
}

export class R2ObjectStore implements ObjectStore {
  constructor(private readonly bucket: R2Bucket) {}

  async head(key: string): Promise<ObjectInfo | null> {
    const object = await this.bucket.head(key);
    return object ? info(object) : null;
  }

  async get(key: string, range?: ByteRange): Promise<ObjectBody | null> {
    const object = await this.bucket.get(key, range ? { range } : undefined);
    if (!object) return null;
    const result: ObjectBody = { ...info(object), body: object.body };
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

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    const result = await this.bucket.list({
      prefix,
      startAfter: options.startAfter,
      limit: Math.min(options.limit ?? 1000, 1000),
      include: ["customMetadata"],
    });
    return { objects: result.objects.map(info), truncated: result.truncated };
  }

  async createMultipart(key: string): Promise<string> {
    return (await this.bucket.createMultipartUpload(key)).uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, data: Uint8Array): Promise<UploadedPart> {
    const part = await this.bucket.resumeMultipartUpload(key, uploadId).uploadPart(partNumber, data);
    return { partNumber: part.partNumber, etag: part.etag };
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    await this.bucket.resumeMultipartUpload(key, uploadId).complete(parts);
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.bucket.resumeMultipartUpload(key, uploadId).abort();
  }
}
