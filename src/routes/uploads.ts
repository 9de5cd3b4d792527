// Blob uploads: POST opens (or mounts, or uploads monolithically), PATCH appends a chunk,
// PUT closes with the digest, GET reports progress, DELETE cancels. The bytes go to the
// upload session (durable/), which owns offset, parts and the running hash.
import type { IRequest } from "itty-router";
import type { Principal } from "../auth/access";
import type { RegistryContext } from "../context";
import { decodeParam, emptyBody, parseContentRange } from "../http";
import { formatDigest, isSupportedAlgorithm, parseDigest, tryParseDigest, type Digest } from "../oci/digest";
import { RegistryError } from "../oci/errors";
import { assertName, isValidName } from "../oci/names";
import type { BlobInfo } from "../storage/registry-store";
import type { AppendOptions, UploadSessionApi } from "../uploads/protocol";
import { unwrap, uploadHeaders } from "../uploads/sessions";

function blobCreated(name: string, digest: Digest): Response {
  const d = formatDigest(digest);
  return new Response(null, {
    status: 201,
    headers: { Location: `/v2/${name}/blobs/${d}`, "Docker-Content-Digest": d, "Content-Length": "0" },
  });
}

function session(ctx: RegistryContext, id: string): UploadSessionApi {
  const found = ctx.uploads.get(id);
  if (!found) throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload session not found");
  return found;
}

/**
 * A mount succeeds when the blob is visible to the caller: linked in `from` (which they may pull),
 * or, without `from`, stored anywhere, only for callers who may pull every repository.
 */
async function tryMount(ctx: RegistryContext, caller: Principal, name: string, digest: Digest, from: string | null): Promise<boolean> {
  if (await ctx.store.isLinked(name, digest)) return true;
  let info: BlobInfo | null = null;
  if (from !== null) {
    if (!isValidName(from) || !caller.can(from, "pull")) return false;
    const source = await ctx.store.linkedBlob(from, digest);
    if (!source) return false;
    info = source.info; // the source link usually carries it: no second read
  } else if (!caller.canPullEverything) {
    return false;
  }
  // Linked in `from`, the blob is live for any collection running now; unlinked, it may be going.
  info ??= from !== null ? await ctx.store.blobInfo(digest) : await ctx.store.reuseBlob(digest);
  if (!info) return false;
  await ctx.store.link(name, digest, info);
  return true;
}

export async function startUpload(request: IRequest, ctx: RegistryContext, caller: Principal): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  ctx.pullThrough?.assertWritable(name);
  const url = new URL(request.url);

  // A mount that cannot be honoured (even a malformed one) falls back to a new session, per spec.
  const mount = url.searchParams.get("mount");
  const mountDigest = mount !== null ? tryParseDigest(mount) : null;
  if (mountDigest && (await tryMount(ctx, caller, name, mountDigest, url.searchParams.get("from")))) {
    return blobCreated(name, mountDigest);
  }

  const monolithic = url.searchParams.get("digest");
  const digest = monolithic !== null ? parseDigest(monolithic) : null;
  const requested = url.searchParams.get("digest-algorithm");
  if (requested !== null && !isSupportedAlgorithm(requested)) {
    throw new RegistryError("DIGEST_INVALID", `unsupported digest algorithm ${requested}`);
  }
  const algorithm = digest?.algorithm ?? (requested as Digest["algorithm"] | null) ?? "sha256";

  const id = ctx.uploads.newId();
  const upload = session(ctx, id);
  unwrap(await upload.create(name, algorithm), name, id);

  if (digest) {
    const finished = await upload.finish(name, formatDigest(digest), null, request.body ?? emptyBody(), appendOptions(ctx));
    // The client never learns this session's Location: a failed monolithic upload is abandoned at once.
    if (!finished.ok) await upload.cancel(name);
    unwrap(finished, name, id);
    return blobCreated(name, digest);
  }
  return new Response(null, {
    status: 202,
    headers: { ...uploadHeaders(name, id, 0), ...chunkLengthHeaders(ctx), "Content-Length": "0" },
  });
}

/** The chunk sizes this registry takes: any from the minimum up to the request body limit. */
function chunkLengthHeaders(ctx: RegistryContext): Record<string, string> {
  const headers: Record<string, string> = { "OCI-Chunk-Min-Length": String(ctx.chunkMinLength) };
  if (ctx.maxRequestBodyBytes) headers["OCI-Chunk-Max-Length"] = String(ctx.maxRequestBodyBytes);
  return headers;
}

/** Under a body limit a chunk is bounded, so it is stored whole or not at all (a cut-off chunk leaves no trace). */
function appendOptions(ctx: RegistryContext): AppendOptions {
  return { wholeChunk: Boolean(ctx.maxRequestBodyBytes) };
}

/**
 * Content-Range start, checked against Content-Length when both are present. A range that
 * cannot be right is a 416 that, like every 416, tells the client where the upload is.
 */
async function chunkStart(request: Request, upload: UploadSessionApi, name: string, id: string): Promise<number | null> {
  try {
    const range = parseContentRange(request.headers.get("Content-Range"));
    if (!range) return null;
    const length = request.headers.get("Content-Length");
    if (length !== null && Number(length) !== range.end - range.start + 1) {
      throw new RegistryError("BLOB_UPLOAD_INVALID", "Content-Length does not match Content-Range", { status: 416 });
    }
    return range.start;
  } catch (err) {
    if (!(err instanceof RegistryError) || err.status !== 416) throw err;
    const { offset } = unwrap(await upload.status(name), name, id);
    throw new RegistryError(err.code, err.message, { status: 416, detail: err.detail, headers: uploadHeaders(name, id, offset) });
  }
}

export async function patchUpload(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const id = decodeParam(request.params.id);
  const upload = session(ctx, id);
  const start = await chunkStart(request, upload, name, id);
  const status = unwrap(await upload.append(name, start, request.body ?? emptyBody(), appendOptions(ctx)), name, id);
  return new Response(null, { status: 202, headers: { ...uploadHeaders(name, id, status.offset), "Content-Length": "0" } });
}

export async function finishUpload(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const id = decodeParam(request.params.id);
  const upload = session(ctx, id);
  const param = new URL(request.url).searchParams.get("digest");
  if (param === null) throw new RegistryError("DIGEST_INVALID", "digest parameter is required");
  const digest = parseDigest(param);
  const start = await chunkStart(request, upload, name, id);
  unwrap(await upload.finish(name, formatDigest(digest), start, request.body, appendOptions(ctx)), name, id);
  return blobCreated(name, digest);
}

export async function uploadStatus(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const id = decodeParam(request.params.id);
  const status = unwrap(await session(ctx, id).status(name), name, id);
  return new Response(null, { status: 204, headers: { ...uploadHeaders(name, id, status.offset), "Content-Length": "0" } });
}

export async function cancelUpload(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const id = decodeParam(request.params.id);
  unwrap(await session(ctx, id).cancel(name), name, id);
  return new Response(null, { status: 204, headers: { "Content-Length": "0" } });
}
