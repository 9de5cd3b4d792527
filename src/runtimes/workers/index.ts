// Cloudflare Workers entry: binds R2, the upload-session Durable Object and the auth settings
// to the registry.
import { createRegistry } from "../../app";
import { Authenticator } from "../../auth/authenticator";
import { acceptSparseManifests, requestBodyLimit } from "../../settings";
import { r2ReadPieceBytes, type Env } from "./env";
import { R2ObjectStore } from "./r2";
import { RegistryStore } from "../../storage/registry-store";
import { durableUploadSessions } from "../../../durable/upload-session";

export { UploadSession } from "../../../durable/upload-session";

const MiB = 1024 * 1024;

type Registry = (request: Request) => Promise<Response>;

// Routes, auth settings and keys are prepared once per isolate, not once per request.
const registries = new WeakMap<Env, Promise<Registry>>();

/** The registry for this deployment's bindings and settings. */
export function registryFor(env: Env): Promise<Registry> {
  let registry = registries.get(env);
  if (!registry) {
    registry = buildRegistry(env);
    registries.set(env, registry);
  }
  return registry;
}

async function buildRegistry(env: Env): Promise<Registry> {
  return createRegistry({
    store: new RegistryStore(new R2ObjectStore(env.BUCKET, { readPieceBytes: r2ReadPieceBytes(env) })),
    uploads: durableUploadSessions(env.UPLOADS),
    auth: await Authenticator.fromEnv(env),
    maxManifestBytes: 4 * MiB,
    // Any chunk size is accepted; the session cuts the stream into parts itself.
    chunkMinLength: 1,
    maxRequestBodyBytes: requestBodyLimit(env),
    acceptSparseManifests: acceptSparseManifests(env),
  });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    return (await registryFor(env))(request);
  },
} satisfies ExportedHandler<Env>;
