// The blob upload state machine: POST / PATCH / PUT / GET / DELETE on /v2/<name>/blobs/uploads/.
// Bytes are checked end to end (digest and read-back); where the brief asks for it, the session's
// durable state (Durable Object storage) and the R2 objects are inspected directly.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as h from "./helpers";

const { MiB, PART } = h;

const { storedSession, storedKeyCount, expectMultipartAborted, hexOf } = h;

describe("starting an upload (POST)", () => {
  it("POST -> 202 with Location, Range 0-0, Docker-Upload-UUID and OCI-Chunk-Min-Length", async () => {
    const repo = h.uniqueRepo("up");
    const res = await h.call("POST", `/v2/${repo}/blobs/uploads/`);
    await res.arrayBuffer();
    expect(res.status).toBe(202);
    const location = res.headers.get("Location") ?? "";
    expect(location).toMatch(new RegExp(`^(https?://[^/]+)?/v2/${repo}/blobs/uploads/[^/?]+`));
    expect(res.headers.get("Range")).toBe("0-0");
    const uuid = res.headers.get("Docker-Upload-UUID");
    expect(uuid).toBeTruthy();
    expect(location).toContain(uuid!);
    const min = res.headers.get("OCI-Chunk-Min-Length");
    expect(min).toMatch(/^\d+$/);
    expect(Number(min)).toBeGreaterThan(0);
  });

  it("monolithic POST ?digest= -> 201 with Location and Docker-Content-Digest", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(4000);
    const digest = await h.sha256(bytes);
    const res = await h.call("POST", `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes,
    });
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("Location")).toMatch(new RegExp(`/v2/${repo}/blobs/${digest}$`));
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });

  it("monolithic POST with a wrong digest -> 400 DIGEST_INVALID and nothing is published", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(100);
    const wrong = await h.sha256(h.randomBytes(100));
    await h.expectError(await h.call("POST", `/v2/${repo}/blobs/uploads/?digest=${wrong}`, { body: bytes }), 400, "DIGEST_INVALID");
    expect((await h.call("HEAD", `/v2/${repo}/blobs/${wrong}`)).status).toBe(404);
    expect((await h.call("HEAD", `/v2/${repo}/blobs/${await h.sha256(bytes)}`)).status).toBe(404);
    expect(await env.BUCKET.head(`blobs/sha256/${hexOf(wrong)}`)).toBeNull();
  });

  it("POST, then PUT ?digest= carrying the whole blob -> 201", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(70_000);
    const { location } = await h.startUpload(repo);
    const res = await h.finishUpload(location, await h.sha256(bytes), bytes);
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toMatch(new RegExp(`/v2/${repo}/blobs/sha256:`));
    h.expectSameBytes(await h.getBlobBytes(repo, await h.sha256(bytes)), bytes);
  });

  it("after a completed upload the session is gone: GET/PATCH/PUT -> 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(10);
    const { location } = await h.chunkedUpload(repo, bytes, 10);
    await h.expectError(await h.call("GET", location), 404, "BLOB_UPLOAD_UNKNOWN");
    await h.expectError(await h.patchChunk(location, h.randomBytes(1), 10), 404, "BLOB_UPLOAD_UNKNOWN");
    await h.expectError(await h.finishUpload(location, await h.sha256(bytes)), 404, "BLOB_UPLOAD_UNKNOWN");
  });
});

describe("chunked uploads (PATCH)", () => {
  it("1-byte chunks with Content-Range (crossing hash block boundaries)", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(70);
    const { digest } = await h.chunkedUpload(repo, bytes, 1);
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });

  it("130 tiny chunks (1-7 bytes, >128 tail segments) followed by a chunk completing a part", async () => {
    const repo = h.uniqueRepo("up");
    const { location: first, uuid } = await h.startUpload(repo);
    const tinySizes = Array.from({ length: 130 }, (_, i) => (i % 7) + 1);
    const tinyTotal = tinySizes.reduce((a, b) => a + b, 0);
    const bytes = h.randomBytes(PART + 1000);
    let location = first;
    let at = 0;
    for (const n of tinySizes) {
      location = await h.patchOk(location, bytes.subarray(at, at + n), at);
      at += n;
    }
    expect(at).toBe(tinyTotal);
    location = await h.patchOk(location, bytes.subarray(at), at);
    const state = await storedSession(uuid);
    expect(state?.offset).toBe(bytes.length);
    expect(state?.parts.length).toBe(1);
    expect(state?.tailLength).toBe(1000);
    const digest = await h.sha256(bytes);
    const res = await h.finishUpload(location, digest);
    expect(res.status, await res.text()).toBe(201);
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });

  it("docker-style: POST, one PATCH without Content-Range, PUT ?digest= without body", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(200_000);
    const { location } = await h.startUpload(repo);
    const patch = await h.patchChunk(location, bytes);
    await patch.arrayBuffer();
    expect(patch.status).toBe(202);
    expect(patch.headers.get("Range")).toBe(`0-${bytes.length - 1}`);
    const next = patch.headers.get("Location")!;
    const res = await h.finishUpload(next, await h.sha256(bytes));
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    h.expectSameBytes(await h.getBlobBytes(repo, await h.sha256(bytes)), bytes);
  });

  it("PUT carrying the final chunk with Content-Range", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(3000);
    const { location } = await h.startUpload(repo);
    const next = await h.patchOk(location, bytes.subarray(0, 1000), 0);
    const res = await h.finishUpload(next, await h.sha256(bytes), bytes.subarray(1000), 1000);
    expect(res.status, await res.text()).toBe(201);
    h.expectSameBytes(await h.getBlobBytes(repo, await h.sha256(bytes)), bytes);
  });

  it("PUT carrying the final chunk without Content-Range", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(3000);
    const { location } = await h.startUpload(repo);
    const next = await h.patchOk(location, bytes.subarray(0, 2999), 0);
    const res = await h.finishUpload(next, await h.sha256(bytes), bytes.subarray(2999));
    expect(res.status, await res.text()).toBe(201);
    h.expectSameBytes(await h.getBlobBytes(repo, await h.sha256(bytes)), bytes);
  });

  it("PUT whose final chunk starts at the wrong offset -> 416 with the true Range", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(3000);
    const { location } = await h.startUpload(repo);
    const next = await h.patchOk(location, bytes.subarray(0, 1000), 0);
    const res = await h.finishUpload(next, await h.sha256(bytes), bytes.subarray(1500), 1500);
    await res.arrayBuffer();
    expect(res.status).toBe(416);
    expect(res.headers.get("Range")).toBe("0-999");
    expect((await h.finishUpload(next, await h.sha256(bytes), bytes.subarray(1000), 1000)).status).toBe(201);
  });
});

describe("upload status (GET on the session)", () => {
  it("GET -> 204 with Range, Location and Docker-Upload-UUID", async () => {
    const repo = h.uniqueRepo("up");
    const { location, uuid } = await h.startUpload(repo);
    let res = await h.call("GET", location);
    expect(res.status).toBe(204);
    expect(res.headers.get("Range")).toBe("0-0");
    expect(res.headers.get("Location")).toMatch(new RegExp(`/v2/${repo}/blobs/uploads/`));
    expect(res.headers.get("Docker-Upload-UUID")).toBe(uuid);
    await h.patchOk(location, h.randomBytes(10), 0);
    res = await h.call("GET", location);
    expect(res.status).toBe(204);
    expect(res.headers.get("Range")).toBe("0-9");
  });
});

describe("offset mismatches (416)", () => {
  it("a repeated chunk (same Content-Range after it succeeded) -> 416 with the true Range and Location; upload still completes", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(3000);
    const { location } = await h.startUpload(repo);
    let next = await h.patchOk(location, bytes.subarray(0, 1000), 0);
    next = await h.patchOk(next, bytes.subarray(1000, 2000), 1000);
    const again = await h.patchChunk(next, bytes.subarray(1000, 2000), 1000);
    await again.arrayBuffer();
    expect(again.status).toBe(416);
    expect(again.headers.get("Range")).toBe("0-1999");
    expect(again.headers.get("Location")).toMatch(new RegExp(`/v2/${repo}/blobs/uploads/`));
    expect(await h.uploadOffset(next)).toBe(2000);
    next = await h.patchOk(next, bytes.subarray(2000), 2000);
    const res = await h.finishUpload(next, await h.sha256(bytes));
    expect(res.status).toBe(201);
    h.expectSameBytes(await h.getBlobBytes(repo, await h.sha256(bytes)), bytes);
  });

  it("an out-of-order chunk (gap) -> 416; a chunk overlapping the stored bytes -> 416", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(3000);
    const { location } = await h.startUpload(repo);
    const next = await h.patchOk(location, bytes.subarray(0, 1000), 0);
    for (const start of [1500, 500, 0]) {
      const res = await h.patchChunk(next, bytes.subarray(start, start + 100), start);
      await res.arrayBuffer();
      expect(res.status, `chunk at ${start}`).toBe(416);
      expect(res.headers.get("Range")).toBe("0-999");
    }
    expect(await h.uploadOffset(next)).toBe(1000);
  });

  it("a first chunk that does not start at 0 -> 416", async () => {
    const { location } = await h.startUpload(h.uniqueRepo("up"));
    const res = await h.patchChunk(location, h.randomBytes(10), 5);
    await res.arrayBuffer();
    expect(res.status).toBe(416);
    expect(res.headers.get("Range")).toBe("0-0");
  });

  it("Content-Range whose length disagrees with the body -> 416, nothing stored", async () => {
    const { location } = await h.startUpload(h.uniqueRepo("up"));
    const res = await h.call("PATCH", location, { headers: { "Content-Range": "0-99" }, body: h.randomBytes(50) });
    await res.arrayBuffer();
    expect(res.status).toBe(416);
    expect(await h.uploadOffset(location)).toBe(0);
  });

  it("a malformed Content-Range -> 416", async () => {
    const { location } = await h.startUpload(h.uniqueRepo("up"));
    for (const range of ["abc", "10-5", "-5", "5-"]) {
      const res = await h.call("PATCH", location, { headers: { "Content-Range": range }, body: h.randomBytes(6) });
      await res.arrayBuffer();
      expect(res.status, range).toBe(416);
    }
    expect(await h.uploadOffset(location)).toBe(0);
  });
});

describe("every 416 carries the true Range and Location", () => {
  const refusals: [string, Record<string, string>, number][] = [
    ["Content-Length not matching Content-Range", { "Content-Range": "1000-1099", "Content-Length": "50" }, 50],
    ["a malformed Content-Range", { "Content-Range": "abc" }, 6],
    ["a Content-Range ending before it starts", { "Content-Range": "1010-1005" }, 6],
    ["a chunk at the wrong offset", { "Content-Range": "5-10" }, 6],
  ];
  it.each(refusals)("PATCH with %s -> 416, Range 0-999 and the session's Location", async (_label, headers, length) => {
    const repo = h.uniqueRepo("up");
    const { location } = await h.startUpload(repo);
    await h.patchOk(location, h.randomBytes(1000), 0);
    const res = await h.call("PATCH", location, { headers, body: h.randomBytes(length) });
    await h.expectError(res, 416, "BLOB_UPLOAD_INVALID");
    expect(res.headers.get("Range")).toBe("0-999");
    expect(res.headers.get("Location")).toBe(new URL(location, h.BASE).pathname);
    expect(await h.uploadOffset(location)).toBe(1000);
  });

  it("PUT ?digest= with a final chunk whose Content-Length disagrees with its Content-Range -> 416 with Range and Location", async () => {
    const { location } = await h.startUpload(h.uniqueRepo("up"));
    await h.patchOk(location, h.randomBytes(10), 0);
    const res = await h.call("PUT", h.withQuery(location, { digest: await h.sha256(h.randomBytes(20)) }), {
      headers: { "Content-Range": "10-19", "Content-Length": "5" },
      body: h.randomBytes(5),
    });
    await h.expectError(res, 416, "BLOB_UPLOAD_INVALID");
    expect(res.headers.get("Range")).toBe("0-9");
    expect(res.headers.get("Location")).toBe(new URL(location, h.BASE).pathname);
  });

  it("a bad Content-Range on an unknown session -> 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const repo = h.uniqueRepo("up");
    const { location } = await h.startUpload(repo);
    await h.call("DELETE", location).then(h.drain);
    await h.expectError(await h.call("PATCH", location, { headers: { "Content-Range": "abc" }, body: h.randomBytes(3) }), 404, "BLOB_UPLOAD_UNKNOWN");
  });
});

describe("concurrent PATCHes on one session", () => {
  async function resumeAndFinish(repo: string, location: string, bytes: Uint8Array) {
    const offset = await h.uploadOffset(location);
    expect(offset).toBeLessThanOrEqual(bytes.length);
    let next = location;
    if (offset < bytes.length) next = await h.patchOk(location, bytes.subarray(offset), offset);
    const digest = await h.sha256(bytes);
    const res = await h.finishUpload(next, digest);
    expect(res.status, await res.text()).toBe(201);
    const back = await h.getBlobBytes(repo, digest);
    expect(await h.sha256(back)).toBe(digest);
  }

  it("the same chunk sent twice at once: one 202, the other 416; the blob is right", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(3 * MiB);
    const { location } = await h.startUpload(repo);
    const chunk = bytes.subarray(0, 2 * MiB);
    const results = await Promise.all([h.patchChunk(location, chunk, 0), h.patchChunk(location, chunk, 0)]);
    const statuses = await Promise.all(results.map(async (r) => (await r.arrayBuffer(), r.status)));
    for (const s of statuses) expect([202, 416]).toContain(s);
    expect(statuses.filter((s) => s === 202).length).toBe(1);
    await resumeAndFinish(repo, location, bytes);
  });

  it("two consecutive chunks at once, across a part boundary: each 202 or 416; resuming from GET's Range gives the right blob", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(7 * MiB + 10);
    const { location } = await h.startUpload(repo);
    await h.patchOk(location, bytes.subarray(0, 3 * MiB), 0);
    const a = bytes.subarray(3 * MiB, 6 * MiB);
    const b = bytes.subarray(6 * MiB, 7 * MiB);
    const results = await Promise.all([h.patchChunk(location, a, 3 * MiB), h.patchChunk(location, b, 6 * MiB), h.patchChunk(location, a, 3 * MiB)]);
    for (const r of results) {
      await r.arrayBuffer();
      expect([202, 416]).toContain(r.status);
    }
    await resumeAndFinish(repo, location, bytes);
  });
});

describe("completing with the wrong digest", () => {
  it("wrong digest on PUT -> 400 DIGEST_INVALID; the blob is not visible under either digest", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(5000);
    const { location } = await h.startUpload(repo);
    const next = await h.patchOk(location, bytes, 0);
    const wrong = await h.sha256(h.randomBytes(5000));
    await h.expectError(await h.finishUpload(next, wrong), 400, "DIGEST_INVALID");
    expect((await h.call("HEAD", `/v2/${repo}/blobs/${wrong}`)).status).toBe(404);
    expect((await h.call("HEAD", `/v2/${repo}/blobs/${await h.sha256(bytes)}`)).status).toBe(404);
    expect(await env.BUCKET.head(`blobs/sha256/${hexOf(wrong)}`)).toBeNull();
  });

  it("wrong digest after multipart parts -> 400; nothing published", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(PART + 100);
    const { location, uuid } = await h.startUpload(repo);
    const next = await h.patchOk(location, bytes, 0);
    expect((await storedSession(uuid))?.parts.length).toBe(1);
    const wrong = await h.sha256(h.randomBytes(8));
    await h.expectError(await h.finishUpload(next, wrong), 400, "DIGEST_INVALID");
    expect(await env.BUCKET.head(`blobs/sha256/${hexOf(wrong)}`)).toBeNull();
    expect(await env.BUCKET.head(`blobs/sha256/${hexOf(await h.sha256(bytes))}`)).toBeNull();
    expect((await h.call("HEAD", `/v2/${repo}/blobs/${wrong}`)).status).toBe(404);
  });

  it("PUT without a digest parameter -> 400 and the upload is not completed", async () => {
    const repo = h.uniqueRepo("up");
    const { location } = await h.startUpload(repo);
    await h.patchOk(location, h.randomBytes(10), 0);
    const res = await h.call("PUT", location);
    await h.expectError(res, 400);
    expect(await h.uploadOffset(location)).toBe(10);
  });
});

describe("cancel (DELETE on the session)", () => {
  it("DELETE -> 204; then GET/PATCH/PUT/DELETE -> 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const repo = h.uniqueRepo("up");
    const { location } = await h.startUpload(repo);
    await h.patchOk(location, h.randomBytes(10), 0);
    const del = await h.call("DELETE", location);
    await del.arrayBuffer();
    expect(del.status).toBe(204);
    await h.expectError(await h.call("GET", location), 404, "BLOB_UPLOAD_UNKNOWN");
    await h.expectError(await h.patchChunk(location, h.randomBytes(1), 10), 404, "BLOB_UPLOAD_UNKNOWN");
    await h.expectError(await h.finishUpload(location, await h.sha256(h.randomBytes(1))), 404, "BLOB_UPLOAD_UNKNOWN");
    await h.expectError(await h.call("DELETE", location), 404, "BLOB_UPLOAD_UNKNOWN");
  });

  it("cancel after a multipart part was written aborts the multipart upload and clears session storage", async () => {
    const repo = h.uniqueRepo("up");
    const { location, uuid } = await h.startUpload(repo);
    await h.patchOk(location, h.randomBytes(PART + 10), 0);
    const state = await storedSession(uuid);
    expect(state?.multipartId).toBeTruthy();
    expect((await h.call("DELETE", location)).status).toBe(204);
    await expectMultipartAborted(state!.dataKey, state!.multipartId!);
    expect(await storedKeyCount(uuid)).toBe(0);
  });
});

describe("unknown and foreign sessions", () => {
  it("malformed or unknown session ids -> 404 BLOB_UPLOAD_UNKNOWN for every method", async () => {
    const repo = h.uniqueRepo("up");
    const real = await h.startUpload(repo);
    const ids = [
      "not-a-session",
      "ab".repeat(32),
      env.UPLOADS.newUniqueId().toString(),
      real.uuid.toUpperCase(),
      `${real.uuid}0`,
      "%zz",
    ];
    for (const id of ids) {
      const base = `/v2/${repo}/blobs/uploads/${id}`;
      await h.expectError(await h.call("GET", base), 404, "BLOB_UPLOAD_UNKNOWN");
      await h.expectError(await h.call("PATCH", base, { body: h.randomBytes(4) }), 404, "BLOB_UPLOAD_UNKNOWN");
      await h.expectError(await h.call("PUT", `${base}?digest=${await h.sha256(new Uint8Array(0))}`), 404, "BLOB_UPLOAD_UNKNOWN");
      await h.expectError(await h.call("DELETE", base), 404, "BLOB_UPLOAD_UNKNOWN");
    }
  });

  it("a session opened in repo A cannot be used through repo B (404), and stays intact in A", async () => {
    const a = h.uniqueRepo("up");
    const b = h.uniqueRepo("up");
    await h.pushBlob(b, h.utf8("b exists"));
    const bytes = h.randomBytes(100);
    const { location, uuid } = await h.startUpload(a);
    await h.patchOk(location, bytes.subarray(0, 50), 0);
    const viaB = `/v2/${b}/blobs/uploads/${uuid}`;
    await h.expectError(await h.call("GET", viaB), 404, "BLOB_UPLOAD_UNKNOWN");
    await h.expectError(await h.patchChunk(viaB, bytes.subarray(50), 50), 404, "BLOB_UPLOAD_UNKNOWN");
    await h.expectError(await h.finishUpload(viaB, await h.sha256(bytes.subarray(0, 50))), 404, "BLOB_UPLOAD_UNKNOWN");
    await h.expectError(await h.call("DELETE", viaB), 404, "BLOB_UPLOAD_UNKNOWN");
    const next = await h.patchOk(location, bytes.subarray(50), 50);
    expect((await h.finishUpload(next, await h.sha256(bytes))).status).toBe(201);
    expect((await h.call("HEAD", `/v2/${b}/blobs/${await h.sha256(bytes)}`)).status).toBe(404);
  });
});

describe("pushing a blob that already exists", () => {
  it("monolithic re-push -> 201; one object under blobs/", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(1000);
    const digest = await h.pushBlob(repo, bytes);
    expect(await h.pushBlob(repo, bytes)).toBe(digest);
    const other = h.uniqueRepo("up");
    expect(await h.pushBlob(other, bytes)).toBe(digest);
    const listed = await env.BUCKET.list({ prefix: `blobs/sha256/${hexOf(digest)}` });
    expect(listed.objects.map((o) => o.key)).toEqual([`blobs/sha256/${hexOf(digest)}`]);
    h.expectSameBytes(await h.getBlobBytes(other, digest), bytes);
  });

  it("multipart re-push -> 201; the second upload's data object is not kept", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(PART + 77);
    const first = await h.chunkedUpload(repo, bytes, bytes.length);
    const before = await env.BUCKET.head(`blobs/sha256/${hexOf(first.digest)}`);
    const other = h.uniqueRepo("up");
    const second = await h.chunkedUpload(other, bytes, bytes.length);
    expect(second.digest).toBe(first.digest);
    expect(await env.BUCKET.head(`blob-data/${second.uuid}`)).toBeNull();
    const after = await env.BUCKET.head(`blobs/sha256/${hexOf(first.digest)}`);
    expect(after?.customMetadata).toEqual(before?.customMetadata);
    expect(await h.sha256(await h.getBlobBytes(other, first.digest))).toBe(first.digest);
  });
});

describe("digest algorithms", () => {
  it("?digest-algorithm=sha512 chunked upload (odd chunk sizes around 128-byte blocks) completes with a sha512 digest", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(1000);
    const { location } = await h.startUpload(repo, "?digest-algorithm=sha512");
    let next = location;
    let at = 0;
    for (const n of [1, 111, 16, 127, 129, 112, 504]) {
      next = await h.patchOk(next, bytes.subarray(at, at + n), at);
      at += n;
    }
    expect(at).toBe(bytes.length);
    const digest = await h.sha512(bytes);
    const res = await h.finishUpload(next, digest);
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });

  it("sha512 multipart upload (crossing a part boundary)", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(PART + 333);
    const { digest } = await h.chunkedUpload(repo, bytes, 3 * MiB, "sha512");
    expect(await h.sha512(await h.getBlobBytes(repo, digest))).toBe(digest);
  });

  it("monolithic POST ?digest=sha512:... -> 201", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(777);
    const digest = await h.pushBlob(repo, bytes, "sha512");
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });

  it("sha512 session with a wrong sha512 digest -> 400 DIGEST_INVALID", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(50);
    const { location } = await h.startUpload(repo, "?digest-algorithm=sha512");
    const next = await h.patchOk(location, bytes, 0);
    await h.expectError(await h.finishUpload(next, await h.sha512(h.randomBytes(50))), 400, "DIGEST_INVALID");
  });

  it("a sha512 digest on PUT of a default session is verified or refused (400), never accepted unverified", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(50);
    const { location } = await h.startUpload(repo);
    const next = await h.patchOk(location, bytes, 0);
    const wrong = await h.finishUpload(next, await h.sha512(h.randomBytes(50)));
    await h.expectError(wrong, 400, "DIGEST_INVALID");
    const right = await h.finishUpload(next, await h.sha512(bytes));
    if (right.status === 201) {
      h.expectSameBytes(await h.getBlobBytes(repo, await h.sha512(bytes)), bytes);
    } else {
      await h.expectError(right, 400, "DIGEST_INVALID");
    }
  });

  it("unsupported algorithms -> 400: ?digest-algorithm=md5, ?digest=md5:..., PUT ?digest=sha1:...", async () => {
    const repo = h.uniqueRepo("up");
    await h.expectError(await h.call("POST", `/v2/${repo}/blobs/uploads/?digest-algorithm=md5`), 400);
    await h.expectError(await h.call("POST", `/v2/${repo}/blobs/uploads/?digest=md5:d41d8cd98f00b204e9800998ecf8427e`, { body: new Uint8Array(0) }), 400, "DIGEST_INVALID");
    const { location } = await h.startUpload(repo);
    await h.expectError(await h.finishUpload(location, "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"), 400, "DIGEST_INVALID");
  });

  it("hash padding edge lengths (sha256 and sha512) digest correctly", async () => {
    const repo = h.uniqueRepo("up");
    // Padding boundaries: 55/56/64 bytes for SHA-256 (64-byte blocks), 111/112/128 for SHA-512.
    for (const n of [0, 55, 56, 64]) await h.pushBlob(repo, h.randomBytes(n), "sha256");
    for (const n of [0, 111, 112, 128]) await h.pushBlob(repo, h.randomBytes(n), "sha512");
  });
});


describe("cancel racing an in-flight chunk", () => {
  // Fault injection: a DELETE (cancel) that lands while the session is creating its R2 multipart
  // upload (the first time a chunk completes a part). The cancel is acknowledged (204), so the
  // session must stay gone; the in-flight PATCH must fail without bringing it back.
  it("a cancel during the first part's createMultipart does not resurrect the session", async () => {
    const repo = h.uniqueRepo("up");
    const bytes = h.randomBytes(PART + 100);
    const { location, uuid } = await h.startUpload(repo);
    await h.patchOk(location, bytes.subarray(0, 3 * MiB), 0);

    let cancelStatus: unknown = null;
    await runInDurableObject(h.sessionStub(uuid), async (instance) => {
      const session = instance as unknown as {
        cancel(name: string): Promise<{ ok: boolean }>;
        core: { objects: { createMultipart(key: string): Promise<string> } };
      };
      const objects = session.core.objects;
      const original = objects.createMultipart.bind(objects);
      objects.createMultipart = async (key: string) => {
        const id = await original(key);
        objects.createMultipart = original; // once
        cancelStatus = await session.cancel(repo); // what DELETE on the session does
        return id;
      };
    });

    const patch = await h.patchChunk(location, bytes.subarray(3 * MiB), 3 * MiB);
    await patch.arrayBuffer();
    expect(cancelStatus).toMatchObject({ ok: true });
    expect(patch.status).not.toBe(202);
    await h.expectError(await h.call("GET", location), 404, "BLOB_UPLOAD_UNKNOWN");
    expect(await storedSession(uuid)).toBeUndefined();
  });
});
