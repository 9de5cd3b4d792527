// The conformance suite's data-driven run, one data set after another in the same repository:
// push (blobs through rotating upload flows, manifests by digest, with ?tag= where the set says,
// then tags), tag list with `last`, HEAD and GET of every tag, manifest and blob, referrers with
// artifactType filters, and finally deletes of tags, manifests (reverse order) and blobs, each
// checked with a HEAD (404) at once. Used by datasets.test.ts and sparse.test.ts.
import { describe, expect, test } from "vitest";
import type { DataSet } from "./data";
import {
  Client,
  asciiSort,
  chunked,
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
  putManifest,
  putManifestTagged,
  stream,
  type Descriptor,
} from "./oci";

const FLOWS = ["post+put", "post only", "stream", "chunked"] as const;

/** The suite's referrer match: same digest, mediaType, size, artifactType, and all goal annotations. */
function matches(found: Descriptor, goal: Descriptor): boolean {
  if (found.digest !== goal.digest || found.mediaType !== goal.mediaType || found.size !== goal.size) return false;
  if ((found.artifactType ?? "") !== (goal.artifactType ?? "")) return false;
  for (const [k, v] of Object.entries(goal.annotations ?? {})) if (found.annotations?.[k] !== v) return false;
  return true;
}

/** Declares the push-list-pull-referrers-delete run of every data set against one repository. */
export function describeDataSets(client: () => Client, repo: string, sets: DataSet[]): void {
  let flowIndex = 0;

  /** Pushes a blob with the next upload flow in turn (sha512 blobs: single POST, see sha512.test.ts). */
  async function pushAny(data: Buffer, digest: string): Promise<void> {
    const c = client();
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

  describe.each(sets.map((d) => [d.name, d] as [string, DataSet]))("data set %s", (_name, d) => {
    test("push blobs", async () => {
      for (const [digest, data] of d.blobs) await pushAny(data, digest);
    });

    test("push manifests by digest (201, Location, Docker-Content-Digest, OCI-Subject; OCI-Tag per ?tag=)", async () => {
      const c = client();
      for (const m of d.manifests) {
        const tags = d.tagParams.get(m.digest);
        if (tags) {
          const { res, ociTags } = await putManifestTagged(c, repo, m.digest, m.body, tags, m.mediaType);
          await expectManifestCreated(c, res, m.body, m.digest, m.mediaType);
          expect(ociTags, `one OCI-Tag header per tag: ${res.describe()}`).toEqual(tags);
          continue;
        }
        const res = await putManifest(c, repo, m.digest, m.body, m.mediaType);
        if (d.badDigest.has(m.digest)) {
          expectError(res, 400, ["DIGEST_INVALID"]);
          continue;
        }
        await expectManifestCreated(c, res, m.body, m.digest, m.mediaType);
      }
    });

    test("push tags (those not given on push)", async () => {
      const c = client();
      for (const [tag, digest] of d.tags) {
        if (d.tagParams.has(digest)) continue;
        const m = d.manifestBody(digest)!;
        const res = await putManifest(c, repo, tag, m.body, m.mediaType);
        await expectManifestCreated(c, res, m.body, digest, m.mediaType);
      }
    });

    test("tag list contains every tag; `last` returns exactly the tags after it", async () => {
      const c = client();
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

    test("HEAD and GET of every tag, manifest and blob; what a sparse set never pushed is 404", async () => {
      const c = client();
      for (const [tag, digest] of d.tags) {
        const m = d.manifestBody(digest)!;
        await expectManifest(c, repo, tag, m.body, digest, m.mediaType);
      }
      for (const m of d.manifests) {
        if (d.badDigest.has(m.digest)) continue;
        await expectManifest(c, repo, m.digest, m.body, m.digest, m.mediaType);
      }
      for (const [digest, data] of d.blobs) await expectBlob(c, repo, digest, data);
      for (const digest of d.absent) {
        expectError(await c.head(`/v2/${repo}/blobs/${digest}`), 404);
        expectError(await getManifest(c, repo, digest, "HEAD"), 404);
      }
    });

    if (d.referrers.size > 0) test("referrers, unfiltered and filtered by each artifactType", async () => {
      const c = client();
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
      const c = client();
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
}
