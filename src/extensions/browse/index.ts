// The browse page, an optional extension beside the core (BROWSE_PAGE, default on): a static page
// at / whose script reads everything through the /v2/ API from the browser, with the caller's own
// credentials, so it shows exactly what that caller may pull. The files are strings
// (assets.ts, generated from page/), so the same fetch handler serves them on every runtime.
import type { RegistryContext } from "../../context";
import { ASSETS, type Asset } from "./assets";

/** The origin of an external token service, which the page's script must be allowed to reach. */
function tokenOrigin(request: Request, ctx: RegistryContext): string | null {
  const realm = ctx.auth.tokenRealm();
  if (!realm) return null;
  try {
    const origin = new URL(realm).origin;
    return origin === new URL(request.url).origin ? null : origin;
  } catch {
    return null;
  }
}

/**
 * Nothing but the page's own files, no inline script or style, requests to this origin (and the
 * token service) only, and Trusted Types: the page cannot be made to run script from registry data.
 */
function contentSecurityPolicy(connectExtra: string | null): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${connectExtra ? ` ${connectExtra}` : ""}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join("; ");
}

const encoded = new Map<Asset, Uint8Array>();

function bytesOf(asset: Asset): Uint8Array {
  let bytes = encoded.get(asset);
  if (!bytes) {
    bytes = new TextEncoder().encode(asset.body);
    encoded.set(asset, bytes);
  }
  return bytes;
}

function serve(asset: Asset, request: Request, ctx: RegistryContext): Response {
  const headers = new Headers({
    "Content-Type": asset.contentType,
    ETag: asset.etag,
    // Revalidated on each load (a 304 when unchanged), so an upgraded registry never mixes files.
    "Cache-Control": "no-cache",
    "Content-Security-Policy": contentSecurityPolicy(tokenOrigin(request, ctx)),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
  });
  const ifNoneMatch = request.headers.get("If-None-Match");
  if (ifNoneMatch && ifNoneMatch.split(",").some((tag) => tag.trim() === asset.etag || tag.trim() === "*")) {
    return new Response(null, { status: 304, headers });
  }
  const bytes = bytesOf(asset);
  headers.set("Content-Length", String(bytes.length));
  return new Response(request.method === "HEAD" ? null : bytes, { status: 200, headers });
}

/** Each path the page owns with its handler, to be routed for GET and HEAD. */
export const BROWSE_ROUTES: readonly { path: string; serve: (request: Request, ctx: RegistryContext) => Promise<Response> }[] =
  Object.entries(ASSETS).map(([path, asset]) => ({ path, serve: async (request, ctx) => serve(asset, request, ctx) }));
