// PUT / GET / HEAD / DELETE /v2/<name>/manifests/<reference> for every manifest type clients push.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_TAGS_PER_PUT } from "../../src/routes/manifests";
import * as h from "./helpers";

const { MT } = h;
let pool: h.SeedPool;

beforeAll(async () => {
  pool = await h.seedPool("man-seed");
});

async function expectManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string, digest: string) {
  const res = await h.call("GET", `/v2/${repo}/manifests/${reference}`, { headers: { Accept: mediaType } });
  expect(res.status, `GET ${reference}`).toBe(200);
  expect(res.headers.get("Content-Type")).toBe(mediaType);
  expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
  expect(res.headers.get("Content-Length")).toBe(String(bytes.length));
  h.expectSameBytes(await h.bodyBytes(res), bytes, `manifest ${reference}`);

  const head = await h.call("HEAD", `/v2/${repo}/manifests/${reference}`, { headers: { Accept: mediaType } });
  expect(head.status, `HEAD ${reference}`).toBe(200);
  expect(head.headers.get("Content-Type")).toBe(mediaType);
  expect(head.headers.get("Docker-Content-Digest")).toBe(digest);
  expect(head.headers.get("Content-Length")).toBe(String(bytes.length));
  expect((await head.arrayBuffer()).byteLength).toBe(0);
}

describe("pushing and pulling each manifest type", () => {
  it("OCI image manifest by tag: 201 with Location and Docker-Content-Digest; GET/HEAD by tag and digest", async () => {
    const repo = h.uniqueRepo("man");
    const manifest = await h.poolImage(pool, repo, { layers: 2 });
    const bytes = h.utf8(JSON.stringify(manifest));
    const res = await h.putManifest(repo, "v1", bytes, MT.ociManifest);
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    const digest = await h.sha256(bytes);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(res.headers.get("Location")).toMatch(new RegExp(`/v2/${repo}/manifests/(${digest}|v1)$`));
    await expectManifest(repo, "v1", bytes, MT.ociManifest, digest);
    await expectManifest(repo, digest, bytes, MT.ociManifest, digest);
  });

  it("Docker schema2 manifest", async () => {
    const repo = h.uniqueRepo("man");
    const manifest = await h.poolImage(pool, repo, { docker: true, layers: 3 });
    const { digest, bytes } = await h.pushManifest(repo, "latest", manifest);
    await expectManifest(repo, "latest", bytes, MT.dockerManifest, digest);
    await expectManifest(repo, digest, bytes, MT.dockerManifest, digest);
  });

  it("Docker manifest list whose children are pushed by digest", async () => {
    const repo = h.uniqueRepo("man");
    const amd = await h.pushManifest(repo, "amd64", await h.poolImage(pool, repo, { docker: true, layers: 1 }));
    const armManifest = await h.poolImage(pool, repo, { docker: true, layers: 2 });
    const armBytes = h.utf8(JSON.stringify(armManifest));
    const arm = await h.pushManifest(repo, await h.sha256(armBytes), armBytes, MT.dockerManifest);
    const list = {
      schemaVersion: 2,
      mediaType: MT.dockerList,
      manifests: [
        { mediaType: MT.dockerManifest, digest: amd.digest, size: amd.bytes.length, platform: { architecture: "amd64", os: "linux" } },
        { mediaType: MT.dockerManifest, digest: arm.digest, size: arm.bytes.length, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
      ],
    };
    const { digest, bytes } = await h.pushManifest(repo, "multi", list);
    await expectManifest(repo, "multi", bytes, MT.dockerList, digest);
  });

  it("OCI image index with children", async () => {
    const repo = h.uniqueRepo("man");
    const a = await h.pushManifest(repo, "a", await h.poolImage(pool, repo));
    const b = await h.pushManifest(repo, "b", await h.poolImage(pool, repo));
    const index = {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [
        { mediaType: MT.ociManifest, digest: a.digest, size: a.bytes.length, platform: { architecture: "amd64", os: "linux" } },
        { mediaType: MT.ociManifest, digest: b.digest, size: b.bytes.length, platform: { architecture: "s390x", os: "linux" } },
      ],
      annotations: { "org.opencontainers.image.ref.name": "x" },
    };
    const { digest, bytes } = await h.pushManifest(repo, "index", index);
    await expectManifest(repo, "index", bytes, MT.ociIndex, digest);
    await expectManifest(repo, digest, bytes, MT.ociIndex, digest);
  });

  it("OCI artifact (image manifest with artifactType, empty config and subject) -> 201 with OCI-Subject", async () => {
    const repo = h.uniqueRepo("man");
    const subject = await h.pushManifest(repo, "image", await h.poolImage(pool, repo));
    await h.mountBlob(repo, h.EMPTY_JSON_DIGEST, pool.repo);
    const artifact = {
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      artifactType: "application/vnd.example.sbom.v1",
      config: { mediaType: MT.ociEmpty, digest: h.EMPTY_JSON_DIGEST, size: 2 },
      layers: [{ mediaType: MT.ociEmpty, digest: h.EMPTY_JSON_DIGEST, size: 2 }],
      subject: { mediaType: MT.ociManifest, digest: subject.digest, size: subject.bytes.length },
      annotations: { "org.example.kind": "sbom" },
    };
    const bytes = h.utf8(JSON.stringify(artifact));
    const res = await h.putManifest(repo, await h.sha256(bytes), bytes, MT.ociManifest);
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    expect(res.headers.get("OCI-Subject")).toBe(subject.digest);
    await expectManifest(repo, await h.sha256(bytes), bytes, MT.ociManifest, await h.sha256(bytes));
  });

  it("a manifest whose subject does not exist (yet) is accepted, with OCI-Subject", async () => {
    const repo = h.uniqueRepo("man");
    const missing = await h.sha256(h.randomBytes(20));
    const manifest = await h.poolImage(pool, repo, {
      extra: { artifactType: "application/vnd.example.sig", subject: { mediaType: MT.ociManifest, digest: missing, size: 123 } },
    });
    const res = await h.putManifest(repo, "sig", manifest);
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    expect(res.headers.get("OCI-Subject")).toBe(missing);
  });

  it("an OCI manifest without a mediaType field takes its type from Content-Type", async () => {
    const repo = h.uniqueRepo("man");
    const manifest = await h.poolImage(pool, repo);
    delete manifest.mediaType;
    const { digest, bytes } = await h.pushManifest(repo, "nomt", manifest, MT.ociManifest);
    await expectManifest(repo, digest, bytes, MT.ociManifest, digest);
  });
});

describe("exact bytes and content type", () => {
  it("unusual whitespace, key order, escapes and a trailing newline are kept byte for byte", async () => {
    const repo = h.uniqueRepo("man");
    const m = await h.poolImage(pool, repo);
    const config = m.config as { mediaType: string; digest: string; size: number };
    const layer = (m.layers as { mediaType: string; digest: string; size: number }[])[0]!;
    const text =
      `{\n\t"layers" :[ {"size":${layer.size},  "digest":"${layer.digest}","mediaType":"${layer.mediaType}"}],\r\n` +
      `  "annotations": {"k": "caf\\u00e9 \u00e9 \\/ \\n"},\n` +
      `    "config":{"digest":"${config.digest}","mediaType":"${config.mediaType}","size":${config.size}},` +
      `"schemaVersion":2 ,"mediaType":"${MT.ociManifest}"   }\n\n`;
    const bytes = h.utf8(text);
    const { digest } = await h.pushManifest(repo, "ws", bytes, MT.ociManifest);
    expect(digest).toBe(await h.sha256(bytes));
    await expectManifest(repo, "ws", bytes, MT.ociManifest, digest);
  });

  it("the media type is the one pushed (Docker list vs OCI index stay distinct)", async () => {
    const repo = h.uniqueRepo("man");
    const child = await h.pushManifest(repo, "child", await h.poolImage(pool, repo, { docker: true }));
    const entry = [{ mediaType: MT.dockerManifest, digest: child.digest, size: child.bytes.length }];
    const list = await h.pushManifest(repo, "list", { schemaVersion: 2, mediaType: MT.dockerList, manifests: entry });
    const index = await h.pushManifest(repo, "index", { schemaVersion: 2, mediaType: MT.ociIndex, manifests: entry });
    expect(list.digest).not.toBe(index.digest);
    expect((await h.call("HEAD", `/v2/${repo}/manifests/list`)).headers.get("Content-Type")).toBe(MT.dockerList);
    expect((await h.call("HEAD", `/v2/${repo}/manifests/index`)).headers.get("Content-Type")).toBe(MT.ociIndex);
  });
});

describe("tags keep a copy of the manifest", () => {
  it("GET by tag is served from the tag's copy: same bytes, type and digest as by digest", async () => {
    const repo = h.uniqueRepo("tagcopy");
    const manifest = await h.poolImage(pool, repo);
    const { digest, bytes } = await h.pushManifest(repo, "v1", manifest, MT.ociManifest);
    const stored = await env.BUCKET.get(`repositories/${repo}/_tags/v1`);
    expect(stored?.customMetadata).toMatchObject({ digest, mediaType: MT.ociManifest, size: String(bytes.length), inline: "1" });
    h.expectSameBytes(new Uint8Array(await stored!.arrayBuffer()), bytes, "tag copy");
    await expectManifest(repo, "v1", bytes, MT.ociManifest, digest);
    // Moving the tag replaces the copy.
    const other = await h.pushManifest(repo, "v1", await h.poolImage(pool, repo, { layers: 2 }), MT.ociManifest);
    await expectManifest(repo, "v1", other.bytes, MT.ociManifest, other.digest);
  });

  it("a tag stored without the copy (the earlier layout: its body is the digest) still serves the manifest", async () => {
    const repo = h.uniqueRepo("tagold");
    const { digest, bytes } = await h.pushManifest(repo, "v1", await h.poolImage(pool, repo), MT.ociManifest);
    await env.BUCKET.put(`repositories/${repo}/_tags/old`, digest, {
      customMetadata: { digest, mediaType: MT.ociManifest, size: String(bytes.length) },
    });
    await expectManifest(repo, "old", bytes, MT.ociManifest, digest);
    await h.expectError(await h.call("GET", `/v2/${repo}/manifests/missing`), 404, "MANIFEST_UNKNOWN");
  });
});

describe("PUT by digest", () => {
  it("a matching digest reference -> 201", async () => {
    const repo = h.uniqueRepo("man");
    const bytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    const digest = await h.sha256(bytes);
    const res = await h.putManifest(repo, digest, bytes, MT.ociManifest);
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    await expectManifest(repo, digest, bytes, MT.ociManifest, digest);
  });

  it("a digest that does not match the body -> 400 DIGEST_INVALID; nothing stored", async () => {
    const repo = h.uniqueRepo("man");
    const bytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    const wrong = await h.sha256(h.randomBytes(10));
    await h.expectError(await h.putManifest(repo, wrong, bytes, MT.ociManifest), 400, "DIGEST_INVALID");
    expect((await h.call("HEAD", `/v2/${repo}/manifests/${wrong}`)).status).toBe(404);
    expect((await h.call("HEAD", `/v2/${repo}/manifests/${await h.sha256(bytes)}`)).status).toBe(404);
  });

  it("sha512 reference: PUT by sha512 digest -> 201, served under the sha512 digest", async () => {
    const repo = h.uniqueRepo("man");
    const bytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    const digest = await h.sha512(bytes);
    const res = await h.putManifest(repo, digest, bytes, MT.ociManifest);
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    await expectManifest(repo, digest, bytes, MT.ociManifest, digest);
  });

  it("sha512 reference that does not match -> 400 DIGEST_INVALID", async () => {
    const repo = h.uniqueRepo("man");
    const bytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    await h.expectError(await h.putManifest(repo, await h.sha512(h.randomBytes(4)), bytes, MT.ociManifest), 400, "DIGEST_INVALID");
  });

  it("a manifest may reference a sha512 blob", async () => {
    const repo = h.uniqueRepo("man");
    await h.mountBlob(repo, pool.sha512Layer.digest, pool.repo);
    const manifest = await h.poolImage(pool, repo, {
      extra: { layers: [h.descriptor(MT.ociLayer, pool.sha512Layer.bytes, pool.sha512Layer.digest)] },
    });
    await h.pushManifest(repo, "sha512-layer", manifest);
  });
});

describe("references the registry checks", () => {
  it("missing config blob -> 400 MANIFEST_BLOB_UNKNOWN", async () => {
    const repo = h.uniqueRepo("man");
    const manifest = await h.poolImage(pool, repo);
    manifest.config = { mediaType: MT.ociConfig, digest: await h.sha256(h.randomBytes(9)), size: 9 };
    await h.expectError(await h.putManifest(repo, "x", manifest), 400, "MANIFEST_BLOB_UNKNOWN");
    expect((await h.call("HEAD", `/v2/${repo}/manifests/x`)).status).toBe(404);
  });

  it("missing layer -> 400 MANIFEST_BLOB_UNKNOWN", async () => {
    const repo = h.uniqueRepo("man");
    const manifest = await h.poolImage(pool, repo);
    (manifest.layers as unknown[]).push({ mediaType: MT.ociLayer, digest: await h.sha256(h.randomBytes(9)), size: 9 });
    await h.expectError(await h.putManifest(repo, "x", manifest), 400, "MANIFEST_BLOB_UNKNOWN");
  });

  it("blobs that exist only in another repository (not mounted) -> 400 MANIFEST_BLOB_UNKNOWN", async () => {
    const repo = h.uniqueRepo("man");
    const manifest = await h.poolImage(pool, repo, { mount: false });
    await h.expectError(await h.putManifest(repo, "x", manifest), 400, "MANIFEST_BLOB_UNKNOWN");
  });

  it("index whose child manifest is missing -> 400", async () => {
    const repo = h.uniqueRepo("man");
    const index = {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [{ mediaType: MT.ociManifest, digest: await h.sha256(h.randomBytes(10)), size: 10 }],
    };
    const errors = await h.expectError(await h.putManifest(repo, "idx", index), 400);
    expect(["MANIFEST_BLOB_UNKNOWN", "MANIFEST_UNKNOWN", "MANIFEST_INVALID"]).toContain(errors[0]!.code);
  });

  it("Docker list whose child exists only in another repository -> 400", async () => {
    const other = h.uniqueRepo("man");
    const child = await h.pushManifest(other, "c", await h.poolImage(pool, other, { docker: true }));
    const repo = h.uniqueRepo("man");
    const list = { schemaVersion: 2, mediaType: MT.dockerList, manifests: [{ mediaType: MT.dockerManifest, digest: child.digest, size: child.bytes.length }] };
    await h.expectError(await h.putManifest(repo, "l", list), 400);
  });

  it("non-distributable (OCI) and foreign (Docker) layers need not be present", async () => {
    const repo = h.uniqueRepo("man");
    const absent = await h.sha256(h.randomBytes(33));
    const oci = await h.poolImage(pool, repo, {
      extra: {
        layers: [
          { mediaType: MT.ociNonDistributable, digest: absent, size: 33, urls: ["https://example.com/layer"] },
          h.descriptor(MT.ociLayer, pool.layers[0]!.bytes, pool.layers[0]!.digest),
        ],
      },
    });
    await h.pushManifest(repo, "oci-nd", oci);
    const docker = await h.poolImage(pool, repo, {
      docker: true,
      extra: { layers: [{ mediaType: MT.dockerForeignLayer, digest: absent, size: 33, urls: ["https://example.com/layer"] }] },
    });
    await h.pushManifest(repo, "docker-foreign", docker);
  });
});

describe("invalid manifests", () => {
  for (const [label, body, contentType] of [
    ["not JSON", "{not json", MT.ociManifest],
    ["empty body", "", MT.ociManifest],
    ["a JSON array", "[]", MT.ociManifest],
    ["a JSON string", '"manifest"', MT.ociManifest],
    ["invalid UTF-8", "\xff\xfe{}", MT.ociManifest],
    ["schemaVersion 1", JSON.stringify({ schemaVersion: 1, mediaType: MT.ociManifest }), MT.ociManifest],
    ["no config", JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, layers: [] }), MT.ociManifest],
    ["layers not an array", JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: h.EMPTY_JSON_DIGEST, size: 2 }, layers: {} }), MT.ociManifest],
    ["a descriptor with a malformed digest", JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: "sha256:xyz", size: 2 }, layers: [] }), MT.ociManifest],
    ["an index without manifests", JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex }), MT.ociIndex],
  ] as const) {
    it(`${label} -> 400 MANIFEST_INVALID`, async () => {
      const repo = h.uniqueRepo("man");
      const bytes = label === "invalid UTF-8" ? new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]) : h.utf8(body);
      await h.expectError(await h.putManifest(repo, "bad", bytes, contentType), 400, "MANIFEST_INVALID");
      expect((await h.call("HEAD", `/v2/${repo}/manifests/bad`)).status).toBe(404);
    });
  }

  it("Content-Type that contradicts the manifest's mediaType -> 400 MANIFEST_INVALID", async () => {
    const repo = h.uniqueRepo("man");
    const manifest = await h.poolImage(pool, repo);
    await h.expectError(await h.putManifest(repo, "bad", h.utf8(JSON.stringify(manifest)), MT.dockerManifest), 400, "MANIFEST_INVALID");
  });
});

describe("manifest size limit", () => {
  async function sized(repo: string, size: number): Promise<Uint8Array> {
    const manifest = await h.poolImage(pool, repo);
    const base = JSON.stringify({ ...manifest, annotations: { pad: "" } });
    const pad = "p".repeat(size - h.utf8(base).length);
    const bytes = h.utf8(JSON.stringify({ ...manifest, annotations: { pad } }));
    expect(bytes.length).toBe(size);
    return bytes;
  }

  it("a manifest of exactly 4 MiB is accepted and read back intact", async () => {
    const repo = h.uniqueRepo("man");
    const bytes = await sized(repo, 4 * h.MiB);
    const { digest } = await h.pushManifest(repo, "big", bytes, MT.ociManifest);
    await expectManifest(repo, "big", bytes, MT.ociManifest, digest);
  });

  it("a manifest over 4 MiB -> 413 with an error envelope", async () => {
    const repo = h.uniqueRepo("man");
    const bytes = await sized(repo, 4 * h.MiB + 1);
    await h.expectError(await h.putManifest(repo, "huge", bytes, MT.ociManifest), 413);
    expect((await h.call("HEAD", `/v2/${repo}/manifests/huge`)).status).toBe(404);
  });
});

describe("tags moving and deleting", () => {
  it("re-pushing a tag moves it; the old manifest stays reachable by digest", async () => {
    const repo = h.uniqueRepo("man");
    const one = await h.pushManifest(repo, "t", await h.poolImage(pool, repo));
    const two = await h.pushManifest(repo, "t", await h.poolImage(pool, repo));
    expect((await h.call("HEAD", `/v2/${repo}/manifests/t`)).headers.get("Docker-Content-Digest")).toBe(two.digest);
    expect((await h.call("HEAD", `/v2/${repo}/manifests/${one.digest}`)).status).toBe(200);
  });

  it("DELETE by tag -> 202 and removes only the tag", async () => {
    const repo = h.uniqueRepo("man");
    const m = await h.pushManifest(repo, "a", await h.poolImage(pool, repo));
    await h.pushManifest(repo, "b", m.bytes, MT.ociManifest);
    const del = await h.call("DELETE", `/v2/${repo}/manifests/a`);
    await del.arrayBuffer();
    expect(del.status).toBe(202);
    await h.expectError(await h.call("GET", `/v2/${repo}/manifests/a`), 404, "MANIFEST_UNKNOWN");
    expect((await h.call("HEAD", `/v2/${repo}/manifests/b`)).status).toBe(200);
    await expectManifest(repo, m.digest, m.bytes, MT.ociManifest, m.digest);
    const tags = await (await h.call("GET", `/v2/${repo}/tags/list`)).json<{ tags: string[] }>();
    expect(tags.tags).toEqual(["b"]);
  });

  it("DELETE by digest -> 202; the manifest and every tag pointing at it are gone, other tags stay", async () => {
    const repo = h.uniqueRepo("man");
    const doomed = await h.pushManifest(repo, "one", await h.poolImage(pool, repo));
    await h.pushManifest(repo, "two", doomed.bytes, MT.ociManifest);
    const kept = await h.pushManifest(repo, "three", await h.poolImage(pool, repo));
    const del = await h.call("DELETE", `/v2/${repo}/manifests/${doomed.digest}`);
    await del.arrayBuffer();
    expect(del.status).toBe(202);
    await h.expectError(await h.call("GET", `/v2/${repo}/manifests/${doomed.digest}`), 404, "MANIFEST_UNKNOWN");
    await h.expectError(await h.call("GET", `/v2/${repo}/manifests/one`), 404, "MANIFEST_UNKNOWN");
    await h.expectError(await h.call("GET", `/v2/${repo}/manifests/two`), 404, "MANIFEST_UNKNOWN");
    expect((await h.call("HEAD", `/v2/${repo}/manifests/three`)).headers.get("Docker-Content-Digest")).toBe(kept.digest);
    const tags = await (await h.call("GET", `/v2/${repo}/tags/list`)).json<{ tags: string[] }>();
    expect(tags.tags).toEqual(["three"]);
    await h.expectError(await h.call("DELETE", `/v2/${repo}/manifests/${doomed.digest}`), 404, "MANIFEST_UNKNOWN");
  });

  it("a manifest deleted by digest and pushed again by digest does not bring its old tags back", async () => {
    const repo = h.uniqueRepo("man");
    const m = await h.pushManifest(repo, "old", await h.poolImage(pool, repo));
    expect((await h.call("DELETE", `/v2/${repo}/manifests/${m.digest}`)).status).toBe(202);
    await h.pushManifest(repo, m.digest, m.bytes, MT.ociManifest);
    expect((await h.call("HEAD", `/v2/${repo}/manifests/${m.digest}`)).status).toBe(200);
    expect((await h.call("HEAD", `/v2/${repo}/manifests/old`)).status).toBe(404);
  });

  it("deleting in one repository does not affect the same manifest in another", async () => {
    const a = h.uniqueRepo("man");
    const b = h.uniqueRepo("man");
    const manifest = await h.poolImage(pool, a);
    await h.poolImage(pool, b); // mounts the same blobs into b
    const pa = await h.pushManifest(a, "x", manifest);
    const pb = await h.pushManifest(b, "x", manifest);
    expect(pa.digest).toBe(pb.digest);
    expect((await h.call("DELETE", `/v2/${a}/manifests/${pa.digest}`)).status).toBe(202);
    await expectManifest(b, "x", pb.bytes, MT.ociManifest, pb.digest);
  });

  it("a manifest is not reachable through another repository", async () => {
    const a = h.uniqueRepo("man");
    const b = h.uniqueRepo("man");
    const m = await h.pushManifest(a, "x", await h.poolImage(pool, a));
    await h.pushManifest(b, "y", await h.poolImage(pool, b));
    await h.expectError(await h.call("GET", `/v2/${b}/manifests/${m.digest}`), 404, "MANIFEST_UNKNOWN");
    await h.expectError(await h.call("GET", `/v2/${b}/manifests/x`), 404, "MANIFEST_UNKNOWN");
  });
});

describe("unknown manifests", () => {
  it("GET/HEAD/DELETE of an unknown tag or digest -> 404 MANIFEST_UNKNOWN", async () => {
    const repo = h.uniqueRepo("man");
    await h.pushManifest(repo, "exists", await h.poolImage(pool, repo));
    const digest = await h.sha256(h.randomBytes(8));
    for (const ref of ["nope", digest]) {
      await h.expectError(await h.call("GET", `/v2/${repo}/manifests/${ref}`), 404, "MANIFEST_UNKNOWN");
      const head = await h.call("HEAD", `/v2/${repo}/manifests/${ref}`);
      expect(head.status).toBe(404);
      expect((await head.arrayBuffer()).byteLength).toBe(0);
      await h.expectError(await h.call("DELETE", `/v2/${repo}/manifests/${ref}`), 404, "MANIFEST_UNKNOWN");
    }
  });

  it("GET of a manifest in a repository that does not exist -> 404", async () => {
    const errors = await h.expectError(await h.call("GET", `/v2/${h.uniqueRepo("nothing")}/manifests/latest`), 404);
    expect(["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]).toContain(errors[0]!.code);
  });
});

describe("tags on push (?tag=, spec end-7b)", () => {
  it("PUT by digest with ?tag=a&tag=b -> 201 with one OCI-Tag per tag; both tags serve the manifest", async () => {
    const repo = h.uniqueRepo("tagp");
    const bytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    const digest = await h.sha256(bytes);
    const res = await h.call("PUT", `/v2/${repo}/manifests/${digest}?tag=a&tag=b&tag=a`, { body: bytes, headers: { "Content-Type": MT.ociManifest } });
    expect(res.status, await res.text()).toBe(201);
    expect(res.headers.get("OCI-Tag")).toBe("a, b");
    expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
    for (const tag of ["a", "b"]) await expectManifest(repo, tag, bytes, MT.ociManifest, digest);
    const list = await h.call("GET", `/v2/${repo}/tags/list`);
    expect(((await list.json()) as { tags: string[] }).tags).toEqual(["a", "b"]);
  });

  it("a sha512 manifest tagged on push", async () => {
    const repo = h.uniqueRepo("tagp");
    const bytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    const digest = await h.sha512(bytes);
    const res = await h.call("PUT", `/v2/${repo}/manifests/${digest}?tag=v1`, { body: bytes, headers: { "Content-Type": MT.ociManifest } });
    expect(res.status, await res.text()).toBe(201);
    expect(res.headers.get("OCI-Tag")).toBe("v1");
    await expectManifest(repo, "v1", bytes, MT.ociManifest, digest);
  });

  it.each([["-bad"], ["a".repeat(129)], ["has space"], [""]])("an invalid ?tag=%s -> 400 MANIFEST_INVALID; nothing stored, not even the valid tags", async (bad) => {
    const repo = h.uniqueRepo("tagp");
    const bytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    const digest = await h.sha256(bytes);
    const res = await h.call("PUT", `/v2/${repo}/manifests/${digest}?tag=good&tag=${encodeURIComponent(bad)}`, { body: bytes, headers: { "Content-Type": MT.ociManifest } });
    await h.expectError(res, 400, "MANIFEST_INVALID");
    await h.expectError(await h.call("GET", `/v2/${repo}/manifests/${digest}`), 404, "MANIFEST_UNKNOWN");
    await h.expectError(await h.call("GET", `/v2/${repo}/manifests/good`), 404, "MANIFEST_UNKNOWN");
  });

  it("more tag parameters than the limit -> 400 naming it", async () => {
    const repo = h.uniqueRepo("tagp");
    const bytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    const query = Array.from({ length: MAX_TAGS_PER_PUT + 1 }, (_, i) => `tag=t${i}`).join("&");
    const [error] = await h.expectError(await h.call("PUT", `/v2/${repo}/manifests/${await h.sha256(bytes)}?${query}`, { body: bytes, headers: { "Content-Type": MT.ociManifest } }), 400, "MANIFEST_INVALID");
    expect(error!.message).toContain(String(MAX_TAGS_PER_PUT));
  });

  it("PUT by tag still works, and may add ?tag= tags", async () => {
    const repo = h.uniqueRepo("tagp");
    const bytes = h.utf8(JSON.stringify(await h.poolImage(pool, repo)));
    const digest = await h.sha256(bytes);
    const plain = await h.putManifest(repo, "latest", bytes, MT.ociManifest);
    await plain.arrayBuffer();
    expect(plain.status).toBe(201);
    expect(plain.headers.get("OCI-Tag")).toBeNull();
    const res = await h.call("PUT", `/v2/${repo}/manifests/stable?tag=v2`, { body: bytes, headers: { "Content-Type": MT.ociManifest } });
    await res.arrayBuffer();
    expect(res.status).toBe(201);
    expect(res.headers.get("OCI-Tag")).toBe("v2");
    for (const tag of ["latest", "stable", "v2"]) await expectManifest(repo, tag, bytes, MT.ociManifest, digest);
  });
});
