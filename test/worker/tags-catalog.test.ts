// GET /v2/<name>/tags/list and GET /v2/_catalog: ordering, n/last pagination, Link headers.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import * as h from "./helpers";

let pool: h.SeedPool;

beforeAll(async () => {
  pool = await h.seedPool("tags-seed");
});

/** Pushes one manifest and points every tag at it (in the given order). */
async function tagged(repo: string, tags: string[]): Promise<{ digest: string; bytes: Uint8Array }> {
  const first = await h.pushManifest(repo, tags[0]!, await h.poolImage(pool, repo));
  for (const t of tags.slice(1)) await h.pushManifest(repo, t, first.bytes, h.MT.ociManifest);
  return first;
}

interface TagPage {
  name: string;
  tags: string[] | null;
}

async function getJson<T>(path: string): Promise<{ res: Response; body: T }> {
  const res = await h.call("GET", path);
  const text = await res.text();
  expect(res.status, `${path}: ${text.slice(0, 200)}`).toBe(200);
  expect(res.headers.get("Content-Type") ?? "").toMatch(/^application\/json/);
  return { res, body: JSON.parse(text) as T };
}

/** `<url>; rel="next"` -> url (must be a /v2/... path or absolute URL). */
function nextFromLink(link: string | null): string | null {
  if (link === null) return null;
  const m = /^<([^>]+)>;\s*rel="?next"?$/.exec(link.trim());
  expect(m, `Link header ${link}`).not.toBeNull();
  return m![1]!;
}

/** Follows Link headers from `first`; returns every page's items. */
async function walk(first: string, key: "tags" | "repositories", n: number): Promise<string[][]> {
  const pages: string[][] = [];
  let path: string | null = first;
  for (let guard = 0; path !== null && guard < 1000; guard++) {
    const { res, body } = await getJson<Record<string, string[] | null>>(path);
    const items = body[key] ?? [];
    expect(items.length).toBeLessThanOrEqual(n);
    pages.push(items);
    path = nextFromLink(res.headers.get("Link"));
    if (path !== null) {
      const next = new URL(path, h.BASE);
      expect(next.searchParams.get("last")).toBe(items[items.length - 1]);
      expect(next.searchParams.get("n")).toBe(String(n));
    }
  }
  expect(path).toBeNull();
  return pages;
}

describe("tags list", () => {
  it("lists every tag in lexical order", async () => {
    const repo = h.uniqueRepo("tags");
    const tags = ["v10", "v2", "V1", "1.0", "latest", "a-b", "a.b", "a_b", "_x", "Z", "0"];
    await tagged(repo, tags);
    const { body } = await getJson<TagPage>(`/v2/${repo}/tags/list`);
    expect(body.name).toBe(repo);
    expect(body.tags).toEqual([...tags].sort());
  });

  it("a nested repository lists only its own tags", async () => {
    const parent = h.uniqueRepo("tags");
    await tagged(parent, ["p1", "p2"]);
    await tagged(`${parent}/child`, ["c1"]);
    expect((await getJson<TagPage>(`/v2/${parent}/tags/list`)).body.tags).toEqual(["p1", "p2"]);
    expect((await getJson<TagPage>(`/v2/${parent}/child/tags/list`)).body).toEqual({ name: `${parent}/child`, tags: ["c1"] });
  });

  it("n/last pagination with Link: <...>; rel=\"next\" walks the whole list once", async () => {
    const repo = h.uniqueRepo("tags");
    const tags = ["a", "b", "c", "d", "e", "f", "g"];
    await tagged(repo, [...tags].reverse());
    const first = await h.call("GET", `/v2/${repo}/tags/list?n=3`);
    const page1 = (await first.json()) as TagPage;
    expect(page1.tags).toEqual(["a", "b", "c"]);
    const link = first.headers.get("Link");
    expect(link).toMatch(/^<[^>]*\/v2\/[^>]*tags\/list\?[^>]*>; rel="next"$/);
    const pages = await walk(`/v2/${repo}/tags/list?n=3`, "tags", 3);
    expect(pages).toEqual([["a", "b", "c"], ["d", "e", "f"], ["g"]]);
  });

  it("no Link header when the page ends the list (exactly n left, or n larger than the list)", async () => {
    const repo = h.uniqueRepo("tags");
    await tagged(repo, ["a", "b", "c", "d"]);
    const exact = await h.call("GET", `/v2/${repo}/tags/list?n=2&last=b`);
    expect(((await exact.json()) as TagPage).tags).toEqual(["c", "d"]);
    expect(exact.headers.get("Link")).toBeNull();
    const big = await h.call("GET", `/v2/${repo}/tags/list?n=100`);
    expect(((await big.json()) as TagPage).tags).toEqual(["a", "b", "c", "d"]);
    expect(big.headers.get("Link")).toBeNull();
  });

  it("last without n; last that is not a tag (lexical position); last after every tag", async () => {
    const repo = h.uniqueRepo("tags");
    await tagged(repo, ["alpha", "beta", "gamma"]);
    expect((await getJson<TagPage>(`/v2/${repo}/tags/list?last=alpha`)).body.tags).toEqual(["beta", "gamma"]);
    expect((await getJson<TagPage>(`/v2/${repo}/tags/list?n=1&last=b`)).body.tags).toEqual(["beta"]);
    expect((await getJson<TagPage>(`/v2/${repo}/tags/list?last=zzz`)).body.tags ?? []).toEqual([]);
  });

  it("n=0 -> 200 with no tags", async () => {
    const repo = h.uniqueRepo("tags");
    await tagged(repo, ["a", "b"]);
    const { body } = await getJson<TagPage>(`/v2/${repo}/tags/list?n=0`);
    expect(body.tags ?? []).toEqual([]);
  });

  for (const n of ["abc", "-1", "1.5", "", "0x10"]) {
    it(`invalid n=${JSON.stringify(n)} -> 400 with an error envelope`, async () => {
      const repo = h.uniqueRepo("tags");
      await tagged(repo, ["a"]);
      await h.expectError(await h.call("GET", `/v2/${repo}/tags/list?n=${n}`), 400);
    });
  }

  it("unknown repository -> 404 NAME_UNKNOWN", async () => {
    await h.expectError(await h.call("GET", `/v2/${h.uniqueRepo("never")}/tags/list`), 404, "NAME_UNKNOWN");
  });

  it("over 1000 tags: the full list, and pages across R2 list pages", async () => {
    const repo = h.uniqueRepo("tags");
    const target = await tagged(repo, ["zz-real"]);
    // Seed 1100 tags directly in the documented layout (repositories/<name>/_tags/<tag>) to keep
    // the test fast; they point at the manifest pushed above.
    const digest = target.digest;
    const seeded = Array.from({ length: 1100 }, (_, i) => `t${String(i).padStart(5, "0")}`);
    for (let i = 0; i < seeded.length; i += 100) {
      await Promise.all(
        seeded.slice(i, i + 100).map((t) =>
          env.BUCKET.put(`repositories/${repo}/_tags/${t}`, digest, {
            customMetadata: { digest, mediaType: h.MT.ociManifest, size: String(target.bytes.length) },
          }),
        ),
      );
    }
    const all = [...seeded, "zz-real"];
    expect((await getJson<TagPage>(`/v2/${repo}/tags/list`)).body.tags).toEqual(all);
    const page = await h.call("GET", `/v2/${repo}/tags/list?n=1050`);
    expect(((await page.json()) as TagPage).tags).toEqual(all.slice(0, 1050));
    expect(nextFromLink(page.headers.get("Link"))).toContain("last=t01049");
    const rest = await getJson<TagPage>(`/v2/${repo}/tags/list?n=1050&last=t01049`);
    expect(rest.body.tags).toEqual(all.slice(1050));
    expect(rest.res.headers.get("Link")).toBeNull();

    // Deleting the manifest by digest removes every tag pointing at it, past the first 1000.
    expect((await h.call("DELETE", `/v2/${repo}/manifests/${digest}`)).status).toBe(202);
    expect((await h.call("HEAD", `/v2/${repo}/manifests/zz-real`)).status).toBe(404);
    expect((await h.call("HEAD", `/v2/${repo}/manifests/t01099`)).status).toBe(404);
    const after = await getJson<TagPage>(`/v2/${repo}/tags/list`);
    expect(after.body.tags ?? []).toEqual([]);
  });
});

describe("catalog", () => {
  it("lists repositories, nested names included, in lexical order", async () => {
    const p = h.uniqueRepo("cat");
    const names = [`${p}/a/b/c`, `${p}/a`, `${p}-z`, `${p}/b`, `${p}/a/b`, `${p}.x`];
    for (const name of names) await h.pushBlob(name, h.utf8(name));
    const { body } = await getJson<{ repositories: string[] }>("/v2/_catalog");
    const repos = body.repositories;
    expect([...repos].sort()).toEqual(repos);
    expect(new Set(repos).size).toBe(repos.length);
    expect(repos.filter((r) => r.startsWith(p))).toEqual([...names].sort());
  });

  it("a repository appears once, however much it holds", async () => {
    const repo = h.uniqueRepo("cat");
    await h.pushManifest(repo, "a", await h.poolImage(pool, repo, { layers: 2 }));
    await h.pushManifest(repo, "b", await h.poolImage(pool, repo));
    const { body } = await getJson<{ repositories: string[] }>("/v2/_catalog");
    expect(body.repositories.filter((r) => r === repo)).toHaveLength(1);
  });

  it("n/last pagination with Link headers covers the catalog exactly once", async () => {
    const p = h.uniqueRepo("cat");
    for (const s of ["a", "b", "c", "d", "e"]) await h.pushBlob(`${p}/${s}`, h.utf8(s));
    const full = (await getJson<{ repositories: string[] }>("/v2/_catalog")).body.repositories;
    const pages = await walk("/v2/_catalog?n=2", "repositories", 2);
    expect(pages.flat()).toEqual(full);
    const after = (await getJson<{ repositories: string[] }>(`/v2/_catalog?n=2&last=${p}/b`)).body.repositories;
    expect(after).toEqual([`${p}/c`, `${p}/d`]);
  });

  it("n=0 -> 200 with an empty list; invalid n -> 400", async () => {
    const { body } = await getJson<{ repositories: string[] }>("/v2/_catalog?n=0");
    expect(body.repositories ?? []).toEqual([]);
    await h.expectError(await h.call("GET", "/v2/_catalog?n=-5"), 400);
    await h.expectError(await h.call("GET", "/v2/_catalog?n=ten"), 400);
  });
});
