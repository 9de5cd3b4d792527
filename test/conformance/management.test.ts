// Content management (spec "Content Management": end-9, end-10): deleting tags, manifests and
// blobs, each immediately visible (the conformance suite's "atomic" checks: HEAD is 404 right
// after a 202), tag lists reflecting deletions, and re-pushing deleted content.
import { beforeAll, describe, expect, test } from "vitest";
import {
  Client,
  EMPTY_JSON,
  MT,
  buildImage,
  digestOf,
  expectBlob,
  expectError,
  expectManifest,
  expectNoBlob,
  expectNoManifest,
  expectStatus,
  getManifest,
  jsonBytes,
  listReferrers,
  listTags,
  pushBlob,
  pushImage,
  pushImageBlobs,
  putManifest,
  randomBytes,
  uniqueRepo,
  type ImageParts,
} from "./oci";
import { useRegistry } from "./registry";

const registry = useRegistry();
let c: Client;

beforeAll(() => {
  c = new Client(registry().url);
});

describe("the conformance content-management workflow", () => {
  const repo = uniqueRepo("management");
  const TAG = "tagtest0";
  let image: ImageParts;
  let tagsBefore: number;

  beforeAll(async () => {
    image = buildImage({ layerCount: 1, indent: true });
    await pushImage(c, repo, image, TAG);
    // a second image keeps the repository (and its tag list) alive after the deletions
    await pushImage(c, repo, buildImage(), "keep-me");
  });

  test("setup: count the tags before deleting", async () => {
    const { tags } = await listTags(c, repo);
    expect(tags).toContain(TAG);
    tagsBefore = tags.length;
  });

  test("DELETE of a tag is 202; the tag is gone at once (HEAD and GET 404)", async () => {
    expectStatus(await c.delete(`/v2/${repo}/manifests/${TAG}`), 202);
    expectError(await getManifest(c, repo, TAG, "HEAD"), 404);
    expectError(await getManifest(c, repo, TAG), 404, ["MANIFEST_UNKNOWN"]);
  });

  test("deleting the tag did not delete the manifest it pointed at", async () => {
    await expectManifest(c, repo, image.digest, image.manifest, image.digest);
  });

  test("the tag list reflects the deletion", async () => {
    const { tags } = await listTags(c, repo);
    expect(tags).not.toContain(TAG);
    expect(tags.length).toBeLessThan(tagsBefore);
  });

  test("DELETE of the manifest by digest is 202; HEAD and GET are then 404", async () => {
    expectStatus(await c.delete(`/v2/${repo}/manifests/${image.digest}`), 202);
    await expectNoManifest(c, repo, image.digest);
  });

  test("DELETE of the same manifest again is 404 MANIFEST_UNKNOWN", async () => {
    expectError(await c.delete(`/v2/${repo}/manifests/${image.digest}`), 404, ["MANIFEST_UNKNOWN"]);
  });

  test("DELETE of the config and layer blobs is 202; GET is then 404 BLOB_UNKNOWN", async () => {
    expectStatus(await c.delete(`/v2/${repo}/blobs/${image.configDesc.digest}`), 202);
    for (const layer of image.layers) expectStatus(await c.delete(`/v2/${repo}/blobs/${layer.desc.digest}`), 202);
    await expectNoBlob(c, repo, image.configDesc.digest);
    for (const layer of image.layers) await expectNoBlob(c, repo, layer.desc.digest);
  });

  test("DELETE of a blob that is not there is 404 BLOB_UNKNOWN", async () => {
    expectError(await c.delete(`/v2/${repo}/blobs/${image.configDesc.digest}`), 404, ["BLOB_UNKNOWN"]);
    expectError(await c.delete(`/v2/${repo}/blobs/${digestOf("never pushed")}`), 404, ["BLOB_UNKNOWN"]);
  });

  test("deleted content can be pushed again and is served again", async () => {
    await pushImage(c, repo, image, TAG);
    await expectManifest(c, repo, TAG, image.manifest, image.digest);
    await expectBlob(c, repo, image.configDesc.digest, image.config);
  });
});

describe("deletion semantics", () => {
  test("deleting a manifest by digest removes every tag that points at it", async () => {
    const repo = uniqueRepo("management-tags");
    const img = buildImage();
    const other = buildImage();
    await pushImage(c, repo, img, "one");
    expectStatus(await putManifest(c, repo, "two", img.manifest), 201);
    await pushImage(c, repo, other, "other");
    expectStatus(await c.delete(`/v2/${repo}/manifests/${img.digest}`), 202);
    await expectNoManifest(c, repo, "one");
    await expectNoManifest(c, repo, "two");
    const { tags } = await listTags(c, repo);
    expect(tags).toEqual(["other"]);
  });

  test("deleting a tag leaves other tags of the same manifest in place", async () => {
    const repo = uniqueRepo("management-multitag");
    const img = buildImage();
    await pushImage(c, repo, img, "a");
    expectStatus(await putManifest(c, repo, "b", img.manifest), 201);
    expectStatus(await c.delete(`/v2/${repo}/manifests/a`), 202);
    await expectNoManifest(c, repo, "a");
    await expectManifest(c, repo, "b", img.manifest, img.digest);
    expect((await listTags(c, repo)).tags).toEqual(["b"]);
  });

  test("DELETE of an unknown tag is 404", async () => {
    const repo = uniqueRepo("management-unknown");
    await pushImage(c, repo, buildImage(), "exists");
    expectError(await c.delete(`/v2/${repo}/manifests/does-not-exist`), 404, ["MANIFEST_UNKNOWN"]);
  });

  test("DELETE of a manifest in a repository that does not exist is 404", async () => {
    expectError(await c.delete(`/v2/${uniqueRepo("management-none")}/manifests/${digestOf("x")}`), 404, ["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);
  });

  test("DELETE of a manifest with a malformed digest is 400 (or 404)", async () => {
    const repo = uniqueRepo("management-bad");
    expectError(await c.delete(`/v2/${repo}/manifests/sha256:nothex`), [400, 404], ["DIGEST_INVALID", "MANIFEST_UNKNOWN", "MANIFEST_INVALID"]);
  });

  test("deleting a blob in one repository leaves the same blob in another repository", async () => {
    const a = uniqueRepo("management-blob-a");
    const b = uniqueRepo("management-blob-b");
    const data = randomBytes(333);
    const digest = await pushBlob(c, a, data);
    await pushBlob(c, b, data);
    expectStatus(await c.delete(`/v2/${a}/blobs/${digest}`), 202);
    await expectNoBlob(c, a, digest);
    await expectBlob(c, b, digest, data);
  });

  test("deleting a referrer removes it from the referrers list of its subject", async () => {
    const repo = uniqueRepo("management-referrers");
    const subject = buildImage();
    await pushImage(c, repo, subject, subject.digest);
    const keep = buildImage({ subject: subject.desc, artifactType: "application/vnd.example.keep" });
    const drop = buildImage({ subject: subject.desc, artifactType: "application/vnd.example.drop" });
    await pushImage(c, repo, keep, keep.digest);
    await pushImage(c, repo, drop, drop.digest);
    expect((await listReferrers(c, repo, subject.digest)).manifests.length).toBe(2);
    expectStatus(await c.delete(`/v2/${repo}/manifests/${drop.digest}`), 202);
    const { manifests } = await listReferrers(c, repo, subject.digest);
    expect(manifests.map((m) => m.digest)).toEqual([keep.digest]);
  });

  test("deleting the subject keeps its referrers listed (they still exist in the repository)", async () => {
    const repo = uniqueRepo("management-subject");
    const subject = buildImage();
    await pushImage(c, repo, subject, subject.digest);
    const ref = buildImage({ subject: subject.desc, artifactType: "application/vnd.example.sig" });
    await pushImage(c, repo, ref, ref.digest);
    expectStatus(await c.delete(`/v2/${repo}/manifests/${subject.digest}`), 202);
    const { manifests } = await listReferrers(c, repo, subject.digest);
    expect(manifests.map((m) => m.digest)).toEqual([ref.digest]);
  });

  test("an index and its children can be deleted top-down, each 202 then 404", async () => {
    const repo = uniqueRepo("management-index");
    const a = buildImage();
    const b = buildImage();
    await pushImage(c, repo, a, a.digest);
    await pushImage(c, repo, b, b.digest);
    const index = jsonBytes({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [a.desc, b.desc] });
    const indexDigest = digestOf(index);
    expectStatus(await putManifest(c, repo, "index", index), 201);
    expectStatus(await c.delete(`/v2/${repo}/manifests/index`), 202);
    await expectNoManifest(c, repo, "index");
    for (const d of [indexDigest, b.digest, a.digest]) {
      expectStatus(await c.delete(`/v2/${repo}/manifests/${d}`), 202);
      await expectNoManifest(c, repo, d);
    }
  });

  test("the empty JSON blob can be deleted and re-pushed repeatedly", async () => {
    const repo = uniqueRepo("management-emptyjson");
    for (let i = 0; i < 3; i++) {
      const digest = await pushBlob(c, repo, EMPTY_JSON);
      await expectBlob(c, repo, digest, EMPTY_JSON);
      expectStatus(await c.delete(`/v2/${repo}/blobs/${digest}`), 202);
      await expectNoBlob(c, repo, digest);
    }
  });

  test("a manifest whose blob was deleted can be re-pushed only after the blob is pushed again (or is accepted)", async () => {
    const repo = uniqueRepo("management-repush");
    const img = buildImage();
    await pushImage(c, repo, img, img.digest);
    expectStatus(await c.delete(`/v2/${repo}/manifests/${img.digest}`), 202);
    expectStatus(await c.delete(`/v2/${repo}/blobs/${img.configDesc.digest}`), 202);
    const res = await putManifest(c, repo, img.digest, img.manifest);
    if (res.status !== 201) expectError(res, 400, ["MANIFEST_BLOB_UNKNOWN"]);
    await pushImageBlobs(c, repo, img);
    expectStatus(await putManifest(c, repo, img.digest, img.manifest), 201);
    await expectManifest(c, repo, img.digest, img.manifest, img.digest);
  });
});
