// Content discovery: GET /v2/<name>/tags/list, GET /v2/_catalog, GET /v2/<name>/referrers/<digest>
import type { IRequest } from "itty-router";
import type { Principal } from "../auth/access";
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

/** The catalog shows only the repositories the caller may pull. */
export async function listCatalog(request: IRequest, ctx: RegistryContext, caller: Principal): Promise<Response> {
  const url = new URL(request.url);
  const { n, last } = parsePagination(url);
  const view = caller.catalog;
  const page =
    n === 0 || view === "none" ? { items: [] }
    : view === "all" ? await ctx.store.listRepositories(n, last)
    : await visiblePage(ctx, n, last, view);
  return pageResponse(url, n, page, { repositories: page.items });
}

/** Walks the catalog index until n visible names are found or it ends. */
async function visiblePage(ctx: RegistryContext, n: number, last: string | undefined, visible: (name: string) => boolean): Promise<Page<string>> {
  const items: string[] = [];
  let cursor = last;
  for (;;) {
    const page = await ctx.store.listRepositories(Math.max(n, 100), cursor);
    for (const [i, name] of page.items.entries()) {
      if (!visible(name)) continue;
      items.push(name);
      if (items.length === n) {
        const more = i < page.items.length - 1 || page.next !== undefined;
        return more ? { items, next: name } : { items };
      }
    }
    if (page.next === undefined) return { items };
    cursor = page.next;
  }
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
