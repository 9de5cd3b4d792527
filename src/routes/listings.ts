// Content discovery: GET /v2/<name>/tags/list, GET /v2/_catalog, GET /v2/<name>/referrers/<digest>
import type { IRequest } from "itty-router";
import type { RegistryContext } from "../context";
import { decodeParam, nextLink, parsePagination } from "../http";
import { parseDigest } from "../oci/digest";
import { RegistryError } from "../oci/errors";
import { MediaType } from "../oci/manifest";
import { assertName } from "../oci/names";
import type { Page } from "../storage/registry-store";

function pageResponse(url: URL, n: number, page: Page<string>, body: unknown): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (page.next !== undefined) headers.Link = nextLink(url, n, page.next);
  return new Response(JSON.stringify(body), { status: 200, headers });
}

export async function listTags(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const url = new URL(request.url);
  const { n, last } = parsePagination(url);
  if (!(await ctx.store.repositoryExists(name))) {
    throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry", { detail: { name } });
  }
  const page = n === 0 ? { items: [] } : await ctx.store.listTags(name, n, last);
  return pageResponse(url, n, page, { name, tags: page.items });
}

export async function listCatalog(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const url = new URL(request.url);
  const { n, last } = parsePagination(url);
  const page = n === 0 ? { items: [] } : await ctx.store.listRepositories(n, last);
  return pageResponse(url, n, page, { repositories: page.items });
}

export async function listReferrers(request: IRequest, ctx: RegistryContext): Promise<Response> {
  const name = assertName(request.params.name ?? "");
  const subject = parseDigest(decodeParam(request.params.digest));
  const artifactType = new URL(request.url).searchParams.get("artifactType");
  let manifests = await ctx.store.listReferrers(name, subject);
  const headers: Record<string, string> = { "Content-Type": MediaType.ociIndex };
  if (artifactType !== null) {
    manifests = manifests.filter((m) => m.artifactType === artifactType);
    headers["OCI-Filters-Applied"] = "artifactType";
  }
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  return new Response(JSON.stringify(index), { status: 200, headers });
}
