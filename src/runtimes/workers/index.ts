// Cloudflare Workers entry: binds R2, the upload-session Durable Object and the auth settings
// to the registry.
import { createRegistry, type Registry } from "../../app";
import { Authenticator } from "../../auth/authenticator";
import { RequestLog, analyticsRecorder, operations, operationsSettings } from "../../extensions/ops";
import { acceptSparseManifests, browsePageEnabled, requestBodyLimit } from "../../settings";
import { r2ReadPieceBytes, type Env } from "./env";
import { R2ObjectStore } from "./r2";
import { RegistryStore } from "../../storage/registry-store";
import { durableUploadSessions } from "../../../durable/upload-session";
import { DurableFailureLimiter } from "../../../durable/auth-failures";
import { MemoryFailureLimiter } from "../../auth/failure-limiter";
import { durableBlobFlights } from "../../../durable/blob-flight";
import { MAX_MANIFEST_BYTES, workersPullThrough } from "./pull-through";
import { collectGarbage, gcConfig, logScheduledRun, type GcReport } from "../../extensions/gc";

export { UploadSession } from "../../../durable/upload-session";
export { AuthFailureCounter } from "../../../durable/auth-failures";
export { BlobFlight } from "../../../durable/blob-flight";

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
  const store = new RegistryStore(new R2ObjectStore(env.BUCKET, { readPieceBytes: r2ReadPieceBytes(env) }));
  const ops = operationsSettings(env);
  const metrics = env.OPS_ANALYTICS ? analyticsRecorder(env.OPS_ANALYTICS) : undefined;
  return createRegistry({
    store,
    uploads: durableUploadSessions(env.UPLOADS),
    // One count for every isolate (a Durable Object per key); without the binding, per isolate.
    auth: await Authenticator.fromEnv(env, env.AUTH_FAILURES ? new DurableFailureLimiter(env.AUTH_FAILURES) : new MemoryFailureLimiter()),
    maxManifestBytes: MAX_MANIFEST_BYTES,
    // Any chunk size is accepted; the session cuts the stream into parts itself.
    chunkMinLength: 1,
    maxRequestBodyBytes: requestBodyLimit(env),
    browsePage: browsePageEnabled(env),
    acceptSparseManifests: acceptSparseManifests(env),
    // UPSTREAMS / REGISTRIES_JSON: one upstream fetch per blob digest (a BlobFlight object per digest).
    pullThrough: workersPullThrough(env, store, env.BLOB_FLIGHTS ? durableBlobFlights(env.BLOB_FLIGHTS) : undefined, metrics),
    metrics,
    observe: operations({
      // Workers Logs keeps console.log objects as structured, searchable fields ([observability]).
      log: new RequestLog(ops.logLevel, (entry) => console.log(entry)),
      metrics: metrics ?? null,
      // /metrics is not served on Workers: counts in one isolate's memory would be a small random part.
      ready: async () => void (await env.BUCKET.head(READY_PROBE_KEY)),
    }),
    lifecycle: workersGcConfig(env),
  });
}

/** A key that is never written: its HEAD proves that R2 answers without reading any content. */
const READY_PROBE_KEY = "_ops/ready-probe";

/**
 * The Cron Trigger ([triggers] crons in wrangler.toml): one garbage collection. A run that hits a
 * platform limit stops with the store consistent; the next trigger starts over and finishes.
 */
export async function scheduledCollection(env: Env): Promise<GcReport> {
  return collectGarbage(new R2ObjectStore(env.BUCKET), durableUploadSessions(env.UPLOADS), workersGcConfig(env));
}

/** A collection stops after this many R2 operations and hands over to the next (subrequest limits). */
const GC_OPERATIONS_PER_INVOCATION = 900;

function workersGcConfig(env: Env) {
  return gcConfig(env, { operationsPerRun: GC_OPERATIONS_PER_INVOCATION });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // Cloudflare's edge sets CF-Connecting-IP to the client's address (the local front sets it too).
    const address = request.headers.get("CF-Connecting-IP") ?? undefined;
    return (await registryFor(env))(request, { address });
  },
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    ctx.waitUntil(logScheduledRun(scheduledCollection(env)));
  },
} satisfies ExportedHandler<Env>;
