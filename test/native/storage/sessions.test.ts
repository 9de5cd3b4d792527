// Write-behind session state (LocalUploadSessions + SqliteSessionStorage with a durability barrier):
// a request answers only once its state is in SQLite, state waits for the parts before it to be
// durable, and a barrier that fails (disk full) answers the error and leaves the last durable state.
import * as fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { StorageFullError } from "../../../src/oci/errors";
import { FilesystemObjectStore } from "../../../src/runtimes/native/fs-store";
import { LocalUploadSessions } from "../../../src/runtimes/native/local-sessions";
import { nativeHashes } from "../../../src/runtimes/native/native-hash";
import { SessionDatabase } from "../../../src/runtimes/native/session-db";
import { MiB, concat, randomBytes, sha256, streamOf, tempDir } from "./support";

const PART = 5 * MiB;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A barrier the test opens, or fails, by hand. */
function gate() {
  let current: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | null = null;
  return {
    barrier: () => current?.promise ?? Promise.resolve(),
    close() {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => {});
      current = { promise, resolve, reject };
    },
    open() {
      current?.resolve();
      current = null;
    },
    /** Fails the waiting barrier and every later one until open(): a slow append that reaches it late fails too. */
    fail(err: unknown) {
      if (!current) this.close();
      current!.reject(err);
    },
  };
}

async function setup() {
  const dir = tempDir("sessions");
  const objects = await FilesystemObjectStore.open(path.join(dir, "objects"));
  const database = new SessionDatabase(path.join(dir, "uploads.sqlite"));
  const durability = gate();
  const sessions = new LocalUploadSessions({
    database,
    objects,
    config: { partSize: PART, ttlMs: 3600_000, hashes: nativeHashes },
    durable: durability.barrier,
  });
  const reader = new DatabaseSync(path.join(dir, "uploads.sqlite"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => database.close(), () => sessions.close(), () => reader.close());
  const storedOffset = (id: string): number | null => {
    const row = reader.prepare("SELECT value FROM upload_entries WHERE session = ? AND key = 'session'").get(id) as { value: Uint8Array } | undefined;
    return row ? (JSON.parse(new TextDecoder().decode(row.value)) as { offset: number }).offset : null;
  };
  return { sessions, durability, storedOffset };
}

const settled = (promise: Promise<unknown>, ms = 150) =>
  Promise.race([promise.then(() => true, () => true), new Promise((resolve) => setTimeout(() => resolve(false), ms))]);

describe("write-behind upload-session state", () => {
  it("a chunk is answered only once its state is stored, which waits for the parts before it", async () => {
    const { sessions, durability, storedOffset } = await setup();
    const id = sessions.newId();
    const session = sessions.get(id)!;
    expect((await session.create("demo/x", "sha256")).ok).toBe(true);
    expect(storedOffset(id)).toBe(0);

    durability.close();
    const bytes = randomBytes(PART + 100);
    const appended = session.append("demo/x", 0, streamOf(bytes));
    expect(await settled(appended), "no answer before the part is durable").toBe(false);
    expect(storedOffset(id), "state not written ahead of the part").toBe(0);
    const status = session.status("demo/x");
    expect(await settled(status), "a status waits for the state it reports to be durable").toBe(false);
    durability.open();
    expect(await appended).toEqual({ ok: true, value: { offset: PART + 100 } });
    expect(await status).toEqual({ ok: true, value: { offset: PART + 100 } });
    expect(storedOffset(id)).toBe(PART + 100);
  });

  it("a barrier that fails answers the error; the session goes on from its last durable state", async () => {
    const { sessions, durability, storedOffset } = await setup();
    const id = sessions.newId();
    expect((await sessions.get(id)!.create("demo/x", "sha256")).ok).toBe(true);
    const first = randomBytes(PART + 100);
    expect(await sessions.get(id)!.append("demo/x", 0, streamOf(first))).toEqual({ ok: true, value: { offset: PART + 100 } });

    durability.close();
    const lost = sessions.get(id)!.append("demo/x", PART + 100, streamOf(randomBytes(PART)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    durability.fail(new StorageFullError("test"));
    await expect(lost).rejects.toBeInstanceOf(StorageFullError);
    durability.open();
    expect(storedOffset(id)).toBe(PART + 100);
    expect(await sessions.get(id)!.status("demo/x"), "a fresh core reports what is stored").toEqual({ ok: true, value: { offset: PART + 100 } });

    const second = randomBytes(PART + 7);
    expect(await sessions.get(id)!.append("demo/x", PART + 100, streamOf(second))).toEqual({ ok: true, value: { offset: 2 * PART + 107 } });
    const whole = concat(first, second);
    expect(await sessions.get(id)!.finish("demo/x", sha256(whole), null, null)).toEqual({ ok: true, value: { size: whole.length } });
  });
});
