// GET /v2/<name>/referrers/<digest> (distribution-spec v1.1): manifests whose subject is <digest>.
import { beforeAll, describe, expect, it } from "vitest";
import * as h from "./helpers";

const { MT } = h;
let pool: h.SeedPool;

beforeAll(async () => {
  pool = await h.seedPool("ref-seed");
});

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}
interface Index {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

async function referrers(repo: string, subject: string, query = ""): Promise<{ res: Response; index: Index }> {
  const res = await h.call("GET", `/v2/${repo}/referrers/${subject}${query}`);
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(200);
  expect(res.headers.get("Content-Type")).toBe(MT.ociIndex);
  const index = JSON.parse(text) as Index;
  expect(index.schemaVersion).toBe(2);
  expect(index.mediaType).toBe(MT.ociIndex);
  expect(Array.isArray(index.manifests)).toBe(true);
  return { res, index };
}

const byDigest = (a: Descriptor, b: Descriptor) => (a.digest < b.digest ? -1 : 1);

/** An artifact manifest (empty config) pointing at `subject`. */
async function artifact(repo: string, subject: { digest: string; bytes: Uint8Array }, artifactType: string, annotations?: Record<string, string>) {
  await h.mountBlob(repo, h.EMPTY_JSON_DIGEST, pool.repo);
  return {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    artifactType,
    config: { mediaType: MT.ociEmpty, digest: h.EMPTY_JSON_DIGEST, size: 2 },
    layers: [{ mediaType: MT.ociEmpty, digest: h.EMPTY_JSON_DIGEST, size: 2 }],
    subject: { mediaType: MT.ociManifest, digest: subject.digest, size: subject.bytes.length },
    ...(annotations ? { annotations } : {}),
  };
}

async function pushByDigest(repo: string, manifest: unknown, algorithm: "sha256" | "sha512" = "sha256") {
  const bytes = h.utf8(JSON.stringify(manifest));
  return h.pushManifest(repo, await h.digestOf(bytes, algorithm), bytes, (manifest as { mediaType: string }).mediaType);
}

describe("referrers", () => {
  it("lists every manifest with that subject as a descriptor (mediaType, digest, size, artifactType, annotations)", async () => {
    const repo = h.uniqueRepo("ref");
    const subject = await h.pushManifest(repo, "app", await h.poolImage(pool, repo));
    const sbom = await pushByDigest(repo, await artifact(repo, subject, "application/vnd.example.sbom.v1", { "org.example.created": "2024-01-01T00:00:00Z" }));
    const sig = await pushByDigest(repo, await artifact(repo, subject, "application/vnd.example.sig.v1"));
    // An image manifest without artifactType: the descriptor's artifactType is its config media type.
    const plainManifest = await h.poolImage(pool, repo, { extra: { subject: { mediaType: MT.ociManifest, digest: subject.digest, size: subject.bytes.length } } });
    const plain = await pushByDigest(repo, plainManifest);
    // An index with a subject and an artifactType.
    const idx = await pushByDigest(repo, {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      artifactType: "application/vnd.example.bundle.v1",
      manifests: [{ mediaType: MT.ociManifest, digest: sig.digest, size: sig.bytes.length }],
      subject: { mediaType: MT.ociManifest, digest: subject.digest, size: subject.bytes.length },
      annotations: { "org.example.bundle": "yes" },
    });

    const { res, index } = await referrers(repo, subject.digest);
    expect(res.headers.get("OCI-Filters-Applied")).toBeNull();
    const expected: Descriptor[] = [
      { mediaType: MT.ociManifest, digest: sbom.digest, size: sbom.bytes.length, artifactType: "application/vnd.example.sbom.v1", annotations: { "org.example.created": "2024-01-01T00:00:00Z" } },
      { mediaType: MT.ociManifest, digest: sig.digest, size: sig.bytes.length, artifactType: "application/vnd.example.sig.v1" },
      { mediaType: MT.ociManifest, digest: plain.digest, size: plain.bytes.length, artifactType: MT.ociConfig, annotations: plainManifest.annotations as Record<string, string> },
      { mediaType: MT.ociIndex, digest: idx.digest, size: idx.bytes.length, artifactType: "application/vnd.example.bundle.v1", annotations: { "org.example.bundle": "yes" } },
    ];
    const got = [...index.manifests].sort(byDigest);
    expect(got.map((d) => d.digest)).toEqual(expected.sort(byDigest).map((d) => d.digest));
    for (const [i, e] of expected.entries()) {
      expect(got[i]).toMatchObject(e);
      if (!e.annotations) expect(got[i]!.annotations ?? {}).toEqual({});
    }
    // The subject itself is not a referrer of anything.
    expect((await referrers(repo, sbom.digest)).index.manifests).toEqual([]);
  });

  it("an unknown subject -> 200 with an empty index (never 404)", async () => {
    const repo = h.uniqueRepo("ref");
    await h.pushManifest(repo, "x", await h.poolImage(pool, repo));
    const { index } = await referrers(repo, await h.sha256(h.randomBytes(12)));
    expect(index.manifests).toEqual([]);
  });

  it("a repository that does not exist -> still 200 with an empty index", async () => {
    const { index } = await referrers(h.uniqueRepo("ref-none"), await h.sha256(h.randomBytes(12)));
    expect(index.manifests).toEqual([]);
  });

  it("artifactType filter returns only matches, with OCI-Filters-Applied: artifactType", async () => {
    const repo = h.uniqueRepo("ref");
    const subject = await h.pushManifest(repo, "app", await h.poolImage(pool, repo));
    const a = await pushByDigest(repo, await artifact(repo, subject, "application/vnd.example.a"));
    await pushByDigest(repo, await artifact(repo, subject, "application/vnd.example.b"));
    const { res, index } = await referrers(repo, subject.digest, `?artifactType=${encodeURIComponent("application/vnd.example.a")}`);
    expect(res.headers.get("OCI-Filters-Applied")).toBe("artifactType");
    expect(index.manifests.map((d) => d.digest)).toEqual([a.digest]);
    const none = await referrers(repo, subject.digest, "?artifactType=application/vnd.example.none");
    expect(none.res.headers.get("OCI-Filters-Applied")).toBe("artifactType");
    expect(none.index.manifests).toEqual([]);
  });

  it("deleting a referrer by digest removes it from the list; deleting only its tag does not", async () => {
    const repo = h.uniqueRepo("ref");
    const subject = await h.pushManifest(repo, "app", await h.poolImage(pool, repo));
    const keep = await h.pushManifest(repo, "keep-tag", await artifact(repo, subject, "application/vnd.example.keep"));
    const drop = await pushByDigest(repo, await artifact(repo, subject, "application/vnd.example.drop"));
    expect((await referrers(repo, subject.digest)).index.manifests).toHaveLength(2);
    expect((await h.call("DELETE", `/v2/${repo}/manifests/${drop.digest}`)).status).toBe(202);
    expect((await h.call("DELETE", `/v2/${repo}/manifests/keep-tag`)).status).toBe(202);
    const { index } = await referrers(repo, subject.digest);
    expect(index.manifests.map((d) => d.digest)).toEqual([keep.digest]);
  });

  it("re-pushing a referrer does not list it twice", async () => {
    const repo = h.uniqueRepo("ref");
    const subject = await h.pushManifest(repo, "app", await h.poolImage(pool, repo));
    const m = await artifact(repo, subject, "application/vnd.example.once");
    await pushByDigest(repo, m);
    await h.pushManifest(repo, "tagged", m);
    await pushByDigest(repo, m);
    expect((await referrers(repo, subject.digest)).index.manifests).toHaveLength(1);
  });

  it("referrers are per repository", async () => {
    const a = h.uniqueRepo("ref");
    const b = h.uniqueRepo("ref");
    const subjectManifest = await h.poolImage(pool, a);
    await h.poolImage(pool, b); // mounts the same blobs
    const subject = await h.pushManifest(a, "app", subjectManifest);
    await h.pushManifest(b, "app", subjectManifest);
    await pushByDigest(a, await artifact(a, subject, "application/vnd.example.only-a"));
    expect((await referrers(a, subject.digest)).index.manifests).toHaveLength(1);
    expect((await referrers(b, subject.digest)).index.manifests).toEqual([]);
  });

  it("sha512: a referrer pushed by sha512 digest, and a sha512 subject", async () => {
    const repo = h.uniqueRepo("ref");
    const subjectBytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    const subjectDigest = await h.sha512(subjectBytes);
    await h.pushManifest(repo, subjectDigest, subjectBytes, MT.ociManifest);
    const ref = await pushByDigest(repo, await artifact(repo, { digest: subjectDigest, bytes: subjectBytes }, "application/vnd.example.s512"), "sha512");
    expect(ref.digest).toMatch(/^sha512:/);
    const { index } = await referrers(repo, subjectDigest);
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]).toMatchObject({ digest: ref.digest, size: ref.bytes.length, artifactType: "application/vnd.example.s512" });
  });

  it("an invalid subject digest -> 400", async () => {
    const repo = h.uniqueRepo("ref");
    for (const d of ["sha256:xyz", "notadigest", `sha256:${"A".repeat(64)}`]) {
      await h.expectError(await h.call("GET", `/v2/${repo}/referrers/${d}`), 400, "DIGEST_INVALID");
    }
  });
});
