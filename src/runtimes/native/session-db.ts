// Upload-session state on SQLite (node:sqlite's DatabaseSync, on Bun, Deno and Node): one database
// for every session of this data directory, in WAL mode. Commits run with synchronous=NORMAL (no
// fsync on the event loop: DatabaseSync blocks it), and `sync()` fsyncs the WAL file from the
// thread pool before anything is reported to a client: a commit reported survives a crash or power
// loss (the WAL is replayed), and the event loop never waits for the disk.
//
//   upload_entries(session, key, kind, value)   the SessionStorage values of each session:
//                                               kind 0 = JSON (Uint8Array fields as {"$bytes": base64}),
//                                               kind 1 = raw bytes (tail segments)
//   upload_alarms(session, at)                  when the session's alarm is due (ms since epoch)
import * as fs from "node:fs";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { StorageFullError } from "../../oci/errors";
import type { SessionStorage } from "../../uploads/session-state";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS upload_entries (
  session TEXT NOT NULL,
  key TEXT NOT NULL,
  kind INTEGER NOT NULL,
  value BLOB NOT NULL,
  UNIQUE (session, key)
);
CREATE TABLE IF NOT EXISTS upload_alarms (
  session TEXT PRIMARY KEY,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS upload_alarms_due ON upload_alarms (at);
`;

const JSON_VALUE = 0;
const BYTES_VALUE = 1;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class SessionDatabase {
  private readonly db: DatabaseSync;
  /** Transactions written, and how many of them are known to be on disk. */
  private writes = 0;
  private synced = 0;
  private syncing: Promise<void> | null = null;
  private countSessions: StatementSync | null = null;
  private readonly statements: Record<"get" | "put" | "remove" | "removeAll" | "exists" | "setAlarm" | "clearAlarm" | "due", StatementSync>;

  constructor(readonly file: string) {
    this.db = new DatabaseSync(file);
    full(() => {
      this.db.exec("PRAGMA journal_mode = WAL");
      this.db.exec("PRAGMA synchronous = NORMAL");
      this.db.exec("PRAGMA busy_timeout = 5000");
      // Tails pass through the WAL; once checkpointed, do not keep more than this on disk.
      this.db.exec("PRAGMA journal_size_limit = 33554432");
      this.db.exec(SCHEMA);
    });
    const prepare = (sql: string) => this.db.prepare(sql);
    this.statements = {
      get: prepare("SELECT kind, value FROM upload_entries WHERE session = ? AND key = ?"),
      put: prepare("INSERT INTO upload_entries (session, key, kind, value) VALUES (?, ?, ?, ?) ON CONFLICT (session, key) DO UPDATE SET kind = excluded.kind, value = excluded.value"),
      remove: prepare("DELETE FROM upload_entries WHERE session = ? AND key = ?"),
      removeAll: prepare("DELETE FROM upload_entries WHERE session = ?"),
      exists: prepare("SELECT 1 AS found FROM upload_entries WHERE session = ? LIMIT 1"),
      setAlarm: prepare("INSERT INTO upload_alarms (session, at) VALUES (?, ?) ON CONFLICT (session) DO UPDATE SET at = excluded.at"),
      clearAlarm: prepare("DELETE FROM upload_alarms WHERE session = ?"),
      due: prepare("SELECT session FROM upload_alarms WHERE at <= ? ORDER BY at LIMIT ?"),
    };
  }

  /** The SessionStorage of one session; see SqliteSessionStorage for `barrier`. */
  storage(session: string, barrier?: () => Promise<void>): SqliteSessionStorage {
    return new SqliteSessionStorage(this, session, barrier);
  }

  get(session: string, key: string): unknown {
    const row = this.statements.get.get(session, key) as { kind: number; value: Uint8Array } | undefined;
    return row ? decodeValue(row.kind, row.value) : undefined;
  }

  /** Writes and deletes entries of one session in one transaction. */
  commitEncoded(session: string, entries: readonly (readonly [string, Encoded])[], deletes: string[]): void {
    this.write(() => {
      for (const key of deletes) this.statements.remove.run(session, key);
      for (const [key, [kind, bytes]] of entries) this.statements.put.run(session, key, kind, bytes);
    });
  }

  deleteSession(session: string): void {
    this.write(() => {
      this.statements.removeAll.run(session);
      this.statements.clearAlarm.run(session);
    });
  }

  exists(session: string): boolean {
    return this.statements.exists.get(session) !== undefined;
  }

  setAlarm(session: string, at: number): void {
    this.write(() => this.statements.setAlarm.run(session, Math.round(at)));
  }

  clearAlarm(session: string): void {
    this.write(() => this.statements.clearAlarm.run(session));
  }

  /** Resolves once every transaction written so far is on disk (one fsync of the WAL serves many). */
  async sync(): Promise<void> {
    while (this.synced < this.writes) {
      if (!this.syncing) {
        const target = this.writes;
        this.syncing = fsyncFile(`${this.file}-wal`)
          .then(() => void (this.synced = Math.max(this.synced, target)))
          .finally(() => (this.syncing = null));
      }
      await this.syncing;
    }
  }

  /** How many upload sessions hold state (the open-sessions gauge; read at each metrics scrape). */
  openSessions(): number {
    this.countSessions ??= this.db.prepare("SELECT count(DISTINCT session) AS n FROM upload_entries");
    return Number((this.countSessions.get() as { n: number | bigint }).n);
  }

  /** Throws when the database cannot be read (readiness). */
  ping(): void {
    this.db.prepare("SELECT 1").get();
  }

  /** Sessions whose alarm is due at `now`, earliest first. */
  dueAlarms(now: number, limit: number): string[] {
    return (this.statements.due.all(Math.round(now), limit) as { session: string }[]).map((r) => r.session);
  }

  /** Copies the WAL into the database and truncates it: gives back the space of expired sessions' tails. */
  checkpoint(): void {
    full(() => this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  }

  close(): void {
    this.db.close();
  }

  /** One transaction, to be made durable by `sync`. */
  private write(work: () => unknown): void {
    this.writes += 1;
    full(() => {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        work();
        this.db.exec("COMMIT");
      } catch (err) {
        try {
          this.db.exec("ROLLBACK");
        } catch {
          // SQLite already rolled back (it may, on SQLITE_FULL)
        }
        throw err;
      }
    });
  }
}

/**
 * One session's storage. With a `barrier` (resolves once everything the object store was given
 * so far is durable), commits are written behind: each is applied, in order, only after the parts
 * uploaded before it are synced, so the state never refers to a part a power loss could take,
 * while the session reads on and hashes the next part. Reads see pending commits. `flush` waits
 * until every commit made so far is applied (the caller answers the client only after it).
 */
export class SqliteSessionStorage implements SessionStorage {
  private readonly overlay = new Map<string, { version: number; value: Encoded | null }>();
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private version = 0;

  constructor(
    private readonly db: SessionDatabase,
    private readonly session: string,
    private readonly barrier?: () => Promise<void>,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    return this.read(key) as T | undefined;
  }

  async getMany<T>(keys: string[]): Promise<Map<string, T>> {
    const found = new Map<string, T>();
    for (const key of keys) {
      const value = this.read(key);
      if (value !== undefined) found.set(key, value as T);
    }
    return found;
  }

  async commit(entries: Record<string, unknown>, deletes: string[] = []): Promise<void> {
    if (this.failure) throw this.failure;
    // Encoded now: the session goes on changing the objects it passed.
    const encoded = Object.entries(entries).map(([key, value]) => [key, encodeValue(value)] as const);
    if (!this.barrier) {
      this.db.commitEncoded(this.session, encoded, deletes);
      return this.db.sync();
    }
    const version = ++this.version;
    for (const key of deletes) this.overlay.set(key, { version, value: null });
    for (const [key, value] of encoded) this.overlay.set(key, { version, value });
    const durable = this.barrier();
    durable.catch(() => {}); // awaited in the chain; a failure fails the chain, not the process
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await durable;
        this.db.commitEncoded(this.session, encoded, deletes);
      } catch (err) {
        this.failure = err;
        return;
      }
      for (const key of [...deletes, ...encoded.map(([k]) => k)]) {
        if (this.overlay.get(key)?.version === version) this.overlay.delete(key);
      }
    });
  }

  /** Waits until every commit so far is applied; throws what stopped one (the session must then reload). */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
    await this.db.sync();
  }

  async deleteAll(): Promise<void> {
    await this.chain;
    this.overlay.clear();
    this.failure = null;
    this.db.deleteSession(this.session);
  }

  async setAlarm(at: number): Promise<void> {
    this.db.setAlarm(this.session, at);
  }

  private read(key: string): unknown {
    const pending = this.overlay.get(key);
    if (pending) return pending.value ? decodeValue(...pending.value) : undefined;
    return this.db.get(this.session, key);
  }
}

type Encoded = [number, Uint8Array];

function encodeValue(value: unknown): Encoded {
  if (value instanceof Uint8Array) return [BYTES_VALUE, value];
  const json = JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? { $bytes: toBase64(v) } : v));
  return [JSON_VALUE, utf8.encode(json)];
}

function decodeValue(kind: number, value: Uint8Array): unknown {
  if (kind === BYTES_VALUE) return new Uint8Array(value);
  return JSON.parse(utf8Decoder.decode(value), (_key, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const bytes = (v as { $bytes?: unknown }).$bytes;
      if (typeof bytes === "string" && Object.keys(v).length === 1) return fromBase64(bytes);
    }
    return v;
  });
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

const SQLITE_FULL = 13;

async function fsyncFile(file: string): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, "r");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return; // no WAL: everything is in the database file
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if ((err as { code?: string }).code === "ENOSPC") throw new StorageFullError("upload-session database: ENOSPC");
    throw err;
  } finally {
    await handle.close();
  }
}

/** SQLite's "database or disk is full" becomes the registry's StorageFullError. */
function full<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    const e = err as { errcode?: number; message?: string; code?: string };
    if ((e.errcode !== undefined && (e.errcode & 0xff) === SQLITE_FULL) || /database or disk is full/i.test(e.message ?? "")) {
      throw new StorageFullError("upload-session database: SQLITE_FULL");
    }
    throw err;
  }
}
