// GET / HEAD / PUT / DELETE /v2/<name>/manifests/<tag|digest>
import type { IRequest } from "itty-router";
import type { ManifestReference, RegistryContext } from "../context";
import { IMMUTABLE_CACHE, decodeParam, readCapped } from "../http";
import { digestBytes, formatDigest, parseDigest, type Digest } from "../oci/digest";
import { RegistryError } from "../oci/errors";
import { parseManifest } from "../oci/manifest";
import { assertName, isValidTag } from "../oci/names";
import type { Descriptor, ManifestRecord } from "../storage/registry-store";
import { checkManifestDelete, checkTagDelete, checkTagWrite } from "../extensions/gc/policy";

type Reference = ManifestReference;

/** Most `?tag=` parameters one manifest PUT may carry: each tag stores a copy of the manifest. */
export const MAX_TAGS_PER_PUT = 32;

const manifestUnknown = () => new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry");

/**
 * A reference is a digest when it has a colon (tags cannot), else a tag. A name that cannot be a
 * tag is refused on PUT (400) and simply not found on reads and deletes (404).
 */
function parseReference(raw: string | undefined, purpose: "read" | "write"): Reference {
  const value = decodeParam(raw);
  if (value.includes(":")) return { digest: parseDigest(value) };
  if (isValidTag(value)) return { tag: value };
  if (purpose === "read") throw manifestUnknown();
  throw invalidTag(value);
}

const invalidTag = (tag: string) => new RegistryError("MANIFEST_INVALID", "invalid tag", { detail: { tag: tag.slice(0, 200) } });

/** Tags of a push: the reference when it is a tag, plus each `?tag=` (spec end-7b), each checked, each once. */
function tagsOf(request: Request, ref: Reference): { tags: string[]; echoed: string[] } {
  const params = new URL(request.url).searchParams.getAll("tag");
  if (params.length > MAX_TAGS_PER_PUT) {
    throw new RegistryError("MANIFEST_INVALID", `at most ${MAX_TAGS_PER_PUT} tag parameters per manifest push`, {
      detail: { limit: MAX_TAGS_PER_PUT, tags: params.length },
    });
  }
  for (const tag of params) if (!isValidTag(tag)) throw invalidTag(tag);
  const echoed = [...new Set(params)];
  const tags = [...new Set([...(ref.tag ? [ref.tag] : []), ...echoed])];
  return { tags, echoed };
}

async function lookup(ctx: RegistryContext, name: string, ref: Reference): Promise<ManifestRecord | null> {
  return ref.digest ? ctx.store.manifest(name, ref.digest) : ctx.store.resolveTag(name, ref.tag);
}

export async function getManifest(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const ref = parseReference(request.params.reference, "read");
  // A repository an upstream serves: the manifest is fetched or revalidated first, then read as usual.
  const pulled = (await ctx.pullThrough?.prepareManifest(name, ref)) ?? {};
  // GET by tag reads the tag's copy of the manifest: one storage read instead of two.
  const tagged = ref.tag && request.method === "GET" ? await ctx.store.openTag(name, ref.tag) : undefined;
  const record = tagged !== undefined ? tagged?.record : await lookup(ctx, name, ref);
  if (!record) throw manifestUnknown();
  const digest = formatDigest(record.digest);
  const headers = {
    "Content-Type": record.mediaType,
    "Content-Length": String(record.size),
    "Docker-Content-Digest": digest,
    ETag: `"${digest}"`,
    // A tag can move; a digest cannot. Either way the bytes must reach the client untransformed.
    "Cache-Control": ref.digest ? IMMUTABLE_CACHE : "no-cache, no-transform",
    ...pulled,
  };
  if (request.method === "HEAD") return new Response(null, { status: 200, headers });
  const object = tagged?.body ?? (await ctx.store.openManifest(record));
  if (!object) throw manifestUnknown();
  return new Response(object.body, { status: 200, headers });
}

export async function putManifest(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  ctx.pullThrough?.assertWritable(name);
  const ref = parseReference(request.params.reference, "write");
  const { tags, echoed } = tagsOf(request, ref);
  const bytes = await readCapped(request, ctx.maxManifestBytes);
  const manifest = parseManifest(bytes, request.headers.get("Content-Type"));

  const digest = await digestBytes(ref.digest?.algorithm ?? "sha256", bytes);
  if (ref.digest && ref.digest.hex !== digest.hex) {
    throw new RegistryError("DIGEST_INVALID", "manifest digest does not match the reference", {
      detail: { reference: formatDigest(ref.digest), actual: formatDigest(digest) },
    });
  }

  // Everything the manifest points at must already be in this repository (an image lists blobs,
  // an index manifests), unless this registry accepts sparse manifests.
  const sparse = ctx.acceptSparseManifests === true;
  const missingBlob = sparse ? null : await ctx.store.firstUnlinked(name, "blob", manifest.blobs);
  if (missingBlob) {
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "manifest references a blob unknown to this repository", {
      detail: { digest: formatDigest(missingBlob) },
    });
  }
  const missingChild = sparse ? null : await ctx.store.firstUnlinked(name, "manifest", manifest.manifests);
  if (missingChild) {
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "index references a manifest unknown to this repository", {
      detail: { digest: formatDigest(missingChild) },
    });
  }

  const record: ManifestRecord = { digest, mediaType: manifest.mediaType, size: bytes.length };
  let referrer: { subject: Digest; descriptor: Descriptor } | undefined;
  if (manifest.subject) {
    const descriptor: Descriptor = { mediaType: manifest.mediaType, digest: formatDigest(digest), size: bytes.length };
    if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
    if (manifest.annotations) descriptor.annotations = manifest.annotations;
    referrer = { subject: manifest.subject, descriptor };
  }
  await checkTagWrite(ctx, name, tags, digest);
  await ctx.store.putManifest(name, record, bytes, referrer);
  for (const tag of tags) await ctx.store.putTag(name, tag, record, bytes);

  const headers = new Headers({
    Location: `/v2/${name}/manifests/${formatDigest(digest)}`,
    "Docker-Content-Digest": formatDigest(digest),
    "Content-Length": "0",
  });
  if (manifest.subject) headers.set("OCI-Subject", formatDigest(manifest.subject));
  // One OCI-Tag header per tag given as a parameter: clients learn the registry applied them.
  for (const tag of echoed) headers.append("OCI-Tag", tag);
  return new Response(null, { status: 201, headers });
}

export async function deleteManifest(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const ref = parseReference(request.params.reference, "read");
  if (ref.digest) await checkManifestDelete(ctx, name, ref.digest);
  else await checkTagDelete(ctx, name, ref.tag);
  const deleted = ref.digest ? await ctx.store.deleteManifest(name, ref.digest) : await ctx.store.deleteTag(name, ref.tag);
  if (!deleted) throw manifestUnknown();
  return new Response(null, { status: 202, headers: { "Content-Length": "0" } });
}
