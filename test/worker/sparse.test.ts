// ACCEPT_SPARSE_MANIFESTS: manifests whose blobs or child manifests are not in the repository are
// accepted when the setting is on, and refused (400 MANIFEST_BLOB_UNKNOWN) by default.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { registryFor } from "../../src/runtimes/workers/index";
import type { Env } from "../../src/runtimes/workers/env";
import * as h from "./helpers";

const { MT } = h;
let sparse: (request: Request) => Promise<Response>;
let pool: h.SeedPool;

beforeAll(async () => {
  sparse = await registryFor({ ...env, ACCEPT_SPARSE_MANIFESTS: "true" } as Env);
  pool = await h.seedPool("sparse-seed");
});

const call = (method: string, path: string, init: RequestInit = {}) => sparse(new Request(h.url(path), { ...init, method }));
const put = (repo: string, reference: string, doc: Record<string, unknown>) =>
  call("PUT", `/v2/${repo}/manifests/${reference}`, { body: JSON.stringify(doc), headers: { "Content-Type": doc.mediaType as string } });
const ghost = async (mediaType: string) => ({ mediaType, digest: await h.sha256(h.randomBytes(64)), size: 64 });

describe("ACCEPT_SPARSE_MANIFESTS=true", () => {
  it("an image with a layer that was never pushed -> 201; the manifest is served, the missing layer is 404", async () => {
    const repo = h.uniqueRepo("sparse");
    const image = await h.poolImage(pool, repo);
    const missing = await ghost(MT.ociLayer);
    const doc = { ...image, layers: [...(image.layers as unknown[]), missing] };
    const res = await put(repo, "v1", doc);
    expect(res.status, await res.text()).toBe(201);
    const got = await call("GET", `/v2/${repo}/manifests/v1`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(JSON.stringify(doc));
    await h.expectError(await call("GET", `/v2/${repo}/blobs/${missing.digest}`), 404, "BLOB_UNKNOWN");
  });

  it("an index with one pushed child and one that is not -> 201, tagged on push", async () => {
    const repo = h.uniqueRepo("sparse");
    const child = await h.pushManifest(repo, "child", await h.poolImage(pool, repo));
    const doc = {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [{ mediaType: MT.ociManifest, digest: child.digest, size: child.bytes.length }, await ghost(MT.ociManifest)],
    };
    const digest = await h.sha256(h.utf8(JSON.stringify(doc)));
    const res = await put(repo, `${digest}?tag=sparse-index`, doc);
    expect(res.status, await res.text()).toBe(201);
    expect(res.headers.get("OCI-Tag")).toBe("sparse-index");
    expect((await call("HEAD", `/v2/${repo}/manifests/sparse-index`)).status).toBe(200);
  });

  it("a config that was never pushed -> 201 (still a valid manifest: other checks stay)", async () => {
    const repo = h.uniqueRepo("sparse");
    const doc = { schemaVersion: 2, mediaType: MT.ociManifest, config: await ghost(MT.ociConfig), layers: [] };
    const res = await put(repo, "v1", doc);
    expect(res.status, await res.text()).toBe(201);
    await h.expectError(await put(repo, "v2", { ...doc, layers: [{ digest: "sha256:nothex" }] }), 400, "MANIFEST_INVALID");
  });
});

describe("by default (unset)", () => {
  it("the same sparse image and index are refused with 400 MANIFEST_BLOB_UNKNOWN", async () => {
    const repo = h.uniqueRepo("strict");
    const image = await h.poolImage(pool, repo);
    const missing = await ghost(MT.ociLayer);
    const [error] = await h.expectError(await h.putManifest(repo, "v1", { ...image, layers: [...(image.layers as unknown[]), missing] }), 400, "MANIFEST_BLOB_UNKNOWN");
    expect(error!.detail).toEqual({ digest: missing.digest });
    const index = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [await ghost(MT.ociManifest)] };
    await h.expectError(await h.putManifest(repo, "v2", index), 400, "MANIFEST_BLOB_UNKNOWN");
  });

  it("a value other than true/false is a configuration error naming the setting", async () => {
    await expect(registryFor({ ...env, ACCEPT_SPARSE_MANIFESTS: "yes" } as Env)).rejects.toThrow(/ACCEPT_SPARSE_MANIFESTS/);
  });
});
