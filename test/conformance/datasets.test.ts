// The conformance suite's data-driven run (data-run.ts) on a registry with its default settings:
// every data set of the suite's v1.1 configuration plus tags on push (?tag=, sha256 and sha512).
// Also the suite's "empty" checks before anything is pushed, its manifest error cases, and the
// sparse data set refused (it passes on a registry that accepts sparse manifests: sparse.test.ts).
import { beforeAll, describe, expect, test } from "vitest";
import { conformanceDataSets, sparseDataSet } from "./data";
import { describeDataSets } from "./data-run";
import {
  Client,
  buildImage,
  digestOf,
  expectBlobCreated,
  expectError,
  expectManifestCreated,
  expectStatus,
  getManifest,
  listReferrers,
  postOnly,
  pushImageBlobs,
  putManifest,
  randomBytes,
  uniqueRepo,
} from "./oci";
import { useRegistry } from "./registry";

const registry = useRegistry();
const repo = uniqueRepo("data");
let c: Client;

beforeAll(() => {
  c = new Client(registry().url);
});

describe("before anything is pushed (the suite's 'empty' checks)", () => {
  test("tag list of the empty repository: 200 with a JSON tag list, or 404", async () => {
    const res = await c.get(`/v2/${repo}/tags/list`);
    if (res.status === 404) expectError(res, 404, ["NAME_UNKNOWN"]);
    else {
      expectStatus(res, 200);
      expect(res.json().tags ?? []).toEqual([]);
    }
  });

  test("referrers of a random digest in the empty repository: 200 with an empty index", async () => {
    expect((await listReferrers(c, repo, digestOf(randomBytes(32)))).manifests).toEqual([]);
  });
});

describeDataSets(() => c, repo, conformanceDataSets());

describe("sparse manifests are refused by default (ACCEPT_SPARSE_MANIFESTS unset)", () => {
  test("an image with a layer never pushed, and an index with a child never pushed: 400 MANIFEST_BLOB_UNKNOWN", async () => {
    const d = sparseDataSet();
    for (const [digest, data] of d.blobs) await expectBlobCreated(c, await postOnly(c, repo, data, digest), data, digest);
    const [image, child, index] = d.manifests;
    expectError(await putManifest(c, repo, image!.digest, image!.body, image!.mediaType), 400, ["MANIFEST_BLOB_UNKNOWN"]);
    await expectManifestCreated(c, await putManifest(c, repo, child!.digest, child!.body, child!.mediaType), child!.body, child!.digest, child!.mediaType);
    expectError(await putManifest(c, repo, index!.digest, index!.body, index!.mediaType), 400, ["MANIFEST_BLOB_UNKNOWN"]);
    expectStatus(await c.delete(`/v2/${repo}/manifests/${child!.digest}`), 202);
    for (const digest of d.blobs.keys()) expectStatus(await c.delete(`/v2/${repo}/blobs/${digest}`), 202);
  });
});

describe("manifest error cases (the suite's TestManifestErrors)", () => {
  test("GET of a missing manifest by digest and by tag: 404", async () => {
    expectError(await getManifest(c, repo, digestOf(randomBytes(1024))), 404, ["MANIFEST_UNKNOWN"]);
    expectError(await getManifest(c, repo, `missing-${randomBytes(8).toString("hex")}`), 404, ["MANIFEST_UNKNOWN"]);
  });

  test("PUT to sha256:baddigeststring is 400; GET of it is 400 or 404; cleanup deletes work", async () => {
    const img = buildImage({ layerCount: 1 });
    await pushImageBlobs(c, repo, img);
    expectError(await putManifest(c, repo, "sha256:baddigeststring", img.manifest), 400);
    expectError(await getManifest(c, repo, "sha256:baddigeststring"), [400, 404]);
    const del = await c.delete(`/v2/${repo}/manifests/${img.digest}`);
    expectError(del, 404, ["MANIFEST_UNKNOWN"]);
    for (const dig of [img.configDesc.digest, ...img.layers.map((l) => l.desc.digest)]) {
      expectStatus(await c.delete(`/v2/${repo}/blobs/${dig}`), 202);
    }
  });

  test("the repository ends empty of tags", async () => {
    const res = await c.get(`/v2/${repo}/tags/list`);
    if (res.status === 200) expect(res.json().tags ?? []).toEqual([]);
    else expectError(res, 404, ["NAME_UNKNOWN"]);
  });
});
