// The self-hosted registry through createNativeRegistry(...).handle with real Requests, on the
// real filesystem and SQLite: by vitest (registry.test.ts) and, bundled, under Bun and Deno
// (contract-runner.ts). Each case gets a fresh data directory.
import * as fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { FilesystemObjectStore } from "../../../src/runtimes/native/fs-store";
import { LocalUploadSessions } from "../../../src/runtimes/native/local-sessions";
import { nativeHashes } from "../../../src/runtimes/native/native-hash";
import { createNativeRegistry, type NativeRegistry } from "../../../src/runtimes/native/registry";
import { SessionDatabase } from "../../../src/runtimes/native/session-db";
import type { RegistrySettings } from "../../../src/settings";
import { BASE, MiB, assert, assertSameBytes, concat, errorsOf, randomBytes, readAll, sha256, sha512, streamOf, type TestCase } from "./support";

export interface RegistryContext {
  dataDir: string;
}

export const PART = 5 * MiB;
export const SETTINGS: RegistrySettings = { AUTH_MODE: "open", UPLOAD_PART_SIZE: String(PART) };

export function open(dataDir: string, settings: RegistrySettings = {}, extra: { sweepIntervalMs?: number } = {}): Promise<NativeRegistry> {
  return createNativeRegistry({ dataDir, settings: { ...SETTINGS, ...settings }, ...extra });
}

type Body = Uint8Array | string | ReadableStream<Uint8Array> | null;

export function request(method: string, url: string, body: Body = null, headers: Record<string, string> = {}): Request {
  const init: RequestInit & { duplex?: string } = { method, headers };
  if (body !== null) {
    init.body = body as BodyInit;
    init.duplex = "half";
  }
  return new Request(BASE + url, init);
}

/** POST: a new upload session; returns its Location path. */
export async function startUpload(registry: NativeRegistry, name: string, query = ""): Promise<string> {
  const response = await registry.handle(request("POST", `/v2/${name}/blobs/uploads/${query}`));
  assert.equal(response.status, 202, `POST ${name}`);
  const location = response.headers.get("Location");
  assert.ok(location && /\/blobs\/uploads\/[0-9a-f]{64}$/.test(location), `Location ${location}`);
  return location;
}

export async function patch(registry: NativeRegistry, location: string, bytes: Body, start?: number, length?: number): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
  if (start !== undefined && length !== undefined) {
    headers["Content-Range"] = `${start}-${start + length - 1}`;
    headers["Content-Length"] = String(length);
  }
  return registry.handle(request("PATCH", location, bytes, headers));
}

export async function finish(registry: NativeRegistry, location: string, digest: string, body: Body = null): Promise<Response> {
  return registry.handle(request("PUT", `${location}?digest=${encodeURIComponent(digest)}`, body));
}

export async function pullBlob(registry: NativeRegistry, name: string, digest: string, range?: string): Promise<Response> {
  return registry.handle(request("GET", `/v2/${name}/blobs/${digest}`, null, range ? { Range: range } : {}));
}

async function uploadStatus(registry: NativeRegistry, location: string): Promise<Response> {
  return registry.handle(request("GET", location));
}

/** A body that sends `first`, then waits for `release()` before sending `rest` and ending. */
function heldBody(first: Uint8Array, rest: Uint8Array): { body: ReadableStream<Uint8Array>; reading: Promise<void>; release(): void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let markReading!: () => void;
  const reading = new Promise<void>((resolve) => (markReading = resolve));
  let step = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      step += 1;
      if (step === 1) return controller.enqueue(first);
      markReading(); // the session has taken the first piece and asks for more: it is writing
      await released;
      if (rest.length > 0) controller.enqueue(rest);
      controller.close();
    },
  });
  return { body, reading, release };
}

async function withRegistry<T>(dataDir: string, work: (registry: NativeRegistry) => Promise<T>, settings?: RegistrySettings, extra?: { sweepIntervalMs?: number }): Promise<T> {
  const registry = await open(dataDir, settings, extra);
  try {
    return await work(registry);
  } finally {
    await registry.close();
  }
}

export const registryContract: TestCase<RegistryContext>[] = [
  {
    name: "monolithic push, then HEAD, GET and ranged GET",
    async run({ dataDir }) {
      await withRegistry(dataDir, async (registry) => {
        const bytes = randomBytes(300_000);
        const digest = sha256(bytes);
        const put = await registry.handle(request("POST", `/v2/demo/app/blobs/uploads/?digest=${digest}`, bytes));
        assert.equal(put.status, 201);
        assert.equal(put.headers.get("Docker-Content-Digest"), digest);
        const head = await registry.handle(request("HEAD", `/v2/demo/app/blobs/${digest}`));
        assert.equal(head.status, 200);
        assert.equal(head.headers.get("Content-Length"), "300000");
        const get = await pullBlob(registry, "demo/app", digest);
        assert.equal(get.status, 200);
        assertSameBytes(await readAll(get.body), bytes);
        const range = await pullBlob(registry, "demo/app", digest, "bytes=1000-1999");
        assert.equal(range.status, 206);
        assert.equal(range.headers.get("Content-Range"), "bytes 1000-1999/300000");
        assertSameBytes(await readAll(range.body), bytes.subarray(1000, 2000));
        const other = await registry.handle(request("HEAD", `/v2/demo/other/blobs/${digest}`));
        assert.equal(other.status, 404, "not linked into another repository");
      });
    },
  },
  {
    name: "chunked upload across parts resumes after a restart (the stored parts are hashed again once)",
    async run({ dataDir }) {
      const bytes = randomBytes(2 * PART + 333_333);
      const digest = sha256(bytes);
      const cut = PART + 2 * MiB + 17; // one full part stored, the rest of the chunk in the tail
      const location = await withRegistry(dataDir, async (registry) => {
        const location = await startUpload(registry, "demo/resume");
        const first = await patch(registry, location, streamOf(bytes.subarray(0, cut), 256 * 1024), 0, cut);
        assert.equal(first.status, 202);
        assert.equal(first.headers.get("Range"), `0-${cut - 1}`);
        return location;
      });
      await withRegistry(dataDir, async (registry) => {
        const status = await uploadStatus(registry, location);
        assert.equal(status.status, 204);
        assert.equal(status.headers.get("Range"), `0-${cut - 1}`, "offset survived the restart");
        const rest = await patch(registry, location, bytes.subarray(cut), cut, bytes.length - cut);
        assert.equal(rest.status, 202);
        const done = await finish(registry, location, digest);
        assert.equal(done.status, 201, await done.clone().text());
        const get = await pullBlob(registry, "demo/resume", digest);
        assertSameBytes(await readAll(get.body), bytes, "the blob");
      });
    },
  },
  {
    name: "sha512 upload resumed after a restart",
    async run({ dataDir }) {
      const bytes = randomBytes(PART + 1000);
      const digest = sha512(bytes);
      const location = await withRegistry(dataDir, async (registry) => {
        const location = await startUpload(registry, "demo/sha512", "?digest-algorithm=sha512");
        assert.equal((await patch(registry, location, bytes.subarray(0, PART + 10), 0, PART + 10)).status, 202);
        return location;
      });
      await withRegistry(dataDir, async (registry) => {
        const done = await finish(registry, location, digest, bytes.subarray(PART + 10));
        assert.equal(done.status, 201, await done.clone().text());
        assertSameBytes(await readAll((await pullBlob(registry, "demo/sha512", digest)).body), bytes);
      });
    },
  },
  {
    name: "a wrong digest is 400 DIGEST_INVALID and nothing becomes visible",
    async run({ dataDir }) {
      await withRegistry(dataDir, async (registry) => {
        const bytes = randomBytes(PART + 5);
        const location = await startUpload(registry, "demo/bad");
        assert.equal((await patch(registry, location, bytes, 0, bytes.length)).status, 202);
        const wrong = sha256(randomBytes(10));
        const done = await finish(registry, location, wrong);
        assert.equal(done.status, 400);
        assert.equal((await errorsOf(done))[0]!.code, "DIGEST_INVALID");
        assert.equal((await registry.handle(request("HEAD", `/v2/demo/bad/blobs/${wrong}`))).status, 404);
        assert.equal((await registry.handle(request("HEAD", `/v2/demo/bad/blobs/${sha256(bytes)}`))).status, 404);
      });
    },
  },
  {
    name: "concurrent PATCHes on one session: one 202, the others 416 with the true Range; the blob is the writer's",
    async run({ dataDir }) {
      await withRegistry(dataDir, async (registry) => {
        const location = await startUpload(registry, "demo/race");
        const committed = randomBytes(MiB);
        assert.equal((await patch(registry, location, committed, 0, MiB)).status, 202);
        const first = randomBytes(PART + 100);
        const rest = randomBytes(MiB);
        const held = heldBody(first, rest);
        const writer = patch(registry, location, held.body);
        await held.reading;
        const racers = await Promise.all([
          patch(registry, location, randomBytes(1000), MiB, 1000),
          patch(registry, location, randomBytes(1000)),
          patch(registry, location, randomBytes(1000), 0, 1000),
        ]);
        for (const racer of racers) {
          assert.equal(racer.status, 416);
          assert.equal(racer.headers.get("Range"), `0-${MiB - 1}`, "the committed offset");
          assert.equal(racer.headers.get("Location"), location);
          assert.equal((await errorsOf(racer))[0]!.code, "BLOB_UPLOAD_INVALID");
        }
        held.release();
        const written = await writer;
        assert.equal(written.status, 202);
        const total = MiB + first.length + rest.length;
        assert.equal(written.headers.get("Range"), `0-${total - 1}`);
        const bytes = concat(committed, first, rest);
        const done = await finish(registry, location, sha256(bytes));
        assert.equal(done.status, 201, await done.clone().text());
        assertSameBytes(await readAll((await pullBlob(registry, "demo/race", sha256(bytes))).body), bytes);
      });
    },
  },
  {
    name: "manifests, tags, tag list and catalog",
    async run({ dataDir }) {
      await withRegistry(dataDir, async (registry) => {
        const config = new TextEncoder().encode("{}");
        const layer = randomBytes(1000);
        for (const blob of [config, layer]) {
          assert.equal((await registry.handle(request("POST", `/v2/demo/img/blobs/uploads/?digest=${sha256(blob)}`, blob))).status, 201);
        }
        const manifest = JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
          layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(layer), size: layer.length }],
        });
        const type = { "Content-Type": "application/vnd.oci.image.manifest.v1+json" };
        for (const tag of ["v1", "latest", "v1.0", "v1-rc"]) {
          assert.equal((await registry.handle(request("PUT", `/v2/demo/img/manifests/${tag}`, manifest, type))).status, 201);
        }
        const get = await registry.handle(request("GET", "/v2/demo/img/manifests/latest", null, { Accept: type["Content-Type"] }));
        assert.equal(get.status, 200);
        assert.equal(await get.text(), manifest);
        assert.equal(get.headers.get("Docker-Content-Digest"), sha256(manifest));
        const tags = await registry.handle(request("GET", "/v2/demo/img/tags/list"));
        assert.deepEqual(await tags.json(), { name: "demo/img", tags: ["latest", "v1", "v1-rc", "v1.0"] });
        assert.equal((await registry.handle(request("PUT", "/v2/demo/img/x/manifests/t", manifest, type))).status, 400, "blobs unknown in demo/img/x");
        assert.equal((await registry.handle(request("POST", `/v2/demo/img/x/blobs/uploads/?digest=${sha256(config)}`, config))).status, 201);
        assert.equal((await registry.handle(request("POST", `/v2/demo/img-y/blobs/uploads/?digest=${sha256(config)}`, config))).status, 201);
        assert.equal((await registry.handle(request("POST", `/v2/demo/img.z/blobs/uploads/?digest=${sha256(config)}`, config))).status, 201);
        const catalog = await registry.handle(request("GET", "/v2/_catalog"));
        assert.deepEqual(await catalog.json(), { repositories: ["demo/img", "demo/img-y", "demo/img.z", "demo/img/x"] });
        const page = await registry.handle(request("GET", "/v2/_catalog?n=2&last=demo/img"));
        assert.deepEqual(await page.json(), { repositories: ["demo/img-y", "demo/img.z"] });
      });
    },
  },
  {
    name: "unknown and malformed upload ids are 404 BLOB_UPLOAD_UNKNOWN",
    async run({ dataDir }) {
      await withRegistry(dataDir, async (registry) => {
        for (const id of ["0".repeat(64), "f".repeat(64), "nope", "..%2F..%2Fetc%2Fpasswd", "A".repeat(64)]) {
          const response = await registry.handle(request("GET", `/v2/demo/x/blobs/uploads/${id}`));
          assert.equal(response.status, 404, id);
          assert.equal((await errorsOf(response))[0]!.code, "BLOB_UPLOAD_UNKNOWN");
          const put = await patch(registry, `/v2/demo/x/blobs/uploads/${id}`, "abc");
          assert.equal(put.status, 404);
        }
        const location = await startUpload(registry, "demo/x");
        const elsewhere = await registry.handle(request("GET", location.replace("demo/x", "demo/y")));
        assert.equal(elsewhere.status, 404, "a session is reachable only through its repository");
      });
    },
  },
  {
    name: "random ids allocate no lasting memory; idle cores are evicted and come back from storage",
    async run({ dataDir }) {
      fs.mkdirSync(dataDir, { recursive: true });
      const objects = await FilesystemObjectStore.open(path.join(dataDir, "objects"));
      const database = new SessionDatabase(path.join(dataDir, "sessions.sqlite"));
      const sessions = new LocalUploadSessions({ database, objects, config: { partSize: PART, ttlMs: 3600_000, hashes: nativeHashes }, idleMs: 0 });
      try {
        for (let i = 0; i < 200; i++) {
          const result = await sessions.get(sessions.newId())!.status("demo/x");
          assert.equal(result.ok, false);
        }
        assert.equal(sessions.size, 0, "no core kept for ids that name no session");
        const id = sessions.newId();
        const session = sessions.get(id)!;
        assert.equal((await session.create("demo/x", "sha256")).ok, true);
        const bytes = randomBytes(PART + 10);
        const appended = await session.append("demo/x", 0, streamOf(bytes));
        assert.deepEqual(appended, { ok: true, value: { offset: PART + 10 } });
        assert.equal(sessions.size, 1);
        await sessions.sweep();
        assert.equal(sessions.size, 0, "idle core evicted");
        const done = await sessions.get(id)!.finish("demo/x", sha256(bytes), null, null);
        assert.deepEqual(done, { ok: true, value: { size: PART + 10 } }, "evicted session resumed from storage");
        assert.equal(sessions.size, 0, "finished session dropped");
        assert.equal(sessions.get("x".repeat(64)), null);
        assert.equal(sessions.get(id.toUpperCase()), null);
      } finally {
        await sessions.close();
        database.close();
      }
    },
  },
  {
    name: "abandoned sessions expire: state, alarm and stored parts are swept",
    async run({ dataDir }) {
      await withRegistry(
        dataDir,
        async (registry) => {
          const location = await startUpload(registry, "demo/expire");
          assert.equal((await patch(registry, location, randomBytes(PART + 1000), 0, PART + 1000)).status, 202);
          assert.equal(fs.readdirSync(path.join(dataDir, "objects", ".multipart")).length, 1, "a part is stored");
          const kept = await startUpload(registry, "demo/expire");
          const deadline = Date.now() + 10_000;
          // The sweep removes the parts and the state one after the other: wait for both.
          const swept = async () =>
            fs.readdirSync(path.join(dataDir, "objects", ".multipart")).length === 0 && (await uploadStatus(registry, location)).status === 404;
          while (!(await swept()) && Date.now() < deadline) {
            assert.equal((await patch(registry, kept, randomBytes(10))).status, 202); // a session in use stays
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          assert.equal(fs.readdirSync(path.join(dataDir, "objects", ".multipart")).length, 0, "parts removed");
          assert.equal((await uploadStatus(registry, location)).status, 404, "session gone");
          assert.equal((await uploadStatus(registry, kept)).status, 204, "the session in use is kept");
        },
        { UPLOAD_TTL_SECONDS: "0.6" },
        { sweepIntervalMs: 50 },
      );
      const db = new DatabaseSync(path.join(dataDir, "uploads.sqlite"));
      try {
        const sessions = db.prepare("SELECT COUNT(DISTINCT session) AS n FROM upload_entries").get() as { n: number };
        assert.equal(sessions.n, 1, "only the session in use has state");
      } finally {
        db.close();
      }
    },
  },
  {
    name: "multipart uploads no session refers to are aborted; a session's own and completed blobs stay",
    async run({ dataDir }) {
      const bytes = randomBytes(PART + 10);
      const { location, digest } = await withRegistry(dataDir, async (registry) => {
        const published = await startUpload(registry, "demo/orphans");
        assert.equal((await patch(registry, published, bytes, 0, bytes.length)).status, 202);
        assert.equal((await finish(registry, published, sha256(bytes))).status, 201);
        const location = await startUpload(registry, "demo/orphans");
        assert.equal((await patch(registry, location, bytes, 0, bytes.length)).status, 202);
        return { location, digest: sha256(bytes) };
      });
      // A crash between creating a multipart upload and saving the session leaves one no one knows.
      const store = await FilesystemObjectStore.open(path.join(dataDir, "objects"));
      const orphanKey = `blob-data/${"ab".repeat(32)}`;
      const orphan = await store.createMultipart(orphanKey);
      await store.uploadPart(orphanKey, orphan, 1, randomBytes(1000));
      const uploads = path.join(dataDir, "objects", ".multipart");
      const old = new Date(Date.now() - 60_000);
      for (const id of fs.readdirSync(uploads)) fs.utimesSync(path.join(uploads, id), old, old);
      assert.equal(fs.readdirSync(uploads).length, 3);
      await withRegistry(
        dataDir,
        async (registry) => {
          const deadline = Date.now() + 5000;
          while (fs.existsSync(path.join(uploads, orphan)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
          assert.equal(fs.existsSync(path.join(uploads, orphan)), false, "the orphan is aborted");
          assert.equal(fs.readdirSync(uploads).length, 2, "the session's upload and the published blob's parts stay");
          assertSameBytes(await readAll((await pullBlob(registry, "demo/orphans", digest)).body), bytes);
          const status = await uploadStatus(registry, location);
          assert.equal(status.headers.get("Range"), `0-${bytes.length - 1}`);
        },
        { UPLOAD_TTL_SECONDS: "20" },
        { sweepIntervalMs: 50 },
      );
    },
  },
  {
    name: "DELETE of a session frees its stored parts",
    async run({ dataDir }) {
      await withRegistry(dataDir, async (registry) => {
        const location = await startUpload(registry, "demo/cancel");
        assert.equal((await patch(registry, location, randomBytes(PART + 1), 0, PART + 1)).status, 202);
        assert.equal((await registry.handle(request("DELETE", location))).status, 204);
        assert.deepEqual(fs.readdirSync(path.join(dataDir, "objects", ".multipart")), []);
        assert.equal((await uploadStatus(registry, location)).status, 404);
      });
    },
  },
  {
    name: "one registry per data directory: a second is refused while the first runs",
    async run({ dataDir }) {
      const first = await open(dataDir);
      try {
        await assert.rejects(() => open(dataDir), /in use by process/);
      } finally {
        await first.close();
      }
      const again = await open(dataDir);
      await again.close();
    },
  },
];
