// Push workflow (spec "Push": end-4a, end-4b, end-5, end-6, end-7, end-11, end-13, end-14):
// streamed, monolithic (POST+PUT and single POST) and chunked blob uploads, OCI-Chunk-Min-Length,
// out-of-order chunks (416) and recovery through GET on the upload, cancel, bad digests,
// cross-repository mount with and without `from`, empty blobs, manifest uploads of every media
// type, manifests by digest, OCI-Subject, and the 4 MiB manifest size limit (413 above).
import { beforeAll, describe, expect, test } from "vitest";
import {
  Client,
  EMPTY_JSON,
  EMPTY_JSON_SHA256,
  EMPTY_SHA256,
  MT,
  buildImage,
  chunked,
  chunkedStream,
  descriptorOf,
  digestOf,
  expectBlob,
  expectBlobCreated,
  expectError,
  expectManifest,
  expectManifestCreated,
  expectNoBlob,
  expectStatus,
  getManifest,
  jsonBytes,
  listTags,
  openSession,
  postOnly,
  postPut,
  pushBlob,
  pushImageBlobs,
  putManifest,
  randomBytes,
  stream,
  uniqueRepo,
  withDigest,
  type ImageParts,
  wrongDigestUploadTests,
} from "./oci";
import { useRegistry } from "./registry";

const registry = useRegistry();
const repo = uniqueRepo("push");
const mountRepo = uniqueRepo("push-mount"); // the cross-mount namespace
const DUMMY = digestOf("hello world");
// The conformance suite never uses chunks smaller than this, whatever the registry advertises.
const SUITE_CHUNK_MIN = 1024;

let c: Client;
let minChunk = SUITE_CHUNK_MIN;

beforeAll(async () => {
  c = new Client(registry().url);
});

const octet = (length: number, extra: Record<string, string> = {}) => ({
  "Content-Type": MT.octet,
  "Content-Length": String(length),
  ...extra,
});

describe("blob upload, streamed (POST, PATCH without Content-Range, PUT)", () => {
  test("PATCH with the whole blob is 202 with Location and Range; closing PUT is 201", async () => {
    const data = randomBytes(42);
    const digest = digestOf(data);
    const { location } = await openSession(c, repo);
    const patch = await c.patch(location, { body: data, headers: { "Content-Type": MT.octet } });
    expectStatus(patch, 202);
    expect(patch.location(), patch.describe()).not.toBeNull();
    expect(patch.headers.get("range"), patch.describe()).toBe(`0-${data.length - 1}`);
    const put = await c.put(withDigest(patch.location()!, digest), { body: new Uint8Array(0), headers: octet(0) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
    await expectBlob(c, repo, digest, data);
  });

  test("PATCH body sent with Transfer-Encoding: chunked (no Content-Length) is accepted", async () => {
    const data = randomBytes(5000);
    const digest = digestOf(data);
    const pushed = await stream(c, repo, data, digest, { transferEncodingChunked: true });
    expect(pushed.patch.headers.get("range"), pushed.patch.describe()).toBe(`0-${data.length - 1}`);
    await expectBlobCreated(c, pushed, data, digest);
  });

  test("several streamed PATCHes without Content-Range append in order", async () => {
    const data = randomBytes(3000);
    const digest = digestOf(data);
    let { location } = await openSession(c, repo);
    for (const [a, b] of [[0, 1000], [1000, 2200], [2200, 3000]] as const) {
      const patch = await c.patch(location, { body: data.subarray(a, b), headers: octet(b - a) });
      expectStatus(patch, 202);
      expect(patch.headers.get("range"), patch.describe()).toBe(`0-${b - 1}`);
      location = patch.location()!;
    }
    const put = await c.put(withDigest(location, digest), { body: new Uint8Array(0), headers: octet(0) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });
});

describe("blob upload, monolithic", () => {
  test("GET of a blob not yet pushed is 404", async () => {
    expectError(await c.get(`/v2/${repo}/blobs/${DUMMY}`), 404, ["BLOB_UNKNOWN"]);
  });

  test("single POST ?digest= with the body is 201 Created with a Location serving the blob (end-4b)", async () => {
    const data = jsonBytes({ architecture: "amd64", os: "linux", author: `single-post-${Date.now()}`, rootfs: { type: "layers", diff_ids: [] } });
    const digest = digestOf(data);
    const pushed = await postOnly(c, repo, data, digest);
    // A registry MAY answer 202 (no single-POST support); this one supports it, and the
    // conformance suite counts a 202 here as an unsupported API.
    await expectBlobCreated(c, pushed, data, digest);
    expect(pushed.location!.pathname, pushed.res.describe()).toBe(`/v2/${repo}/blobs/${digest}`);
    await expectBlob(c, repo, digest, data);
  });

  test("POST yields a session (202, Location with a unique id); PUT ?digest= with the body is 201 (end-4a, end-6)", async () => {
    const data = randomBytes(1234);
    const digest = digestOf(data);
    const first = await openSession(c, repo);
    const second = await openSession(c, repo);
    expect(first.location.toString(), "two sessions must not share a Location").not.toBe(second.location.toString());
    expect(first.location.pathname.startsWith(`/v2/${repo}/blobs/uploads/`), first.res.describe()).toBe(true);
    const put = await c.put(withDigest(first.location, digest), { body: data, headers: octet(data.length) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
    expect(put.location()!.pathname, put.describe()).toBe(`/v2/${repo}/blobs/${digest}`);
    await expectBlob(c, repo, digest, data);
    // the other session is still usable on its own
    const other = randomBytes(10);
    const put2 = await c.put(withDigest(second.location, digestOf(other)), { body: other, headers: octet(other.length) });
    await expectBlobCreated(c, { res: put2, location: put2.location() }, other, digestOf(other));
  });

  test("a layer-sized blob (300 KiB) through POST+PUT", async () => {
    const data = randomBytes(300 * 1024);
    const digest = digestOf(data);
    await expectBlobCreated(c, await postPut(c, repo, data, digest), data, digest);
  });

  test("pushing the same blob twice is idempotent (201 both times)", async () => {
    const data = randomBytes(77);
    const digest = digestOf(data);
    await expectBlobCreated(c, await postPut(c, repo, data, digest), data, digest);
    await expectBlobCreated(c, await postOnly(c, repo, data, digest), data, digest);
  });

  test("POST with Content-Length: 0 advertises OCI-Chunk-Min-Length as a positive integer, if at all", async () => {
    const { res } = await openSession(c, repo);
    const header = res.headers.get("oci-chunk-min-length");
    if (header !== null) {
      expect(header, res.describe()).toMatch(/^[0-9]+$/);
      expect(Number(header), res.describe()).toBeGreaterThan(0);
      minChunk = Math.max(SUITE_CHUNK_MIN, Number(header));
    }
  });
});

describe("blob upload, chunked (PATCH with Content-Range, end-5)", () => {
  test("single chunk covering the whole blob, then an empty closing PUT", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data);
    const pushed = await chunked(c, repo, data, digest, { chunkSize: data.length });
    expect(pushed.patches.length).toBe(1);
    await expectBlobCreated(c, pushed, data, digest);
  });

  test("three chunks of at least OCI-Chunk-Min-Length, each 202 with Range 0-<end>", async () => {
    const data = randomBytes(minChunk * 3 - 5);
    const digest = digestOf(data);
    const pushed = await chunked(c, repo, data, digest, { chunkSize: minChunk });
    expect(pushed.patches.length).toBe(3);
    await expectBlobCreated(c, pushed, data, digest);
    await expectBlob(c, repo, digest, data);
  });

  test("three chunks, the last one sent in the closing PUT with its Content-Range", async () => {
    const data = randomBytes(minChunk * 3 - 5);
    const digest = digestOf(data);
    const pushed = await chunked(c, repo, data, digest, { chunkSize: minChunk, lastInPut: true });
    expect(pushed.patches.length).toBe(2);
    await expectBlobCreated(c, pushed, data, digest);
  });

  test("Content-Range with a 'bytes ' prefix is tolerated or rejected with 400/416, never corrupts", async () => {
    const data = randomBytes(100);
    const digest = digestOf(data);
    const { location } = await openSession(c, repo);
    const patch = await c.patch(location, { body: data, headers: octet(data.length, { "Content-Range": "bytes 0-99" }) });
    expectStatus(patch, 202, 400, 416);
    if (patch.status === 202) {
      const put = await c.put(withDigest(patch.location()!, digest), { body: new Uint8Array(0), headers: octet(0) });
      await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
    }
  });

  test("out-of-order first chunk is 416; the session survives (conformance: 'Out-of-order blob upload should return 416')", async () => {
    const data = randomBytes(minChunk * 2 - 2);
    const digest = digestOf(data);
    const half = data.length / 2 + 1;
    const { location } = await openSession(c, repo);
    const bad = await c.patch(location, {
      body: data.subarray(half),
      headers: octet(data.length - half, { "Content-Range": `${half}-${data.length - 1}` }),
    });
    expectStatus(bad, 416);
    // GET tells where to resume: nothing stored yet
    const status = await c.get(location);
    expectStatus(status, 204);
    expect(status.location(), status.describe()).not.toBeNull();
    expect(status.headers.get("range") ?? "", status.describe()).toMatch(/^0-(-1|0)$/);
    // the upload still completes in order
    const p1 = await c.patch(status.location()!, { body: data.subarray(0, half), headers: octet(half, { "Content-Range": `0-${half - 1}` }) });
    expectStatus(p1, 202);
    const p2 = await c.patch(p1.location()!, {
      body: data.subarray(half),
      headers: octet(data.length - half, { "Content-Range": `${half}-${data.length - 1}` }),
    });
    expectStatus(p2, 202);
    const put = await c.put(withDigest(p2.location()!, digest), { body: new Uint8Array(0), headers: octet(0) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });

  test("old suite chunk workflow: chunk 1 (202, Range), retry of chunk 1 on the POST location (416), GET on the stale location (204, Range, Location), chunk 2, PUT (201)", async () => {
    const data = randomBytes(minChunk * 2 - 2);
    const digest = digestOf(data);
    const cut = data.length / 2 + 1;
    const range1 = `0-${cut - 1}`;
    const { location: postLocation } = await openSession(c, repo);
    const p1 = await c.patch(postLocation, { body: data.subarray(0, cut), headers: octet(cut, { "Content-Range": range1 }) });
    expectStatus(p1, 202);
    expect(p1.headers.get("range"), p1.describe()).toBe(range1);
    const retry = await c.patch(postLocation, { body: data.subarray(0, cut), headers: octet(cut, { "Content-Range": range1 }) });
    expectStatus(retry, 416);
    const stale = await c.get(postLocation);
    expectStatus(stale, 204);
    expect(stale.location(), stale.describe()).not.toBeNull();
    expect(stale.headers.get("range"), stale.describe()).toBe(range1);
    const p2 = await c.patch(stale.location()!, {
      body: data.subarray(cut),
      headers: octet(data.length - cut, { "Content-Range": `${cut}-${data.length - 1}` }),
    });
    expectStatus(p2, 202);
    expect(p2.location(), p2.describe()).not.toBeNull();
    const put = await c.put(withDigest(p2.location()!, digest), { body: new Uint8Array(0), headers: octet(0) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });

  test("new suite 'chunked out-of-order': before every chunk a skipped-ahead or rewound chunk is 416 and GET reports 0-<last byte>", async () => {
    const data = randomBytes(minChunk * 3 - 5);
    const digest = digestOf(data);
    const size = minChunk;
    let { location } = await openSession(c, repo);
    let lastByte = -1;
    while (lastByte < data.length - 1) {
      let badStart = lastByte + 1 + size;
      if (badStart >= data.length) badStart = 0;
      const badEnd = Math.min(badStart + size - 1, data.length - 1);
      const bad = await c.patch(location, {
        body: data.subarray(badStart, badEnd + 1),
        headers: octet(badEnd - badStart + 1, { "Content-Range": `${badStart}-${badEnd}` }),
      });
      expectStatus(bad, 416);
      location = bad.location() ?? location;
      const status = await c.get(location);
      expectStatus(status, 204);
      const range = status.headers.get("range") ?? "";
      expect(range, status.describe()).toMatch(/^0-(-1|[0-9]+)$/);
      if (lastByte >= 0) expect(range, status.describe()).toBe(`0-${lastByte}`);
      location = status.location() ?? location;
      const start = lastByte + 1;
      lastByte = Math.min(start + size - 1, data.length - 1);
      const good = await c.patch(location, {
        body: data.subarray(start, lastByte + 1),
        headers: octet(lastByte - start + 1, { "Content-Range": `${start}-${lastByte}` }),
      });
      expectStatus(good, 202);
      location = good.location()!;
    }
    const put = await c.put(withDigest(location, digest), { body: new Uint8Array(0), headers: octet(0) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });

  test("new suite 'chunked out-of-order and put chunk': an out-of-order closing PUT is 416 (not 400) and the session survives", async () => {
    const data = randomBytes(minChunk * 3 - 5);
    const digest = digestOf(data);
    const { location } = await openSession(c, repo);
    const p1 = await c.patch(location, { body: data.subarray(0, minChunk), headers: octet(minChunk, { "Content-Range": `0-${minChunk - 1}` }) });
    expectStatus(p1, 202);
    // skip the middle chunk: PUT the final one
    const finalStart = 2 * minChunk;
    const badPut = await c.put(withDigest(p1.location()!, digest), {
      body: data.subarray(finalStart),
      headers: octet(data.length - finalStart, { "Content-Range": `${finalStart}-${data.length - 1}` }),
    });
    expectStatus(badPut, 416);
    const status = await c.get(badPut.location() ?? p1.location()!);
    expectStatus(status, 204);
    expect(status.headers.get("range"), status.describe()).toBe(`0-${minChunk - 1}`);
    const p2 = await c.patch(status.location()!, {
      body: data.subarray(minChunk, finalStart),
      headers: octet(minChunk, { "Content-Range": `${minChunk}-${finalStart - 1}` }),
    });
    expectStatus(p2, 202);
    const put = await c.put(withDigest(p2.location()!, digest), {
      body: data.subarray(finalStart),
      headers: octet(data.length - finalStart, { "Content-Range": `${finalStart}-${data.length - 1}` }),
    });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });

  test("a chunk overlapping bytes already received is 416", async () => {
    const data = randomBytes(200);
    const { location } = await openSession(c, repo);
    const p1 = await c.patch(location, { body: data.subarray(0, 100), headers: octet(100, { "Content-Range": "0-99" }) });
    expectStatus(p1, 202);
    const overlap = await c.patch(p1.location()!, { body: data.subarray(50, 150), headers: octet(100, { "Content-Range": "50-149" }) });
    expectStatus(overlap, 416);
    const status = await c.get(p1.location()!);
    expectStatus(status, 204);
    expect(status.headers.get("range"), status.describe()).toBe("0-99");
  });
});

describe("upload session status, cancel and unknown sessions (end-13, end-14)", () => {
  test("GET on a fresh session is 204 with Location and a Range header starting 0-", async () => {
    const { location } = await openSession(c, repo);
    const status = await c.get(location);
    expectStatus(status, 204);
    expect(status.body.length).toBe(0);
    expect(status.location(), status.describe()).not.toBeNull();
    expect(status.headers.get("range") ?? "", status.describe()).toMatch(/^0-(-1|0)$/);
  });

  test("GET after a PATCH reports the received range", async () => {
    const data = randomBytes(321);
    const { location } = await openSession(c, repo);
    const patch = await c.patch(location, { body: data, headers: octet(321, { "Content-Range": "0-320" }) });
    expectStatus(patch, 202);
    const status = await c.get(patch.location()!);
    expectStatus(status, 204);
    expect(status.headers.get("range"), status.describe()).toBe("0-320");
  });

  test("DELETE cancels a session (204); the session is then unknown (404 BLOB_UPLOAD_UNKNOWN)", async () => {
    const { location } = await openSession(c, repo);
    const del = await c.delete(location, { body: new Uint8Array(0) });
    expectStatus(del, 204);
    expectError(await c.get(location), 404, ["BLOB_UPLOAD_UNKNOWN"]);
    const data = randomBytes(10);
    expectError(await c.patch(location, { body: data, headers: octet(10, { "Content-Range": "0-9" }) }), 404, ["BLOB_UPLOAD_UNKNOWN"]);
    expectError(await c.put(withDigest(location, digestOf(data)), { body: data, headers: octet(10) }), 404, ["BLOB_UPLOAD_UNKNOWN"]);
  });

  test("a completed session is gone: GET on its old Location is 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const data = randomBytes(33);
    const digest = digestOf(data);
    const { location } = await openSession(c, repo);
    const put = await c.put(withDigest(location, digest), { body: data, headers: octet(33) });
    expectStatus(put, 201);
    expectError(await c.get(location), 404, ["BLOB_UPLOAD_UNKNOWN"]);
  });

  test("PATCH, PUT, GET and DELETE on an unknown upload id are 404 BLOB_UPLOAD_UNKNOWN", async () => {
    const bogus = `/v2/${repo}/blobs/uploads/0123456789abcdef0123456789abcdef`;
    expectError(await c.get(bogus), 404, ["BLOB_UPLOAD_UNKNOWN"]);
    expectError(await c.patch(bogus, { body: "abc", headers: octet(3, { "Content-Range": "0-2" }) }), 404, ["BLOB_UPLOAD_UNKNOWN"]);
    expectError(await c.put(`${bogus}?digest=${digestOf("abc")}`, { body: "abc", headers: octet(3) }), 404, ["BLOB_UPLOAD_UNKNOWN"]);
    expectError(await c.delete(bogus), 404, ["BLOB_UPLOAD_UNKNOWN"]);
  });

  test("a session opened in one repository is not usable through another repository's path", async () => {
    const { location } = await openSession(c, repo);
    const id = location.pathname.split("/").pop()!;
    const foreign = new URL(location);
    foreign.pathname = `/v2/${mountRepo}/blobs/uploads/${id}`;
    const res = await c.get(foreign);
    expectError(res, [400, 404], ["BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID", "NAME_INVALID"]);
  });
});

describe("blob uploads with a wrong digest are rejected (400 DIGEST_INVALID) and store nothing", () => {
  wrongDigestUploadTests(() => ({ c, repo, chunkSize: minChunk }), "sha256");

  test("single POST with a malformed or unsupported digest is 400 DIGEST_INVALID", async () => {
    for (const digest of ["sha256:nothex", `md5:${"a".repeat(32)}`, `sha256:${"A".repeat(64)}`]) {
      const res = await c.post(`/v2/${repo}/blobs/uploads/`, { body: "abc", headers: octet(3), query: { digest } });
      expectError(res, 400, ["DIGEST_INVALID"]);
    }
  });

  test("closing PUT without the digest parameter is 400", async () => {
    const { location } = await openSession(c, repo);
    const res = await c.put(location, { body: "abc", headers: octet(3) });
    expectError(res, 400, ["DIGEST_INVALID", "BLOB_UPLOAD_INVALID"]);
  });

  test("closing PUT with a malformed digest is 400 DIGEST_INVALID", async () => {
    const { location } = await openSession(c, repo);
    expectError(await c.put(withDigest(location, "sha256:nothex"), { body: "abc", headers: octet(3) }), 400, ["DIGEST_INVALID"]);
  });
});

describe("empty blobs", () => {
  test("a zero-byte blob (sha256 of nothing) via POST+PUT: HEAD Content-Length 0, GET empty body", async () => {
    const data = new Uint8Array(0);
    expect(digestOf(data)).toBe(EMPTY_SHA256);
    await expectBlobCreated(c, await postPut(c, repo, data, EMPTY_SHA256), data, EMPTY_SHA256);
    await expectBlob(c, repo, EMPTY_SHA256, data);
  });

  test("a zero-byte blob via a chunked session closed by an empty PUT", async () => {
    const r = uniqueRepo("push-empty");
    const { location } = await openSession(c, r);
    const put = await c.put(withDigest(location, EMPTY_SHA256), { body: new Uint8Array(0), headers: octet(0) });
    await expectBlobCreated(c, { res: put, location: put.location() }, new Uint8Array(0), EMPTY_SHA256);
  });

  test("the empty JSON blob {} has the well-known digest and round-trips", async () => {
    expect(digestOf(EMPTY_JSON)).toBe(EMPTY_JSON_SHA256);
    await expectBlobCreated(c, await postOnly(c, repo, EMPTY_JSON, EMPTY_JSON_SHA256), EMPTY_JSON, EMPTY_JSON_SHA256);
    await expectBlob(c, repo, EMPTY_JSON_SHA256, EMPTY_JSON);
  });
});

describe("cross-repository blob mount (end-11)", () => {
  let blobA: Buffer;
  let digestA: string;

  beforeAll(async () => {
    blobA = randomBytes(42);
    digestA = await pushBlob(c, repo, blobA);
  });

  test("mount of a nonexistent blob without `from` yields a session (202, Location)", async () => {
    const res = await c.post(`/v2/${mountRepo}/blobs/uploads/`, { query: { mount: DUMMY }, body: new Uint8Array(0) });
    expectStatus(res, 202);
    expect(res.location(), res.describe()).not.toBeNull();
    expect(res.location()!.pathname.startsWith(`/v2/${mountRepo}/blobs/uploads/`), res.describe()).toBe(true);
  });

  test("mount with `from` of a blob present there is 201 with Location /v2/<name>/blobs/<digest>; the blob is then served", async () => {
    const res = await c.post(`/v2/${mountRepo}/blobs/uploads/`, { query: { mount: digestA, from: repo }, body: new Uint8Array(0) });
    expectStatus(res, 201);
    const loc = res.location();
    expect(loc, res.describe()).not.toBeNull();
    expect(`${loc!.pathname}${loc!.search}`, res.describe()).toBe(`/v2/${mountRepo}/blobs/${digestA}`);
    const dcd = res.headers.get("docker-content-digest");
    if (dcd !== null) expect(dcd).toBe(digestA);
    const get = await c.get(loc!);
    expectStatus(get, 200);
    expect(get.body.equals(blobA), get.describe()).toBe(true);
    await expectBlob(c, mountRepo, digestA, blobA);
  });

  test("mount with `from` naming a repository that lacks the blob falls back to a session (202) that accepts the upload", async () => {
    const data = randomBytes(64);
    const digest = digestOf(data);
    const elsewhere = uniqueRepo("push-elsewhere");
    await pushBlob(c, elsewhere, data); // exists in the registry, but not in `from`
    const res = await c.post(`/v2/${mountRepo}/blobs/uploads/`, { query: { mount: digest, from: repo }, body: new Uint8Array(0) });
    expectStatus(res, 202);
    const loc = res.location();
    expect(loc, res.describe()).not.toBeNull();
    expect(loc!.pathname.startsWith(`/v2/${mountRepo}/blobs/uploads/`), res.describe()).toBe(true);
    const put = await c.put(withDigest(loc!, digest), { body: data, headers: octet(data.length) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });

  test("new suite 'mount missing': mount of a blob that exists nowhere must not be 201; the fallback PUT works", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data);
    const res = await c.post(`/v2/${repo}/blobs/uploads/`, { query: { mount: digest, from: mountRepo }, body: new Uint8Array(0) });
    expectStatus(res, 202);
    const put = await c.put(withDigest(res.location()!, digest), { body: data, headers: octet(data.length) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });

  test("new suite 'mount anonymous': mount without `from` of a blob the registry holds is 201 (automatic mount)", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data);
    const source = uniqueRepo("push-anon-src");
    await pushBlob(c, source, data);
    const target = uniqueRepo("push-anon-dst");
    const res = await c.post(`/v2/${target}/blobs/uploads/`, { query: { mount: digest }, body: new Uint8Array(0) });
    // The spec makes `from` optional for the registry (MAY); the conformance suite treats a 202
    // here as "anonymous mount unsupported" and falls back to POST+PUT.
    expectStatus(res, 201);
    expect(res.location()!.pathname, res.describe()).toBe(`/v2/${target}/blobs/${digest}`);
    await expectBlob(c, target, digest, data);
  });

  test("mount with a malformed digest falls back to a usable session (202)", async () => {
    const res = await c.post(`/v2/${mountRepo}/blobs/uploads/`, { query: { mount: "sha256:nothex", from: repo }, body: new Uint8Array(0) });
    expectStatus(res, 202);
    expect(res.location(), res.describe()).not.toBeNull();
  });

  test("mount with an invalid `from` name falls back to 202 (or rejects with 400 NAME_INVALID)", async () => {
    const res = await c.post(`/v2/${mountRepo}/blobs/uploads/`, { query: { mount: digestA, from: "Not/A/Valid/NAME" }, body: new Uint8Array(0) });
    if (res.status === 400) expectError(res, 400, ["NAME_INVALID"]);
    else expectStatus(res, 202, 201);
  });

  test("deleting a mounted blob in the target leaves the source untouched", async () => {
    const data = randomBytes(99);
    const digest = await pushBlob(c, repo, data);
    const target = uniqueRepo("push-mount-del");
    expectStatus(await c.post(`/v2/${target}/blobs/uploads/`, { query: { mount: digest, from: repo }, body: new Uint8Array(0) }), 201);
    expectStatus(await c.delete(`/v2/${target}/blobs/${digest}`), 202);
    await expectNoBlob(c, target, digest);
    await expectBlob(c, repo, digest, data);
  });
});

describe("manifest upload (end-7)", () => {
  let image: ImageParts;

  beforeAll(async () => {
    image = buildImage({ layerCount: 1, indent: true });
    await pushImageBlobs(c, repo, image);
  });

  test("GET of a nonexistent manifest is 404", async () => {
    expectError(await getManifest(c, repo, "nonexistent"), 404, ["MANIFEST_UNKNOWN"]);
  });

  test("PUT of the same manifest under four tags: each 201 with Location and Docker-Content-Digest", async () => {
    for (let i = 0; i < 4; i++) {
      const res = await putManifest(c, repo, `test${i}`, image.manifest);
      await expectManifestCreated(c, res, image.manifest, image.digest);
    }
    const { tags } = await listTags(c, repo);
    for (let i = 0; i < 4; i++) expect(tags).toContain(`test${i}`);
  });

  test("a manifest PUT sent with Transfer-Encoding: chunked (no Content-Length, as Go's client sends it) is 201", async () => {
    const img = buildImage({ layerCount: 1 });
    await pushImageBlobs(c, repo, img);
    const res = await c.put(`/v2/${repo}/manifests/${img.digest}`, {
      body: chunkedStream(img.manifest, 100),
      headers: { "Content-Type": MT.ociManifest },
    });
    await expectManifestCreated(c, res, img.manifest, img.digest);
  });

  test("a 3.9 MB manifest (390 annotations of 10000 bytes, the suite's large-manifest) sent chunked is 201", async () => {
    const img = buildImage({ layerCount: 1 });
    await pushImageBlobs(c, repo, img);
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 390; i++) annotations[`large-annotation-${i}`] = "A".repeat(10000);
    const manifest = jsonBytes({ schemaVersion: 2, mediaType: MT.ociManifest, config: img.configDesc, layers: img.layers.map((l) => l.desc), annotations }, "\t");
    const digest = digestOf(manifest);
    const res = await c.put(`/v2/${repo}/manifests/large-manifest`, {
      body: chunkedStream(manifest, 64 * 1024),
      headers: { "Content-Type": MT.ociManifest },
    });
    await expectManifestCreated(c, res, manifest, digest);
  });

  test("GET of that manifest by digest is 200 with the exact bytes", async () => {
    await expectManifest(c, repo, image.digest, image.manifest, image.digest);
  });

  test("an image manifest with no layers and no mediaType field is accepted (tag emptylayer)", async () => {
    const empty = buildImage({ layerCount: 0, omitMediaType: true, indent: true });
    await pushImageBlobs(c, repo, empty);
    const res = await putManifest(c, repo, "emptylayer", empty.manifest, MT.ociManifest);
    await expectManifestCreated(c, res, empty.manifest, empty.digest, MT.ociManifest);
    await expectManifest(c, repo, "emptylayer", empty.manifest, empty.digest, MT.ociManifest);
    expectStatus(await c.delete(`/v2/${repo}/manifests/${empty.digest}`), 202);
  });

  test("PUT by digest: 201, Location /v2/<name>/manifests/<digest>, Docker-Content-Digest", async () => {
    const img = buildImage({ layerCount: 2 });
    await pushImageBlobs(c, repo, img);
    const res = await putManifest(c, repo, img.digest, img.manifest);
    await expectManifestCreated(c, res, img.manifest, img.digest);
    expect(res.location()!.pathname, res.describe()).toBe(`/v2/${repo}/manifests/${img.digest}`);
  });

  test("re-pushing a tag moves it to the new manifest", async () => {
    const a = buildImage();
    const b = buildImage();
    await pushImageBlobs(c, repo, a);
    await pushImageBlobs(c, repo, b);
    expectStatus(await putManifest(c, repo, "moving", a.manifest), 201);
    expectStatus(await putManifest(c, repo, "moving", b.manifest), 201);
    await expectManifest(c, repo, "moving", b.manifest, b.digest);
    await expectManifest(c, repo, a.digest, a.manifest, a.digest);
  });

  test("the stored manifest is byte-exact (whitespace, key order, unicode escapes kept)", async () => {
    const img = buildImage();
    await pushImageBlobs(c, repo, img);
    const odd = Buffer.from(
      `{\n   "schemaVersion" : 2,"mediaType":"${MT.ociManifest}",\r\n "layers": ${JSON.stringify(img.layers.map((l) => l.desc))},` +
        `"config":${JSON.stringify(img.configDesc)}, "annotations": {"k": "caf\\u00e9 \u00e9"}   }\n\n`,
    );
    const digest = digestOf(odd);
    await expectManifestCreated(c, await putManifest(c, repo, digest, odd), odd, digest);
  });

  test("Content-Type parameters are ignored (stored media type has none)", async () => {
    const img = buildImage();
    await pushImageBlobs(c, repo, img);
    const res = await putManifest(c, repo, "with-params", img.manifest, `${MT.ociManifest}; charset=utf-8`);
    await expectManifestCreated(c, res, img.manifest, img.digest, MT.ociManifest);
  });

  test("a manifest whose blobs are missing is rejected with MANIFEST_BLOB_UNKNOWN (if rejected at all)", async () => {
    const img = buildImage();
    const res = await putManifest(c, repo, "missing-blobs", img.manifest);
    if (res.status !== 201) expectError(res, 400, ["MANIFEST_BLOB_UNKNOWN"]);
  });

  test("PUT by a digest that does not match the body is 400 DIGEST_INVALID and stores nothing", async () => {
    const img = buildImage();
    await pushImageBlobs(c, repo, img);
    const wrong = Buffer.concat([img.manifest, Buffer.from("  ")]);
    expectError(await putManifest(c, repo, img.digest, wrong), 400, ["DIGEST_INVALID"]);
    expectError(await getManifest(c, repo, img.digest), 404, ["MANIFEST_UNKNOWN"]);
  });

  test("PUT to reference sha256:baddigeststring is 400", async () => {
    const img = buildImage();
    await pushImageBlobs(c, repo, img);
    expectError(await putManifest(c, repo, "sha256:baddigeststring", img.manifest), 400, ["DIGEST_INVALID", "MANIFEST_INVALID"]);
  });

  test("a body that is not JSON is 400 MANIFEST_INVALID", async () => {
    expectError(await putManifest(c, repo, "garbage", Buffer.from("blablabla"), MT.ociManifest), 400, ["MANIFEST_INVALID"]);
  });

  test("an invalid tag name is rejected with 400", async () => {
    const img = buildImage();
    await pushImageBlobs(c, repo, img);
    expectError(await putManifest(c, repo, "-leading-dash", img.manifest), 400, ["MANIFEST_INVALID", "NAME_INVALID"]);
    expectError(await putManifest(c, repo, "a".repeat(129), img.manifest), 400, ["MANIFEST_INVALID", "NAME_INVALID"]);
  });

  test("a 128-character tag (the maximum) is accepted", async () => {
    const img = buildImage();
    await pushImageBlobs(c, repo, img);
    const tag = `T${"a".repeat(126)}_`;
    expect(tag.length).toBe(128);
    await expectManifestCreated(c, await putManifest(c, repo, tag, img.manifest), img.manifest, img.digest);
    await expectManifest(c, repo, tag, img.manifest, img.digest);
  });

  test("a manifest with a subject returns OCI-Subject, even when the subject does not exist", async () => {
    const subject = buildImage().desc; // never pushed
    const ref = buildImage({ subject, artifactType: "application/vnd.example.sbom.v1" });
    await pushImageBlobs(c, repo, ref);
    const res = await putManifest(c, repo, ref.digest, ref.manifest);
    await expectManifestCreated(c, res, ref.manifest, ref.digest);
    expect(res.headers.get("oci-subject"), res.describe()).toBe(subject.digest);
  });
});

describe("manifest media types", () => {
  test("OCI image index referencing two pushed manifests", async () => {
    const a = buildImage();
    const b = buildImage();
    await pushImageBlobs(c, repo, a);
    await pushImageBlobs(c, repo, b);
    expectStatus(await putManifest(c, repo, a.digest, a.manifest), 201);
    expectStatus(await putManifest(c, repo, b.digest, b.manifest), 201);
    const index = jsonBytes({
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [
        { ...a.desc, platform: { architecture: "amd64", os: "linux" } },
        { ...b.desc, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
      ],
    });
    const digest = digestOf(index);
    await expectManifestCreated(c, await putManifest(c, repo, "oci-index", index), index, digest, MT.ociIndex);
    await expectManifest(c, repo, "oci-index", index, digest, MT.ociIndex);
  });

  test("Docker schema 2 manifest and manifest list", async () => {
    const config = jsonBytes({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, author: Math.random().toString() });
    const layer = randomBytes(300);
    await pushBlob(c, repo, config);
    await pushBlob(c, repo, layer);
    const manifest = jsonBytes(
      {
        schemaVersion: 2,
        mediaType: MT.dockerManifest,
        config: descriptorOf(MT.dockerConfig, config),
        layers: [descriptorOf(MT.dockerLayer, layer)],
      },
      3,
    );
    const digest = digestOf(manifest);
    await expectManifestCreated(c, await putManifest(c, repo, "docker-v2", manifest), manifest, digest, MT.dockerManifest);
    await expectManifest(c, repo, "docker-v2", manifest, digest, MT.dockerManifest);
    const list = jsonBytes({
      schemaVersion: 2,
      mediaType: MT.dockerManifestList,
      manifests: [{ mediaType: MT.dockerManifest, digest, size: manifest.length, platform: { architecture: "amd64", os: "linux" } }],
    });
    const listDigest = digestOf(list);
    await expectManifestCreated(c, await putManifest(c, repo, "docker-list", list), list, listDigest, MT.dockerManifestList);
    await expectManifest(c, repo, listDigest, list, listDigest, MT.dockerManifestList);
  });

  test("an artifact manifest: artifactType, empty-JSON config, custom layer media type", async () => {
    await pushBlob(c, repo, EMPTY_JSON);
    const payload = randomBytes(50);
    await pushBlob(c, repo, payload);
    const manifest = jsonBytes({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      artifactType: "application/vnd.example.oci.conformance.v1",
      config: descriptorOf(MT.ociEmpty, EMPTY_JSON),
      layers: [descriptorOf("application/vnd.example.oci.conformance.v1", payload)],
    });
    const digest = digestOf(manifest);
    await expectManifestCreated(c, await putManifest(c, repo, "artifact", manifest), manifest, digest);
  });

  test("descriptors with a data field, unknown fields and annotations are accepted verbatim", async () => {
    const img = buildImage();
    await pushImageBlobs(c, repo, img);
    const manifest = jsonBytes({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: { ...img.configDesc, data: img.config.toString("base64"), newUnspecifiedField: "aGVsbG8gd29ybGQ=" },
      layers: img.layers.map((l) => ({ ...l.desc, data: l.data.toString("base64") })),
      annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
      "x-custom-field": { nested: [1, 2, 3] },
    });
    const digest = digestOf(manifest);
    await expectManifestCreated(c, await putManifest(c, repo, digest, manifest), manifest, digest);
  });

  test("an image with non-distributable layers that were never pushed is accepted", async () => {
    const img = buildImage({ layerCount: 1 });
    await pushImageBlobs(c, repo, img);
    const foreign = randomBytes(256);
    const fdig = digestOf(foreign);
    const manifest = jsonBytes({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: img.configDesc,
      layers: [
        { mediaType: MT.ociLayerNondistGzip, digest: fdig, size: 123456, urls: [`https://store.example.com/blobs/sha256/${fdig.slice(7)}`] },
        { mediaType: MT.ociLayerNondist, digest: digestOf(randomBytes(9)), size: 12345, urls: ["https://store.example.com/x"] },
        ...img.layers.map((l) => l.desc),
      ],
    });
    const digest = digestOf(manifest);
    await expectManifestCreated(c, await putManifest(c, repo, "non-distributable", manifest), manifest, digest);
  });

  test("an empty OCI index (no manifests) is accepted", async () => {
    const index = jsonBytes({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] });
    const digest = digestOf(index);
    await expectManifestCreated(c, await putManifest(c, repo, "empty-index", index), index, digest, MT.ociIndex);
  });
});

describe("manifest size limit", () => {
  /** An image manifest padded with one annotation to exactly `size` bytes. */
  const padded = (img: ImageParts, size: number): Buffer => {
    const base = { schemaVersion: 2, mediaType: MT.ociManifest, config: img.configDesc, layers: img.layers.map((l) => l.desc), annotations: { pad: "" } };
    const overhead = jsonBytes(base).length;
    base.annotations.pad = "x".repeat(size - overhead);
    const out = jsonBytes(base);
    expect(out.length).toBe(size);
    return out;
  };

  let img: ImageParts;
  beforeAll(async () => {
    img = buildImage();
    await pushImageBlobs(c, repo, img);
  });

  test("a manifest of exactly 4 MiB is accepted (clients and registries SHOULD support at least 4 MiB)", async () => {
    const manifest = padded(img, 4 * 1024 * 1024);
    const digest = digestOf(manifest);
    await expectManifestCreated(c, await putManifest(c, repo, "four-mib", manifest), manifest, digest);
  });

  test("a manifest above 4 MiB is rejected with 413 Payload Too Large (readable by the client) and not stored", async () => {
    const manifest = padded(img, 4 * 1024 * 1024 + 1024);
    // The client must be able to read the 413: a server that answers before consuming the body
    // and then resets the connection makes fetch fail (ECONNRESET) instead. Several attempts, so
    // an intermittent reset is caught reliably.
    for (let attempt = 0; attempt < 5; attempt++) {
      let res: Awaited<ReturnType<typeof putManifest>>;
      try {
        res = await putManifest(c, repo, "too-large", manifest);
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new Error(`attempt ${attempt + 1}: PUT of a ${manifest.length}-byte manifest failed at the transport level (${cause?.code ?? ""} ${cause?.message ?? (err as Error).message}) instead of returning 413`);
      }
      expectError(res, 413);
    }
    expectError(await getManifest(c, repo, "too-large"), 404);
    expectError(await getManifest(c, repo, digestOf(manifest)), 404);
  });
});

describe("push teardown", () => {
  test("manifests and tags created above can be deleted", async () => {
    const { tags } = await listTags(c, repo);
    expect(tags.length).toBeGreaterThan(0);
    for (const tag of tags) {
      const res = await c.delete(`/v2/${repo}/manifests/${tag}`);
      expectStatus(res, 202);
      expectError(await getManifest(c, repo, tag, "HEAD"), 404);
    }
  });
});
