// Input validation and the error envelope: names, digests, references, traversal attempts,
// unsupported methods, and "never a 500" for hostile input.
import { beforeAll, describe, expect, it } from "vitest";
import * as h from "./helpers";

const { MT } = h;
let pool: h.SeedPool;
/** One open upload session for the PUT ?digest= checks (digests are validated before the session is touched). */
let upload: { repo: string; location: string };
const SOME = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

beforeAll(async () => {
  pool = await h.seedPool("err-seed");
  const repo = h.uniqueRepo("err-up");
  upload = { repo, location: (await h.startUpload(repo)).location };
});

/** Every endpoint that takes a repository name, as [method, path-after-name]. */
const nameEndpoints: [string, string][] = [
  ["GET", "/tags/list"],
  ["GET", "/manifests/latest"],
  ["PUT", "/manifests/latest"],
  ["DELETE", "/manifests/latest"],
  ["GET", `/blobs/${SOME}`],
  ["DELETE", `/blobs/${SOME}`],
  ["POST", "/blobs/uploads/"],
  ["GET", `/referrers/${SOME}`],
];

describe("invalid repository names -> 400 NAME_INVALID", () => {
  const nested255 = Array.from({ length: 64 }, () => "abc").join("/").slice(0, 255);
  const invalid: [string, string][] = [
    ["uppercase", "Foo"],
    ["uppercase component", "foo/Bar"],
    ["'..' inside a component", "a..b"],
    ["leading '_'", "_foo"],
    ["component with leading '_'", "foo/_bar"],
    ["leading '-'", "-foo"],
    ["trailing '-'", "foo-"],
    ["trailing '.'", "foo."],
    ["trailing '/'", "foo/"],
    ["empty component", "foo//bar"],
    ["three underscores", "a___b"],
    ["encoded slash", "foo%2Fbar"],
    ["encoded dot-dot component", "foo/%2E%2E%2Fbar"],
    ["space", "fo%20o"],
    ["non-ASCII", "f%C3%B6o"],
    ["over 255 characters", "a".repeat(256)],
    ["nested, over 255 characters", `${"ab/".repeat(85)}abc`],
  ];
  for (const [label, name] of invalid) {
    it(`${label} (${name.length > 40 ? `${name.slice(0, 20)}... ${name.length} chars` : name})`, async () => {
      for (const [method, rest] of nameEndpoints) {
        const body = method === "PUT" ? JSON.stringify({ schemaVersion: 2 }) : undefined;
        const res = await h.call(method, `/v2/${name}${rest}`, body ? { body, headers: { "Content-Type": MT.ociManifest } } : {});
        const errors = await h.expectError(res, 400);
        expect(errors[0]!.code, `${method} ${rest}`).toBe("NAME_INVALID");
      }
    });
  }

  it("valid edge cases are accepted: 255 characters, nested, separators", async () => {
    expect(nested255.endsWith("/")).toBe(false);
    for (const name of ["a".repeat(255), nested255.replace(/\/$/, ""), "a.b_c__d--e/f-g/h0", "0/1/2"]) {
      const res = await h.call("POST", `/v2/${name}/blobs/uploads/`);
      await res.arrayBuffer();
      expect(res.status, name.slice(0, 40)).toBe(202);
    }
  });
});

describe("malformed digests -> 400 DIGEST_INVALID (never 404 or 500)", () => {
  const malformed = [
    "sha256:xyz",
    "md5:d41d8cd98f00b204e9800998ecf8427e",
    `sha256:${"a".repeat(63)}`,
    `sha256:${"a".repeat(65)}`,
    `sha256:${"A".repeat(64)}`,
    `sha256:${"g".repeat(64)}`,
    `sha512:${"a".repeat(64)}`,
    "sha256:",
    ":abc",
    `SHA256:${"a".repeat(64)}`,
    `sha256:${"a".repeat(32)}:${"a".repeat(31)}`,
  ];

  for (const d of malformed) {
    it(`${d.length > 30 ? `${d.slice(0, 16)}...(${d.length})` : d}`, async () => {
      const repo = h.uniqueRepo("err");
      const enc = encodeURIComponent(d).replace(/%3A/gi, ":");
      for (const [method, path] of [
        ["GET", `/v2/${repo}/blobs/${enc}`],
        ["DELETE", `/v2/${repo}/blobs/${enc}`],
        ["GET", `/v2/${repo}/manifests/${enc}`],
        ["DELETE", `/v2/${repo}/manifests/${enc}`],
        ["GET", `/v2/${repo}/referrers/${enc}`],
        ["POST", `/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(d)}`],
      ] as const) {
        await h.expectError(await h.call(method, path), 400, "DIGEST_INVALID");
      }
      const head = await h.call("HEAD", `/v2/${repo}/blobs/${enc}`);
      expect(head.status).toBe(400);
      expect((await head.arrayBuffer()).byteLength).toBe(0);

      const put = await h.putManifest(repo, enc, await h.poolImage(pool, repo, { mount: false }));
      await h.expectError(put, 400, "DIGEST_INVALID");

      await h.expectError(await h.finishUpload(upload.location, d), 400, "DIGEST_INVALID");
    });
  }

  it("a blob digest without an algorithm -> 400 DIGEST_INVALID", async () => {
    await h.expectError(await h.call("GET", `/v2/${h.uniqueRepo("err")}/blobs/${"a".repeat(64)}`), 400, "DIGEST_INVALID");
  });
});

describe("invalid tags", () => {
  for (const tag of ["-start", ".start", "t".repeat(129), "a%2Fb", "a%2F..%2F..%2Fx", "t%C3%A4g"]) {
    it(`tag ${tag.length > 30 ? `${tag.slice(0, 10)}...(${tag.length})` : tag} -> 400 on PUT, 4xx on GET`, async () => {
      const repo = h.uniqueRepo("err");
      const errors = await h.expectError(await h.putManifest(repo, tag, await h.poolImage(pool, repo)), 400);
      expect(["MANIFEST_INVALID", "TAG_INVALID", "NAME_INVALID"]).toContain(errors[0]!.code);
      const get = await h.call("GET", `/v2/${repo}/manifests/${tag}`);
      expect([400, 404]).toContain(get.status);
      await h.expectError(get, get.status);
    });
  }

  it("a 128-character tag is valid", async () => {
    const repo = h.uniqueRepo("err");
    await h.pushManifest(repo, `_${"T".repeat(127)}`, await h.poolImage(pool, repo));
  });
});

describe("path traversal cannot reach another repository's keys", () => {
  it("encoded slashes and dots in names, digests, tags, session ids and `last` never expose another repository", async () => {
    const victim = h.uniqueRepo("victim");
    const secret = h.utf8("victim secret bytes");
    const digest = await h.pushBlob(victim, secret);
    const manifest = await h.pushManifest(victim, "latest", await h.poolImage(pool, victim));
    const attacker = h.uniqueRepo("attacker");
    await h.pushBlob(attacker, h.utf8("attacker"));
    const hex = digest.slice(7);
    const attempts = [
      `/v2/${attacker}/..%2F${victim}/blobs/${digest}`,
      `/v2/${attacker}%2F..%2F${victim}/blobs/${digest}`,
      `/v2/${attacker}/%2e%2e%2f${victim}/blobs/${digest}`,
      `/v2/${attacker}/..%252F${victim}/blobs/${digest}`,
      `/v2/${attacker}/blobs/..%2F..%2F${victim}%2F_layers%2Fsha256%2F${hex}`,
      `/v2/${attacker}/blobs/sha256:..%2F..%2F..%2Fblobs%2Fsha256%2F${hex}`,
      `/v2/${attacker}/manifests/..%2F..%2F${victim}%2F_tags%2Flatest`,
      `/v2/${attacker}/manifests/${manifest.digest.replace(":", "%3A")}%2F..%2F..`,
      `/v2/${attacker}/blobs/uploads/..%2F..%2F${victim}`,
      `/v2/${attacker}/referrers/..%2F..%2F${victim}`,
      `/v2/${victim.replace(/-/g, "%2D")}x/blobs/${digest}`,
    ];
    for (const path of attempts) {
      const res = await h.call("GET", path);
      const body = await h.bodyBytes(res);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(new TextDecoder().decode(body)).not.toContain("victim secret");
    }
    // The manifest of the victim is not reachable through the attacker either.
    expect((await h.call("GET", `/v2/${attacker}/manifests/${manifest.digest}`)).status).toBe(404);
    // `last` is a position in the attacker's own list, never a path.
    const tags = await h.call("GET", `/v2/${attacker}/tags/list?last=..%2F..%2F${victim}%2F_tags%2F`);
    const text = await tags.text();
    expect(tags.status).toBe(200);
    expect(text).not.toContain("latest");
  });
});

describe("unsupported methods -> 405 UNSUPPORTED", () => {
  it("on the resource endpoints", async () => {
    const repo = h.uniqueRepo("err");
    const digest = await h.pushBlob(repo, h.utf8("x"));
    const { uuid } = await h.startUpload(repo);
    for (const [method, path] of [
      ["POST", `/v2/${repo}/blobs/${digest}`],
      ["PUT", `/v2/${repo}/blobs/${digest}`],
      ["PATCH", `/v2/${repo}/blobs/${digest}`],
      ["POST", `/v2/${repo}/manifests/latest`],
      ["PATCH", `/v2/${repo}/manifests/latest`],
      ["PUT", `/v2/${repo}/tags/list`],
      ["DELETE", `/v2/${repo}/tags/list`],
      ["POST", `/v2/${repo}/tags/list`],
      ["PUT", `/v2/${repo}/referrers/${digest}`],
      ["DELETE", `/v2/${repo}/referrers/${digest}`],
      ["GET", `/v2/${repo}/blobs/uploads/`],
      ["PUT", `/v2/${repo}/blobs/uploads/`],
      ["PATCH", `/v2/${repo}/blobs/uploads/`],
      ["DELETE", `/v2/${repo}/blobs/uploads/`],
      ["POST", `/v2/${repo}/blobs/uploads/${uuid}`],
    ] as const) {
      const errors = await h.expectError(await h.call(method, path), 405);
      expect(errors[0]!.code, `${method} ${path}`).toBe("UNSUPPORTED");
    }
  });

  it("on /v2/ and /v2/_catalog (POST, PUT, DELETE)", async () => {
    for (const path of ["/v2/", "/v2/_catalog"]) {
      for (const method of ["POST", "PUT", "DELETE"]) {
        const errors = await h.expectError(await h.call(method, path), 405);
        expect(errors[0]!.code, `${method} ${path}`).toBe("UNSUPPORTED");
      }
    }
  });
});

describe("every error is the JSON envelope, never a 500", () => {
  it("unknown endpoints -> 404 with the envelope", async () => {
    // "/" is the browse page unless BROWSE_PAGE=off (then this 404: test/worker/browse.test.ts).
    for (const path of ["/v2/foo/bar", "/v2/foo/blobs", "/v2/foo/manifests", "/v3/", "/v2/foo/tags", "/browse/nothing"]) {
      const res = await h.call("GET", path);
      await h.expectError(res, 404);
    }
  });

  it("hostile headers and query parameters", async () => {
    const repo = h.uniqueRepo("err");
    const digest = await h.pushBlob(repo, h.randomBytes(100));
    const { location } = await h.startUpload(repo);
    const requests: [string, string, RequestInit][] = [
      ["GET", `/v2/${repo}/blobs/${digest}`, { headers: { Range: "bytes=99999999999999999999999-" } }],
      ["GET", `/v2/${repo}/blobs/${digest}`, { headers: { Range: "bytes=--1" } }],
      ["GET", `/v2/${repo}/tags/list?n=999999999999999999999999999999`, {}],
      ["GET", `/v2/${repo}/tags/list?n=1&last=${"x".repeat(5000)}`, {}],
      ["GET", `/v2/_catalog?n=1&last=${"y".repeat(5000)}`, {}],
      ["GET", `/v2/_catalog?last=%FF%FE`, {}],
      ["PATCH", location, { headers: { "Content-Range": "0-99999999999999999999999" }, body: h.randomBytes(10) }],
      ["PATCH", location, { headers: { "Content-Range": "bytes */*" }, body: h.randomBytes(10) }],
      ["PUT", `${location}?digest=${"sha256:"}${"0".repeat(64)}&digest=x`, {}],
      ["POST", `/v2/${repo}/blobs/uploads/?mount=&from=`, {}],
      ["POST", `/v2/${repo}/blobs/uploads/?digest-algorithm=`, {}],
      ["GET", `/v2/${repo}/referrers/${digest}?artifactType=`, {}],
      ["GET", `/v2/${repo}/blobs/uploads/${"0".repeat(64)}`, {}],
    ];
    for (const [method, path, init] of requests) {
      const res = await h.call(method, path, init);
      expect(res.status, `${method} ${path.slice(0, 80)}`).toBeLessThan(500);
      if (res.status >= 400) await h.expectError(res, res.status);
      else await res.arrayBuffer();
    }
  });

  it("hostile manifest bodies -> 4xx with the envelope", async () => {
    const repo = h.uniqueRepo("err");
    const good = await h.poolImage(pool, repo);
    const cfg = good.config as Record<string, unknown>;
    const bodies: unknown[] = [
      "[".repeat(100_000) + "]".repeat(100_000),
      { ...good, config: { ...cfg, size: -1 } },
      { ...good, config: { ...cfg, size: "12" } },
      { ...good, config: { ...cfg, size: 1.5 } },
      { ...good, config: { ...cfg, digest: 42 } },
      { ...good, config: { ...cfg, mediaType: "" } },
      { ...good, config: null },
      { ...good, layers: [null] },
      { ...good, layers: ["sha256:abc"] },
      { ...good, subject: { mediaType: MT.ociManifest, digest: "sha256:nope", size: 1 } },
      { ...good, subject: "not a descriptor" },
      { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [null] },
      { schemaVersion: 2, mediaType: MT.ociIndex, manifests: "x" },
      { schemaVersion: 2, mediaType: "application/vnd.example.unknown+json" },
      { schemaVersion: "2", mediaType: MT.ociManifest },
    ];
    for (const body of bodies) {
      const bytes = typeof body === "string" ? h.utf8(body) : h.utf8(JSON.stringify(body));
      const res = await h.putManifest(repo, "hostile", bytes, typeof body === "object" && body && "mediaType" in body ? (body as { mediaType: string }).mediaType : MT.ociManifest);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBeGreaterThanOrEqual(400);
      await h.expectError(res, res.status);
    }
    // Odd but valid fields are accepted.
    await h.pushManifest(repo, "odd", { ...good, annotations: { a: "b" }, artifactType: "application/vnd.example+json", extra: { nested: [1, 2, 3] } });
  });
});
