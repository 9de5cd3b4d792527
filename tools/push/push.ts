// Pushes one image (a manifest or an index and everything it references) from an ImageSource to
// a registry: blobs first, in parallel, each skipped when present, mounted when the registry can,
// resumed when a session from an earlier run survives, else uploaded in chunks; then manifests,
// children before the index that lists them, byte for byte.
import type { Registry } from "./registry.ts";
import { MT, type Descriptor, type ImageSource } from "./sources.ts";
import type { SessionStore } from "./state.ts";
import { BlobUpload, DEFAULT_RETRY, UploadGoneError, type RetryPolicy } from "./upload.ts";

export interface PushTarget {
  registry: Registry;
  name: string;
  /** Tag to give the pushed root manifest; null: push by digest only. */
  tag: string | null;
}

export type BlobOutcome = "exists" | "mounted" | "uploaded";

/** What a progress display hears. */
export interface PushEvents {
  plan?(blobs: Descriptor[]): void;
  blobStart?(blob: Descriptor, offset: number, resumed: boolean): void;
  blobProgress?(blob: Descriptor, offset: number): void;
  blobRetry?(blob: Descriptor, err: Error, attempt: number, delayMs: number): void;
  blobDone?(blob: Descriptor, outcome: BlobOutcome): void;
  manifest?(ref: string, digest: string): void;
}

export interface PushOptions {
  chunkSize: number;
  /** Blobs uploaded at the same time. */
  jobs: number;
  retry?: RetryPolicy;
  /** Repository to mount blobs from (else our registry looks for them anywhere). */
  mountFrom?: string;
  sessions?: SessionStore;
  events?: PushEvents;
}

export interface PushResult {
  digest: string;
  blobs: Record<BlobOutcome, number>;
  bytesUploaded: number;
  resumed: number;
}

interface Plan {
  /** Manifests in push order: children first. */
  manifests: { descriptor: Descriptor; bytes: Buffer }[];
  blobs: Descriptor[];
}

/** Reads the manifest tree: which manifests and blobs make up the image. */
async function planPush(source: ImageSource): Promise<Plan> {
  const manifests: Plan["manifests"] = [];
  const blobs = new Map<string, Descriptor>();
  const visit = async (descriptor: Descriptor): Promise<void> => {
    const bytes = await source.readBlob(descriptor.digest);
    const doc = JSON.parse(bytes.toString("utf8")) as { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[]; blobs?: Descriptor[] };
    const mediaType = doc.mediaType ?? descriptor.mediaType;
    if (mediaType === MT.ociIndex || mediaType === MT.dockerList || doc.manifests) {
      for (const child of doc.manifests ?? []) await visit(child);
    } else {
      for (const blob of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? []), ...(doc.blobs ?? [])]) blobs.set(blob.digest, blob);
    }
    manifests.push({ descriptor: { ...descriptor, mediaType }, bytes });
  };
  await visit(source.root);
  return { manifests, blobs: [...blobs.values()].sort((a, b) => b.size - a.size) };
}

export async function pushImage(source: ImageSource, target: PushTarget, options: PushOptions): Promise<PushResult> {
  const plan = await planPush(source);
  const result: PushResult = { digest: source.root.digest, blobs: { exists: 0, mounted: 0, uploaded: 0 }, bytesUploaded: 0, resumed: 0 };
  options.events?.plan?.(plan.blobs);
  const queue = [...plan.blobs];
  const worker = async () => {
    for (let blob = queue.shift(); blob; blob = queue.shift()) {
      const outcome = await pushBlob(source, target, blob, options, result);
      result.blobs[outcome]++;
      options.events?.blobDone?.(blob, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  for (const [i, { descriptor, bytes }] of plan.manifests.entries()) {
    const isRoot = i === plan.manifests.length - 1;
    const ref = isRoot && target.tag ? target.tag : descriptor.digest;
    await target.registry.call("PUT", `/v2/${target.name}/manifests/${ref}`, [201], { headers: { "Content-Type": descriptor.mediaType }, body: bytes });
    options.events?.manifest?.(ref, descriptor.digest);
  }
  return result;
}

async function blobExists(target: PushTarget, digest: string): Promise<boolean> {
  const res = await target.registry.request("HEAD", `/v2/${target.name}/blobs/${digest}`);
  res.resume();
  return res.statusCode === 200;
}

async function pushBlob(source: ImageSource, target: PushTarget, blob: Descriptor, options: PushOptions, result: PushResult): Promise<BlobOutcome> {
  if (await blobExists(target, blob.digest)) return "exists";
  const key = `${target.registry.base.host}/${target.name}`;
  const policy = options.retry ?? DEFAULT_RETRY;
  let upload: BlobUpload | null = null;
  const saved = await options.sessions?.get(key, blob.digest);
  if (saved) {
    upload = await BlobUpload.resume(target.registry, target.name, saved.location, saved.limits, policy);
    if (upload) result.resumed++;
  }
  const resumed = upload !== null;
  if (!upload) {
    upload = await BlobUpload.start(target.registry, target.name, { mount: blob.digest, ...(options.mountFrom ? { from: options.mountFrom } : {}), policy });
    if (!upload) return "mounted";
  }
  upload.onRetry = (err, attempt, delay) => options.events?.blobRetry?.(blob, err, attempt, delay);
  options.events?.blobStart?.(blob, upload.offset, resumed);
  const remember = (u: BlobUpload) => options.sessions?.set(key, blob.digest, { location: u.location.toString(), limits: u.limits });
  await remember(upload);
  try {
    await sendAll(source, blob, upload, options, result, remember);
    await upload.finish(blob.digest);
  } catch (err) {
    if (!(err instanceof UploadGoneError)) throw err;
    // The session expired or was lost: start over once with a fresh one.
    await options.sessions?.set(key, blob.digest, null);
    upload = await BlobUpload.start(target.registry, target.name, { policy });
    upload!.onRetry = (e, attempt, delay) => options.events?.blobRetry?.(blob, e, attempt, delay);
    await sendAll(source, blob, upload!, options, result, remember);
    await upload!.finish(blob.digest);
  }
  await options.sessions?.set(key, blob.digest, null);
  return "uploaded";
}

async function sendAll(
  source: ImageSource,
  blob: Descriptor,
  upload: BlobUpload,
  options: PushOptions,
  result: PushResult,
  remember: (u: BlobUpload) => Promise<void> | undefined,
): Promise<void> {
  const size = blob.size;
  while (upload.offset < size) {
    const start = upload.offset;
    const length = Math.min(upload.chunkSize(options.chunkSize), size - start);
    await upload.write({ start, length, open: (skip) => source.openBlob(blob.digest, start + skip, start + length) });
    result.bytesUploaded += Math.max(0, upload.offset - start);
    options.events?.blobProgress?.(blob, upload.offset);
    await remember(upload);
  }
}
