// GET / HEAD / DELETE /v2/<name>/blobs/<digest>
import type { IRequest } from "itty-router";
import type { RegistryContext } from "../context";
import { IMMUTABLE_CACHE, decodeParam, parseRangeHeader } from "../http";
import { formatDigest, parseDigest, type Digest } from "../oci/digest";
import { RegistryError } from "../oci/errors";
import { assertName } from "../oci/names";

const blobUnknown = () => new RegistryError("BLOB_UNKNOWN", "blob unknown to registry");

export async function getBlob(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const digest = parseDigest(decodeParam(request.params.digest));
  const link = await ctx.store.linkedBlob(name, digest);
  let info = link && (link.info ?? (await ctx.store.blobInfo(digest)));
  if (!info && ctx.pullThrough) {
    // Not here: a repository an upstream serves fetches it (streamed to this client while stored).
    const ranged = request.headers.has("Range");
    const want = request.method === "HEAD" ? "head" : ranged ? "stored" : "body";
    const pulled = await ctx.pullThrough.pullBlob(name, digest, want);
    if (pulled?.body) return new Response(pulled.body, { status: 200, headers: blobHeaders(digest, pulled.size) });
    if (pulled && want === "head") return new Response(null, { status: 200, headers: blobHeaders(digest, pulled.size) });
    if (pulled) {
      const stored = await ctx.store.linkedBlob(name, digest);
      info = stored && (stored.info ?? (await ctx.store.blobInfo(digest)));
    }
  }
  if (!info) throw blobUnknown();
  if (link) ctx.pullThrough?.blobServedLocally(name);

  const headers = blobHeaders(digest, info.size);
  const range = parseRangeHeader(request.headers.get("Range"), info.size);
  if (range) {
    headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${info.size}`);
    headers.set("Content-Length", String(range.length));
  }
  const status = range ? 206 : 200;
  if (request.method === "HEAD") return new Response(null, { status, headers });

  const object = await ctx.store.openBlob(digest, range ?? undefined, info);
  if (!object) throw blobUnknown();
  return new Response(object.body, { status, headers });
}

function blobHeaders(digest: Digest, size: number): Headers {
  return new Headers({
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": formatDigest(digest),
    ETag: `"${formatDigest(digest)}"`,
    "Cache-Control": IMMUTABLE_CACHE,
    "Accept-Ranges": "bytes",
    "Content-Length": String(size),
  });
}

export async function deleteBlob(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const digest = parseDigest(decodeParam(request.params.digest));
  // Only the repository's link goes; the content may be shared with other repositories.
  if (!(await ctx.store.unlink(name, digest))) throw blobUnknown();
  return new Response(null, { status: 202, headers: { "Content-Length": "0" } });
}
