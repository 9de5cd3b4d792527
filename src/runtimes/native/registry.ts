// The self-hosted registry (Bun, Deno, Node): the core of src/ bound to a filesystem object store,
// upload sessions in this process with state in SQLite, node:crypto hashing and the settings.
// The HTTP server and each runtime's entry sit on top of `handle`.
//
//   <dataDir>/registry.lock      held while a registry runs on this directory (data-dir-lock.ts)
//   <dataDir>/uploads.sqlite     upload-session state (+ -wal, -shm) (session-db.ts)
//   <dataDir>/objects/           the object store (fs-store.ts)
import * as fs from "node:fs";
import path from "node:path";
import { createRegistry } from "../../app";
import { Metrics, RequestLog, operations, operationsSettings, type LogSink } from "../../extensions/ops";
import type { ClientInfo } from "../../auth/failure-limiter";
import { Authenticator } from "../../auth/authenticator";
import { acceptSparseManifests, browsePageEnabled, requestBodyLimit, uploadConfig, type RegistrySettings } from "../../settings";
import { RegistryStore } from "../../storage/registry-store";
import { pullThroughFromSettings } from "../../extensions/pull-through";
import { collectGarbage, gcConfig, logScheduledRun, type GcReport, type RunOptions } from "../../extensions/gc";
import { DataDirLock } from "./data-dir-lock";
import { FilesystemObjectStore, type RangeReader } from "./fs-store";
import { LocalUploadSessions } from "./local-sessions";
import { nativeHashes } from "./native-hash";
import type { RunningServer } from "./http";
import { dataDirProbe, startMetricsListener } from "./ops";
import { SessionDatabase } from "./session-db";

const MiB = 1024 * 1024;

export interface NativeRegistryOptions {
  /** Directory holding everything: objects, upload-session state, the lock. Created if missing. */
  dataDir: string;
  settings: RegistrySettings;
  /** fsync before answering (default true); off only for measuring its cost (BENCHMARKS.md). */
  durable?: boolean;
  /** Expiry sweep interval; default min(60 s, UPLOAD_TTL_SECONDS / 4). */
  sweepIntervalMs?: number;
  /** Where request log lines go (at LOG_LEVEL); the entry passes stdoutLog() from ./ops. Absent: no lines. */
  log?: LogSink;
  /** The runtime's own way to stream file ranges (FilesystemStoreOptions.readRange). */
  readRange?: RangeReader;
}


export interface NativeRegistry {
  /** The auth mode in force; "refusing" when the auth settings cannot work (the reason went to stderr). */
  authMode: Authenticator["mode"];
  handle(request: Request, client?: ClientInfo): Promise<Response>;
  /** One garbage collection now (what GC_INTERVAL_SECONDS runs on a timer). */
  collectGarbage(options?: RunOptions): Promise<GcReport>;
  /** Stops the expiry sweep, the collector's timer and the metrics listener, waits for running requests, closes the database, releases the lock. */
  close(): Promise<void>;
  /** The counts behind /metrics; extensions add theirs with metrics.count("pull_through_hits"). */
  readonly metrics: Metrics;
  /** The metrics-only listener (METRICS_ADDRESS), started here; null when not configured. */
  readonly metricsListener: RunningServer | null;
}

export async function createNativeRegistry(options: NativeRegistryOptions): Promise<NativeRegistry> {
  const { dataDir, settings } = options;
  // UPLOAD_PART_SIZE keeps its default (8 MiB) here too: measured on the filesystem, 16 MiB parts
  // push ~10% faster but grow resident memory past 128 MiB for a 1 GiB layer (BENCHMARKS.md).
  const config = { ...uploadConfig(settings), hashes: nativeHashes };
  const maxRequestBodyBytes = requestBodyLimit(settings);
  const pullThrough = pullThroughFromSettings(settings);
  const ops = operationsSettings(settings);
  fs.mkdirSync(dataDir, { recursive: true });
  const lock = DataDirLock.acquire(dataDir);
  let database: SessionDatabase | null = null;
  let metricsListener: RunningServer | null = null;
  try {
    const objectsDir = path.join(dataDir, "objects");
    const objects = await FilesystemObjectStore.open(objectsDir, { durable: options.durable, syncPartsInBackground: true, readRange: options.readRange });
    database = new SessionDatabase(path.join(dataDir, "uploads.sqlite"));
    const auth = await Authenticator.fromEnv(settings);
    const sessions = new LocalUploadSessions({
      database,
      objects,
      config,
      durable: () => objects.whenDurable(),
      multipartUploads: () => objects.multipartUploads(),
      sweepIntervalMs: options.sweepIntervalMs,
    });
    const store = new RegistryStore(objects);
    const maxManifestBytes = 4 * MiB;
    const db = database;
    const metrics = new Metrics();
    metrics.gauge("upload_sessions_open", "Upload sessions holding state (started, not finished, cancelled or expired).", () => db.openSessions());
    const lifecycle = gcConfig(settings);
    const registry = createRegistry({
      store,
      uploads: sessions,
      auth,
      maxManifestBytes,
      // Any chunk size is accepted; the session cuts the stream into parts itself.
      chunkMinLength: 1,
      maxRequestBodyBytes,
      acceptSparseManifests: acceptSparseManifests(settings),
      browsePage: browsePageEnabled(settings),
      // UPSTREAMS / REGISTRIES_JSON: one fetch per blob digest at a time, in this process.
      pullThrough: pullThrough({ store, uploads: sessions, maxManifestBytes, metrics }),
      metrics,
      observe: operations({
        log: new RequestLog(ops.logLevel, options.log ?? null),
        metrics,
        scrape: { metrics, auth, group: ops.metricsGroup },
        ready: dataDirProbe(dataDir, objectsDir, db),
      }),
      lifecycle,
    });
    if (ops.metricsAddress !== null) metricsListener = await startMetricsListener(ops.metricsAddress, metrics);
    const listener = metricsListener;
    let closed: Promise<void> | null = null;
    const collect = (options: RunOptions = {}) => collectGarbage(objects, sessions, lifecycle, options);
    // The scheduled collection (GC_INTERVAL_SECONDS, 0 = off); a failed run is logged and retried next time.
    let collecting: Promise<unknown> | null = null;
    const timer = lifecycle.intervalMs > 0
      ? setInterval(() => {
          if (collecting) return;
          collecting = logScheduledRun(collect()).finally(() => (collecting = null));
        }, lifecycle.intervalMs)
      : null;
    timer?.unref?.();
    return {
      authMode: auth.mode,
      handle: (request, client) => registry(request, client),
      metrics,
      metricsListener: listener,
      collectGarbage: collect,
      close() {
        closed ??= (async () => {
          if (timer) clearInterval(timer);
          await collecting;
          await listener?.close();
          await sessions.close();
          db.close();
          lock.release();
        })();
        return closed;
      },
    };
  } catch (err) {
    await metricsListener?.close();
    database?.close();
    lock.release();
    throw err;
  }
}
