// Write-behind session state (LocalUploadSessions + SqliteSessionStorage with a durability barrier):
// a request answers only once its state is in SQLite, state waits for the parts before it to be
// durable, and a barrier that fails (disk full) answers the error and leaves the last durable state.
// And the part pipeline: one part is written while the next is received, never more.
import * as fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { StorageFullError } from "../../../src/oci/errors";
import type { ObjectStore, PartBytes } from "../../../src/storage/object-store";
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

/** The real store, with part uploads the test holds or fails by part number. */
function withHeldParts(objects: ObjectStore) {
  const held = new Map<number, Promise<void>>();
  const failing = new Map<number, Error>();
  const started: number[] = [];
  const store = new Proxy(objects, {
    get(target, prop, receiver) {
      if (prop !== "uploadPart") {
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (key: string, uploadId: string, n: number, data: PartBytes) => {
        started.push(n);
        await held.get(n);
        const failure = failing.get(n);
        if (failure) throw failure;
        return target.uploadPart(key, uploadId, n, data);
      };
    },
  });
  return {
    store,
    started,
    hold(n: number) {
      let release!: () => void;
      held.set(n, new Promise<void>((resolve) => (release = resolve)));
      return () => release();
    },
    refuse(n: number, err: Error) {
      failing.set(n, err);
    },
    accept(n: number) {
      failing.delete(n);
    },
  };
}

/** A body that counts the bytes the session has taken from it. */
function countedStream(bytes: Uint8Array, piece = 256 * 1024) {
  const counter = { taken: 0 };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (counter.taken >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(counter.taken, counter.taken + piece));
        counter.taken = Math.min(bytes.length, counter.taken + piece);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, counter };
}

const until = async (condition: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

async function setup(wrap: (objects: ObjectStore) => ObjectStore = (objects) => objects) {
  const dir = tempDir("sessions");
  const objects = wrap(await FilesystemObjectStore.open(path.join(dir, "objects")));
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

describe("part pipeline", () => {
  it("one part is written while the next is received, never two at once", async () => {
    let parts!: ReturnType<typeof withHeldParts>;
    const { sessions } = await setup((objects) => (parts = withHeldParts(objects)).store);
    const id = sessions.newId();
    expect((await sessions.get(id)!.create("demo/x", "sha256")).ok).toBe(true);
    const bytes = randomBytes(3 * PART + 1000);
    const { stream, counter } = countedStream(bytes);
    const releaseFirst = parts.hold(1);
    const appended = sessions.get(id)!.append("demo/x", 0, stream);
    cleanups.push(releaseFirst); // a failing expectation must not leave the session hanging
    await until(() => parts.started.includes(1), "part 1 is being written");
    await until(() => counter.taken >= 2 * PART, "part 2 has been received while part 1 is written");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(parts.started, "part 2 waits for part 1").toEqual([1]);
    expect(counter.taken, "nothing of part 3 is read while two parts are held").toBeLessThanOrEqual(2 * PART + 256 * 1024);
    releaseFirst();
    expect(await appended).toEqual({ ok: true, value: { offset: bytes.length } });
    expect(parts.started).toEqual([1, 2, 3]);
    expect(await sessions.get(id)!.finish("demo/x", sha256(bytes), null, null)).toEqual({ ok: true, value: { size: bytes.length } });
  });

  it("a part the store refuses ends the request at the last committed part; the upload resumes from there", async () => {
    let parts!: ReturnType<typeof withHeldParts>;
    const { sessions, storedOffset } = await setup((objects) => (parts = withHeldParts(objects)).store);
    const id = sessions.newId();
    expect((await sessions.get(id)!.create("demo/x", "sha256")).ok).toBe(true);
    const bytes = randomBytes(3 * PART + 1000);
    parts.refuse(2, new StorageFullError("test"));
    await expect(sessions.get(id)!.append("demo/x", 0, streamOf(bytes))).rejects.toBeInstanceOf(StorageFullError);
    expect(storedOffset(id)).toBe(PART);
    expect(await sessions.get(id)!.status("demo/x")).toEqual({ ok: true, value: { offset: PART } });

    parts.accept(2); // the disk has room again
    expect(await sessions.get(id)!.append("demo/x", PART, streamOf(bytes.subarray(PART)))).toEqual({ ok: true, value: { offset: bytes.length } });
    expect(await sessions.get(id)!.finish("demo/x", sha256(bytes), null, null)).toEqual({ ok: true, value: { size: bytes.length } });
  });
});
