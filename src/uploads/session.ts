// The upload state machine, independent of the runtime: one instance per upload session.
//
// Bytes stream in, are hashed as they pass, and are cut into equal parts of `partSize` for the
// multipart upload (R2 requires every part but the last to be the same size). Bytes that do not
// fill a part yet are the "tail", kept in session storage until more arrive or the upload closes.
// State (offset, hash, parts, tail) is committed at every part boundary and at the end of every
// chunk, so the session survives retries and restarts.
import { concatBytes } from "../bytes";
import { portableHashes, type HashAlgorithm, type HashEngine, type RunningHash } from "../hash/resumable-hash";
import { digestBytes, formatDigest, parseDigest, type Digest } from "../oci/digest";
import type { ErrorCode } from "../oci/errors";
import type { ObjectStore } from "../storage/object-store";
import { keys } from "../storage/layout";
import { RegistryStore, type BlobInfo } from "../storage/registry-store";
import type { AppendOptions, SessionResult, UploadFailure, UploadSessionApi, UploadStatus } from "./protocol";
import { STATE_KEY, TAIL_SEGMENT, tailKey, type SessionState, type SessionStorage } from "./session-state";

export interface SessionConfig {
  partSize: number;
  ttlMs: number;
  /** How bytes are hashed on the way in; default the portable hashers, whose state is saved. */
  hashes?: HashEngine;
  now?: () => number;
}

class Failure extends Error {
  constructor(readonly failure: UploadFailure) {
    super(failure.message);
  }
}

const fail = (code: ErrorCode, message: string, extra: Partial<UploadFailure> = {}) =>
  new Failure({ code, message, ...extra });

export class UploadSessionCore implements UploadSessionApi {
  private state: SessionState | null | undefined; // undefined: not loaded yet; null: no session
  private busy = false;
  private cancelled = false;
  /** The running hash of the committed bytes [0, offset), kept between requests in this process. */
  private committedHash: RunningHash | null = null;
  private readonly registry: RegistryStore;
  private readonly hashes: HashEngine;

  constructor(
    private readonly id: string,
    private readonly storage: SessionStorage,
    private readonly objects: ObjectStore,
    private readonly config: SessionConfig,
  ) {
    this.registry = new RegistryStore(objects);
    this.hashes = config.hashes ?? portableHashes;
  }

  private now(): number {
    return (this.config.now ?? Date.now)();
  }

  create(name: string, algorithm: HashAlgorithm): Promise<SessionResult<UploadStatus>> {
    return this.run(async () => {
      if (await this.load()) throw fail("BLOB_UPLOAD_INVALID", "upload session already exists");
      const hash = this.hashes.create(algorithm);
      const state: SessionState = {
        name,
        algorithm,
        offset: 0,
        hash: hash.save(),
        partSize: this.config.partSize,
        dataKey: keys.blobData(this.id),
        parts: [],
        tailSegments: 0,
        tailLength: 0,
        expiresAt: 0,
      };
      await this.save(state, {}, [], hash);
      return { offset: 0 };
    });
  }

  status(name: string): Promise<SessionResult<UploadStatus>> {
    return this.run(async () => ({ offset: (await this.session(name)).offset }));
  }

  append(name: string, start: number | null, body: ReadableStream<Uint8Array>, options: AppendOptions = {}): Promise<SessionResult<UploadStatus>> {
    return this.run(() =>
      this.exclusive(name, start, async (state) => {
        await this.receive(state, body, options.wholeChunk);
        return { offset: state.offset };
      }),
    );
  }

  finish(
    name: string,
    digest: string,
    start: number | null,
    body: ReadableStream<Uint8Array> | null,
    options: AppendOptions = {},
  ): Promise<SessionResult<{ size: number }>> {
    return this.run(() =>
      this.exclusive(name, body ? start : null, async (state) => {
        if (body) await this.receive(state, body, options.wholeChunk);
        const expected = parseDigest(digest);
        let blob: BlobInfo;
        if (expected.algorithm === state.algorithm) {
          const actual = { algorithm: state.algorithm, hex: (await this.hashAt(state)).digestHex() };
          if (actual.hex !== expected.hex) throw digestMismatch(expected, actual);
          blob = await this.publish(state, expected);
        } else {
          blob = await this.publishRehashed(state, expected);
        }
        await this.registry.link(state.name, expected, blob);
        await this.storage.deleteAll();
        this.state = null;
        if (state.multipartId) await this.forgetMultipart();
        return { size: state.offset };
      }),
    );
  }

  cancel(name: string): Promise<SessionResult<null>> {
    return this.run(async () => {
      const state = await this.session(name);
      this.cancelled = true;
      await this.discard(state);
      return null;
    });
  }

  async exists(): Promise<boolean> {
    return (await this.load()) !== null;
  }

  /** Alarm: abandon the session once it has been idle past its expiry. */
  async expire(): Promise<void> {
    const state = await this.load();
    if (!state) return;
    if (this.busy) {
      await this.storage.setAlarm(this.now() + this.config.ttlMs);
      return;
    }
    if (state.expiresAt > this.now()) {
      await this.storage.setAlarm(state.expiresAt);
      return;
    }
    this.cancelled = true;
    await this.discard(state);
  }

  // --- internals ---------------------------------------------------------------------------

  private async run<T>(work: () => Promise<T>): Promise<SessionResult<T>> {
    try {
      return { ok: true, value: await work() };
    } catch (err) {
      if (err instanceof Failure) return { ok: false, error: err.failure };
      throw err;
    }
  }

  private async load(): Promise<SessionState | null> {
    if (this.state === undefined) this.state = (await this.storage.get<SessionState>(STATE_KEY)) ?? null;
    return this.state;
  }

  private async session(name: string): Promise<SessionState> {
    const state = await this.load();
    // A session is only reachable through the repository it was opened for.
    if (!state || state.name !== name) throw fail("BLOB_UPLOAD_UNKNOWN", "upload session not found");
    return state;
  }

  /** One writer at a time; a second request racing the first learns the current offset (416). */
  private async exclusive<T>(name: string, start: number | null, work: (state: SessionState) => Promise<T>): Promise<T> {
    const state = await this.session(name);
    if (this.busy) {
      throw fail("BLOB_UPLOAD_INVALID", "another request is writing to this upload", { status: 416, offset: state.offset });
    }
    if (start !== null && start !== state.offset) {
      throw fail("BLOB_UPLOAD_INVALID", `chunk starts at ${start}, upload is at ${state.offset}`, {
        status: 416,
        offset: state.offset,
      });
    }
    this.busy = true;
    try {
      return await work(state);
    } catch (err) {
      this.state = undefined; // reload the committed state next time
      throw err;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Streams a body into the session, committing at part boundaries and at the end. With
   * `wholeChunk` (a body limit is configured, so chunks are bounded) nothing is committed until
   * the body has ended: a chunk that fails midway, or is cut off for being too large, leaves the
   * offset where it was. Parts uploaded meanwhile are overwritten when the chunk is sent again.
   *
   * One part is written while the next is received (at most one in flight, committed in order),
   * so the store's write time overlaps the client's sending instead of adding to it. A part the
   * store failed to take ends the request at the last committed offset.
   */
  private async receive(state: SessionState, body: ReadableStream<Uint8Array>, wholeChunk = false): Promise<void> {
    const hash = await this.hashAt(state);
    const staleTail: string[] = [];
    let carried = state.tailLength; // stored tail bytes the next part starts with
    let pending: Uint8Array[] = [];
    let pendingLength = 0;
    let writing = null as Promise<void> | null; // the part being written
    let ended = false;
    const cutPart = async () => {
      if (writing) await writing;
      const chunks = pending;
      const length = pendingLength;
      const atBoundary = hash.fork();
      pending = [];
      pendingLength = 0;
      carried = 0;
      writing = this.uploadFullPart(state, chunks, length, atBoundary, !wholeChunk).then((replaced) => {
        staleTail.push(...replaced);
      });
      writing.catch(() => {}); // awaited before the next part and at the end
    };
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let chunk = value;
        while (chunk.length > 0) {
          // A full part is waiting (an earlier upload of it failed): send it before reading on.
          if (carried + pendingLength >= state.partSize) await cutPart();
          const room = state.partSize - carried - pendingLength;
          const piece = chunk.length <= room ? chunk : chunk.subarray(0, room);
          chunk = chunk.subarray(piece.length);
          hash.update(piece);
          pending.push(piece);
          pendingLength += piece.length;
          if (carried + pendingLength === state.partSize) await cutPart();
        }
      }
      ended = true;
    } finally {
      reader.releaseLock();
      const partFailure = await writing?.then(
        () => null,
        (err: unknown) => err ?? new Error("part upload failed"),
      );
      if (partFailure) {
        // The bytes after the failed part cannot be kept: the session stays at its last commit.
        if (wholeChunk) await this.dropUncommittedParts();
        throw partFailure;
      }
      // Keep whatever arrived, even if the client went away mid-chunk: it can resume from here.
      if (ended || !wholeChunk) {
        if (pendingLength > 0 || staleTail.length > 0) await this.appendTail(state, pending, pendingLength, hash, staleTail);
      } else {
        await this.dropUncommittedParts();
      }
    }
  }

  /**
   * A whole chunk failed (cut off at the body limit, or the client went away): the parts it
   * uploaded are not part of the session. When the session has no committed part, the multipart
   * upload holds nothing else: abort it and forget it, so no parts stay behind (a client that
   * retries with a new session would otherwise leave a body's worth each time). With committed
   * parts it stays: what the failed chunk added is at most one body limit of parts past the
   * committed ones, overwritten when the chunk is resent and dropped at completion, cancel or expiry.
   */
  private async dropUncommittedParts(): Promise<void> {
    try {
      const committed = await this.storage.get<SessionState>(STATE_KEY);
      if (!committed?.multipartId || committed.parts.length > 0 || this.cancelled) return;
      await this.abortMultipart(committed);
      delete committed.multipartId;
      await this.save(committed);
      await this.forgetMultipart();
    } catch (err) {
      console.warn("could not drop the parts of a failed chunk", err); // the chunk's own error is what the client needs
    }
  }

  /**
   * Uploads tail + pending as the next part; `hash` covers exactly the bytes through it. Returns
   * the tail keys it replaced (deleted now when `commit`).
   */
  private async uploadFullPart(state: SessionState, pending: Uint8Array[], pendingLength: number, hash: RunningHash, commit: boolean): Promise<string[]> {
    this.assertLive();
    const part = [...(await this.readTail(state)), ...pending];
    if (!state.multipartId) {
      state.multipartId = await this.objects.createMultipart(state.dataKey);
      // Recorded before the session refers to it: R2 cannot list unfinished multipart uploads, and
      // the garbage collector aborts recorded ones whose session is gone.
      await this.objects.put(keys.upload(this.id), "", { key: state.dataKey, multipartId: state.multipartId, name: state.name });
      if (this.cancelled) {
        await this.abortMultipart(state);
        await this.forgetMultipart();
      }
      await this.save(state);
    }
    const uploaded = await this.objects.uploadPart(state.dataKey, state.multipartId, state.parts.length + 1, part);
    this.assertLive();
    const oldTail = tailKeys(state.tailSegments);
    state.parts.push(uploaded);
    state.offset += pendingLength;
    state.hash = hash.save();
    state.tailSegments = 0;
    state.tailLength = 0;
    if (!commit) return oldTail;
    await this.save(state, {}, oldTail, hash);
    return [];
  }

  private async appendTail(state: SessionState, pending: Uint8Array[], pendingLength: number, hash: RunningHash, staleTail: string[] = []): Promise<void> {
    this.assertLive();
    // Top up the last segment first, so many tiny chunks do not become many tiny keys.
    let chunks = pending;
    let first = state.tailSegments;
    if (first > 0) {
      const last = await this.storage.get<Uint8Array>(tailKey(first - 1));
      if (last && last.length < TAIL_SEGMENT) {
        chunks = [last, ...pending];
        first -= 1;
      }
    }
    const bytes = concatBytes(chunks);
    const entries: Record<string, unknown> = {};
    let segments = first;
    for (let at = 0; at < bytes.length; at += TAIL_SEGMENT) {
      entries[tailKey(segments)] = bytes.slice(at, at + TAIL_SEGMENT);
      segments += 1;
    }
    state.tailSegments = segments;
    state.tailLength += pendingLength;
    state.offset += pendingLength;
    state.hash = hash.save();
    await this.save(state, entries, staleTail.filter((k) => !(k in entries)), hash);
  }

  private async readTailBytes(state: SessionState): Promise<Uint8Array> {
    return concatBytes(await this.readTail(state), state.tailLength);
  }

  private async readTail(state: SessionState): Promise<Uint8Array[]> {
    if (state.tailSegments === 0) return [];
    const names = tailKeys(state.tailSegments);
    const stored = await this.storage.getMany<Uint8Array>(names);
    return names.map((k) => {
      const segment = stored.get(k);
      if (!segment) throw new Error(`upload session lost tail segment ${k}`);
      return segment;
    });
  }

  /** Makes the verified bytes visible under their digest; never stores a blob twice. */
  private async publish(state: SessionState, digest: Digest): Promise<BlobInfo> {
    const existing = await this.registry.reuseBlob(digest);
    if (existing) {
      await this.abortMultipart(state);
      return existing;
    }
    if (state.parts.length === 0) {
      const tail = await this.readTailBytes(state);
      await this.abortMultipart(state);
      return this.registry.putBlobBytes(digest, tail);
    }
    await this.completeMultipart(state);
    return this.registry.putBlobPointer(digest, state.dataKey, state.offset);
  }

  /**
   * The client closed with a digest of another algorithm than the one hashed on the way in
   * (sha512 without `digest-algorithm` on the POST). Rare, so the stored bytes are read once.
   */
  private async publishRehashed(state: SessionState, digest: Digest): Promise<BlobInfo> {
    if (state.parts.length === 0) {
      const tail = await this.readTailBytes(state);
      const actual = await digestBytes(digest.algorithm, tail);
      if (actual.hex !== digest.hex) throw digestMismatch(digest, actual);
      await this.abortMultipart(state);
      return (await this.registry.reuseBlob(digest)) ?? (await this.registry.putBlobBytes(digest, tail));
    }
    await this.completeMultipart(state);
    const object = await this.objects.get(state.dataKey);
    if (!object) throw new Error(`completed upload ${state.dataKey} is missing`);
    const hash = this.hashes.create(digest.algorithm);
    await feed(hash, object.body);
    const actual = { algorithm: digest.algorithm, hex: hash.digestHex() };
    const existing = actual.hex === digest.hex ? await this.registry.reuseBlob(digest) : null;
    if (actual.hex !== digest.hex || existing) await this.objects.delete(state.dataKey);
    if (actual.hex !== digest.hex) {
      // The multipart upload is complete, so this session cannot take more bytes: end it.
      await this.storage.deleteAll();
      throw digestMismatch(digest, actual);
    }
    return existing ?? (await this.registry.putBlobPointer(digest, state.dataKey, state.offset));
  }

  /** Sends the tail as the last part and completes the multipart upload at `dataKey`. */
  private async completeMultipart(state: SessionState): Promise<void> {
    const multipartId = state.multipartId!;
    const tail = await this.readTail(state);
    const parts = [...state.parts];
    if (state.tailLength > 0) parts.push(await this.objects.uploadPart(state.dataKey, multipartId, parts.length + 1, tail));
    await this.objects.completeMultipart(state.dataKey, multipartId, parts);
    await this.forgetMultipart();
  }

  /** Best effort: R2 also aborts forgotten multipart uploads itself after 7 days. */
  private async abortMultipart(state: SessionState): Promise<void> {
    if (!state.multipartId) return;
    try {
      await this.objects.abortMultipart(state.dataKey, state.multipartId);
    } catch (err) {
      console.warn("abort multipart failed", err);
    }
  }

  /**
   * The multipart upload is finished, aborted or about to be aborted by the session itself: its
   * record (uploads/<id>) has done its job. A record left by a crash is cleared by the collector.
   */
  private async forgetMultipart(): Promise<void> {
    try {
      await this.objects.delete(keys.upload(this.id));
    } catch (err) {
      console.warn("could not remove the multipart upload record", err); // the collector removes it later
    }
  }

  private async discard(state: SessionState): Promise<void> {
    // The record first: until the state is gone the session itself still aborts its upload (expiry).
    if (state.multipartId) await this.forgetMultipart();
    await this.abortMultipart(state);
    await this.storage.deleteAll();
    this.state = null;
  }

  private assertLive(): void {
    if (this.cancelled) throw fail("BLOB_UPLOAD_UNKNOWN", "upload session was cancelled");
  }

  /** Commits the state; `hash` (when given) is the running hash of the bytes it now covers. */
  private async save(state: SessionState, entries: Record<string, unknown> = {}, deletes: string[] = [], hash?: RunningHash): Promise<void> {
    this.assertLive(); // a cancelled session must not be written back
    state.expiresAt = this.now() + this.config.ttlMs;
    await this.storage.commit({ ...entries, [STATE_KEY]: state }, deletes);
    await this.storage.setAlarm(state.expiresAt);
    this.state = state;
    if (hash) this.committedHash = hash.fork();
  }

  /**
   * A running hash of the committed bytes, to continue from: the one kept in memory, else the
   * saved state, else (an engine that cannot save, after a restart) the stored bytes hashed again.
   */
  private async hashAt(state: SessionState): Promise<RunningHash> {
    const live = this.committedHash;
    if (live && live.algorithm === state.algorithm && live.length === state.offset) return live.fork();
    if (state.hash) return this.hashes.restore(state.hash);
    const hash = this.hashes.create(state.algorithm);
    if (state.parts.length > 0) {
      if (!this.objects.readParts || !state.multipartId) {
        throw new Error(`upload ${this.id}: no saved hash state, and the store cannot read uploaded parts`);
      }
      await feed(hash, this.objects.readParts(state.dataKey, state.multipartId, state.parts));
    }
    for (const segment of await this.readTail(state)) hash.update(segment);
    if (hash.length !== state.offset) {
      throw new Error(`upload ${this.id}: ${hash.length} bytes stored, but the session is at ${state.offset}`);
    }
    this.committedHash = hash.fork();
    return hash;
  }
}

function digestMismatch(expected: Digest, actual: Digest): Failure {
  return fail("DIGEST_INVALID", "digest does not match the uploaded content", {
    detail: { expected: formatDigest(expected), actual: formatDigest(actual) },
  });
}

async function feed(hash: RunningHash, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) hash.update(r.value);
}

function tailKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => tailKey(i));
}
