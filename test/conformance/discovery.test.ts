// Content discovery (spec "Content Discovery": end-8a, end-8b, end-12a, end-12b): tag listing in
// ASCIIbetical order, pagination with n / last and the Link header, and the referrers API with
// artifactType filtering (OCI-Filters-Applied), empty results, and subjects that do not exist.
import { beforeAll, describe, expect, test } from "vitest";
import {
  Client,
  EMPTY_JSON,
  EMPTY_JSON_SHA256,
  MT,
  asciiSort,
  buildImage,
  descriptorOf,
  digestOf,
  expectError,
  expectManifestCreated,
  expectStatus,
  jsonBytes,
  listReferrers,
  listTags,
  pushBlob,
  pushImage,
  pushImageBlobs,
  putManifest,
  randomBytes,
  uniqueRepo,
  type Descriptor,
  type ImageParts,
} from "./oci";
import { useRegistry } from "./registry";

const registry = useRegistry();
let c: Client;

beforeAll(() => {
  c = new Client(registry().url);
});

/** Follows `Link: <...>; rel="next"` headers from a first page, collecting every tag. */
async function walkLinks(repo: string, n: number): Promise<{ pages: string[][]; all: string[] }> {
  const pages: string[][] = [];
  let next: string | null = `/v2/${repo}/tags/list?n=${n}`;
  for (let guard = 0; next && guard < 100; guard++) {
    const res = await c.get(next);
    expectStatus(res, 200);
    const tags = res.json<{ tags: string[] }>().tags;
    pages.push(tags);
    const link = res.headers.get("link");
    if (link === null) break;
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
    expect(m, `Link header must be RFC 5988 with rel="next": ${res.describe()}`).not.toBeNull();
    next = m![1]!;
  }
  return { pages, all: pages.flat() };
}

describe("listing tags (end-8a, end-8b)", () => {
  const repo = uniqueRepo("discovery-tags");
  // Mixed case, digits, dots, dashes and underscores: byte order differs from locale order.
  const TAGS = ["test0", "test1", "test2", "test3", "Alpha", "beta", "latest", "v1.0", "v1.0-rc1", "v1.0_rc2", "_under", "9lives", "Zulu", "zeta"];
  const sorted = asciiSort(TAGS);
  let image: ImageParts;

  beforeAll(async () => {
    image = buildImage();
    await pushImageBlobs(c, repo, image);
    for (const tag of TAGS) expectStatus(await putManifest(c, repo, tag, image.manifest), 201);
  });

  test("a repository that does not exist: 404 NAME_UNKNOWN (or 200 with no tags)", async () => {
    const res = await c.get(`/v2/${uniqueRepo("discovery-none")}/tags/list`);
    if (res.status === 200) expect(res.json().tags ?? []).toEqual([]);
    else expectError(res, 404, ["NAME_UNKNOWN"]);
  });

  test("GET /tags/list is 200 {name, tags} with every tag, sorted ASCIIbetically, no duplicates", async () => {
    const { tags } = await listTags(c, repo);
    expect(tags).toEqual(sorted);
  });

  test("digests are not listed as tags (a manifest pushed by digest adds no tag)", async () => {
    const other = buildImage();
    await pushImage(c, repo, other, other.digest);
    const { tags } = await listTags(c, repo);
    expect(tags).toEqual(sorted);
  });

  test("n limits the count: n=<half> returns exactly the first half", async () => {
    const half = Math.floor(TAGS.length / 2);
    const { tags } = await listTags(c, repo, { n: String(half) });
    expect(tags).toEqual(sorted.slice(0, half));
  });

  test("n with more tags remaining sends Link rel=next; following the links yields every tag once, in order", async () => {
    const { res } = await listTags(c, repo, { n: "3" });
    expect(res.headers.get("link"), res.describe()).toMatch(/rel="?next"?/);
    const { pages, all } = await walkLinks(repo, 3);
    expect(all).toEqual(sorted);
    for (const page of pages.slice(0, -1)) expect(page.length).toBe(3);
  });

  test("last: tags strictly after the given tag (conformance: 'start of tag is set by last')", async () => {
    const half = Math.floor(TAGS.length / 2);
    const first = (await listTags(c, repo, { n: String(half) })).tags;
    const last = first[half - 1]!;
    const { tags } = await listTags(c, repo, { n: String(half), last });
    expect(tags.length).toBeLessThanOrEqual(half);
    expect(tags).toEqual(sorted.slice(half, half + half));
    expect(tags).not.toContain(last);
  });

  test("last without n returns every tag after it (new suite tag-list check)", async () => {
    const mid = sorted[Math.floor(sorted.length / 2) - 1]!;
    const { tags } = await listTags(c, repo, { last: mid });
    expect(tags).toEqual(sorted.filter((t) => t > mid));
  });

  test("last that is not itself a tag still starts after it lexically", async () => {
    const { tags } = await listTags(c, repo, { last: "test1a" });
    expect(tags).toEqual(sorted.filter((t) => t > "test1a"));
  });

  test("last past every tag returns an empty list and no Link", async () => {
    const { res, tags } = await listTags(c, repo, { n: "5", last: "zzzz" });
    expect(tags).toEqual([]);
    expect(res.headers.get("link"), res.describe()).toBeNull();
  });

  test("n=0 returns an empty list and no Link header", async () => {
    const { res, tags } = await listTags(c, repo, { n: "0" });
    expect(tags).toEqual([]);
    expect(res.headers.get("link"), res.describe()).toBeNull();
  });

  test("n at least the tag count returns everything and no Link header", async () => {
    const { res, tags } = await listTags(c, repo, { n: String(TAGS.length) });
    expect(tags).toEqual(sorted);
    expect(res.headers.get("link"), res.describe()).toBeNull();
    expect((await listTags(c, repo, { n: "1000" })).tags).toEqual(sorted);
  });

  test("an invalid n (not a number) is rejected with 400 and a spec error code, or ignored (200)", async () => {
    const res = await c.get(`/v2/${repo}/tags/list`, { query: { n: "abc" } });
    if (res.status === 200) expect(res.json().tags).toEqual(sorted);
    else expectError(res, 400);
  });

  test("an invalid repository name is 400 NAME_INVALID (or 404 NAME_UNKNOWN)", async () => {
    const res = await c.get(`/v2/Upper/Case/tags/list`);
    expectError(res, [400, 404], ["NAME_INVALID", "NAME_UNKNOWN"]);
  });

  test("a repository whose only content is a manifest pushed by digest lists no tags (200, empty) or 404", async () => {
    const r = uniqueRepo("discovery-untagged");
    const img = buildImage();
    await pushImage(c, r, img, img.digest);
    const res = await c.get(`/v2/${r}/tags/list`);
    if (res.status === 200) expect(res.json().tags ?? []).toEqual([]);
    else expectError(res, 404, ["NAME_UNKNOWN"]);
  });
});

describe("listing referrers (end-12a, end-12b), the conformance discovery workflow", () => {
  const repo = uniqueRepo("discovery-refs");
  const KEY = "org.opencontainers.conformance.test";
  const TYPE_A = "application/vnd.nhl.peanut.butter.bagel";
  const TYPE_B = "application/vnd.nba.strawberry.jam.croissant";
  const TYPE_INDEX = "application/vnd.food.stand";
  const blobA = Buffer.from("NHL Peanut Butter on my NHL bagel");
  const blobB = Buffer.from("NBA Strawberry Jam on my NBA croissant");

  let subject: ImageParts; // pushed after some of its referrers
  let missing: ImageParts; // never pushed
  const expected = new Map<string, { desc: Descriptor; annotation: string }>();
  let refC: { digest: string; body: Buffer };

  /** An artifact whose type comes from the config media type (no artifactType field). */
  const configArtifact = (type: string, blob: Buffer, subj: Descriptor, note: string) =>
    jsonBytes(
      {
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: descriptorOf(type, blob),
        subject: subj,
        layers: [descriptorOf(MT.ociEmpty, EMPTY_JSON)],
        annotations: { [KEY]: note },
      },
      "\t",
    );
  /** An artifact with artifactType and the empty-JSON config. */
  const layerArtifact = (type: string, blob: Buffer, subj: Descriptor, note?: string) =>
    jsonBytes(
      {
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        artifactType: type,
        config: descriptorOf(MT.ociEmpty, EMPTY_JSON),
        subject: subj,
        layers: [descriptorOf(type, blob)],
        ...(note === undefined ? {} : { annotations: { [KEY]: note } }),
      },
      "\t",
    );

  const pushReferrer = async (body: Buffer, artifactType: string, note: string | undefined, subj: Descriptor, mediaType: string = MT.ociManifest) => {
    const digest = digestOf(body);
    const res = await putManifest(c, repo, digest, body, mediaType);
    await expectManifestCreated(c, res, body, digest, mediaType);
    expect(res.headers.get("oci-subject"), res.describe()).toBe(subj.digest);
    if (note !== undefined) expected.set(digest, { desc: { mediaType, digest, size: body.length, artifactType }, annotation: note });
    return digest;
  };

  beforeAll(async () => {
    subject = buildImage({ layerCount: 1 });
    missing = buildImage({ layerCount: 1 });
    expect(digestOf(EMPTY_JSON)).toBe(EMPTY_JSON_SHA256);
    await pushBlob(c, repo, EMPTY_JSON);
    await pushBlob(c, repo, blobA);
    // referrers pushed before their subject exists
    const a1 = await pushReferrer(configArtifact(TYPE_A, blobA, subject.desc, "test config a"), TYPE_A, "test config a", subject.desc);
    const a2 = await pushReferrer(layerArtifact(TYPE_A, blobA, subject.desc, "test layer a"), TYPE_A, "test layer a", subject.desc);
    const aEntries = [a1, a2].map((d) => expected.get(d)!.desc);
    const index = jsonBytes(
      {
        schemaVersion: 2,
        mediaType: MT.ociIndex,
        artifactType: TYPE_INDEX,
        manifests: aEntries.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
        subject: subject.desc,
        annotations: { [KEY]: "test index" },
      },
      "\t",
    );
    await pushReferrer(index, TYPE_INDEX, "test index", subject.desc, MT.ociIndex);
    // the subject, then more referrers
    await pushImage(c, repo, subject, "tagtest0");
    await pushBlob(c, repo, blobB);
    await pushReferrer(configArtifact(TYPE_B, blobB, subject.desc, "test config b"), TYPE_B, "test config b", subject.desc);
    await pushReferrer(layerArtifact(TYPE_B, blobB, subject.desc, "test layer b"), TYPE_B, "test layer b", subject.desc);
    // a referrer of a subject that is never pushed
    const cBody = layerArtifact(TYPE_B, blobB, missing.desc);
    refC = { digest: await pushReferrer(cBody, TYPE_B, undefined, missing.desc), body: cBody };
  });

  test("referrers of a digest nothing refers to: 200, index media type, empty manifests array", async () => {
    const { manifests } = await listReferrers(c, repo, digestOf("hello world"));
    expect(manifests).toEqual([]);
  });

  test("referrers in a repository that does not exist yet: 200 with an empty list (new suite 'empty referrers')", async () => {
    const { manifests } = await listReferrers(c, uniqueRepo("discovery-fresh"), digestOf(randomBytes(16)));
    expect(manifests).toEqual([]);
  });

  test("referrers of the subject: all five, each with mediaType, size, digest, artifactType and its annotations", async () => {
    const { manifests } = await listReferrers(c, repo, subject.digest);
    expect(manifests.length).toBe(5);
    expect(new Set(manifests.map((m) => m.digest)).size).toBe(5);
    for (const m of manifests) {
      const want = expected.get(m.digest);
      expect(want, `unexpected referrer ${JSON.stringify(m)}`).toBeDefined();
      expect(m.mediaType).toBe(want!.desc.mediaType);
      expect(m.size).toBe(want!.desc.size);
      expect(m.artifactType, `artifactType of ${m.digest}`).toBe(want!.desc.artifactType);
      expect(m.annotations).toEqual({ [KEY]: want!.annotation });
    }
  });

  test("a manifest without artifactType is listed with its config media type as artifactType", async () => {
    const { manifests } = await listReferrers(c, repo, subject.digest);
    const notes = manifests.filter((m) => m.annotations?.[KEY]?.startsWith("test config")).map((m) => m.artifactType);
    expect(asciiSort(notes as string[])).toEqual(asciiSort([TYPE_A, TYPE_B]));
  });

  test("artifactType filter: OCI-Filters-Applied: artifactType and only the two type-A entries", async () => {
    const { res, manifests } = await listReferrers(c, repo, subject.digest, TYPE_A);
    expect(res.headers.get("oci-filters-applied"), res.describe()).toBe("artifactType");
    expect(manifests.length).toBe(2);
    for (const m of manifests) {
      expect(m.artifactType).toBe(TYPE_A);
      expect(m.annotations?.[KEY]).toBe(expected.get(m.digest)!.annotation);
    }
  });

  test("artifactType filter on the index's artifactType returns the index descriptor", async () => {
    const { res, manifests } = await listReferrers(c, repo, subject.digest, TYPE_INDEX);
    expect(res.headers.get("oci-filters-applied"), res.describe()).toBe("artifactType");
    expect(manifests.length).toBe(1);
    expect(manifests[0]!.mediaType).toBe(MT.ociIndex);
    expect(manifests[0]!.annotations).toEqual({ [KEY]: "test index" });
  });

  test("artifactType filter matching nothing: 200, empty list, header still set", async () => {
    const { res, manifests } = await listReferrers(c, repo, subject.digest, "application/vnd.example.none");
    expect(res.headers.get("oci-filters-applied"), res.describe()).toBe("artifactType");
    expect(manifests).toEqual([]);
  });

  test("referrers of a subject that was never pushed list the one referrer (200)", async () => {
    const { manifests } = await listReferrers(c, repo, missing.digest);
    expect(manifests.length).toBe(1);
    expect(manifests[0]!.digest).toBe(refC.digest);
    expect(manifests[0]!.size).toBe(refC.body.length);
    expect(manifests[0]!.artifactType).toBe(TYPE_B);
  });

  test("referrers are per repository: the same subject in another repository has none", async () => {
    const { manifests } = await listReferrers(c, uniqueRepo("discovery-other"), subject.digest);
    expect(manifests).toEqual([]);
  });

  test("an index referrer without artifactType is listed without artifactType", async () => {
    const r = uniqueRepo("discovery-index-ref");
    const subj = buildImage();
    await pushImage(c, r, subj, subj.digest);
    const child = buildImage();
    await pushImage(c, r, child, child.digest);
    const index = jsonBytes({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [child.desc], subject: subj.desc, annotations: { a: "b" } });
    const digest = digestOf(index);
    const res = await putManifest(c, r, digest, index);
    await expectManifestCreated(c, res, index, digest, MT.ociIndex);
    const { manifests } = await listReferrers(c, r, subj.digest);
    expect(manifests.length).toBe(1);
    expect(manifests[0]!.digest).toBe(digest);
    expect(manifests[0]!.mediaType).toBe(MT.ociIndex);
    expect("artifactType" in manifests[0]!, JSON.stringify(manifests[0])).toBe(false);
    expect(manifests[0]!.annotations).toEqual({ a: "b" });
  });

  test("a referrer pushed by tag is listed too", async () => {
    const r = uniqueRepo("discovery-tagged-ref");
    const subj = buildImage();
    await pushImage(c, r, subj, "subject");
    const ref = buildImage({ subject: subj.desc, artifactType: "application/vnd.example.sig" });
    await pushImageBlobs(c, r, ref);
    const res = await putManifest(c, r, "signature", ref.manifest);
    await expectManifestCreated(c, res, ref.manifest, ref.digest);
    const { manifests } = await listReferrers(c, r, subj.digest);
    expect(manifests.map((m) => m.digest)).toEqual([ref.digest]);
    expect(manifests[0]!.artifactType).toBe("application/vnd.example.sig");
  });

  test("pushing the same referrer twice does not duplicate it", async () => {
    const r = uniqueRepo("discovery-dup-ref");
    const subj = buildImage();
    await pushImage(c, r, subj, subj.digest);
    const ref = buildImage({ subject: subj.desc, artifactType: "application/vnd.example.dup" });
    await pushImageBlobs(c, r, ref);
    expectStatus(await putManifest(c, r, ref.digest, ref.manifest), 201);
    expectStatus(await putManifest(c, r, "again", ref.manifest), 201);
    const { manifests } = await listReferrers(c, r, subj.digest);
    expect(manifests.map((m) => m.digest)).toEqual([ref.digest]);
  });

  test("referrers with an invalid digest are 400", async () => {
    const res = await c.get(`/v2/${repo}/referrers/sha256:not-a-digest`);
    expectError(res, 400, ["DIGEST_INVALID", "MANIFEST_INVALID"]);
  });
});
