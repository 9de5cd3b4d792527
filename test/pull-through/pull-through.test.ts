// The pull-through cache on the native runtime against real upstreams on loopback: this registry
// in token mode shaped like Docker Hub, and Debian's reference registry.
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../../src/auth/passwords";
import { upstreamsFromSettings } from "../../src/extensions/pull-through";
import { createNativeRegistry } from "../../src/runtimes/native/registry";
import {
  PASSWORD,
  USER,
  image,
  index,
  sha256,
  startOurs,
  startReferenceUpstream,
  startTokenUpstream,
  tempDir,
  type PushableImage,
} from "./upstreams";

type TokenUpstream = Awaited<ReturnType<typeof startTokenUpstream>>;
type ReferenceUpstream = Awaited<ReturnType<typeof startReferenceUpstream>>;
type Ours = Awaited<ReturnType<typeof startOurs>>;

const MiB = 1024 * 1024;
const LARGE_LAYER = Number(process.env.PULL_THROUGH_LARGE_LAYER_BYTES ?? 48 * MiB);
const SECRET_FORMS = [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString("base64")];

let hub: TokenUpstream;
let reference: ReferenceUpstream;
let cache: Ours;
/** Every response the tests read, headers and body, to prove no upstream credential leaks. */
const seen: string[] = [];

async function get(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; bytes: Uint8Array; text: string }> {
  const response = await fetch(`${cache.url}${path}`, init);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder().decode(bytes.slice(0, 64 * 1024));
  seen.push(JSON.stringify([...response.headers]), text);
  return { status: response.status, headers: response.headers, bytes, text };
}

const ACCEPT = {
  Accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json",
};
const top = (img: PushableImage) => img.manifests.at(-1)!;
const layer = (bytes: number) => new Uint8Array(randomBytes(bytes));

beforeAll(async () => {
  [hub, reference] = await Promise.all([startTokenUpstream(), startReferenceUpstream()]);
  cache = await startOurs({
    AUTH_MODE: "open",
    HUB_PASSWORD: PASSWORD,
    UPSTREAMS: JSON.stringify([
      { prefix: "hub/", url: hub.url, library: true, username: USER, passwordSetting: "HUB_PASSWORD", tagCacheSeconds: 3600 },
      { prefix: "fresh/", url: hub.url, library: true, tagCacheSeconds: 0 },
      { prefix: "ref/", url: reference.url, tagCacheSeconds: 0 },
    ]),
  });
});

afterAll(async () => {
  await Promise.all([cache?.close(), hub?.close(), reference?.close()]);
  // No upstream credential in anything a client got back.
  for (const text of seen) for (const secret of SECRET_FORMS) expect(text).not.toContain(secret);
});

describe("pull through a Docker-Hub-like token upstream", () => {
  it("pulls a manifest by tag and by digest and its blobs from library/, then serves them locally", async () => {
    const img = image([layer(300_000), layer(5000)]);
    await hub.push("library/alpine", img, "3.20");
    const before = hub.requests.length;
    const counter = (name: string) => Number(new RegExp(`^registry_${name}_total (\\d+)$`, "m").exec(cache.registry.metrics.render())?.[1] ?? 0);
    const [hits0, misses0] = [counter("pull_through_hits"), counter("pull_through_misses")];

    const byTag = await get("/v2/hub/alpine/manifests/3.20", { headers: ACCEPT });
    expect(byTag.status, byTag.text).toBe(200);
    expect(Buffer.from(byTag.bytes).equals(Buffer.from(top(img).bytes))).toBe(true);
    expect(byTag.headers.get("Docker-Content-Digest")).toBe(top(img).digest);
    expect(byTag.headers.get("Content-Type")).toBe(top(img).mediaType);
    for (const [digest, bytes] of img.blobs) {
      const blob = await get(`/v2/hub/alpine/blobs/${digest}`);
      expect(blob.status, blob.text).toBe(200);
      expect(sha256(blob.bytes)).toBe(digest);
      expect(blob.bytes.length).toBe(bytes.length);
    }
    expect(hub.count("GET", /^\/v2\/library\/alpine\/manifests\/3\.20$/)).toBe(1);
    expect(hub.count("GET", /^\/v2\/library\/alpine\/blobs\//)).toBe(img.blobs.size);

    // Second time: all local (tag within its cache time, content by digest forever).
    const upstreamRequests = hub.requests.length;
    expect((await get("/v2/hub/alpine/manifests/3.20", { headers: ACCEPT })).status).toBe(200);
    const byDigest = await get(`/v2/hub/alpine/manifests/${top(img).digest}`, { headers: ACCEPT });
    expect(byDigest.status).toBe(200);
    expect(Buffer.from(byDigest.bytes).equals(Buffer.from(top(img).bytes))).toBe(true);
    for (const digest of img.blobs.keys()) expect((await get(`/v2/hub/alpine/blobs/${digest}`)).status).toBe(200);
    expect(hub.requests.length).toBe(upstreamRequests);
    expect(upstreamRequests).toBeGreaterThan(before);
    // Metrics: the first round fetched the manifest and each blob; the second was all hits.
    expect(counter("pull_through_misses") - misses0).toBe(1 + img.blobs.size);
    expect(counter("pull_through_hits") - hits0).toBe(2 + img.blobs.size);

    // Stored like pushed content: in the catalog and the tag list.
    expect(JSON.parse((await get("/v2/_catalog")).text).repositories).toContain("hub/alpine");
    expect(JSON.parse((await get("/v2/hub/alpine/tags/list")).text).tags).toEqual(["3.20"]);
  });

  it("keeps a multi-arch index an index; its platform manifests come by digest", async () => {
    const amd = image([layer(1000)], { architecture: "amd64", os: "linux" });
    const arm = image([layer(1000)], { architecture: "arm64", os: "linux" });
    const multi = index([{ image: amd, platform: { architecture: "amd64", os: "linux" } }, { image: arm, platform: { architecture: "arm64", os: "linux" } }]);
    await hub.push("library/multi", multi, "latest");
    const res = await get("/v2/hub/multi/manifests/latest", { headers: ACCEPT });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/vnd.oci.image.index.v1+json");
    expect(res.headers.get("Docker-Content-Digest")).toBe(top(multi).digest);
    for (const child of [amd, arm]) {
      const m = await get(`/v2/hub/multi/manifests/${top(child).digest}`, { headers: ACCEPT });
      expect(m.status, m.text).toBe(200);
      expect(sha256(m.bytes)).toBe(top(child).digest);
    }
  });

  it("follows the token flow at the realm on another host (service and scope from the challenge) and caches the token", async () => {
    const img = image([layer(2000), layer(3000), layer(4000)]);
    await hub.push("private/tool", img, "v1");
    const tokensBefore = hub.realm.count("GET", /^\/token\?/);
    const requestsBefore = hub.requests.length;
    expect((await get("/v2/hub/private/tool/manifests/v1", { headers: ACCEPT })).status).toBe(200);
    for (const digest of img.blobs.keys()) expect((await get(`/v2/hub/private/tool/blobs/${digest}`)).status).toBe(200);
    const tokenRequests = hub.realm.requests.filter((r) => r.path.startsWith("/token?")).slice(tokensBefore);
    // One token for the repository, used for the manifest and every blob.
    expect(tokenRequests.length).toBe(1);
    const asked = new URL(tokenRequests[0]!.path, "http://x").searchParams;
    expect(asked.get("service")).toBe("registry.upstream.test");
    expect(asked.get("scope")).toBe("repository:private/tool:pull");
    // The account goes to the realm (Basic), the registry sees only the token (Bearer).
    expect(tokenRequests[0]!.authorization).toMatch(/^Basic /);
    const toRegistry = hub.requests.slice(requestsBefore).filter((r) => r.path.startsWith("/v2/private/tool/") && r.authorization);
    expect(toRegistry.length).toBeGreaterThan(0);
    for (const r of toRegistry) expect(r.authorization).toMatch(/^Bearer /);
  });

  it("an upstream without the configured account is refused by the upstream: 403 DENIED naming it, not a 401", async () => {
    await hub.push("private/secret", image([layer(100)]), "v1");
    const res = await get("/v2/fresh/private/secret/manifests/v1", { headers: ACCEPT });
    expect(res.status).toBe(403);
    const error = JSON.parse(res.text).errors[0];
    expect(error.code).toBe("DENIED");
    expect(error.message).toContain(hub.host);
    expect(res.headers.get("WWW-Authenticate")).toBeNull();
  });

  it(`four concurrent pulls of one ${LARGE_LAYER / MiB} MiB layer: one upstream fetch, four whole copies, stored once`, async () => {
    const big = layer(LARGE_LAYER);
    const img = image([big]);
    const digest = sha256(big);
    await hub.push("library/big", img, "latest");
    expect((await get("/v2/hub/big/manifests/latest", { headers: ACCEPT })).status).toBe(200);
    const pulls = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const res = await fetch(`${cache.url}/v2/hub/big/blobs/${digest}`);
        const body = new Uint8Array(await res.arrayBuffer());
        return { status: res.status, digest: sha256(body), length: body.length };
      }),
    );
    for (const p of pulls) expect(p).toEqual({ status: 200, digest, length: LARGE_LAYER });
    expect(hub.count("GET", new RegExp(`^/v2/library/big/blobs/${digest}$`))).toBe(1);
    // Stored: served with the upstream gone quiet for this blob.
    hub.fault = (request) => (new URL(request.url).pathname.includes(digest) ? new Response("no", { status: 500 }) : null);
    try {
      const again = await fetch(`${cache.url}/v2/hub/big/blobs/${digest}`, { headers: { Range: "bytes=0-9" } });
      expect(again.status).toBe(206);
      expect(Buffer.from(await again.arrayBuffer()).equals(Buffer.from(big.subarray(0, 10)))).toBe(true);
    } finally {
      hub.fault = null;
    }
  });

  it("revalidates an expired tag with a HEAD: the same digest is kept, a moved tag is fetched anew", async () => {
    const first = image([layer(500)]);
    await hub.push("library/moving", first, "stable");
    expect((await get("/v2/fresh/moving/manifests/stable", { headers: ACCEPT })).headers.get("Docker-Content-Digest")).toBe(top(first).digest);
    const heads = hub.count("HEAD", /^\/v2\/library\/moving\/manifests\/stable$/);
    const gets = hub.count("GET", /^\/v2\/library\/moving\/manifests\/stable$/);
    expect((await get("/v2/fresh/moving/manifests/stable", { headers: ACCEPT })).headers.get("Docker-Content-Digest")).toBe(top(first).digest);
    expect(hub.count("HEAD", /^\/v2\/library\/moving\/manifests\/stable$/)).toBe(heads + 1);
    expect(hub.count("GET", /^\/v2\/library\/moving\/manifests\/stable$/)).toBe(gets);

    const second = image([layer(600)]);
    await hub.push("library/moving", second, "stable");
    const moved = await get("/v2/fresh/moving/manifests/stable", { headers: ACCEPT });
    expect(moved.headers.get("Docker-Content-Digest")).toBe(top(second).digest);
    expect(Buffer.from(moved.bytes).equals(Buffer.from(top(second).bytes))).toBe(true);
    expect(moved.headers.get("X-Pull-Through")).toBeNull();
  });

  it("maps upstream 401, 403, 404, 429 and 5xx to clear errors naming the upstream", async () => {
    const cases: [number, number, string][] = [
      [401, 403, "DENIED"],
      [403, 403, "DENIED"],
      [404, 404, "MANIFEST_UNKNOWN"],
      [429, 429, "TOOMANYREQUESTS"],
      [500, 502, "UNAVAILABLE"],
      [503, 502, "UNAVAILABLE"],
    ];
    for (const [upstreamStatus, status, code] of cases) {
      hub.fault = (request) => (new URL(request.url).pathname.startsWith("/v2/library/nowhere") ? new Response("{}", { status: upstreamStatus, headers: upstreamStatus === 429 ? { "Retry-After": "17" } : {} }) : null);
      const res = await get(`/v2/hub/nowhere/manifests/v${upstreamStatus}`, { headers: ACCEPT });
      expect(res.status, `upstream ${upstreamStatus}`).toBe(status);
      const error = JSON.parse(res.text).errors[0];
      expect(error.code).toBe(code);
      expect(error.message).toContain(`upstream ${hub.host}`);
      expect(error.detail).toEqual({ upstream: hub.host });
      if (upstreamStatus === 429) expect(res.headers.get("Retry-After")).toBe("17");
      const blob = await get(`/v2/hub/nowhere/blobs/sha256:${"a".repeat(64)}`);
      expect(blob.status).toBe(status === 404 ? 404 : status);
      if (status === 404) expect(JSON.parse(blob.text).errors[0].code).toBe("BLOB_UNKNOWN");
    }
    hub.fault = null;
    // Nothing was stored for any of them.
    expect(JSON.parse((await get("/v2/_catalog")).text).repositories).not.toContain("hub/nowhere");
  });

  it("hostile upstream answers: an oversized manifest, bytes that do not match the stated digest, a broken token service", async () => {
    const only = (prefix: string, answer: () => Response) => (request: Request) => (new URL(request.url).pathname.startsWith(prefix) ? answer() : null);
    hub.fault = only("/v2/library/huge/", () => new Response(new Uint8Array(5 * MiB), { headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } }));
    let res = await get("/v2/hub/huge/manifests/1", { headers: ACCEPT });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.text).errors[0].message).toMatch(/larger than/);

    const real = top(image([layer(10)]));
    hub.fault = only("/v2/library/liar/", () => new Response(real.bytes, { headers: { "Content-Type": real.mediaType, "Docker-Content-Digest": `sha256:${"b".repeat(64)}` } }));
    res = await get("/v2/hub/liar/manifests/1", { headers: ACCEPT });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.text).errors[0].code).toBe("DIGEST_INVALID");
    res = await get(`/v2/hub/liar/manifests/sha256:${"c".repeat(64)}`, { headers: ACCEPT });
    expect(res.status).toBe(502);
    hub.fault = null;

    hub.realm.fault = () => new Response("not json", { status: 200 });
    try {
      res = await get("/v2/hub/private/tokenless/manifests/1", { headers: ACCEPT });
      expect(res.status).toBe(502);
      expect(JSON.parse(res.text).errors[0].message).toContain("token service sent no token");
    } finally {
      hub.realm.fault = null;
    }
    const repositories = JSON.parse((await get("/v2/_catalog")).text).repositories as string[];
    for (const name of ["hub/huge", "hub/liar", "hub/private/tokenless"]) expect(repositories).not.toContain(name);
  });

  it("pulling through needs pull on the local repository: an anonymous caller of a registry with auth never reaches the upstream", async () => {
    const guarded = await startOurs({
      AUTH_MODE: "basic",
      AUTH_USERS: JSON.stringify([{ username: "reader", password: await hashPassword("r3ad", 1000), actions: ["pull"] }]),
      UPSTREAMS: JSON.stringify([{ url: hub.url, library: true }]),
    });
    try {
      const before = hub.requests.length;
      const anonymous = await fetch(`${guarded.url}/v2/alpine/manifests/3.20`, { headers: ACCEPT });
      await anonymous.arrayBuffer();
      expect(anonymous.status).toBe(401);
      expect(hub.requests.length).toBe(before);
      const reader = await fetch(`${guarded.url}/v2/alpine/manifests/3.20`, {
        headers: { ...ACCEPT, Authorization: `Basic ${Buffer.from("reader:r3ad").toString("base64")}` },
      });
      seen.push(await reader.text());
      expect(reader.status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it("an upstream body cut off midway: the client's copy is cut short, nothing is stored, the next pull fetches again", async () => {
    const bytes = layer(3 * MiB);
    const digest = sha256(bytes);
    await hub.push("library/flaky", image([bytes]), "1");
    let cut = true;
    hub.fault = (request) => {
      if (!cut || request.method !== "GET" || !new URL(request.url).pathname.endsWith(digest)) return null;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.subarray(0, 1 * MiB));
          setTimeout(() => controller.error(new Error("fault: connection lost")), 50);
        },
      });
      return new Response(body, { headers: { "Content-Length": String(bytes.length) } });
    };
    try {
      const first = await fetch(`${cache.url}/v2/hub/flaky/blobs/${digest}`).then(
        async (res) => (await res.arrayBuffer()).byteLength,
        () => -1,
      ).catch(() => -1);
      expect(first).not.toBe(bytes.length);
      const ranged = await get(`/v2/hub/flaky/blobs/${digest}`, { headers: { Range: "bytes=0-9" } });
      expect(ranged.status).toBe(502);
      expect(JSON.parse(ranged.text).errors[0].code).toBe("UNAVAILABLE");
    } finally {
      cut = false;
      hub.fault = null;
    }
    // No record of an upload in progress is left behind.
    const records = path.join(cache.dataDir, "objects", "uploads");
    expect(existsSync(records) ? readdirSync(records) : []).toEqual([]);
    const again = await get(`/v2/hub/flaky/blobs/${digest}`);
    expect(again.status).toBe(200);
    expect(sha256(again.bytes)).toBe(digest);
  });

  it("refuses pushes into repositories an upstream serves", async () => {
    const upload = await get("/v2/hub/alpine/blobs/uploads/", { method: "POST" });
    expect(upload.status).toBe(403);
    expect(JSON.parse(upload.text).errors[0].code).toBe("DENIED");
    const manifest = await get("/v2/hub/alpine/manifests/mine", {
      method: "PUT",
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      body: top(image([layer(10)])).bytes,
    });
    expect(manifest.status).toBe(403);
    // Repositories no upstream serves take pushes as ever.
    expect((await get("/v2/local/app/blobs/uploads/", { method: "POST" })).status).toBe(202);
  });
});

describe("pull through Debian's reference registry", () => {
  it("pulls by tag and digest without auth", async () => {
    const img = image([layer(70_000)]);
    await reference.push("team/app", img, "1.0");
    const res = await get("/v2/ref/team/app/manifests/1.0", { headers: ACCEPT });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("Docker-Content-Digest")).toBe(top(img).digest);
    for (const digest of img.blobs.keys()) {
      const blob = await get(`/v2/ref/team/app/blobs/${digest}`);
      expect(blob.status).toBe(200);
      expect(sha256(blob.bytes)).toBe(digest);
    }
  });

  it("refuses a tampered blob and stores nothing", async () => {
    const good = layer(200_000);
    const img = image([good]);
    const digest = sha256(good);
    await reference.push("team/tampered", img, "1.0");
    const evil = new Uint8Array(good);
    evil[1000] = evil[1000]! ^ 0xff;
    writeFileSync(reference.blobFile(digest), evil);

    const pull = async () => {
      try {
        const res = await fetch(`${cache.url}/v2/ref/team/tampered/blobs/${digest}`);
        const body = new Uint8Array(await res.arrayBuffer());
        return res.status === 200 && body.length === good.length && sha256(body) === digest ? "intact" : `refused ${res.status}`;
      } catch {
        return "cut short";
      }
    };
    const outcome = await pull();
    expect(outcome).not.toBe("intact");
    const fetches = reference.count("GET", new RegExp(`/blobs/${digest}$`));
    expect(fetches).toBe(1);
    // Not stored: a second pull goes upstream again (and is refused again).
    expect(await pull()).not.toBe("intact");
    expect(reference.count("GET", new RegExp(`/blobs/${digest}$`))).toBe(2);
    // A range needs the stored blob first: the refusal itself reaches the client.
    const refused = await get(`/v2/ref/team/tampered/blobs/${digest}`, { headers: { Range: "bytes=0-99" } });
    expect(refused.status).toBe(502);
    expect(JSON.parse(refused.text).errors[0].code).toBe("DIGEST_INVALID");
  });

  it("with the upstream down: cached digests and tags are served, tags marked stale; uncached ones fail naming it", async () => {
    const img = image([layer(40_000)]);
    await reference.push("team/offline", img, "2.0");
    expect((await get("/v2/ref/team/offline/manifests/2.0", { headers: ACCEPT })).status).toBe(200);
    for (const digest of img.blobs.keys()) expect((await get(`/v2/ref/team/offline/blobs/${digest}`)).status).toBe(200);

    await reference.stop();
    try {
      const tag = await get("/v2/ref/team/offline/manifests/2.0", { headers: ACCEPT });
      expect(tag.status).toBe(200);
      expect(tag.headers.get("X-Pull-Through")).toBe("stale");
      expect(tag.headers.get("Docker-Content-Digest")).toBe(top(img).digest);
      const byDigest = await get(`/v2/ref/team/offline/manifests/${top(img).digest}`, { headers: ACCEPT });
      expect(byDigest.status).toBe(200);
      for (const digest of img.blobs.keys()) {
        const blob = await get(`/v2/ref/team/offline/blobs/${digest}`);
        expect(blob.status).toBe(200);
        expect(sha256(blob.bytes)).toBe(digest);
      }
      const missing = await get("/v2/ref/team/never/manifests/1", { headers: ACCEPT });
      expect(missing.status).toBe(502);
      const error = JSON.parse(missing.text).errors[0];
      expect(error.code).toBe("UNAVAILABLE");
      expect(error.message).toContain(reference.host);
    } finally {
      await reference.start();
    }
  });

  it("a 429 while revalidating serves the cached tag, marked stale", async () => {
    const img = image([layer(1000)]);
    await reference.push("team/limited", img, "1");
    expect((await get("/v2/ref/team/limited/manifests/1", { headers: ACCEPT })).status).toBe(200);
    reference.fault = () => new Response("{}", { status: 429 });
    try {
      const res = await get("/v2/ref/team/limited/manifests/1", { headers: ACCEPT });
      expect(res.status).toBe(200);
      expect(res.headers.get("X-Pull-Through")).toBe("stale");
    } finally {
      reference.fault = null;
    }
  });
});

describe("settings", () => {
  it("the older registry's REGISTRIES_JSON works unchanged (every repository, username, password_env)", async () => {
    const img = image([layer(1234)]);
    await hub.push("private/walkthrough", img, "latest");
    const older = await startOurs({
      AUTH_MODE: "open",
      REGISTRY_TOKEN: PASSWORD,
      REGISTRIES_JSON: JSON.stringify([{ registry: hub.url, password_env: "REGISTRY_TOKEN", username: USER }]),
    });
    try {
      const res = await fetch(`${older.url}/v2/private/walkthrough/manifests/latest`, { headers: ACCEPT });
      const text = await res.text();
      seen.push(text);
      expect(res.status, text).toBe(200);
      expect(res.headers.get("Docker-Content-Digest")).toBe(top(img).digest);
      const blob = await fetch(`${older.url}/v2/private/walkthrough/blobs/${sha256(img.blobs.values().next().value!)}`);
      expect(blob.status).toBe(200);
      await blob.arrayBuffer();
    } finally {
      await older.close();
    }
  });

  it("refuses broken upstream settings at startup with a message naming the setting", async () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ UPSTREAMS: "{" }, /UPSTREAMS: is not valid JSON/],
      [{ UPSTREAMS: "{}" }, /UPSTREAMS: must be a JSON list/],
      [{ UPSTREAMS: '[{"prefix":"hub/"}]' }, /UPSTREAMS\[0\]: url is required/],
      [{ UPSTREAMS: '[{"url":"ftp://x"}]' }, /http or https/],
      [{ UPSTREAMS: '[{"url":"https://u:p@x"}]' }, /must not contain credentials/],
      [{ UPSTREAMS: '[{"url":"https://x","prefix":"Hub"}]' }, /prefix must be/],
      [{ UPSTREAMS: '[{"url":"https://x","username":"u","passwordSetting":"NOPE"}]' }, /NOPE it names is not set/],
      [{ UPSTREAMS: '[{"url":"https://x","colour":"red"}]' }, /unknown field "colour"/],
      [{ UPSTREAMS: '[{"url":"https://x"},{"url":"https://y"}]' }, /two upstreams serve the prefix ""/],
      [{ REGISTRIES_JSON: '[{"registry":"https://x","username":"u"}]' }, /REGISTRIES_JSON\[0\]: a username needs a password setting/],
    ];
    for (const [settings, message] of bad) {
      expect(() => upstreamsFromSettings(settings), JSON.stringify(settings)).toThrow(message);
      const dataDir = tempDir("bad");
      await expect(createNativeRegistry({ dataDir, settings: { AUTH_MODE: "open", ...settings } })).rejects.toThrow(message);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("Docker Hub's conventions: the registry host, library/ names, longest prefix first", () => {
    const [dockerHub] = upstreamsFromSettings({ REGISTRIES_JSON: '[{"registry":"https://registry.hub.docker.com"}]' });
    expect(dockerHub).toMatchObject({ url: "https://registry-1.docker.io", library: true, prefix: "" });
    const ordered = upstreamsFromSettings({ UPSTREAMS: '[{"url":"https://a"},{"url":"https://b","prefix":"b/"},{"url":"https://c","prefix":"b/c/"}]' });
    expect(ordered.map((u) => u.prefix)).toEqual(["b/c/", "b/", ""]);
  });
});
