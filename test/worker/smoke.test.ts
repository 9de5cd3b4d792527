// End-to-end smoke: the push/pull sequence a docker or oras client performs, in one test.
import { describe, expect, it } from "vitest";
import * as h from "./helpers";

describe("smoke", () => {
  it("pushes an image (chunked layer, monolithic config, manifest by tag) and pulls it back", async () => {
    const repo = h.uniqueRepo("smoke/app");
    const layer = h.randomBytes(300_000);
    const { digest: layerDigest } = await h.chunkedUpload(repo, layer, 100_000);
    const config = h.utf8(JSON.stringify({ architecture: "arm64", os: "linux" }));
    const configDigest = await h.pushBlob(repo, config);
    const manifest = {
      schemaVersion: 2,
      mediaType: h.MT.ociManifest,
      config: h.descriptor(h.MT.ociConfig, config, configDigest),
      layers: [h.descriptor(h.MT.ociLayer, layer, layerDigest)],
    };
    const { digest } = await h.pushManifest(repo, "v1", manifest);

    const head = await h.call("HEAD", `/v2/${repo}/manifests/v1`);
    expect(head.status).toBe(200);
    expect(head.headers.get("Docker-Content-Digest")).toBe(digest);

    const got = await h.call("GET", `/v2/${repo}/manifests/${digest}`);
    expect(got.status).toBe(200);
    const pulled = JSON.parse(await got.text());
    for (const d of [pulled.config, ...pulled.layers]) {
      const blob = await h.getBlobBytes(repo, d.digest);
      expect(blob.length).toBe(d.size);
      expect(await h.sha256(blob)).toBe(d.digest);
    }
  });
});
