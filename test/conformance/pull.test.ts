// Pull workflow (spec "Pull": end-1, end-2, end-3): version check, blob and manifest existence
// checks and downloads by tag and by digest, 404s with their error codes, Range requests on blobs.
import { beforeAll, describe, expect, test } from "vitest";
import {
  Client,
  EMPTY_SHA256,
  MT,
  buildImage,
  digestOf,
  expectBlob,
  expectError,
  expectManifest,
  expectStatus,
  getManifest,
  pushBlob,
  pushImage,
  randomBytes,
  uniqueRepo,
  type ImageParts,
} from "./oci";
import { useRegistry } from "./registry";

const registry = useRegistry();
const repo = uniqueRepo("pull");
const TAG = "tagtest0";
// A digest nothing was pushed under (the conformance suite uses the digest of "hello world").
const DUMMY = digestOf("hello world");
const NONEXISTENT_MANIFEST = ".INVALID_MANIFEST_NAME";

let c: Client;
let image0: ImageParts; // pushed by tag
let image1: ImageParts; // pushed by digest

beforeAll(async () => {
  c = new Client(registry().url);
  image0 = buildImage({ layerCount: 1, indent: true });
  image1 = buildImage({ layerCount: 2 });
  await pushImage(c, repo, image0, TAG);
  await pushImage(c, repo, image1, image1.digest);
});

describe("API version check (end-1)", () => {
  test("GET /v2/ returns 200 with Docker-Distribution-API-Version: registry/2.0", async () => {
    const res = await c.get("/v2/");
    expectStatus(res, 200);
    expect(res.headers.get("docker-distribution-api-version"), res.describe()).toBe("registry/2.0");
  });
});

describe("pull blobs (end-2)", () => {
  test("HEAD of a nonexistent blob is 404 without a body", async () => {
    expectError(await c.head(`/v2/${repo}/blobs/${DUMMY}`), 404);
  });

  test("GET of a nonexistent blob is 404 BLOB_UNKNOWN", async () => {
    expectError(await c.get(`/v2/${repo}/blobs/${DUMMY}`), 404, ["BLOB_UNKNOWN"]);
  });

  test("HEAD and GET of an existing config blob: 200, Content-Length, Docker-Content-Digest, bytes", async () => {
    await expectBlob(c, repo, image0.configDesc.digest, image0.config);
  });

  test("HEAD and GET of every layer blob", async () => {
    for (const layer of [...image0.layers, ...image1.layers]) await expectBlob(c, repo, layer.desc.digest, layer.data);
  });

  test("a blob of another repository is not visible here (404)", async () => {
    const other = uniqueRepo("pull-other");
    const data = randomBytes(100);
    const digest = await pushBlob(c, other, data);
    expectError(await c.get(`/v2/${repo}/blobs/${digest}`), 404, ["BLOB_UNKNOWN"]);
    await expectBlob(c, other, digest, data);
  });

  test("GET of a blob with a malformed digest is 400 DIGEST_INVALID or 404", async () => {
    const res = await c.get(`/v2/${repo}/blobs/sha256:totallywrong`);
    expectError(res, [400, 404], ["DIGEST_INVALID", "BLOB_UNKNOWN"]);
  });

  test("GET of a blob in a repository that does not exist is 404", async () => {
    expectError(await c.get(`/v2/${uniqueRepo("nothing")}/blobs/${EMPTY_SHA256}`), 404, ["BLOB_UNKNOWN", "NAME_UNKNOWN"]);
  });
});

describe("pull manifests (end-3)", () => {
  test("HEAD of a nonexistent manifest (reference .INVALID_MANIFEST_NAME) is 404", async () => {
    const res = await getManifest(c, repo, NONEXISTENT_MANIFEST, "HEAD");
    expectError(res, 404);
  });

  test("GET of a nonexistent manifest (reference .INVALID_MANIFEST_NAME) is 404", async () => {
    const res = await getManifest(c, repo, NONEXISTENT_MANIFEST);
    expectError(res, 404, ["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);
  });

  test("HEAD and GET of a missing tag are 404 MANIFEST_UNKNOWN", async () => {
    expectError(await getManifest(c, repo, "missing-tag-x1", "HEAD"), 404);
    expectError(await getManifest(c, repo, "missing-tag-x1"), 404, ["MANIFEST_UNKNOWN"]);
  });

  test("HEAD and GET of a missing digest are 404 MANIFEST_UNKNOWN", async () => {
    const dig = digestOf(randomBytes(1024));
    expectError(await getManifest(c, repo, dig, "HEAD"), 404);
    expectError(await getManifest(c, repo, dig), 404, ["MANIFEST_UNKNOWN"]);
  });

  test("manifest pushed by tag: HEAD/GET by digest return 200, type, length, digest, bytes", async () => {
    await expectManifest(c, repo, image0.digest, image0.manifest, image0.digest, MT.ociManifest);
  });

  test("manifest pushed by digest: HEAD/GET by digest return 200, type, length, digest, bytes", async () => {
    await expectManifest(c, repo, image1.digest, image1.manifest, image1.digest, MT.ociManifest);
  });

  test("HEAD/GET by tag resolve to the tagged manifest", async () => {
    await expectManifest(c, repo, TAG, image0.manifest, image0.digest, MT.ociManifest);
  });

  test("GET with only the OCI manifest type in Accept still returns the manifest", async () => {
    const res = await c.get(`/v2/${repo}/manifests/${TAG}`, { headers: { Accept: MT.ociManifest } });
    expectStatus(res, 200);
    expect(res.body.equals(image0.manifest), res.describe()).toBe(true);
  });

  test("GET of a manifest with an invalid digest reference (sha256:totallywrong) is 400 or 404 with an OCI error body", async () => {
    const res = await c.get(`/v2/${repo}/manifests/sha256:totallywrong`, {
      headers: { "Content-Type": MT.ociManifest },
    });
    expectError(res, [400, 404], ["DIGEST_INVALID", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID"]);
  });

  test("GET of reference sha256:baddigeststring is 400 or 404", async () => {
    expectError(await getManifest(c, repo, "sha256:baddigeststring"), [400, 404]);
  });

  test("GET of a manifest in a repository that does not exist is 404", async () => {
    expectError(await getManifest(c, uniqueRepo("nothing"), "latest"), 404, ["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);
  });
});

describe("blob range requests (RFC 9110 byte ranges on end-2)", () => {
  const size = 2048;
  let data: Buffer;
  let digest: string;

  beforeAll(async () => {
    data = randomBytes(size);
    digest = await pushBlob(c, repo, data);
  });

  const partial = async (range: string, start: number, end: number) => {
    const res = await c.get(`/v2/${repo}/blobs/${digest}`, { headers: { Range: range } });
    expectStatus(res, 206);
    expect(res.headers.get("content-length"), res.describe()).toBe(String(end - start + 1));
    expect([`bytes ${start}-${end}/${size}`, `bytes ${start}-${end}/*`], res.describe()).toContain(res.headers.get("content-range"));
    expect(res.body.equals(data.subarray(start, end + 1)), `range body differs: ${res.describe()}`).toBe(true);
  };

  test("bytes=500-1499 -> 206 with exactly those bytes", () => partial("bytes=500-1499", 500, 1499));
  test("bytes=500- -> 206 to the end", () => partial("bytes=500-", 500, size - 1));
  test("bytes=-500 -> 206 with the last 500 bytes", () => partial("bytes=-500", size - 500, size - 1));
  test("bytes=2000-5000 -> 206 clamped to the blob end", () => partial("bytes=2000-5000", 2000, size - 1));
  test("bytes=0-0 -> 206 with one byte", () => partial("bytes=0-0", 0, 0));

  test("bytes=5000-10000 (starts past the end) -> 416", async () => {
    const res = await c.get(`/v2/${repo}/blobs/${digest}`, { headers: { Range: "bytes=5000-10000" } });
    expectStatus(res, 416);
  });

  test("bytes=500-0 (last before first) -> 416, as the conformance suite expects", async () => {
    // RFC 9110 lets a server ignore an invalid range (200) or reject it; the conformance suite
    // counts only 416 as support for this case and a 200 as "range requests unsupported".
    const res = await c.get(`/v2/${repo}/blobs/${digest}`, { headers: { Range: "bytes=500-0" } });
    expectStatus(res, 416);
  });

  test("a blob GET without Range is 200 with the whole body", async () => {
    const res = await c.get(`/v2/${repo}/blobs/${digest}`);
    expectStatus(res, 200);
    expect(res.body.equals(data), res.describe()).toBe(true);
  });

  test("a 416 error body, if JSON, only uses the spec's error codes", async () => {
    const res = await c.get(`/v2/${repo}/blobs/${digest}`, { headers: { Range: "bytes=5000-10000" } });
    expectError(res, 416);
  });
});

describe("pull teardown (deletes as in the conformance pull workflow)", () => {
  test("DELETE of both manifests by digest is 202, then blobs 202", async () => {
    for (const img of [image0, image1]) {
      expectStatus(await c.delete(`/v2/${repo}/manifests/${img.digest}`), 202);
    }
    for (const img of [image0, image1]) {
      expectStatus(await c.delete(`/v2/${repo}/blobs/${img.configDesc.digest}`), 202);
      for (const layer of img.layers) expectStatus(await c.delete(`/v2/${repo}/blobs/${layer.desc.digest}`), 202);
    }
    expectError(await getManifest(c, repo, TAG), 404);
    expectError(await c.get(`/v2/${repo}/blobs/${image0.configDesc.digest}`), 404, ["BLOB_UNKNOWN"]);
    expectError(await getManifest(c, repo, image1.digest), 404, ["MANIFEST_UNKNOWN"]);
  });
});
