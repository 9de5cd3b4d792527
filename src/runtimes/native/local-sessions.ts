// Upload sessions of one process: one UploadSessionCore per active session, whose `busy` flag is
// the mutual exclusion (one writer at a time, racing requests get 416 with the offset), state in
// SQLite (session-db.ts). Durable Object alarms become a sweep timer over the stored alarm times.
import { randomBytes } from "node:crypto";
import { clearInterval, setInterval } from "node:timers";
import type { HashAlgorithm } from "../../hash/resumable-hash";
import { keys } from "../../storage/layout";
import type { ObjectStore } from "../../storage/object-store";
import type { AppendOptions, SessionResult, UploadSessionApi, UploadStatus } from "../../uploads/protocol";
import { UploadSessionCore, type SessionConfig } from "../../uploads/session";
import { STATE_KEY, type SessionState } from "../../uploads/session-state";
import type { UploadSessions } from "../../uploads/sessions";
import type { SessionDatabase, SqliteSessionStorage } from "./session-db";

export interface LocalSessionsOptions {
  database: SessionDatabase;
  objects: ObjectStore;
  config: SessionConfig;
  /**
   * Resolves once everything `objects` was given so far is durable (FilesystemObjectStore.whenDurable
   * with syncPartsInBackground): session state is then written behind the part syncs, and each
   * request answers only once its state is durable. Absent: every commit is durable when made.
   */
  durable?: () => Promise<void>;
  /**
   * The multipart uploads in the store (FilesystemObjectStore.multipartUploads): those no session
   * refers to (a crash between creating one and saving the session) are aborted once older than
   * twice the TTL. Completed uploads are the bytes of their objects: aborting them does nothing.
   */
  multipartUploads?: () => Promise<{ key: string; uploadId: string; modifiedMs: number }[]>;
  /** How often due alarms (expiry) are run and idle cores evicted; default min(60 s, TTL / 4). */
  sweepIntervalMs?: number;
  /** An idle core (its live hash) is dropped after this long; default 10 min. */
  idleMs?: number;
  /** At most this many idle cores are kept; default 10 000. */
  maxIdle?: number;
}

/** Upload ids are 256 random bits, as unguessable as Durable Object ids. */
const SESSION_ID = /^[0-9a-f]{64}$/;
const BLOB_DATA = keys.blobData("");
const DUE_PER_SWEEP = 100;
/** Orphaned multipart uploads are looked for at start and then this often. */
const ORPHAN_SWEEP_MS = 3600_000;
const RETRY_MS = 60_000;

interface Active {
  core: UploadSessionCore;
  storage: SqliteSessionStorage;
  users: number;
  lastUsed: number;
  /** Its state could not be made durable: no new request joins it; replaced once idle. */
  retired?: { idle: Promise<void>; resolve: () => void };
}

export class LocalUploadSessions implements UploadSessions {
  private readonly active = new Map<string, Active>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly idleMs: number;
  private readonly maxIdle: number;
  private sweeping: Promise<void> | null = null;
  private nextOrphanSweep = 0;
  private inFlight = 0;
  private drained: (() => void) | null = null;
  private closing = false;
  private closed = false;

  constructor(private readonly options: LocalSessionsOptions) {
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.maxIdle = options.maxIdle ?? 10_000;
    const interval = options.sweepIntervalMs ?? Math.min(60_000, Math.max(options.config.ttlMs / 4, 10));
    this.timer = setInterval(() => void this.sweep(), interval);
    this.timer.unref?.();
    void this.sweep(); // sessions that expired while the registry was down
  }

  newId(): string {
    return randomBytes(32).toString("hex");
  }

  get(id: string): UploadSessionApi | null {
    return SESSION_ID.test(id) ? new SessionHandle(this, id) : null;
  }

  /** Cores held in memory right now (active or idle). */
  get size(): number {
    return this.active.size;
  }

  /**
   * Runs `work` on the session's core, the same core for every concurrent request. A core for an
   * id that names no stored session is dropped as soon as the work is done.
   */
  async use<T>(id: string, work: (core: UploadSessionCore) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error("upload sessions are closed");
    let entry = this.active.get(id);
    while (entry?.retired) {
      await entry.retired.idle;
      entry = this.active.get(id);
    }
    if (!entry) {
      const { database, objects, config, durable } = this.options;
      const storage = database.storage(id, durable);
      entry = { core: new UploadSessionCore(id, storage, objects, config), storage, users: 0, lastUsed: 0 };
      this.active.set(id, entry);
    }
    entry.users += 1;
    this.inFlight += 1;
    try {
      let result: T | undefined;
      let failure: { error: unknown } | null = null;
      try {
        result = await work(entry.core);
      } catch (error) {
        failure = { error }; // the core reloads its state itself; its live hash stays valid
      }
      try {
        await entry.storage.flush(); // what the response reports is durable
      } catch (error) {
        // State the core holds never reached storage: the next request starts from what did.
        if (!entry.retired) {
          let resolve!: () => void;
          const idle = new Promise<void>((r) => (resolve = r));
          entry.retired = { idle, resolve };
        }
        throw error;
      }
      if (failure) throw failure.error;
      return result as T;
    } finally {
      entry.users -= 1;
      entry.lastUsed = this.now();
      if (entry.users === 0 && (entry.retired || !this.options.database.exists(id))) {
        if (this.active.get(id) === entry) this.active.delete(id);
        entry.retired?.resolve();
      }
      this.inFlight -= 1;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  /** Runs due alarms (expiring abandoned sessions, with their parts) and evicts idle cores. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  /** Stops the timer and waits for running requests and sweeps. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.timer);
    await this.sweeping;
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.active.clear();
  }

  private now(): number {
    return (this.options.config.now ?? Date.now)();
  }

  private async sweepOnce(): Promise<void> {
    const { database } = this.options;
    let expired = 0;
    try {
      for (;;) {
        if (this.closing) return;
        const due = database.dueAlarms(this.now(), DUE_PER_SWEEP);
        for (const id of due) {
          if (this.closing) return;
          // An alarm runs once; the core sets it again if the session lives on.
          database.clearAlarm(id);
          expired += 1;
          try {
            await this.use(id, (core) => core.expire());
          } catch (err) {
            console.error(`upload session ${id}: expiry failed, retrying later`, err);
            database.setAlarm(id, this.now() + RETRY_MS);
          }
        }
        if (due.length < DUE_PER_SWEEP) break;
      }
      if (expired > 0) database.checkpoint();
      this.evictIdle();
      if (this.now() >= this.nextOrphanSweep) {
        this.nextOrphanSweep = this.now() + ORPHAN_SWEEP_MS;
        await this.abortOrphans();
      }
    } catch (err) {
      console.error("upload session sweep failed", err);
    }
  }

  private async abortOrphans(): Promise<void> {
    const { multipartUploads, objects, database, config } = this.options;
    if (!multipartUploads) return;
    const cutoff = this.now() - 2 * config.ttlMs;
    for (const upload of await multipartUploads()) {
      if (this.closing) return;
      if (upload.modifiedMs > cutoff) continue;
      const id = upload.key.startsWith(BLOB_DATA) ? upload.key.slice(BLOB_DATA.length) : "";
      const session = SESSION_ID.test(id) ? id : null;
      const state = session ? (database.get(session, STATE_KEY) as SessionState | undefined) : undefined;
      if (state?.multipartId === upload.uploadId || (session && this.active.has(session))) continue;
      await objects.abortMultipart(upload.key, upload.uploadId);
    }
  }

  private evictIdle(): void {
    const idle = [...this.active].filter(([, entry]) => entry.users === 0).sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    const cutoff = this.now() - this.idleMs;
    let excess = idle.length - this.maxIdle;
    for (const [id, entry] of idle) {
      if (entry.lastUsed > cutoff && excess <= 0) break;
      this.active.delete(id);
      excess -= 1;
    }
  }
}

/** What the router holds for one request: every call goes to the session's shared core. */
class SessionHandle implements UploadSessionApi {
  constructor(
    private readonly sessions: LocalUploadSessions,
    private readonly id: string,
  ) {}

  create(name: string, algorithm: HashAlgorithm): Promise<SessionResult<UploadStatus>> {
    return this.sessions.use(this.id, (core) => core.create(name, algorithm));
  }

  status(name: string): Promise<SessionResult<UploadStatus>> {
    return this.sessions.use(this.id, (core) => core.status(name));
  }

  append(name: string, start: number | null, body: ReadableStream<Uint8Array>, options?: AppendOptions): Promise<SessionResult<UploadStatus>> {
    return this.sessions.use(this.id, (core) => core.append(name, start, body, options));
  }

  finish(name: string, digest: string, start: number | null, body: ReadableStream<Uint8Array> | null, options?: AppendOptions): Promise<SessionResult<{ size: number }>> {
    return this.sessions.use(this.id, (core) => core.finish(name, digest, start, body, options));
  }

  cancel(name: string): Promise<SessionResult<null>> {
    return this.sessions.use(this.id, (core) => core.cancel(name));
  }

  exists(): Promise<boolean> {
    return this.sessions.use(this.id, (core) => core.exists());
  }
}
