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

type Handler = (request: IRequest, ctx: RegistryContext, client: ClientInfo) => Promise<Response>;
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
  return async (request, ctx, client) => handler(request, ctx, await ctx.auth.check(request, need(request), client));
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

export function createRegistry(ctx: RegistryContext): Registry {
  const router = Router<IRequest, [RegistryContext, ClientInfo]>({
    catch: (err, request) => errorResponse(err, request.method),
    finally: [
      (response: Response) => {
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
  return (request, client = {}) => withBodyLimit(request, limit, (limited) => router.fetch(limited, ctx, client));
}
