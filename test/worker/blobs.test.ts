// GET / HEAD / DELETE /v2/<name>/blobs/<digest>, ranges, repository visibility and mounts.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as h from "./helpers";

async function pushed(size = 100, algorithm: "sha256" | "sha512" = "sha256") {
  const repo = h.uniqueRepo("blobs");
  const bytes = h.randomBytes(size);
  const digest = await h.pushBlob(repo, bytes, algorithm);
  return { repo, bytes, digest };
}

describe("blob GET / HEAD", () => {
  it("GET returns the bytes with Content-Length, Docker-Content-Digest, ETag and immutable caching", async () => {
    const { repo, bytes, digest } = await pushed(1000);
    const res = await h.call("GET", `/v2/${repo}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe("1000");
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("ETag")).toBe(`"${digest}"`);
    expect(res.headers.get("Cache-Control") ?? "").toMatch(/immutable/);
    expect(res.headers.get("Cache-Control") ?? "").toMatch(/max-age=\d+/);
    h.expectSameBytes(await h.bodyBytes(res), bytes);
  });

  it("HEAD returns the same headers and no body", async () => {
    const { repo, digest } = await pushed(1234);
    const res = await h.call("HEAD", `/v2/${repo}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe("1234");
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("ETag")).toBe(`"${digest}"`);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("a percent-encoded colon in the digest is accepted", async () => {
    const { repo, bytes, digest } = await pushed(10);
    const res = await h.call("GET", `/v2/${repo}/blobs/${digest.replace(":", "%3A")}`);
    expect(res.status).toBe(200);
    h.expectSameBytes(await h.bodyBytes(res), bytes);
  });

  it("an empty blob has Content-Length 0", async () => {
    const repo = h.uniqueRepo("blobs");
    const digest = await h.pushBlob(repo, new Uint8Array(0));
    expect(digest).toBe("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const res = await h.call("GET", `/v2/${repo}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Length")).toBe("0");
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it("a sha512 blob is served under its sha512 digest", async () => {
    const { repo, bytes, digest } = await pushed(300, "sha512");
    expect(digest).toMatch(/^sha512:[a-f0-9]{128}$/);
    const res = await h.call("GET", `/v2/${repo}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    h.expectSameBytes(await h.bodyBytes(res), bytes);
  });

  it("unknown blob: GET -> 404 BLOB_UNKNOWN, HEAD -> 404 without body", async () => {
    const repo = h.uniqueRepo("blobs");
    await h.pushBlob(repo, h.utf8("something so the repository exists"));
    const missing = await h.sha256(h.randomBytes(32));
    await h.expectError(await h.call("GET", `/v2/${repo}/blobs/${missing}`), 404, "BLOB_UNKNOWN");
    const head = await h.call("HEAD", `/v2/${repo}/blobs/${missing}`);
    expect(head.status).toBe(404);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it("unknown blob in an unknown repository -> 404", async () => {
    const missing = await h.sha256(h.randomBytes(32));
    const res = await h.call("GET", `/v2/${h.uniqueRepo("never")}/blobs/${missing}`);
    const errors = await h.expectError(res, 404);
    expect(["BLOB_UNKNOWN", "NAME_UNKNOWN"]).toContain(errors[0]!.code);
  });
});

describe("blob Range requests", () => {
  const size = 1000;
  async function ranged(range: string, method = "GET") {
    const { repo, bytes, digest } = await pushed(size);
    const res = await h.call(method, `/v2/${repo}/blobs/${digest}`, { headers: { Range: range } });
    return { res, bytes };
  }

  for (const [label, range, from, to] of [
    ["first bytes", "bytes=0-9", 0, 9],
    ["a middle slice", "bytes=100-199", 100, 199],
    ["a single byte", "bytes=500-500", 500, 500],
    ["the last byte", "bytes=999-999", 999, 999],
    ["a suffix (bytes=-N)", "bytes=-10", 990, 999],
    ["a suffix longer than the blob", "bytes=-5000", 0, 999],
    ["an open-ended range", "bytes=250-", 250, 999],
    ["an end past the blob (clamped)", "bytes=990-5000", 990, 999],
  ] as const) {
    it(`${label}: ${range} -> 206 with Content-Range`, async () => {
      const { res, bytes } = await ranged(range);
      expect(res.status).toBe(206);
      expect(res.headers.get("Content-Range")).toBe(`bytes ${from}-${to}/${size}`);
      expect(res.headers.get("Content-Length")).toBe(String(to - from + 1));
      h.expectSameBytes(await h.bodyBytes(res), bytes.subarray(from, to + 1));
    });
  }

  it("HEAD with a Range reports the partial length without a body", async () => {
    const { res } = await ranged("bytes=10-19", "HEAD");
    expect(res.status).toBe(206);
    expect(res.headers.get("Content-Range")).toBe(`bytes 10-19/${size}`);
    expect(res.headers.get("Content-Length")).toBe("10");
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  for (const range of ["bytes=1000-", "bytes=5000-6000", "bytes=-0"]) {
    it(`unsatisfiable ${range} -> 416 with Content-Range bytes */size`, async () => {
      const { res } = await ranged(range);
      expect(res.status).toBe(416);
      expect(res.headers.get("Content-Range")).toBe(`bytes */${size}`);
      await res.arrayBuffer();
    });
  }

  it("ranges over a multipart-assembled blob, across the part boundary and at its end", async () => {
    const repo = h.uniqueRepo("blobs");
    const bytes = h.randomBytes(h.PART + 4096);
    const { digest } = await h.chunkedUpload(repo, bytes, bytes.length);
    for (const [range, from, to] of [
      [`bytes=${h.PART - 10}-${h.PART + 9}`, h.PART - 10, h.PART + 9],
      ["bytes=-100", bytes.length - 100, bytes.length - 1],
      ["bytes=0-0", 0, 0],
      [`bytes=${h.PART}-`, h.PART, bytes.length - 1],
    ] as const) {
      const res = await h.call("GET", `/v2/${repo}/blobs/${digest}`, { headers: { Range: range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get("Content-Range")).toBe(`bytes ${from}-${to}/${bytes.length}`);
      h.expectSameBytes(await h.bodyBytes(res), bytes.subarray(from, to + 1), range);
    }
  });

  // RFC 9110 §14.1.1 / §14.2: an invalid byte-range-set may be ignored or rejected; we reject
  // last-pos < first-pos with 416 (what the OCI conformance suite expects). An unknown range unit
  // is ignored (full 200 response); a satisfiable multi-range request must not get 416.
  describe("Range headers that are ignored or rejected (RFC 9110)", () => {
    it("last-pos < first-pos (bytes=5-2) -> 416 with Content-Range bytes */size", async () => {
      const { res, bytes } = await ranged("bytes=5-2");
      expect(res.status).toBe(416);
      expect(res.headers.get("Content-Range")).toBe(`bytes */${bytes.length}`);
    });

    it("an unknown range unit (items=0-2) is ignored -> 200 full body", async () => {
      const { res, bytes } = await ranged("items=0-2");
      expect(res.status).toBe(200);
      h.expectSameBytes(await h.bodyBytes(res), bytes);
    });

    it("a satisfiable multi-range request is not answered with 416 (200 full body or 206)", async () => {
      const { res } = await ranged("bytes=0-1,3-4");
      await res.arrayBuffer();
      expect([200, 206]).toContain(res.status);
    });
  });
});

describe("blob visibility across repositories and mounts", () => {
  it("a blob pushed to repo A is not visible from repo B", async () => {
    const { digest } = await pushed(64);
    const b = h.uniqueRepo("other");
    await h.pushBlob(b, h.utf8("B exists"));
    await h.expectError(await h.call("GET", `/v2/${b}/blobs/${digest}`), 404, "BLOB_UNKNOWN");
    const head = await h.call("HEAD", `/v2/${b}/blobs/${digest}`);
    expect(head.status).toBe(404);
  });

  it("mount ?mount=&from= -> 201 with Location and Docker-Content-Digest; then visible in B", async () => {
    const { repo: a, bytes, digest } = await pushed(64);
    const b = h.uniqueRepo("other");
    const res = await h.call("POST", `/v2/${b}/blobs/uploads/?mount=${digest}&from=${a}`);
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("Location")).toMatch(new RegExp(`/v2/${b}/blobs/${digest}$`));
    h.expectSameBytes(await h.getBlobBytes(b, digest), bytes);
  });

  it("mount from a repository that does not hold the blob falls back to an upload session (202)", async () => {
    const { digest } = await pushed(64);
    const empty = h.uniqueRepo("empty");
    await h.pushBlob(empty, h.utf8("unrelated"));
    const b = h.uniqueRepo("other");
    const res = await h.call("POST", `/v2/${b}/blobs/uploads/?mount=${digest}&from=${empty}`);
    await res.arrayBuffer();
    expect(res.status).toBe(202);
    expect(res.headers.get("Location")).toMatch(new RegExp(`/v2/${b}/blobs/uploads/`));
    expect((await h.call("HEAD", `/v2/${b}/blobs/${digest}`)).status).toBe(404);
  });

  it("mount of an unknown digest falls back to an upload session (202)", async () => {
    const { repo: a } = await pushed(64);
    const missing = await h.sha256(h.randomBytes(16));
    const res = await h.call("POST", `/v2/${h.uniqueRepo("other")}/blobs/uploads/?mount=${missing}&from=${a}`);
    await res.arrayBuffer();
    expect(res.status).toBe(202);
  });

  // distribution-spec: "If a mount fails due to invalid repository or digest arguments, the
  // registry will fall back to the standard upload behavior and return a 202 Accepted".
  it("mount with an invalid from repository name falls back to 202", async () => {
    const { digest } = await pushed(64);
    const res = await h.call("POST", `/v2/${h.uniqueRepo("other")}/blobs/uploads/?mount=${digest}&from=NOT..valid`);
    await res.arrayBuffer();
    expect(res.status).toBe(202);
  });

  it("mount with a malformed digest argument falls back to 202 (spec), not 400", async () => {
    const { repo: a } = await pushed(64);
    const res = await h.call("POST", `/v2/${h.uniqueRepo("other")}/blobs/uploads/?mount=sha256:xyz&from=${a}`);
    await res.arrayBuffer();
    expect(res.status).toBe(202);
    expect(res.headers.get("Location")).toMatch(/\/blobs\/uploads\//);
  });
});

describe("repository links carry the blob's size and location", () => {
  it("uploads and mounts write them; GET and HEAD answer from the link", async () => {
    const repo = h.uniqueRepo("linkmeta");
    const small = h.randomBytes(1000);
    const large = h.randomBytes(h.PART + 1234); // assembled by multipart: the location is its data object
    for (const bytes of [small, large]) {
      const { digest } = await h.chunkedUpload(repo, bytes, 2 * h.MiB);
      const link = await env.BUCKET.head(`repositories/${repo}/_layers/sha256/${h.hexOf(digest)}`);
      expect(link?.customMetadata?.size).toBe(String(bytes.length));
      expect(link?.customMetadata?.location).toMatch(bytes === small ? /^blobs\/sha256\// : /^blob-data\//);
      h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
      const other = h.uniqueRepo("linkmeta-mount");
      await h.mountBlob(other, digest, repo);
      const mounted = await env.BUCKET.head(`repositories/${other}/_layers/sha256/${h.hexOf(digest)}`);
      expect(mounted?.customMetadata).toEqual(link?.customMetadata);
    }
  });

  it("a link without them (the earlier layout) still serves the blob", async () => {
    const repo = h.uniqueRepo("linkold");
    const bytes = h.randomBytes(3000);
    const digest = await h.pushBlob(repo, bytes);
    const old = h.uniqueRepo("linkold-bare");
    await env.BUCKET.put(`repositories/${old}/_layers/sha256/${h.hexOf(digest)}`, "");
    h.expectSameBytes(await h.getBlobBytes(old, digest), bytes);
    const head = await h.call("HEAD", `/v2/${old}/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(bytes.length));
  });
});

describe("blob DELETE", () => {
  it("DELETE -> 202, then GET/HEAD -> 404 BLOB_UNKNOWN, DELETE again -> 404", async () => {
    const { repo, digest } = await pushed(64);
    const del = await h.call("DELETE", `/v2/${repo}/blobs/${digest}`);
    await del.arrayBuffer();
    expect(del.status).toBe(202);
    await h.expectError(await h.call("GET", `/v2/${repo}/blobs/${digest}`), 404, "BLOB_UNKNOWN");
    expect((await h.call("HEAD", `/v2/${repo}/blobs/${digest}`)).status).toBe(404);
    await h.expectError(await h.call("DELETE", `/v2/${repo}/blobs/${digest}`), 404, "BLOB_UNKNOWN");
  });

  it("deleting from one repository leaves a mounted copy in another intact", async () => {
    const { repo: a, bytes, digest } = await pushed(64);
    const b = h.uniqueRepo("other");
    const m = await h.call("POST", `/v2/${b}/blobs/uploads/?mount=${digest}&from=${a}`);
    expect(m.status).toBe(201);
    expect((await h.call("DELETE", `/v2/${a}/blobs/${digest}`)).status).toBe(202);
    expect((await h.call("HEAD", `/v2/${a}/blobs/${digest}`)).status).toBe(404);
    h.expectSameBytes(await h.getBlobBytes(b, digest), bytes);
  });

  it("a deleted blob can be pushed again", async () => {
    const { repo, bytes, digest } = await pushed(64);
    expect((await h.call("DELETE", `/v2/${repo}/blobs/${digest}`)).status).toBe(202);
    expect(await h.pushBlob(repo, bytes)).toBe(digest);
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });

  it("DELETE of an unknown blob -> 404 BLOB_UNKNOWN", async () => {
    const { repo } = await pushed(8);
    await h.expectError(await h.call("DELETE", `/v2/${repo}/blobs/${await h.sha256(h.randomBytes(8))}`), 404, "BLOB_UNKNOWN");
  });
});
