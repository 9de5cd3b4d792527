// Storage lifecycle (issue 13): the garbage collector, retention, storage usage, and the rules
// that keep tags immutable and indexes whole. The core reaches it through RegistryContext.lifecycle
// and the operator routes under /v2/_registry/ ("_" cannot begin a repository name component).
import type { IRequest } from "itty-router";
import type { GuardedHandler } from "../../app";
import type { RegistryContext } from "../../context";
import { RegistryError } from "../../oci/errors";
import type { ObjectStore } from "../../storage/object-store";
import type { UploadSessions } from "../../uploads/sessions";
import { Collector, GC_PHASES, type GcProgress, type GcReport, type Step } from "./collector";
import { keys } from "../../storage/layout";
import type { GcConfig } from "./config";
import { storageUsage } from "./usage";

export { gcConfig, type GcConfig, type GcSettings } from "./config";
export type { GcReport } from "./collector";
export { checkManifestDelete, checkTagDelete, checkTagWrite } from "./policy";

export const GC_PATH = "/v2/_registry/gc";
export const USAGE_PATH = "/v2/_registry/usage";

export interface RunOptions {
  dryRun?: boolean;
  /** Tests: called before each deletion; a throw stops the run there. */
  beforeDelete?: (step: Step, keys: string[]) => Promise<void> | void;
  /** Tests: the clock the collector reads (R2 cannot backdate objects). */
  now?: () => number;
  /** Tests: keys per listing call, so a few objects make several pages. */
  pageSize?: number;
  /** Tests: store operations per invocation, below GC_OPERATIONS_PER_RUN's minimum. */
  budget?: number;
}

/** Where a budgeted run (GC_OPERATIONS_PER_RUN) goes on next time; outside every prefix the collector sweeps. */
const CURSOR_KEY = keys.gcCursor;

const stringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

async function readProgress(objects: ObjectStore): Promise<GcProgress | null> {
  const stored = await objects.get(CURSOR_KEY);
  if (!stored) return null;
  try {
    const p = JSON.parse(await new Response(stored.body).text()) as GcProgress;
    const c = p.cursor;
    if (
      typeof c?.startedAt === "number" &&
      (GC_PHASES as readonly string[]).includes(c.phase) &&
      (c.after === undefined || typeof c.after === "string") &&
      stringList(p.live) && stringList(p.pointed) && stringList(p.emptied)
    ) {
      return p;
    }
  } catch {
    // unreadable: start over
  }
  return null; // unreadable, or written by an older version: start over
}

/** One collection at a time per store in this isolate or process: a second caller waits for the running one. */
const running = new WeakMap<ObjectStore, Promise<GcReport>>();

/** Runs the collector over a registry's store, asking its upload sessions which still exist. */
export async function collectGarbage(objects: ObjectStore, uploads: UploadSessions, config: GcConfig, options: RunOptions = {}): Promise<GcReport> {
  const busy = running.get(objects);
  if (busy) await busy.catch(() => {});
  // A dry run always looks at everything at once; real runs with a budget go on from the cursor.
  const budget = options.budget ?? config.operationsPerRun;
  const budgeted = budget !== undefined && !options.dryRun;
  const run = (async () => {
    const collector = new Collector(objects, {
      graceMs: config.graceMs,
      retention: config.retention,
      immutableTags: config.immutableTags,
      dryRun: options.dryRun,
      beforeDelete: options.beforeDelete,
      now: options.now,
      budget: budgeted ? budget : undefined,
      pageSize: options.pageSize,
      resume: budgeted ? await readProgress(objects) : null,
      sessionExists: async (id) => {
        const session = uploads.get(id);
        return session ? session.exists() : false;
      },
    });
    const report = await collector.run();
    if (budgeted) {
      const progress = collector.progress();
      if (progress) await objects.put(CURSOR_KEY, JSON.stringify(progress));
      else await objects.delete(CURSOR_KEY);
    }
    return report;
  })();
  running.set(objects, run);
  try {
    return await run;
  } finally {
    if (running.get(objects) === run) running.delete(objects);
  }
}

/**
 * Waits for a scheduled collection (the native timer, the Workers Cron Trigger) and logs its outcome
 * as one JSON line, like the request log beside it; a failure is logged, not thrown (the next run retries).
 */
export async function logScheduledRun(run: Promise<GcReport>): Promise<void> {
  const time = () => new Date().toISOString();
  try {
    const { bytesFreed, removed, restoredLinks, complete } = await run;
    console.log(JSON.stringify({ time: time(), level: "info", msg: "gc: scheduled collection", bytesFreed, removed, restoredLinks, complete }));
  } catch (err) {
    console.error(JSON.stringify({ time: time(), level: "error", msg: "gc: scheduled collection failed", error: err instanceof Error ? err.message : String(err) }));
  }
}

function lifecycleOf(ctx: RegistryContext): GcConfig {
  if (!ctx.lifecycle) throw new RegistryError("UNSUPPORTED", "storage lifecycle is not configured on this registry");
  return ctx.lifecycle;
}

const json = (body: unknown) =>
  new Response(JSON.stringify(body, null, 2), { status: 200, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });

/** `dry-run` / `dryRun`: absent or "false"/"0" = a real run, "true"/"1"/"" = dry run; anything else is refused. */
function dryRunParam(url: URL): boolean {
  const values = [...url.searchParams.getAll("dry-run"), ...url.searchParams.getAll("dryRun")];
  for (const key of url.searchParams.keys()) {
    if (key !== "dry-run" && key !== "dryRun") throw new RegistryError("UNSUPPORTED", "unknown parameter", { status: 400, detail: { parameter: key.slice(0, 100) } });
  }
  if (values.length === 0) return false;
  if (values.length > 1) throw new RegistryError("UNSUPPORTED", "dry-run given more than once", { status: 400 });
  const v = values[0]!;
  if (v === "" || v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new RegistryError("UNSUPPORTED", 'dry-run must be "true" or "false"', { status: 400, detail: { value: v.slice(0, 100) } });
}

/** POST /v2/_registry/gc[?dry-run=true]: one collection now; the report says what was (or would be) freed. */
export const collectHandler: GuardedHandler = async (request: IRequest, ctx: RegistryContext) => {
  const config = lifecycleOf(ctx);
  const dryRun = dryRunParam(new URL(request.url));
  // No body is expected; one that is sent is not read (and not stored).
  await request.body?.cancel().catch(() => {});
  return json(await collectGarbage(ctx.store.objects, ctx.uploads, config, { dryRun }));
};

/** GET /v2/_registry/usage: bytes, blobs, manifests and tags per repository. */
export const usageHandler: GuardedHandler = async (request: IRequest, ctx: RegistryContext) => {
  lifecycleOf(ctx);
  if ([...new URL(request.url).searchParams.keys()].length > 0) throw new RegistryError("UNSUPPORTED", "usage takes no parameters", { status: 400 });
  return json(await storageUsage(ctx.store.objects));
};
