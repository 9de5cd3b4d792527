// The /v2/ API: every request enters here and is routed to one handler per resource.
// Runtime-independent: give it storage and upload sessions and it is a fetch handler.
import { Router, type IRequest } from "itty-router";
import type { RegistryContext } from "./context";
import { API_VERSION_HEADER, withBodyLimit } from "./http";
import { RegistryError, errorResponse } from "./oci/errors";
import { deleteBlob, getBlob } from "./routes/blobs";
import { listCatalog, listReferrers, listTags } from "./routes/listings";
import { deleteManifest, getManifest, putManifest } from "./routes/manifests";
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from "./routes/uploads";

type Handler = (request: IRequest, ctx: RegistryContext) => Promise<Response>;

const versionCheck: Handler = async () =>
  new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } });

const unsupported: Handler = async (request) => {
  throw new RegistryError("UNSUPPORTED", `${request.method} is not supported here`);
};

const notFound: Handler = async () => {
  throw new RegistryError("NAME_UNKNOWN", "no such endpoint", { status: 404 });
};

export function createRegistry(ctx: RegistryContext): (request: Request) => Promise<Response> {
  const router = Router<IRequest, [RegistryContext]>({
    catch: (err, request) => errorResponse(err, request.method),
    finally: [
      (response: Response) => {
        const headers = new Headers(response.headers);
        for (const [k, v] of Object.entries(API_VERSION_HEADER)) headers.set(k, v);
        return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
      },
    ],
  });

  // Order matters: "uploads" would otherwise match as a digest, "_catalog" as a name.
  router
    .get("/v2", versionCheck)
    .head("/v2", versionCheck)
    .all("/v2", unsupported)
    .get("/v2/_catalog", listCatalog)
    .all("/v2/_catalog", unsupported)
    .post("/v2/:name+/blobs/uploads", startUpload)
    .all("/v2/:name+/blobs/uploads", unsupported)
    .patch("/v2/:name+/blobs/uploads/:id", patchUpload)
    .put("/v2/:name+/blobs/uploads/:id", finishUpload)
    .get("/v2/:name+/blobs/uploads/:id", uploadStatus)
    .delete("/v2/:name+/blobs/uploads/:id", cancelUpload)
    .all("/v2/:name+/blobs/uploads/:id", unsupported)
    .get("/v2/:name+/blobs/:digest", getBlob)
    .head("/v2/:name+/blobs/:digest", getBlob)
    .delete("/v2/:name+/blobs/:digest", deleteBlob)
    .all("/v2/:name+/blobs/:digest", unsupported)
    .get("/v2/:name+/manifests/:reference", getManifest)
    .head("/v2/:name+/manifests/:reference", getManifest)
    .put("/v2/:name+/manifests/:reference", putManifest)
    .delete("/v2/:name+/manifests/:reference", deleteManifest)
    .all("/v2/:name+/manifests/:reference", unsupported)
    .get("/v2/:name+/tags/list", listTags)
    .all("/v2/:name+/tags/list", unsupported)
    .get("/v2/:name+/referrers/:digest", listReferrers)
    .all("/v2/:name+/referrers/:digest", unsupported)
    .all("*", notFound);

  const limit = ctx.maxRequestBodyBytes ?? null;
  return (request) => withBodyLimit(request, limit, (limited) => router.fetch(limited, ctx));
}
