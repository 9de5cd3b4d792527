// The /v2/ API: every request enters here and is routed to one handler per resource.
// Runtime-independent: give it storage and upload sessions and it is a fetch handler.
import { Router, type IRequest } from "itty-router";
import type { Principal, Requirement } from "./auth/access";
import type { ClientInfo } from "./auth/failure-limiter";
import { tokenEndpoint } from "./auth/token-service";
import type { RegistryContext } from "./context";
import { BROWSE_ROUTES } from "./extensions/browse";
import { GC_PATH, USAGE_PATH, collectHandler, usageHandler } from "./extensions/gc";
import { API_VERSION_HEADER, withBodyLimit } from "./http";
import { RegistryError, errorResponse } from "./oci/errors";
import { deleteBlob, getBlob } from "./routes/blobs";
import { listCatalog, listReferrers, listTags } from "./routes/listings";
import { deleteManifest, getManifest, putManifest } from "./routes/manifests";
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from "./routes/uploads";

type Handler = (request: IRequest, ctx: RegistryContext, client: ClientInfo, info: RouteInfo | null) => Promise<Response>;
/** A handler behind the auth check, told who is calling. */
export type GuardedHandler = (request: IRequest, ctx: RegistryContext, caller: Principal) => Promise<Response>;

const repository = (actions: ("pull" | "push" | "delete")[]) => (request: IRequest): Requirement => ({
  kind: "repository",
  name: request.params.name ?? "",
  actions,
});
const pull = repository(["pull"]);
const push = repository(["push"]);
const remove = repository(["delete"]);
const base = (): Requirement => ({ kind: "base" });
const catalog = (): Requirement => ({ kind: "catalog" });
const operator = (): Requirement => ({ kind: "operator" });

/** Runs the auth layer first: 401 with a challenge, or 403, before the handler sees anything. */
function guard(need: (request: IRequest) => Requirement, handler: GuardedHandler): Handler {
  return async (request, ctx, client, info) => {
    const caller = await ctx.auth.check(request, need(request), client);
    if (info !== null) info.caller = caller.anonymous ? null : caller.name;
    return handler(request, ctx, caller);
  };
}

const token: Handler = (request, ctx, client) => tokenEndpoint(request, ctx.auth, client);

const versionCheck: GuardedHandler = async () =>
  new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } });

const unsupported: Handler = async (request) => {
  throw new RegistryError("UNSUPPORTED", `${request.method} is not supported here`);
};

const notFound: Handler = async () => {
  throw new RegistryError("NAME_UNKNOWN", "no such endpoint", { status: 404 });
};

/** The registry as a fetch handler; `client` says who is calling (its address feeds the failed-login limit). */
export type Registry = (request: Request, client?: ClientInfo) => Promise<Response>;

/** What the router learned about one request, for an observer (RegistryContext.observe). */
export interface RouteInfo {
  /** The route pattern that matched ("/v2/:name+/blobs/:digest", "*" for none); null if routing never ran. */
  route: string | null;
  /** The pattern's parameters as sent (percent-encoded). */
  params: Record<string, string>;
  /** The authenticated caller's name; null for anonymous or refused callers. */
  caller: string | null;
  /** The request failed because its client went away: not a server error, nothing to report but that. */
  clientGone: boolean;
}

/**
 * The one seam for operations (src/extensions/ops/): called for every request with `route`, which
 * runs the registry on it and says what matched. Whatever the observer returns is the answer.
 */
export type RequestObserver = (
  request: Request,
  client: ClientInfo,
  route: (request: Request) => Promise<{ response: Response; info: RouteInfo }>,
) => Promise<Response>;

export function createRegistry(ctx: RegistryContext): Registry {
  const router = Router<IRequest, [RegistryContext, ClientInfo, RouteInfo | null, Request]>({
    catch: (err, request, _ctx, _client, info, original) => {
      // A client that left mid-request makes the handler fail; that is no server error (no stack trace).
      if (info !== null && original.signal?.aborted) {
        info.clientGone = true;
        return new Response(null, { status: 499 });
      }
      return errorResponse(err, request.method);
    },
    finally: [
      (response: Response, request: IRequest, _ctx: RegistryContext, _client: ClientInfo, info: RouteInfo | null) => {
        if (info !== null) {
          info.route = request.route ?? null;
          info.params = request.params ?? {};
        }
        // Set in place: copying Headers would join repeated headers (one OCI-Tag per tag) into one.
        try {
          for (const [k, v] of Object.entries(API_VERSION_HEADER)) response.headers.set(k, v);
          return response;
        } catch {
          const headers = new Headers(response.headers); // immutable headers (a fetched response)
          for (const [k, v] of Object.entries(API_VERSION_HEADER)) headers.set(k, v);
          return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
        }
      },
    ],
  });

  // Order matters: "uploads" would otherwise match as a digest, "_catalog" as a name.
  router
    .get("/v2", guard(base, versionCheck))
    .head("/v2", guard(base, versionCheck))
    .all("/v2", unsupported)
    .get("/v2/_catalog", guard(catalog, listCatalog))
    .all("/v2/_catalog", unsupported)
    // Operator endpoints of the storage lifecycle (src/extensions/gc/): no repository name can begin with "_".
    .post(GC_PATH, guard(operator, collectHandler))
    .all(GC_PATH, unsupported)
    .get(USAGE_PATH, guard(operator, usageHandler))
    .all(USAGE_PATH, unsupported)
    .post("/v2/:name+/blobs/uploads", guard(push, startUpload))
    .all("/v2/:name+/blobs/uploads", unsupported)
    .patch("/v2/:name+/blobs/uploads/:id", guard(push, patchUpload))
    .put("/v2/:name+/blobs/uploads/:id", guard(push, finishUpload))
    .get("/v2/:name+/blobs/uploads/:id", guard(push, uploadStatus))
    .delete("/v2/:name+/blobs/uploads/:id", guard(push, cancelUpload))
    .all("/v2/:name+/blobs/uploads/:id", unsupported)
    .get("/v2/:name+/blobs/:digest", guard(pull, getBlob))
    .head("/v2/:name+/blobs/:digest", guard(pull, getBlob))
    .delete("/v2/:name+/blobs/:digest", guard(remove, deleteBlob))
    .all("/v2/:name+/blobs/:digest", unsupported)
    .get("/v2/:name+/manifests/:reference", guard(pull, getManifest))
    .head("/v2/:name+/manifests/:reference", guard(pull, getManifest))
    .put("/v2/:name+/manifests/:reference", guard(push, putManifest))
    .delete("/v2/:name+/manifests/:reference", guard(remove, deleteManifest))
    .all("/v2/:name+/manifests/:reference", unsupported)
    .get("/v2/:name+/tags/list", guard(pull, listTags))
    .all("/v2/:name+/tags/list", unsupported)
    .get("/v2/:name+/referrers/:digest", guard(pull, listReferrers))
    .all("/v2/:name+/referrers/:digest", unsupported)
    // The Docker token flow's token service (when this registry issues tokens itself).
    .get("/token", token)
    .post("/token", token);
  // The browse page (an optional extension, BROWSE_PAGE): GET and HEAD of its own paths only.
  if (ctx.browsePage !== false) {
    for (const { path, serve } of BROWSE_ROUTES) router.get(path, serve).head(path, serve).all(path, unsupported);
  }
  router.all("*", notFound);

  const limit = ctx.maxRequestBodyBytes ?? null;
  const observe = ctx.observe;
  if (observe === undefined) {
    return (request, client = {}) => withBodyLimit(request, limit, (limited) => router.fetch(limited, ctx, client, null, request));
  }
  const route = async (request: Request, client: ClientInfo) => {
    const info: RouteInfo = { route: null, params: {}, caller: null, clientGone: false };
    const response = await withBodyLimit(request, limit, (limited) => router.fetch(limited, ctx, client, info, request));
    return { response, info };
  };
  return (request, client = {}) => observe(request, client, (r) => route(r, client));
}
