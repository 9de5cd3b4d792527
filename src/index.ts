// Cloudflare Workers entry: binds R2 and the upload-session Durable Object to the registry.
import { createRegistry } from "./app";
import { r2ReadPieceBytes, type Env } from "./env";
import { R2ObjectStore } from "./storage/r2";
import { RegistryStore } from "./storage/registry-store";
import { durableUploadSessions } from "../durable/upload-session";

export { UploadSession } from "../durable/upload-session";

const MiB = 1024 * 1024;

// The router compiles its route patterns once per isolate, not once per request.
const registries = new WeakMap<Env, (request: Request) => Promise<Response>>();

function registryFor(env: Env): (request: Request) => Promise<Response> {
  let registry = registries.get(env);
  if (!registry) {
    registry = createRegistry({
      store: new RegistryStore(new R2ObjectStore(env.BUCKET, { readPieceBytes: r2ReadPieceBytes(env) })),
      uploads: durableUploadSessions(env.UPLOADS),
      maxManifestBytes: 4 * MiB,
      // Any chunk size is accepted; the session cuts the stream into parts itself.
      chunkMinLength: 1,
    });
    registries.set(env, registry);
  }
  return registry;
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return registryFor(env)(request);
  },
} satisfies ExportedHandler<Env>;
