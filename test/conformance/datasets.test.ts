// The conformance suite's data-driven run, one data set after another in the same repository:
// push (blobs through rotating upload flows, manifests by digest, then tags), tag list with `last`,
// HEAD and GET of every tag, manifest and blob, referrers with artifactType filters, and finally
// deletes of tags, manifests (reverse order) and blobs, each checked with a HEAD (404) at once.
// Also the suite's "empty" checks before anything is pushed and its manifest error cases.
import { beforeAll, describe, expect, test } from "vitest";
import { conformanceDataSets, type DataSet } from "./data";
import {
  Client,
  asciiSort,
  buildImage,
  chunked,
  digestOf,
  expectBlob,
  expectBlobCreated,
  expectError,
  expectManifest,
  expectManifestCreated,
  expectStatus,
  getManifest,
  listReferrers,
  postOnly,
  postPut,
  pushImageBlobs,
  putManifest,
  randomBytes,
  stream,
  uniqueRepo,
  type Descriptor,
} from "./oci";
import { useRegistry } from "./registry";

const registry = useRegistry();
const repo = uniqueRepo("data");
let c: Client;

beforeAll(() => {
  c = new Client(registry().url);
});

const FLOWS = ["post+put", "post only", "stream", "chunked"] as const;
let flowIndex = 0;

/** Pushes a blob with the next upload flow in turn (sha512 blobs: single POST, see sha512.test.ts). */
async function pushAny(data: Buffer, digest: string): Promise<void> {
  const flow = digest.startsWith("sha512:") ? "post only" : FLOWS[flowIndex++ % FLOWS.length]!;
  const pushed =
    flow === "post+put"
      ? await postPut(c, repo, data, digest)
      : flow === "post only"
        ? await postOnly(c, repo, data, digest)
        : flow === "stream"
          ? await stream(c, repo, data, digest)
          : await chunked(c, repo, data, digest, { chunkSize: Math.max(1024, Math.floor(data.length / 3) + 1) });
  await expectBlobCreated(c, pushed, data, digest);
}

/** The suite's referrer match: same digest, mediaType, size, artifactType, and all goal annotations. */
function matches(found: Descriptor, goal: Descriptor): boolean {
  if (found.digest !== goal.digest || found.mediaType !== goal.mediaType || found.size !== goal.size) return false;
  if ((found.artifactType ?? "") !== (goal.artifactType ?? "")) return false;
  for (const [k, v] of Object.entries(goal.annotations ?? {})) if (found.annotations?.[k] !== v) return false;
  return true;
}

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

const sets = conformanceDataSets();

describe.each(sets.map((d) => [d.name, d] as [string, DataSet]))("data set %s", (_name, d) => {
  test("push blobs", async () => {
    for (const [digest, data] of d.blobs) await pushAny(data, digest);
  });

  test("push manifests by digest (201, Location, Docker-Content-Digest, OCI-Subject)", async () => {
    for (const m of d.manifests) {
      const res = await putManifest(c, repo, m.digest, m.body, m.mediaType);
      if (d.badDigest.has(m.digest)) {
        expectError(res, 400, ["DIGEST_INVALID"]);
        continue;
      }
      await expectManifestCreated(c, res, m.body, m.digest, m.mediaType);
    }
  });

  test("push tags", async () => {
    for (const [tag, digest] of d.tags) {
      const m = d.manifestBody(digest)!;
      const res = await putManifest(c, repo, tag, m.body, m.mediaType);
      await expectManifestCreated(c, res, m.body, digest, m.mediaType);
    }
  });

  test("tag list contains every tag; `last` returns exactly the tags after it", async () => {
    const res = await c.get(`/v2/${repo}/tags/list`);
    expectStatus(res, 200);
    const tags: string[] = res.json().tags;
    for (const tag of d.tags.keys()) expect(tags).toContain(tag);
    expect(tags).toEqual(asciiSort(tags));
    if (tags.length >= 2) {
      const sorted = asciiSort(tags);
      const end = Math.floor(sorted.length / 2);
      const last = sorted[end - 1]!;
      const partial = await c.get(`/v2/${repo}/tags/list`, { query: { last } });
      expectStatus(partial, 200);
      expect(partial.json().tags).toEqual(sorted.slice(end));
    }
  });

  test("HEAD and GET of every tag, manifest and blob", async () => {
    for (const [tag, digest] of d.tags) {
      const m = d.manifestBody(digest)!;
      await expectManifest(c, repo, tag, m.body, digest, m.mediaType);
    }
    for (const m of d.manifests) {
      if (d.badDigest.has(m.digest)) continue;
      await expectManifest(c, repo, m.digest, m.body, m.digest, m.mediaType);
    }
    for (const [digest, data] of d.blobs) await expectBlob(c, repo, digest, data);
  });

  if (d.referrers.size > 0) test("referrers, unfiltered and filtered by each artifactType", async () => {
    for (const [subject, goals] of d.referrers) {
      const { manifests } = await listReferrers(c, repo, subject);
      for (const goal of goals) {
        expect(manifests.some((m) => matches(m, goal)), `referrer ${JSON.stringify(goal)} missing from ${JSON.stringify(manifests)}`).toBe(true);
      }
      for (const type of new Set(goals.map((g) => g.artifactType ?? ""))) {
        const filtered = await listReferrers(c, repo, subject, type);
        expect(filtered.res.headers.get("oci-filters-applied"), filtered.res.describe()).toBe("artifactType");
        for (const goal of goals.filter((g) => (g.artifactType ?? "") === type)) {
          expect(filtered.manifests.some((m) => matches(m, goal)), `filtered referrer ${goal.digest} missing`).toBe(true);
        }
        for (const m of filtered.manifests) expect(m.artifactType, `filter ${type} returned ${JSON.stringify(m)}`).toBe(type);
      }
    }
  });

  test("delete tags, then manifests in reverse order, then blobs; each gone at once", async () => {
    for (const tag of d.tags.keys()) {
      expectStatus(await c.delete(`/v2/${repo}/manifests/${tag}`), 202);
      expectError(await getManifest(c, repo, tag, "HEAD"), 404);
    }
    for (const m of [...d.manifests].reverse()) {
      const res = await c.delete(`/v2/${repo}/manifests/${m.digest}`);
      if (d.badDigest.has(m.digest)) expectError(res, 404, ["MANIFEST_UNKNOWN"]);
      else expectStatus(res, 202);
      expectError(await getManifest(c, repo, m.digest, "HEAD"), 404);
    }
    for (const digest of d.blobs.keys()) {
      expectStatus(await c.delete(`/v2/${repo}/blobs/${digest}`), 202);
      expectError(await c.head(`/v2/${repo}/blobs/${digest}`), 404);
    }
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
