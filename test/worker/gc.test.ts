// The storage lifecycle on Workers: R2's `uploaded` in ObjectInfo, the uploads/<id> record of a
// session's multipart upload, the collector over real local R2 and Durable Objects (known garbage
// freed exactly, dry run), the operator endpoint, and the Cron Trigger's scheduled handler in workerd.
import { SELF, createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { Collector } from "../../src/extensions/gc/collector";
import { collectGarbage, gcConfig } from "../../src/extensions/gc";
import worker from "../../src/runtimes/workers/index";
import { R2ObjectStore } from "../../src/runtimes/workers/r2";
import { durableUploadSessions } from "../../durable/upload-session";
import * as h from "./helpers";

const { MiB, PART, hexOf } = h;
const DAY = 86_400_000;

async function allKeys(): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await env.BUCKET.list({ cursor, limit: 1000 });
    out.push(...page.objects.map((o) => o.key));
    if (!page.truncated) return out.sort();
    cursor = page.cursor;
  }
}

/** The collector as it would run two days from now (R2 cannot backdate objects). */
function collectorTwoDaysLater(dryRun = false): Collector {
  const uploads = durableUploadSessions(env.UPLOADS);
  return new Collector(new R2ObjectStore(env.BUCKET), {
    graceMs: DAY,
    dryRun,
    now: () => Date.now() + 2 * DAY,
    sessionExists: async (id) => (await uploads.get(id)?.exists()) ?? false,
  });
}

// First in the file: it expects the bucket to hold only what it made (storage is per test file).
describe("the collector on R2", () => {
  it("frees exactly the known garbage (bucket listing before and after); the dry run changes nothing", async () => {
    const keep = h.uniqueRepo("keep");
    const gone = h.uniqueRepo("gone");
    const kept = await h.pushImage(keep, "v1");
    const dropped = await h.pushImage(gone, "v1", { layerCount: 2 });
    await h.drain(await h.call("DELETE", `/v2/${gone}/manifests/${dropped.digest}`));
    const big = h.randomBytes(PART + 5);
    const bigUpload = await h.chunkedUpload(gone, big, PART);
    const pointer = await env.BUCKET.head(`blobs/sha256/${hexOf(bigUpload.digest)}`);
    expect(pointer?.customMetadata?.location).toBe(`blob-data/${bigUpload.uuid}`);
    // An interrupted multipart upload whose session is gone, and a completed one nothing points to.
    const deadSession = env.UPLOADS.newUniqueId().toString();
    const unfinished = await env.BUCKET.createMultipartUpload(`blob-data/${deadSession}`);
    await unfinished.uploadPart(1, h.randomBytes(PART));
    await env.BUCKET.put(`uploads/${deadSession}`, "", { customMetadata: { key: `blob-data/${deadSession}`, multipartId: unfinished.uploadId, name: gone } });
    const strayId = env.UPLOADS.newUniqueId().toString();
    const stray = await env.BUCKET.createMultipartUpload(`blob-data/${strayId}`);
    await stray.complete([await stray.uploadPart(1, h.randomBytes(100))]);

    const expected = [
      ...[dropped.config.digest, ...dropped.layers.map((l) => l.digest), bigUpload.digest].map((d) => `repositories/${gone}/_layers/sha256/${hexOf(d)}`),
      ...[dropped.config.digest, ...dropped.layers.map((l) => l.digest), bigUpload.digest, dropped.digest].map((d) => `blobs/sha256/${hexOf(d)}`),
      `blob-data/${bigUpload.uuid}`,
      `blob-data/${strayId}`,
      `uploads/${deadSession}`,
      `catalog/${gone}`,
    ].sort();
    const before = await allKeys();
    for (const key of expected) expect(before).toContain(key);

    const dry = await collectorTwoDaysLater(true).run();
    expect(await allKeys()).toEqual(before);
    expect([...dry.keys].sort()).toEqual(expected);

    const report = await collectorTwoDaysLater().run();
    const after = await allKeys();
    expect(before.filter((k) => !after.includes(k))).toEqual(expected);
    expect(after.filter((k) => !before.includes(k))).toEqual([]);
    expect(report.removed).toEqual(dry.removed);
    expect(report.bytesFreed).toBeGreaterThan(PART);
    await h.expectMultipartAborted(`blob-data/${deadSession}`, unfinished.uploadId);

    const pulled = await h.call("GET", `/v2/${keep}/manifests/v1`, { headers: { Accept: h.MT.ociManifest } });
    h.expectSameBytes(await h.bodyBytes(pulled), kept.bytes, "manifest");
    for (const blob of [kept.config, ...kept.layers]) h.expectSameBytes(await h.getBlobBytes(keep, blob.digest), blob.bytes, blob.digest);
  });
});

describe("a collection split over invocations (GC_OPERATIONS_PER_RUN)", () => {
  it("stops when its budget is spent, leaves a cursor, goes on from it, and ends with exactly the garbage gone", async () => {
    const kept = [];
    const expected: string[] = [];
    for (let i = 0; i < 6; i++) {
      const keep = h.uniqueRepo(`pk${i}`);
      kept.push({ repo: keep, image: await h.pushImage(keep, "v1") });
      const gone = h.uniqueRepo(`pg${i}`);
      const image = await h.pushImage(gone, "v1");
      await h.drain(await h.call("DELETE", `/v2/${gone}/manifests/${image.digest}`));
      for (const d of [image.config.digest, ...image.layers.map((l) => l.digest)]) {
        expected.push(`repositories/${gone}/_layers/sha256/${hexOf(d)}`, `blobs/sha256/${hexOf(d)}`);
      }
      expected.push(`blobs/sha256/${hexOf(image.digest)}`, `catalog/${gone}`);
    }
    expected.sort();
    const before = await allKeys();
    const store = new R2ObjectStore(env.BUCKET);
    const config = { ...gcConfig({}), operationsPerRun: 50 };
    const later = () => Date.now() + 2 * DAY;
    let invocations = 0;
    let removed = 0;
    const phases = new Set<string>();
    for (;;) {
      // Pages of 10 keys and 3 operations: a few dozen objects make each phase take several invocations.
      const report = await collectGarbage(store, durableUploadSessions(env.UPLOADS), config, { now: later, pageSize: 10, budget: 3 });
      invocations += 1;
      removed += report.keys.length;
      if (report.complete) break;
      phases.add(report.cursor!.phase);
      const stored = JSON.parse(await (await env.BUCKET.get("gc/cursor"))!.text());
      expect(stored.cursor).toEqual(report.cursor);
      expect(stored.live.length, "what step 1 found linked travels with the cursor").toBeGreaterThan(0);
      // Consistent between invocations: every kept image pulls.
      for (const { repo, image } of kept) h.expectSameBytes(await h.getBlobBytes(repo, image.layers[0]!.digest), image.layers[0]!.bytes);
      expect(invocations).toBeLessThan(200);
    }
    expect(invocations).toBeGreaterThan(1);
    expect(phases.has("repositories") && phases.has("blobs"), [...phases].join()).toBe(true);
    expect(await env.BUCKET.head("gc/cursor")).toBeNull();
    const after = await allKeys();
    expect(before.filter((k) => !after.includes(k))).toEqual(expected);
    expect(removed).toBe(expected.length);
    for (const { repo, image } of kept) {
      const res = await h.call("GET", `/v2/${repo}/manifests/v1`, { headers: { Accept: h.MT.ociManifest } });
      h.expectSameBytes(await h.bodyBytes(res), image.bytes, repo);
    }
  });
});

describe("ObjectInfo.uploaded on R2", () => {
  it("head, get and list report when the object was written", async () => {
    const store = new R2ObjectStore(env.BUCKET);
    const before = Date.now();
    await store.put("time/a", "x", { v: "1" });
    const head = await store.head("time/a");
    expect(head!.uploaded).toBeGreaterThanOrEqual(before - 1000);
    expect(head!.uploaded).toBeLessThanOrEqual(Date.now() + 1000);
    const got = await store.get("time/a");
    expect(got!.uploaded).toBe(head!.uploaded);
    await got!.body.cancel();
    expect((await store.list("time/")).objects[0]!.uploaded).toBe(head!.uploaded);
    await store.delete("time/a");
  });
});

describe("uploads/<id>: the record of a session's multipart upload", () => {
  it("is written with the first part and removed when the upload completes or is cancelled", async () => {
    const repo = h.uniqueRepo("rec");
    for (const end of ["finish", "cancel"] as const) {
      const { location, uuid } = await h.startUpload(repo);
      const bytes = h.randomBytes(PART + 10);
      expect(await env.BUCKET.head(`uploads/${uuid}`)).toBeNull();
      await h.patchOk(location, bytes);
      const record = await env.BUCKET.head(`uploads/${uuid}`);
      expect(record?.customMetadata).toMatchObject({ key: `blob-data/${uuid}`, name: repo });
      expect(record?.customMetadata?.multipartId).toBeTruthy();
      if (end === "finish") {
        const res = await h.finishUpload(location, await h.sha256(bytes));
        expect(res.status).toBe(201);
      } else {
        await h.drain(await h.call("DELETE", location));
      }
      expect(await env.BUCKET.head(`uploads/${uuid}`), end).toBeNull();
    }
  });
});

describe("operator endpoint and schedule", () => {
  it("POST /v2/_registry/gc?dry-run=true reports, within the grace window nothing goes; bad requests get the error envelope", async () => {
    const repo = h.uniqueRepo("op");
    await h.pushBlob(repo, h.randomBytes(300));
    const before = await allKeys();
    const res = await h.call("POST", "/v2/_registry/gc?dry-run=true");
    expect(res.status).toBe(200);
    const report = (await res.json()) as { dryRun: boolean; removed: Record<string, number>; graceSeconds: number };
    expect(report.dryRun).toBe(true);
    expect(report.graceSeconds).toBe(86_400);
    expect(Object.values(report.removed).every((n) => n === 0)).toBe(true);
    expect(await allKeys()).toEqual(before);
    await h.expectError(await h.call("POST", "/v2/_registry/gc?dry-run=maybe"), 400, "UNSUPPORTED");
    await h.expectError(await h.call("POST", "/v2/_registry/gc?force=1"), 400, "UNSUPPORTED");
    await h.expectError(await h.call("GET", "/v2/_registry/gc"), 405, "UNSUPPORTED");
    await h.expectError(await h.call("DELETE", "/v2/_registry/usage"), 405, "UNSUPPORTED");
    const usage = await h.call("GET", "/v2/_registry/usage");
    expect(usage.status).toBe(200);
    const body = (await usage.json()) as { repositories: { name: string; bytes: number; blobs: number }[] };
    expect(body.repositories.find((r) => r.name === repo)).toMatchObject({ bytes: 300, blobs: 1, manifests: 0, tags: 0 });
    // "_registry" can never be a repository: a name component cannot begin with "_".
    await h.expectError(await h.call("GET", "/v2/_registry/manifests/latest"), 400, "NAME_INVALID");
  });

  it("the scheduled handler (Cron Trigger) runs a collection in workerd", async () => {
    const repo = h.uniqueRepo("cron");
    const loose = await h.pushBlob(repo, h.randomBytes(1234));
    expect(await env.BUCKET.head(`blobs/sha256/${hexOf(loose)}`)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 20)); // older than "now" at a grace of 0
    const ctx = createExecutionContext();
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    let calls: unknown[][];
    try {
      await worker.scheduled!(createScheduledController({ cron: "17 * * * *" }), { ...env, GC_GRACE_SECONDS: "0" } as never, ctx);
      await waitOnExecutionContext(ctx);
    } finally {
      calls = [...log.mock.calls];
      log.mockRestore();
    }
    expect(await env.BUCKET.head(`blobs/sha256/${hexOf(loose)}`)).toBeNull();
    expect(await env.BUCKET.head(`catalog/${repo}`)).toBeNull();
    // One JSON line, the same as the native runtimes' timer writes.
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(1);
    const line = JSON.parse(calls[0]![0] as string);
    expect(line).toMatchObject({ level: "info", msg: "gc: scheduled collection", restoredLinks: 0 });
    expect(Object.keys(line)).toEqual(["time", "level", "msg", "bytesFreed", "removed", "restoredLinks", "complete"]);
    expect(line.bytesFreed).toBeGreaterThan(0);
    expect(line.removed.blobs).toBeGreaterThan(0);
  });
});

void MiB;

describe("operator right", () => {
  it("only a caller holding admin on * may collect or read usage; * as actions is not admin", async () => {
    const { registryWith, userEntry, basic } = await import("./auth-helpers");
    const registry = await registryWith({
      AUTH_MODE: "basic",
      AUTH_USERS: JSON.stringify([
        await userEntry("root", "pw-root", ["pull", "admin"]),
        await userEntry("alice", "pw-alice", ["*"]),
        await userEntry("bob", "pw-bob", ["pull"]),
      ]),
      AUTH_RULES: JSON.stringify([{ repository: "team/*", users: ["bob"], actions: ["admin"] }]),
    });
    const call = (path: string, method: string, auth?: string) =>
      registry(new Request(h.BASE + path, { method, headers: auth ? { Authorization: auth } : {} }));
    for (const [path, method] of [["/v2/_registry/gc?dry-run=true", "POST"], ["/v2/_registry/usage", "GET"]] as const) {
      const anonymous = await call(path, method);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("WWW-Authenticate")).toMatch(/^Basic/);
      await h.expectError(await call(path, method, basic("alice", "pw-alice")), 403, "DENIED");
      await h.expectError(await call(path, method, basic("bob", "pw-bob")), 403, "DENIED");
      await h.expectError(await call(path, method, basic("root", "wrong")), 401, "UNAUTHORIZED");
      const ok = await call(path, method, basic("root", "pw-root"));
      expect(ok.status, path).toBe(200);
      await ok.arrayBuffer();
    }
  });
});

describe("operator right in token mode", () => {
  it("the token service grants registry:admin:* to operators only, and the challenge asks for it", async () => {
    const { Client, basic, bearer, keyPair, registryWith, userEntry } = await import("./auth-helpers");
    const signing = await keyPair("ES256");
    const anon = new Client(await registryWith({
      AUTH_MODE: "token",
      AUTH_TOKEN_SIGNING_KEY: JSON.stringify(signing.privateJwk),
      AUTH_SERVICE: "registry",
      AUTH_TOKEN_REALM: "http://registry/token",
      AUTH_USERS: JSON.stringify([await userEntry("root", "pw-root", ["pull", "admin"]), await userEntry("alice", "pw-alice", ["*"])]),
    }));
    const challenge = await anon.call("POST", "/v2/_registry/gc?dry-run=true");
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("WWW-Authenticate")).toContain('scope="registry:admin:*"');
    const token = async (user: string, password: string) => {
      const res = await anon.as(basic(user, password)).call("GET", "/token?service=registry&scope=registry:admin:*");
      expect(res.status).toBe(200);
      return ((await res.json()) as { token: string }).token;
    };
    const root = await token("root", "pw-root");
    const ok = await anon.as(bearer(root)).call("POST", "/v2/_registry/gc?dry-run=true");
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    await h.expectError(await anon.as(bearer(await token("alice", "pw-alice"))).call("POST", "/v2/_registry/gc?dry-run=true"), 403, "DENIED");
  });
});
