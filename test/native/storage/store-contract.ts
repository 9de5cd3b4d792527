// The ObjectStore contract, run on the filesystem store: by vitest (fs-store.test.ts) and, bundled,
// under Bun and Deno (contract-runner.ts). Each case gets a fresh store in its own directory.
import { Buffer } from "node:buffer";
import * as fs from "node:fs";
import path from "node:path";
import { InvalidKeyError } from "../../../src/runtimes/native/fs-keys";
import { FilesystemObjectStore } from "../../../src/runtimes/native/fs-store";
import type { ObjectStore } from "../../../src/storage/object-store";
import { MiB, assert, assertSameBytes, concat, randomBytes, readAll, utf8, type TestCase } from "./support";

export interface StoreContext {
  store: FilesystemObjectStore;
  root: string;
  reopen(): Promise<FilesystemObjectStore>;
}

const PART = 5 * MiB;

async function body(store: ObjectStore, key: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
  const object = await store.get(key, range);
  assert.ok(object, `${key} exists`);
  return readAll(object.body);
}

async function listAll(store: ObjectStore, prefix: string, limit: number, metadata = false): Promise<string[]> {
  const keys: string[] = [];
  let startAfter: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.list(prefix, { startAfter, limit, metadata });
    assert.ok(page.objects.length <= limit, "page within limit");
    keys.push(...page.objects.map((o) => o.key));
    if (!page.truncated) return keys;
    assert.ok(page.objects.length > 0, "a truncated page is not empty");
    startAfter = page.objects[page.objects.length - 1]!.key;
  }
  throw new Error("listing never ended");
}

/** Byte order of UTF-8, as R2 lists keys. */
function byteOrder(keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
}

function filesUnder(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(full, base) : [path.relative(base, full)];
  });
}

async function rejectsInvalidKey(work: () => Promise<unknown> | unknown, label: string): Promise<void> {
  await assert.rejects(async () => work(), (err: unknown) => err instanceof InvalidKeyError || err instanceof RangeError, label);
}

async function multipart(store: ObjectStore, key: string, parts: Uint8Array[]): Promise<string> {
  const id = await store.createMultipart(key);
  const uploaded = [];
  for (const [i, part] of parts.entries()) uploaded.push(await store.uploadPart(key, id, i + 1, part));
  await store.completeMultipart(key, id, uploaded);
  return id;
}

/** An ObjectInfo without its write time, for comparing with what was written. */
function untimed<T extends { uploaded?: number }>(info: T | null | undefined): Omit<T, "uploaded"> | null | undefined {
  if (!info) return info;
  const { uploaded: _, ...rest } = info;
  return rest;
}

export const storeContract: TestCase<StoreContext>[] = [
  {
    name: "uploaded: every object reports when it was last written (head, get, list), and a rewrite moves it",
    async run({ store }) {
      const before = Date.now();
      await store.put("time/a", "one", { v: "1" });
      const head = await store.head("time/a");
      assert.ok(head && Number.isFinite(head.uploaded), "head reports uploaded");
      // Filesystem clocks are coarser than Date.now(): allow a few ms either side.
      assert.ok(head.uploaded >= before - 50 && head.uploaded <= Date.now() + 50, `uploaded ${head.uploaded} near now ${before}`);
      const got = await store.get("time/a");
      assert.equal(got?.uploaded, head.uploaded, "get reports the same time");
      await got?.body.cancel();
      const [listed] = (await store.list("time/")).objects;
      assert.equal(listed?.uploaded, head.uploaded, "list reports it without metadata");
      // Backdate the file, as an old object would be, then rewrite it: the time moves to now.
      const file = path.join(store.root, "time", "a=");
      fs.utimesSync(file, new Date(1_000_000), new Date(1_000_000));
      assert.equal((await store.head("time/a"))?.uploaded, 1_000_000, "the file's mtime is the object's time");
      await store.put("time/a", "two");
      assert.ok((await store.head("time/a"))!.uploaded >= before - 50, "a rewrite is a new write");
      const id = await multipart(store, "time/multi", [randomBytes(PART), randomBytes(10)]);
      assert.ok(id);
      const multi = await store.head("time/multi");
      assert.ok(multi && multi.uploaded >= before - 50, "a completed multipart object has its completion time");
    },
  },
  {
    name: "put, head and get: bytes, strings, metadata; absent keys are null",
    async run({ store }) {
      const bytes = randomBytes(1000);
      await store.put("blobs/sha256/abc", bytes, { size: "1000", location: "blob-data/x" });
      await store.put("repositories/a/_tags/latest", "hello", { digest: "sha256:00" });
      const head = await store.head("blobs/sha256/abc");
      assert.deepEqual(untimed(head), { key: "blobs/sha256/abc", size: 1000, metadata: { size: "1000", location: "blob-data/x" } });
      const object = await store.get("blobs/sha256/abc");
      assert.ok(object);
      assert.equal(object.size, 1000);
      assert.equal(object.range, undefined);
      assertSameBytes(await readAll(object.body), bytes);
      assert.equal(new TextDecoder().decode(await body(store, "repositories/a/_tags/latest")), "hello");
      assert.equal(await store.head("blobs/sha256/abd"), null);
      assert.equal(await store.get("blobs/sha256/abd"), null);
      assert.equal(await store.head("blobs/sha256"), null, "a key prefix is not an object");
      assert.equal(await store.head("blobs/sha256/abc/deeper"), null);
    },
  },
  {
    name: "empty objects and sizes around the read buffers round-trip, with ranges",
    async run({ store }) {
      await store.put("empty", new Uint8Array(0));
      assert.equal((await store.head("empty"))?.size, 0);
      assert.equal((await body(store, "empty")).length, 0);
      for (const size of [1, 4000, 4096, 65_000, 65_536, 65_537, MiB + 3, 3 * MiB]) {
        const bytes = randomBytes(size);
        const key = `sizes/${size}`;
        await store.put(key, bytes, { n: String(size) });
        assert.deepEqual(untimed(await store.head(key)), { key, size, metadata: { n: String(size) } });
        assertSameBytes(await body(store, key), bytes, `size ${size}`);
        const ranges = [
          { offset: 0, length: 1 },
          { offset: size - 1, length: 1 },
          { offset: Math.floor(size / 3), length: Math.ceil(size / 3) },
          { offset: 0, length: size },
        ];
        for (const range of ranges) {
          const object = await store.get(key, range);
          assert.ok(object);
          assert.deepEqual(object.range, range);
          assert.equal(object.size, size);
          assertSameBytes(await readAll(object.body), bytes.subarray(range.offset, range.offset + range.length), `size ${size} range ${range.offset}+${range.length}`);
        }
      }
    },
  },
  {
    name: "large metadata (a header longer than the first read) round-trips",
    async run({ store }) {
      const metadata = { big: "x".repeat(7000), other: "é✓" };
      await store.put("meta/big", "body", metadata);
      assert.deepEqual((await store.head("meta/big"))?.metadata, metadata);
      assert.equal(new TextDecoder().decode(await body(store, "meta/big")), "body");
      const [listed] = (await store.list("meta/", { metadata: true })).objects;
      assert.deepEqual(untimed(listed), { key: "meta/big", size: 4, metadata });
    },
  },
  {
    name: "overwriting replaces content and metadata together",
    async run({ store }) {
      await store.put("k", "first", { v: "1" });
      await store.put("k", "second!", { v: "2" });
      assert.deepEqual(untimed(await store.head("k")), { key: "k", size: 7, metadata: { v: "2" } });
      assert.equal(new TextDecoder().decode(await body(store, "k")), "second!");
      await store.put("k", "third");
      assert.deepEqual((await store.head("k"))?.metadata, {});
    },
  },
  {
    name: "concurrent puts of one key leave one whole version",
    async run({ store }) {
      const versions = Array.from({ length: 8 }, (_, i) => ({ bytes: randomBytes(200_000 + i), meta: { v: String(i) } }));
      await Promise.all(versions.map((v) => store.put("race", v.bytes, v.meta)));
      const head = await store.head("race");
      assert.ok(head);
      const winner = versions[Number(head.metadata.v)]!;
      assert.equal(head.size, winner.bytes.length);
      assertSameBytes(await body(store, "race"), winner.bytes);
    },
  },
  {
    name: "delete: one key, many keys, absent keys; emptied directories go, the prefix can be used again",
    async run({ store, root }) {
      await store.put("a/b/c/one", "1");
      await store.put("a/b/c/two", "2");
      await store.put("a/b/three", "3");
      await store.delete("a/b/c/one");
      assert.equal(await store.head("a/b/c/one"), null);
      assert.ok(await store.head("a/b/c/two"));
      await store.delete(["a/b/c/two", "a/b/three", "a/never"]);
      assert.deepEqual((await store.list("")).objects, []);
      assert.deepEqual(fs.readdirSync(root).filter((n) => !n.startsWith(".")), [], "empty directories pruned");
      await store.put("a/b/c/one", "again");
      assert.equal(new TextDecoder().decode(await body(store, "a/b/c/one")), "again");
    },
  },
  {
    name: "list: exact UTF-8 byte order of full keys; an object and a prefix of the same name coexist",
    async run({ store }) {
      const keys = [
        "catalog/a", "catalog/a/b", "catalog/a-b", "catalog/a.b", "catalog/a/b/c", "catalog/a/a", "catalog/a0",
        "catalog/b", "catalog/A", "catalog/_x", "catalog/a~", "catalog/a b", "catalog/a%b", "catalog/a=b",
        "catalog/é", "catalog/\uFFFD", "catalog/\u{1F600}", "catalog/z/\u{1F600}", "catalog/z/\uE000",
        "catalogue", "catalog0/x",
      ];
      for (const key of keys) await store.put(key, key, { k: key });
      const expected = byteOrder(keys.filter((k) => k.startsWith("catalog/")));
      const page = await store.list("catalog/");
      assert.deepEqual(page.objects.map((o) => o.key), expected);
      assert.equal(page.truncated, false);
      for (const o of page.objects) {
        assert.equal(o.size, utf8(o.key).length);
        assert.deepEqual(o.metadata, {}, "no metadata unless asked");
      }
      const withMeta = await store.list("catalog/", { metadata: true });
      for (const o of withMeta.objects) assert.deepEqual(o.metadata, { k: o.key });
      for (const limit of [1, 2, 3, 7]) assert.deepEqual(await listAll(store, "catalog/", limit), expected, `pages of ${limit}`);
      assert.deepEqual((await store.list("")).objects.map((o) => o.key), byteOrder(keys), "the whole store");
      assert.deepEqual((await store.list("catalog/a")).objects.map((o) => o.key), expected.filter((k) => k.startsWith("catalog/a")), "a partial segment");
      assert.deepEqual((await store.list("catalog/a/")).objects.map((o) => o.key), byteOrder(["catalog/a/a", "catalog/a/b", "catalog/a/b/c"]));
      assert.deepEqual((await store.list("catalog/nothing/")).objects, []);
      assert.deepEqual((await store.list("cat")).objects.map((o) => o.key), byteOrder(keys), "a prefix inside the first segment");
    },
  },
  {
    name: "keys that differ only by case are different names on disk, even on a case-insensitive filesystem",
    async run({ store, root }) {
      await store.put("repositories/demo/_tags/Latest", "upper");
      await store.put("repositories/demo/_tags/latest", "lower");
      await store.put("repositories/demo/_tags/LATEST", "all upper");
      assert.equal(new TextDecoder().decode(await body(store, "repositories/demo/_tags/Latest")), "upper");
      assert.equal(new TextDecoder().decode(await body(store, "repositories/demo/_tags/latest")), "lower");
      const names = fs.readdirSync(path.join(root, "repositories", "demo", "_tags"));
      assert.equal(new Set(names.map((n) => n.toLowerCase())).size, 3, `names distinct without case: ${names}`);
      assert.ok(names.every((n) => !/[A-Z]/.test(n.replace(/%[0-9A-F]{2}/g, ""))), "letters outside escapes are lower case");
      assert.deepEqual((await store.list("repositories/demo/_tags/")).objects.map((o) => o.key.split("/").pop()), ["LATEST", "Latest", "latest"]);
    },
  },
  {
    name: "list: startAfter anywhere (absent keys, prefixes), limits and truncation",
    async run({ store }) {
      const keys = ["p/a", "p/a/b", "p/a-b", "p/a.b", "p/a/c/d", "p/b", "p/c/d/e"];
      for (const key of keys) await store.put(key, "");
      const all = byteOrder(keys);
      for (const after of ["p/", "p/a", "p/a-", "p/a.b", "p/a/", "p/a/b", "p/a/bb", "p/a/c", "p/a0", "p/c", "p/c/d/e", "p/zzz", "a", "q"]) {
        const page = await store.list("p/", { startAfter: after });
        assert.deepEqual(page.objects.map((o) => o.key), all.filter((k) => Buffer.compare(Buffer.from(k), Buffer.from(after)) > 0), `after ${after}`);
      }
      const first = await store.list("p/", { limit: 3 });
      assert.deepEqual(first.objects.map((o) => o.key), all.slice(0, 3));
      assert.equal(first.truncated, true);
      const exact = await store.list("p/", { limit: all.length });
      assert.equal(exact.truncated, false, "a page that ends exactly at the last key is not truncated");
      const capped = await store.list("p/", { limit: 5000 });
      assert.equal(capped.objects.length, all.length);
    },
  },
  {
    name: "list: pagination over 2500 keys in pages of at most 1000",
    async run({ store }) {
      const keys = Array.from({ length: 2500 }, (_, i) => `many/${(i * 7919) % 2500}`);
      await Promise.all(keys.map((k) => store.put(k, "")));
      const first = await store.list("many/");
      assert.equal(first.objects.length, 1000);
      assert.equal(first.truncated, true);
      assert.deepEqual(await listAll(store, "many/", 1000), byteOrder(keys));
    },
  },
  {
    name: "multipart: parts are readable before completion, the object after, with ranges across parts",
    async run({ store }) {
      const parts = [randomBytes(PART), randomBytes(PART), randomBytes(123_457)];
      const key = "blob-data/upload-1";
      const id = await store.createMultipart(key);
      const uploaded = [];
      for (const [i, part] of parts.entries()) uploaded.push(await store.uploadPart(key, id, i + 1, part));
      assert.equal(await store.head(key), null, "nothing visible before completion");
      assertSameBytes(await readAll(store.readParts!(key, id, uploaded.slice(0, 2))), concat(parts[0]!, parts[1]!), "readParts");
      await store.completeMultipart(key, id, uploaded);
      const whole = concat(...parts);
      assert.deepEqual(untimed(await store.head(key)), { key, size: whole.length, metadata: {} });
      assertSameBytes(await body(store, key), whole, "completed object");
      for (const range of [
        { offset: PART - 10, length: 20 },
        { offset: 0, length: 2 * PART + 1 },
        { offset: 2 * PART, length: 123_457 },
        { offset: whole.length - 1, length: 1 },
        { offset: 7, length: whole.length - 7 },
      ]) {
        assertSameBytes(await body(store, key, range), whole.subarray(range.offset, range.offset + range.length), `range ${range.offset}+${range.length}`);
      }
      assert.deepEqual((await store.list("blob-data/")).objects.map((o) => [o.key, o.size]), [[key, whole.length]]);
    },
  },
  {
    name: "multipart: a part given as a list of chunks (more than one writev, empty ones among them) is stored byte for byte",
    async run({ store }) {
      const whole = randomBytes(PART + 5000);
      const pieces = (bytes: Uint8Array, count: number): Uint8Array[] => {
        const cuts = [0, ...Array.from({ length: count - 1 }, () => Math.floor(Math.random() * bytes.length)).sort((a, b) => a - b), bytes.length];
        const list = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i]!, end));
        return [new Uint8Array(0), ...list.slice(0, 7), new Uint8Array(0), ...list.slice(7), new Uint8Array(0)];
      };
      const first = pieces(whole.subarray(0, PART), 1500);
      const key = "blob-data/chunk-list";
      const id = await store.createMultipart(key);
      const uploaded = [
        await store.uploadPart(key, id, 1, first),
        await store.uploadPart(key, id, 2, pieces(whole.subarray(PART), 600)),
      ];
      await store.completeMultipart(key, id, uploaded);
      assertSameBytes(await body(store, key), whole, "completed object");
    },
  },
  {
    name: "multipart: completion copies nothing; delete frees the parts; a put over it frees them too",
    async run({ store, root }) {
      const parts = [randomBytes(PART), randomBytes(1000)];
      const id = await multipart(store, "blob-data/nocopy", parts);
      const objectFile = path.join(root, "blob-data", "nocopy=");
      assert.ok(fs.statSync(objectFile).size < 1024, "the object file holds a part list, not the bytes");
      const partFiles = fs.readdirSync(path.join(root, ".multipart", id)).filter((n) => n !== "key");
      assert.equal(partFiles.length, 2);
      await store.delete("blob-data/nocopy");
      assert.equal(fs.existsSync(path.join(root, ".multipart", id)), false, "parts freed with the object");
      const again = await multipart(store, "blob-data/replaced", parts);
      await store.put("blob-data/replaced", "small");
      assert.equal(fs.existsSync(path.join(root, ".multipart", again)), false, "parts freed when the object is replaced");
      assert.equal(new TextDecoder().decode(await body(store, "blob-data/replaced")), "small");
    },
  },
  {
    name: "multipart: re-uploading a part replaces it; unlisted parts are dropped at completion",
    async run({ store, root }) {
      const key = "blob-data/retry";
      const id = await store.createMultipart(key);
      const a = randomBytes(PART);
      const b = randomBytes(PART);
      await store.uploadPart(key, id, 1, a);
      const second = await store.uploadPart(key, id, 1, b);
      const extra = await store.uploadPart(key, id, 2, randomBytes(10));
      assert.notEqual(second.etag, extra.etag);
      assertSameBytes(await readAll(store.readParts!(key, id, [second])), b);
      await store.completeMultipart(key, id, [second]);
      assertSameBytes(await body(store, key), b);
      assert.deepEqual(fs.readdirSync(path.join(root, ".multipart", id)).sort(), [`1.${second.etag}`, "key"]);
    },
  },
  {
    name: "multipart: abort frees the parts; abort after completion keeps the object; bad ids, etags and keys are refused",
    async run({ store, root }) {
      const key = "blob-data/aborted";
      const id = await store.createMultipart(key);
      const part = await store.uploadPart(key, id, 1, randomBytes(1000));
      await assert.rejects(() => store.completeMultipart(key, id, [{ partNumber: 1, etag: "0000000000000000" }]), /not stored/);
      await assert.rejects(() => store.uploadPart("blob-data/other", id, 1, randomBytes(1)), /another key/);
      await store.abortMultipart(key, id);
      assert.equal(fs.existsSync(path.join(root, ".multipart", id)), false);
      await store.abortMultipart(key, id); // again: nothing to do
      await assert.rejects(() => store.uploadPart(key, id, 1, randomBytes(1)), /no multipart upload/);
      await assert.rejects(() => store.completeMultipart(key, id, [part]), /no multipart upload/);

      const done = await multipart(store, "blob-data/done", [randomBytes(PART), randomBytes(10)]);
      await store.abortMultipart("blob-data/done", done);
      assert.equal((await store.head("blob-data/done"))?.size, PART + 10, "a completed upload's parts are the object's");
      assert.equal((await body(store, "blob-data/done")).length, PART + 10);
      for (const bad of ["../../../etc", "0".repeat(31), "G".repeat(32), ""]) {
        await assert.rejects(async () => store.uploadPart(key, bad, 1, randomBytes(1)), RangeError, `upload id ${bad}`);
        await assert.rejects(async () => store.abortMultipart(key, bad), RangeError, `upload id ${bad}`);
      }
    },
  },
  {
    name: "parts synced in the background: whenDurable waits for them; completion and reads see them",
    async run({ root }) {
      const store = await FilesystemObjectStore.open(root, { syncPartsInBackground: true });
      const key = "blob-data/background";
      const id = await store.createMultipart(key);
      const parts = [randomBytes(PART), randomBytes(PART), randomBytes(77)];
      const uploaded = [];
      for (const [i, part] of parts.entries()) uploaded.push(await store.uploadPart(key, id, i + 1, part));
      await store.whenDurable();
      assertSameBytes(await readAll(store.readParts!(key, id, uploaded)), concat(...parts), "readParts");
      await store.completeMultipart(key, id, uploaded);
      assertSameBytes(await body(store, key), concat(...parts), "object");
      await store.whenDurable(); // nothing pending: resolves at once
    },
  },
  {
    name: "keys that could leave the root, or name the store's own files, are refused by every method",
    async run({ store, root }) {
      const outside = path.dirname(root);
      const before = fs.readdirSync(outside).sort();
      const bad = [
        "", "/etc/passwd", "../escape", "a/../../escape", "a/./b", "./a", "a//b", "a/", "/",
        ".tmp/x", ".multipart/x", "a/.hidden", "..", ".", "a\\..\\b", "a\0b", "x\uD800y", "k".repeat(1025),
        `a/${"s".repeat(255)}`,
      ];
      for (const key of bad) {
        const label = JSON.stringify(key.slice(0, 40));
        await rejectsInvalidKey(() => store.put(key, "x"), `put ${label}`);
        await rejectsInvalidKey(() => store.head(key), `head ${label}`);
        await rejectsInvalidKey(() => store.get(key), `get ${label}`);
        await rejectsInvalidKey(() => store.delete([key]), `delete ${label}`);
        await rejectsInvalidKey(() => store.createMultipart(key), `createMultipart ${label}`);
      }
      for (const prefix of ["../", "a/../", "/etc/", ".tmp/", "a//"]) {
        await rejectsInvalidKey(() => store.list(prefix), `list ${prefix}`);
      }
      assert.deepEqual(fs.readdirSync(outside).sort(), before, "nothing written beside the root");
      assert.deepEqual(filesUnder(root), [], "nothing written inside it either");
    },
  },
  {
    name: "what a crash leaves in .tmp is ignored and cleared at open; foreign files are ignored",
    async run({ store, root, reopen }) {
      await store.put("x/kept", "kept", { v: "1" });
      fs.writeFileSync(path.join(root, ".tmp", "0123456789abcdef01234567"), "a torn write");
      fs.writeFileSync(path.join(root, "x", ".tmp-stray"), "stray");
      fs.writeFileSync(path.join(root, "x", "not-an-object"), "foreign");
      fs.writeFileSync(path.join(root, "x", "%zz="), "undecodable");
      fs.writeFileSync(path.join(root, "x", "%61="), "non-canonical name of 'a'");
      assert.deepEqual((await store.list("x/")).objects.map((o) => o.key), ["x/kept"]);
      const fresh = await reopen();
      assert.deepEqual(fs.readdirSync(path.join(root, ".tmp")), [], ".tmp emptied");
      assert.deepEqual(untimed(await fresh.head("x/kept")), { key: "x/kept", size: 4, metadata: { v: "1" } });
      assert.deepEqual((await fresh.list("")).objects.map((o) => o.key), ["x/kept"]);
    },
  },
  {
    name: "a body being read survives the object's deletion or replacement",
    async run({ store }) {
      const old = randomBytes(3 * MiB);
      await store.put("pinned", old);
      const object = await store.get("pinned");
      assert.ok(object);
      await store.put("pinned", randomBytes(3 * MiB));
      await store.delete("pinned");
      assertSameBytes(await readAll(object.body), old, "the version that was opened");
    },
  },
  {
    name: "everything is still there after reopening the store",
    async run({ store, reopen }) {
      const bytes = randomBytes(100_000);
      await store.put("persist/a", bytes, { m: "1" });
      await multipart(store, "persist/mp", [randomBytes(PART), bytes]);
      const fresh = await reopen();
      assert.deepEqual(untimed(await fresh.head("persist/a")), { key: "persist/a", size: 100_000, metadata: { m: "1" } });
      assert.equal((await fresh.head("persist/mp"))?.size, PART + 100_000);
      assertSameBytes((await body(fresh, "persist/mp")).subarray(PART), bytes);
    },
  },
];
