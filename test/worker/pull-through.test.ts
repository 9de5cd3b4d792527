// The pull-through cache inside workerd: R2 storage and the BlobFlight Durable Object (one per
// blob digest) against a Docker-Hub-like upstream on loopback (test/pull-through/worker-upstream.ts:
// this registry, native, token mode; UPSTREAMS serves mirror/* from it, see vitest.config.ts).
import { env, listDurableObjectIds } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import * as h from "./helpers";

const upstream = inject("pullThroughUpstream");
const ACCEPT = { Accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" };

async function upstreamRequests(): Promise<{ method: string; path: string }[]> {
  const res = await fetch(`${upstream.url}/_test/requests`);
  return (await res.json()) as { method: string; path: string }[];
}

describe("pull-through cache on Workers", () => {
  it("fetches a manifest by tag from library/ through the token flow and stores it as an ordinary tag with upstream and cachedAt", async () => {
    const res = await h.call("GET", "/v2/mirror/app/manifests/1", { headers: ACCEPT });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(upstream.manifest);
    expect(await h.digestOf(await h.bodyBytes(res))).toBe(upstream.manifest);
    const tag = await env.BUCKET.head("repositories/mirror/app/_tags/1");
    expect(tag?.customMetadata?.digest).toBe(upstream.manifest);
    expect(tag?.customMetadata?.upstream).toBe(new URL(upstream.url).host);
    expect(Number(tag?.customMetadata?.cachedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await env.BUCKET.head("catalog/mirror/app")).not.toBeNull();
    const requests = await upstreamRequests();
    expect(requests.some((r) => r.path === "/v2/library/app/manifests/1")).toBe(true);
  });

  it("four concurrent pulls of a multipart-sized layer: one upstream fetch through one BlobFlight object, stored in R2 once", async () => {
    const { digest, size } = upstream.large;
    const before = (await upstreamRequests()).filter((r) => r.method === "GET" && r.path.endsWith(`/blobs/${digest}`)).length;
    const pulls = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const res = await h.call("GET", `/v2/mirror/app/blobs/${digest}`);
        const bytes = await h.bodyBytes(res);
        return { status: res.status, length: bytes.length, digest: await h.digestOf(bytes) };
      }),
    );
    for (const pull of pulls) expect(pull).toEqual({ status: 200, length: size, digest });
    const fetches = (await upstreamRequests()).filter((r) => r.method === "GET" && r.path.endsWith(`/blobs/${digest}`)).length;
    expect(fetches - before).toBe(1);

    // The flight ran in the digest's Durable Object.
    const flightId = env.BLOB_FLIGHTS.idFromName(digest);
    const ids = await listDurableObjectIds(env.BLOB_FLIGHTS);
    expect(ids.some((id) => id.equals(flightId))).toBe(true);

    // Stored as a pushed large blob is: a pointer to the multipart object, a link with size and location.
    const hex = digest.slice("sha256:".length);
    const pointer = await env.BUCKET.head(`blobs/sha256/${hex}`);
    expect(pointer?.customMetadata?.location).toMatch(/^blob-data\//);
    expect(Number(pointer?.customMetadata?.size)).toBe(size);
    const link = await env.BUCKET.head(`repositories/mirror/app/_layers/sha256/${hex}`);
    expect(Number(link?.customMetadata?.size)).toBe(size);
    // The in-progress record is gone once the blob is stored.
    expect((await env.BUCKET.list({ prefix: "uploads/" })).objects).toEqual([]);

    // From now on served from R2 without asking the upstream.
    const count = (await upstreamRequests()).length;
    const again = await h.call("GET", `/v2/mirror/app/blobs/${digest}`, { headers: { Range: "bytes=0-99" } });
    expect(again.status).toBe(206);
    expect((await h.bodyBytes(again)).length).toBe(100);
    expect((await upstreamRequests()).length).toBe(count);
  });

  it("a first client that gives up midway: the flight object stores the blob anyway, once", async () => {
    const { digest, size } = upstream.abandoned;
    const res = await h.call("GET", `/v2/mirror/app/blobs/${digest}`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const hex = digest.slice("sha256:".length);
    let stored = null;
    for (let i = 0; i < 100 && !stored; i++) {
      stored = await env.BUCKET.head(`repositories/mirror/app/_layers/sha256/${hex}`);
      if (!stored) await new Promise((r) => setTimeout(r, 100));
    }
    expect(Number(stored?.customMetadata?.size)).toBe(size);
    const again = await h.call("GET", `/v2/mirror/app/blobs/${digest}`);
    expect(await h.digestOf(await h.bodyBytes(again))).toBe(digest);
    const fetches = (await upstreamRequests()).filter((r) => r.method === "GET" && r.path.endsWith(`/blobs/${digest}`)).length;
    expect(fetches).toBe(1);
  });

  it("small blobs of the image come through too; a blob the upstream lacks is BLOB_UNKNOWN naming it", async () => {
    for (const { digest, size } of upstream.blobs) {
      const res = await h.call("GET", `/v2/mirror/app/blobs/${digest}`);
      expect(res.status).toBe(200);
      expect((await h.bodyBytes(res)).length).toBe(size);
    }
    const missing = await h.call("GET", `/v2/mirror/app/blobs/sha256:${"0".repeat(64)}`);
    const [error] = await h.expectError(missing, 404, "BLOB_UNKNOWN");
    expect(error!.message).toContain(new URL(upstream.url).host);
  });

  it("refuses pushes into mirror/* and leaves other repositories alone", async () => {
    await h.expectError(await h.call("POST", "/v2/mirror/app/blobs/uploads/"), 403, "DENIED");
    const repo = h.uniqueRepo("own");
    expect((await h.call("GET", `/v2/${repo}/manifests/latest`)).status).toBe(404);
  });
});
