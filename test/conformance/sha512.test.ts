// sha512 content (the conformance suite's "Blobs sha512" and "Digest Algorithm sha512" data):
// every blob push flow with sha512 digests and no digest-algorithm hint (as the suite sends them),
// the same with `?digest-algorithm=sha512` on the POST, mounts, ranges, empty blobs, bad digests,
// and manifests/indexes whose descriptors and own digests are sha512, pushed and pulled by digest,
// with referrers and deletes.
import { beforeAll, describe, expect, test } from "vitest";
import {
  Client,
  EMPTY_JSON,
  EMPTY_SHA512,
  MT,
  buildImage,
  chunked,
  digestOf,
  expectBlob,
  expectBlobCreated,
  expectError,
  expectManifest,
  expectManifestCreated,
  expectNoBlob,
  expectNoManifest,
  expectStatus,
  getManifest,
  jsonBytes,
  listReferrers,
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
const repo = uniqueRepo("sha512");
const repo2 = uniqueRepo("sha512-mount");
const MIN = 1024;
let c: Client;

beforeAll(() => {
  c = new Client(registry().url);
});

const octet = (length: number, extra: Record<string, string> = {}) => ({ "Content-Type": MT.octet, "Content-Length": String(length), ...extra });

/** Push, HEAD, GET, delete, HEAD 404 — the suite's per-API cycle. */
async function cycle(data: Buffer, digest: string, push: () => Promise<{ res: any; location: URL | null }>) {
  await expectBlobCreated(c, await push(), data, digest);
  await expectBlob(c, repo, digest, data);
  expectStatus(await c.delete(`/v2/${repo}/blobs/${digest}`), 202);
  await expectNoBlob(c, repo, digest);
}

describe("sha512 blob APIs without a digest-algorithm hint", () => {
  test("a sha512 digest is 'sha512:' + 128 lowercase hex", () => {
    const d = digestOf("x", "sha512");
    expect(d).toMatch(/^sha512:[0-9a-f]{128}$/);
  });

  test("GET of a sha512 blob not pushed is 404", async () => {
    expectError(await c.get(`/v2/${repo}/blobs/${digestOf(randomBytes(512), "sha512")}`), 404, ["BLOB_UNKNOWN"]);
  });

  test("post only (POST ?digest=sha512:...)", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data, "sha512");
    await cycle(data, digest, () => postOnly(c, repo, data, digest));
  });

  test("post + put", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data, "sha512");
    await cycle(data, digest, () => postPut(c, repo, data, digest));
  });

  test("chunked, single chunk", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data, "sha512");
    await cycle(data, digest, () => chunked(c, repo, data, digest, { chunkSize: 512 }));
  });

  test("chunked, three chunks", async () => {
    const data = randomBytes(MIN * 3 - 5);
    const digest = digestOf(data, "sha512");
    await cycle(data, digest, () => chunked(c, repo, data, digest, { chunkSize: MIN }));
  });

  test("chunked, three chunks, last chunk in the PUT", async () => {
    const data = randomBytes(MIN * 3 - 5);
    const digest = digestOf(data, "sha512");
    await cycle(data, digest, () => chunked(c, repo, data, digest, { chunkSize: MIN, lastInPut: true }));
  });

  test("chunked out-of-order: 416, GET status, then in-order completion", async () => {
    const data = randomBytes(MIN * 3 - 5);
    const digest = digestOf(data, "sha512");
    await cycle(data, digest, async () => {
      const { location } = await openSession(c, repo);
      const bad = await c.patch(location, { body: data.subarray(MIN, 2 * MIN), headers: octet(MIN, { "Content-Range": `${MIN}-${2 * MIN - 1}` }) });
      expectStatus(bad, 416);
      const status = await c.get(location);
      expectStatus(status, 204);
      let loc = status.location()!;
      for (let start = 0; start < data.length; start += MIN) {
        const end = Math.min(start + MIN, data.length) - 1;
        const p = await c.patch(loc, { body: data.subarray(start, end + 1), headers: octet(end - start + 1, { "Content-Range": `${start}-${end}` }) });
        expectStatus(p, 202);
        loc = p.location()!;
      }
      const res = await c.put(withDigest(loc, digest), { body: new Uint8Array(0), headers: octet(0) });
      return { res, location: res.location() };
    });
  });

  test("streamed", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data, "sha512");
    await cycle(data, digest, () => stream(c, repo, data, digest));
  });

  test("streamed with Transfer-Encoding: chunked", async () => {
    const data = randomBytes(4000);
    const digest = digestOf(data, "sha512");
    await cycle(data, digest, () => stream(c, repo, data, digest, { transferEncodingChunked: true }));
  });

  test("mount with from (201) and the blob served under the sha512 digest", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data, "sha512");
    await pushBlob(c, repo2, data, "sha512", "post-only");
    const res = await c.post(`/v2/${repo}/blobs/uploads/`, { query: { mount: digest, from: repo2 }, body: new Uint8Array(0) });
    expectStatus(res, 201);
    expect(res.location()!.pathname, res.describe()).toBe(`/v2/${repo}/blobs/${digest}`);
    const dcd = res.headers.get("docker-content-digest");
    if (dcd !== null) expect(dcd).toBe(digest);
    await expectBlob(c, repo, digest, data);
    expectStatus(await c.delete(`/v2/${repo}/blobs/${digest}`), 202);
    expectStatus(await c.delete(`/v2/${repo2}/blobs/${digest}`), 202);
    await expectNoBlob(c, repo2, digest);
  });

  test("anonymous mount (no from) of a sha512 blob held elsewhere (201)", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data, "sha512");
    await pushBlob(c, repo2, data, "sha512", "post-only");
    const res = await c.post(`/v2/${repo}/blobs/uploads/`, { query: { mount: digest }, body: new Uint8Array(0) });
    expectStatus(res, 201);
    await expectBlob(c, repo, digest, data);
  });

  test("mount of a sha512 blob that exists nowhere falls back to a session (202) accepting the sha512 upload", async () => {
    const data = randomBytes(512);
    const digest = digestOf(data, "sha512");
    const res = await c.post(`/v2/${repo}/blobs/uploads/`, { query: { mount: digest, from: repo2 }, body: new Uint8Array(0) });
    expectStatus(res, 202);
    const put = await c.put(withDigest(res.location()!, digest), { body: data, headers: octet(data.length) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });

  test("range requests on a sha512 blob", async () => {
    const data = randomBytes(2048);
    const digest = await pushBlob(c, repo, data, "sha512", "post-only");
    const res = await c.get(`/v2/${repo}/blobs/${digest}`, { headers: { Range: "bytes=500-1499" } });
    expectStatus(res, 206);
    expect(res.headers.get("content-length")).toBe("1000");
    expect(res.body.equals(data.subarray(500, 1500))).toBe(true);
    const tail = await c.get(`/v2/${repo}/blobs/${digest}`, { headers: { Range: "bytes=-500" } });
    expectStatus(tail, 206);
    expect(tail.body.equals(data.subarray(1548))).toBe(true);
    expectStatus(await c.get(`/v2/${repo}/blobs/${digest}`, { headers: { Range: "bytes=5000-10000" } }), 416);
  });

  test("the empty blob with its sha512 digest", async () => {
    const data = Buffer.alloc(0);
    expect(digestOf(data, "sha512")).toBe(EMPTY_SHA512);
    await cycle(data, EMPTY_SHA512, () => postPut(c, repo, data, EMPTY_SHA512));
  });

  test("the empty JSON blob with its sha512 digest", async () => {
    const digest = digestOf(EMPTY_JSON, "sha512");
    await cycle(EMPTY_JSON, digest, () => postOnly(c, repo, EMPTY_JSON, digest));
  });

  test("the same bytes under sha256 and sha512 are two addressable blobs", async () => {
    const data = randomBytes(300);
    const d256 = await pushBlob(c, repo, data, "sha256");
    const d512 = await pushBlob(c, repo, data, "sha512", "post-only");
    await expectBlob(c, repo, d256, data);
    await expectBlob(c, repo, d512, data);
    expectStatus(await c.delete(`/v2/${repo}/blobs/${d512}`), 202);
    await expectNoBlob(c, repo, d512);
    await expectBlob(c, repo, d256, data);
  });
});

describe("sha512 bad digests (400 DIGEST_INVALID, nothing stored)", () => {
  wrongDigestUploadTests(() => ({ c, repo, chunkSize: MIN }), "sha512");
  test("a sha512 digest of the wrong length is 400 DIGEST_INVALID", async () => {
    const short = `sha512:${"a".repeat(64)}`;
    expectError(await c.get(`/v2/${repo}/blobs/${short}`), [400, 404], ["DIGEST_INVALID", "BLOB_UNKNOWN"]);
    const { location } = await openSession(c, repo);
    expectError(await c.put(withDigest(location, short), { body: "abc", headers: octet(3) }), 400, ["DIGEST_INVALID"]);
  });
});

describe("sha512 uploads announced with ?digest-algorithm=sha512 (end-4c)", () => {
  test("chunked upload opened with digest-algorithm=sha512, closed with the sha512 digest", async () => {
    const data = randomBytes(MIN * 3 - 5);
    const digest = digestOf(data, "sha512");
    const pushed = await chunked(c, repo, data, digest, { chunkSize: MIN, query: { "digest-algorithm": "sha512" } });
    await expectBlobCreated(c, pushed, data, digest);
  });

  test("streamed upload opened with digest-algorithm=sha512", async () => {
    const data = randomBytes(2000);
    const digest = digestOf(data, "sha512");
    const { location } = await openSession(c, repo, { "digest-algorithm": "sha512" });
    const patch = await c.patch(location, { body: data, headers: octet(data.length) });
    expectStatus(patch, 202);
    const put = await c.put(withDigest(patch.location()!, digest), { body: new Uint8Array(0), headers: octet(0) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });

  test("digest-algorithm=sha512 session with a wrong sha512 digest is 400 DIGEST_INVALID", async () => {
    const data = randomBytes(700);
    const { location } = await openSession(c, repo, { "digest-algorithm": "sha512" });
    const put = await c.put(withDigest(location, digestOf(randomBytes(700), "sha512")), { body: data, headers: octet(700) });
    expectError(put, 400, ["DIGEST_INVALID"]);
  });

  test("digest-algorithm=sha256 explicitly is accepted", async () => {
    const data = randomBytes(100);
    const digest = digestOf(data);
    const { location } = await openSession(c, repo, { "digest-algorithm": "sha256" });
    const put = await c.put(withDigest(location, digest), { body: data, headers: octet(100) });
    await expectBlobCreated(c, { res: put, location: put.location() }, data, digest);
  });

  test("an unsupported digest-algorithm is refused with a 400 (not a session that can never complete)", async () => {
    const res = await c.post(`/v2/${repo}/blobs/uploads/`, { query: { "digest-algorithm": "md5" }, body: new Uint8Array(0) });
    expectError(res, 400, ["DIGEST_INVALID", "UNSUPPORTED"]);
  });
});

describe("sha512 manifests (the suite's 'Digest Algorithm sha512' data: an index of two images, all sha512)", () => {
  let images: ImageParts[];
  let index: Buffer;
  let indexDigest: string;

  beforeAll(async () => {
    images = [buildImage({ algorithm: "sha512", layerCount: 2 }), buildImage({ algorithm: "sha512", layerCount: 2 })];
    index = jsonBytes({
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [
        { ...images[0]!.desc, platform: { architecture: "amd64", os: "linux" } },
        { ...images[1]!.desc, platform: { architecture: "arm64", os: "linux" } },
      ],
    });
    indexDigest = digestOf(index, "sha512");
  });

  test("blobs with sha512 descriptors push; image manifests PUT by sha512 digest are 201 with the sha512 Docker-Content-Digest", async () => {
    for (const img of images) {
      expect(img.digest).toMatch(/^sha512:/);
      await pushImageBlobs(c, repo, img, "post-only");
      const res = await putManifest(c, repo, img.digest, img.manifest);
      await expectManifestCreated(c, res, img.manifest, img.digest);
      expect(res.location()!.pathname, res.describe()).toBe(`/v2/${repo}/manifests/${img.digest}`);
    }
  });

  test("the index PUT by its sha512 digest is 201", async () => {
    const res = await putManifest(c, repo, indexDigest, index);
    await expectManifestCreated(c, res, index, indexDigest, MT.ociIndex);
  });

  test("HEAD and GET by sha512 digest return the exact bytes and headers", async () => {
    await expectManifest(c, repo, indexDigest, index, indexDigest, MT.ociIndex);
    for (const img of images) await expectManifest(c, repo, img.digest, img.manifest, img.digest, MT.ociManifest);
  });

  test("HEAD and GET of every sha512 blob", async () => {
    for (const img of images) {
      await expectBlob(c, repo, img.configDesc.digest, img.config);
      for (const l of img.layers) await expectBlob(c, repo, l.desc.digest, l.data);
    }
  });

  test("a sha512 manifest PUT by sha512 digest with a mismatching body is 400 DIGEST_INVALID", async () => {
    const img = buildImage({ algorithm: "sha512" });
    await pushImageBlobs(c, repo, img, "post-only");
    expectError(await putManifest(c, repo, img.digest, Buffer.concat([img.manifest, Buffer.from("  ")])), 400, ["DIGEST_INVALID"]);
    await expectNoManifest(c, repo, img.digest);
  });

  test("a manifest referencing sha512 blobs pushed by tag is served by the tag (its canonical digest is the registry's choice)", async () => {
    const img = buildImage({ algorithm: "sha512" });
    await pushImageBlobs(c, repo, img, "post-only");
    const res = await putManifest(c, repo, "sha512-by-tag", img.manifest);
    expectStatus(res, 201);
    const dcd = res.headers.get("docker-content-digest");
    expect(dcd, res.describe()).toMatch(/^sha(256|512):/);
    const get = await getManifest(c, repo, "sha512-by-tag");
    expectStatus(get, 200);
    expect(get.body.equals(img.manifest)).toBe(true);
    // whatever digest the registry reported must address the same bytes
    const byDigest = await getManifest(c, repo, dcd!);
    expectStatus(byDigest, 200);
    expect(byDigest.body.equals(img.manifest)).toBe(true);
    expect(dcd).toBe(digestOf(img.manifest, dcd!.startsWith("sha512:") ? "sha512" : "sha256"));
  });

  test("referrers of a sha512 subject: OCI-Subject and listing by the sha512 digest", async () => {
    const subject = images[0]!;
    const ref = buildImage({ algorithm: "sha512", subject: subject.desc, artifactType: "application/vnd.example.sha512.sig", annotations: { k: "v" } });
    await pushImageBlobs(c, repo, ref, "post-only");
    const res = await putManifest(c, repo, ref.digest, ref.manifest);
    await expectManifestCreated(c, res, ref.manifest, ref.digest);
    expect(res.headers.get("oci-subject")).toBe(subject.digest);
    const { manifests } = await listReferrers(c, repo, subject.digest);
    expect(manifests).toEqual([{ mediaType: MT.ociManifest, digest: ref.digest, size: ref.manifest.length, artifactType: "application/vnd.example.sha512.sig", annotations: { k: "v" } }]);
    const filtered = await listReferrers(c, repo, subject.digest, "application/vnd.example.sha512.sig");
    expect(filtered.res.headers.get("oci-filters-applied")).toBe("artifactType");
    expect(filtered.manifests.length).toBe(1);
    expectStatus(await c.delete(`/v2/${repo}/manifests/${ref.digest}`), 202);
    expect((await listReferrers(c, repo, subject.digest)).manifests).toEqual([]);
  });

  test("referrers of a random sha512 digest: 200 with an empty list", async () => {
    expect((await listReferrers(c, repo, digestOf(randomBytes(32), "sha512"))).manifests).toEqual([]);
  });

  test("delete by sha512 digest: index then images (202, then HEAD 404), then the sha512 blobs", async () => {
    for (const d of [indexDigest, images[1]!.digest, images[0]!.digest]) {
      expectStatus(await c.delete(`/v2/${repo}/manifests/${d}`), 202);
      expectError(await getManifest(c, repo, d, "HEAD"), 404);
    }
    for (const img of images) {
      for (const d of [img.configDesc.digest, ...img.layers.map((l) => l.desc.digest)]) {
        expectStatus(await c.delete(`/v2/${repo}/blobs/${d}`), 202);
        await expectNoBlob(c, repo, d);
      }
    }
  });
});
