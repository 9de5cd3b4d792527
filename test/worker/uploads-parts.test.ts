// Upload sessions against the multipart layout: chunk sizes around the part size, durability
// across Durable Object restarts, expiry by alarm, and a large upload checked in R2.
// (Split from uploads.test.ts so the two heavy files run in parallel.)
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as h from "./helpers";

const { MiB, PART, storedSession, storedKeyCount, expectMultipartAborted, hexOf, sessionStub } = h;

describe("chunk and total sizes around the 5 MiB part size", () => {
  // Each row covers one chunk-size case and one total-size case (N parts, N parts +/- 1).
  for (const [label, total, chunk] of [
    ["chunks below the part size (2 MiB); total 1 part + 1 byte", PART + 1, 2 * MiB],
    ["chunks of exactly the part size; total exactly 2 parts", 2 * PART, PART],
    ["a chunk above the part size (7 MiB); total 2 parts - 1 byte", 2 * PART - 1, 7 * MiB],
    ["one chunk spanning several parts; total 2 parts + 1 byte", 2 * PART + 1, 2 * PART + 1],
    ["one chunk; total 1 part - 1 byte (tail only, no multipart part)", PART - 1, PART - 1],
    ["one chunk; total exactly 1 part", PART, PART],
  ] as const) {
    it(label, async () => {
      const repo = h.uniqueRepo("parts");
      const bytes = h.randomBytes(total);
      const { digest, uuid } = await h.chunkedUpload(repo, bytes, chunk);
      expect(await storedSession(uuid)).toBeUndefined();
      const res = await h.call("GET", `/v2/${repo}/blobs/${digest}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Length")).toBe(String(total));
      const back = await h.bodyBytes(res);
      expect(back.length).toBe(total);
      expect(await h.sha256(back)).toBe(digest);
    });
  }
});

describe("restart between chunks (Durable Object eviction)", () => {
  it("after every chunk the stored state matches the offset; after eviction GET reports it and the upload completes", async () => {
    const repo = h.uniqueRepo("parts");
    const bytes = h.randomBytes(12 * MiB + 5);
    const { location: first, uuid } = await h.startUpload(repo);
    let location = first;
    const chunk = 3 * MiB;
    for (let at = 0; at < bytes.length; at += chunk) {
      const end = Math.min(bytes.length, at + chunk);
      location = await h.patchOk(location, bytes.subarray(at, end), at);
      const state = await storedSession(uuid);
      expect(state?.offset).toBe(end);
      expect(state?.parts.length).toBe(Math.floor(end / PART));
      expect(state?.tailLength).toBe(end % PART);
      if (end >= PART) expect(state?.multipartId).toBeTruthy();
      await evictDurableObject(sessionStub(uuid));
      expect(await h.uploadOffset(location)).toBe(end);
      await evictDurableObject(sessionStub(uuid));
    }
    const digest = await h.sha256(bytes);
    const res = await h.finishUpload(location, digest);
    expect(res.status, await res.text()).toBe(201);
    expect(await h.sha256(await h.getBlobBytes(repo, digest))).toBe(digest);
  });

  it("the sha512 running hash survives eviction between small odd chunks", async () => {
    const repo = h.uniqueRepo("parts");
    const bytes = h.randomBytes(700);
    const { location: first, uuid } = await h.startUpload(repo, "?digest-algorithm=sha512");
    let location = first;
    let at = 0;
    for (const n of [3, 125, 1, 130, 64, 200, 177]) {
      location = await h.patchOk(location, bytes.subarray(at, at + n), at);
      at += n;
      await evictDurableObject(sessionStub(uuid));
    }
    expect(at).toBe(bytes.length);
    const digest = await h.sha512(bytes);
    expect((await h.finishUpload(location, digest)).status).toBe(201);
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });
});

describe("session expiry (alarm)", () => {
  it("an alarm before expiry keeps the session; after expiry it removes it and aborts the multipart upload", async () => {
    const repo = h.uniqueRepo("parts");
    const bytes = h.randomBytes(PART + 1000);
    const { location, uuid } = await h.startUpload(repo);
    await h.patchOk(location, bytes, 0);
    const state = await storedSession(uuid);
    expect(state?.multipartId).toBeTruthy();
    const getAlarm = () => runInDurableObject(sessionStub(uuid), (_i, s) => s.storage.getAlarm());
    const alarm = await getAlarm();
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeGreaterThan(Date.now());

    // Not yet expired: the alarm leaves the session alone and re-arms itself.
    expect(await runDurableObjectAlarm(sessionStub(uuid))).toBe(true);
    expect(await h.uploadOffset(location)).toBe(bytes.length);
    expect(await getAlarm()).not.toBeNull();

    // Expire it: the stored expiry moves into the past; a fresh instance runs the alarm.
    await runInDurableObject(sessionStub(uuid), async (_i, s) => {
      const stored = (await s.storage.get<h.StoredSession>("session"))!;
      await s.storage.put("session", { ...stored, expiresAt: Date.now() - 1000 });
    });
    await evictDurableObject(sessionStub(uuid));
    expect(await runDurableObjectAlarm(sessionStub(uuid))).toBe(true);

    await h.expectError(await h.call("GET", location), 404, "BLOB_UPLOAD_UNKNOWN");
    await expectMultipartAborted(state!.dataKey, state!.multipartId!);
    expect(await storedKeyCount(uuid)).toBe(0);
    expect(await getAlarm()).toBeNull();
  });
});

describe("large upload", () => {
  it("30 MiB in 3 MiB chunks: 6 full parts, the assembled object in R2, bytes read back intact", async () => {
    const repo = h.uniqueRepo("parts");
    const bytes = h.randomBytes(30 * MiB);
    const { location: first, uuid } = await h.startUpload(repo);
    let location = first;
    for (let at = 0; at < bytes.length; at += 3 * MiB) {
      location = await h.patchOk(location, bytes.subarray(at, at + 3 * MiB), at);
    }
    const state = await storedSession(uuid);
    expect(state?.offset).toBe(30 * MiB);
    expect(state?.parts.map((p) => p.partNumber)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(state?.tailLength).toBe(0);

    const digest = await h.sha256(bytes);
    const res = await h.finishUpload(location, digest);
    expect(res.status, await res.text()).toBe(201);

    const blob = await env.BUCKET.head(`blobs/sha256/${hexOf(digest)}`);
    expect(blob).not.toBeNull();
    if (blob!.customMetadata?.location) {
      // A pointer: the bytes live in the multipart object it names.
      expect(blob!.customMetadata.location).toBe(state!.dataKey);
      expect(blob!.customMetadata.location).toBe(`blob-data/${uuid}`);
      expect(Number(blob!.customMetadata.size)).toBe(30 * MiB);
      expect((await env.BUCKET.head(blob!.customMetadata.location))?.size).toBe(30 * MiB);
    } else {
      expect(blob!.size).toBe(30 * MiB);
    }

    const got = await h.call("GET", `/v2/${repo}/blobs/${digest}`);
    expect(got.headers.get("Content-Length")).toBe(String(30 * MiB));
    h.expectSameBytes(await h.bodyBytes(got), bytes, "30 MiB read-back");
    const tail = await h.call("GET", `/v2/${repo}/blobs/${digest}`, { headers: { Range: "bytes=-1024" } });
    expect(tail.status).toBe(206);
    h.expectSameBytes(await h.bodyBytes(tail), bytes.subarray(bytes.length - 1024));
  });
});

describe("closing with a digest of another algorithm than the session hashed (sha512 without digest-algorithm)", () => {
  for (const [label, total] of [
    ["tail only (below one part)", 3 * MiB],
    ["several parts plus a tail", 2 * PART + 17],
  ] as const) {
    it(`${label}: the right sha512 digest publishes the blob`, async () => {
      const repo = h.uniqueRepo("rehash");
      const bytes = h.randomBytes(total);
      const { location: first, uuid } = await h.startUpload(repo);
      const location = await h.patchOk(first, bytes, 0);
      const digest = await h.sha512(bytes);
      const res = await h.finishUpload(location, digest);
      expect(res.status, await res.text()).toBe(201);
      expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
      expect(await storedSession(uuid)).toBeUndefined();
      h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
    });

    it(`${label}: a wrong sha512 digest is DIGEST_INVALID and nothing becomes visible`, async () => {
      const repo = h.uniqueRepo("rehash");
      const bytes = h.randomBytes(total);
      const { location: first } = await h.startUpload(repo);
      const location = await h.patchOk(first, bytes, 0);
      const wrong = await h.sha512(h.randomBytes(16));
      await h.expectError(await h.finishUpload(location, wrong), 400, "DIGEST_INVALID");
      await h.expectError(await h.call("GET", `/v2/${repo}/blobs/${wrong}`), 404, "BLOB_UNKNOWN");
      const right = await h.sha512(bytes);
      await h.expectError(await h.call("GET", `/v2/${repo}/blobs/${right}`), 404, "BLOB_UNKNOWN");
    });
  }
});
