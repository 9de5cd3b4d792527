// The request body limit (MAX_REQUEST_BODY_BYTES): what Cloudflare's edge refuses in production
// is refused locally too, with 413 in the error envelope, and the upload session is left as it was.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/runtimes/workers/index";
import type { Env } from "../../src/runtimes/workers/env";
import * as h from "./helpers";

const LIMIT = 1_000_000;
const limitedEnv = { ...env, MAX_REQUEST_BODY_BYTES: String(LIMIT) } as Env;

function limitedCall(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  return worker.fetch(new Request(h.url(path), { ...init, method }), limitedEnv);
}

/** A body without Content-Length, sent in pieces (like docker's chunked PATCH). */
function streamOf(bytes: Uint8Array, piece = 64 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

async function offsetOf(location: string): Promise<number> {
  const res = await limitedCall("GET", location);
  await res.arrayBuffer();
  expect(res.status).toBe(204);
  return h.parseRange(res.headers.get("Range"));
}

async function startLimited(repo: string): Promise<string> {
  const res = await limitedCall("POST", `/v2/${repo}/blobs/uploads/`);
  await res.arrayBuffer();
  expect(res.status).toBe(202);
  return res.headers.get("Location")!;
}

async function expectTooLarge(res: Response): Promise<void> {
  const [error] = await h.expectError(res, 413, "SIZE_INVALID");
  expect(error!.message).toContain(String(LIMIT));
  expect(error!.message).toMatch(/chunks/);
  expect(res.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
}

describe("request body limit", () => {
  it("POST advertises OCI-Chunk-Max-Length = the limit, and no maximum when there is no limit", async () => {
    const res = await limitedCall("POST", `/v2/${h.uniqueRepo("lim")}/blobs/uploads/`);
    await res.arrayBuffer();
    expect(res.headers.get("OCI-Chunk-Max-Length")).toBe(String(LIMIT));
    expect(res.headers.get("OCI-Chunk-Min-Length")).toBe("1");
    const { res: open } = await h.startUpload(h.uniqueRepo("lim"));
    expect(open.headers.get("OCI-Chunk-Max-Length")).toBeNull();
  });

  it("a PATCH whose Content-Length is over the limit -> 413 at once; the offset does not move", async () => {
    const location = await startLimited(h.uniqueRepo("lim"));
    const first = h.randomBytes(1000);
    const ok = await limitedCall("PATCH", location, { headers: { "Content-Range": "0-999" }, body: first });
    await ok.arrayBuffer();
    expect(ok.status).toBe(202);
    const big = h.randomBytes(LIMIT + 1);
    const headers = { "Content-Range": `1000-${1000 + LIMIT}`, "Content-Length": String(big.length) };
    await expectTooLarge(await limitedCall("PATCH", location, { headers, body: big }));
    expect(await offsetOf(location)).toBe(1000);
  });

  it("a PATCH of exactly the limit is accepted", async () => {
    const location = await startLimited(h.uniqueRepo("lim"));
    const res = await limitedCall("PATCH", location, { body: h.randomBytes(LIMIT) });
    await res.arrayBuffer();
    expect(res.status).toBe(202);
    expect(await offsetOf(location)).toBe(LIMIT);
  });

  it("a chunked PATCH (no Content-Length) that streams past the limit -> 413; the offset does not move", async () => {
    const location = await startLimited(h.uniqueRepo("lim"));
    const res = await limitedCall("PATCH", location, { body: streamOf(h.randomBytes(3 * LIMIT)), duplex: "half" } as RequestInit);
    await expectTooLarge(res);
    expect(await offsetOf(location)).toBe(0);
  });

  it("a chunked PATCH cut off after whole parts were cut leaves the offset; resending the chunks completes the blob", async () => {
    const bigEnv = { ...env, MAX_REQUEST_BODY_BYTES: String(12 * h.MiB) } as Env;
    const call = (method: string, path: string, init: RequestInit = {}) => worker.fetch(new Request(h.url(path), { ...init, method }), bigEnv);
    const repo = h.uniqueRepo("lim");
    const open = await call("POST", `/v2/${repo}/blobs/uploads/`);
    await open.arrayBuffer();
    const location = open.headers.get("Location")!;
    const bytes = h.randomBytes(20 * h.MiB);
    const first = await call("PATCH", location, { body: streamOf(bytes.subarray(0, 3 * h.MiB)), duplex: "half" } as RequestInit);
    await first.arrayBuffer();
    expect(first.status).toBe(202);
    const [error] = await h.expectError(await call("PATCH", location, { body: streamOf(bytes.subarray(3 * h.MiB), h.MiB), duplex: "half" } as RequestInit), 413, "SIZE_INVALID");
    expect(error!.message).toContain(String(12 * h.MiB));
    expect(await h.uploadOffset(location)).toBe(3 * h.MiB);
    for (const [from, to] of [[3, 14], [14, 20]] as const) {
      const res = await call("PATCH", location, { body: streamOf(bytes.subarray(from * h.MiB, to * h.MiB)), duplex: "half" } as RequestInit);
      await res.arrayBuffer();
      expect(res.status).toBe(202);
    }
    const digest = await h.sha256(bytes);
    const put = await call("PUT", h.withQuery(location, { digest }));
    expect(put.status, await put.text()).toBe(201);
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });

  it("a chunked PATCH within the limit is stored, and the upload completes", async () => {
    const repo = h.uniqueRepo("lim");
    const location = await startLimited(repo);
    const bytes = h.randomBytes(LIMIT - 10);
    const res = await limitedCall("PATCH", location, { body: streamOf(bytes), duplex: "half" } as RequestInit);
    await res.arrayBuffer();
    expect(res.status).toBe(202);
    const digest = await h.sha256(bytes);
    const put = await limitedCall("PUT", h.withQuery(location, { digest }));
    await put.arrayBuffer();
    expect(put.status).toBe(201);
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });

  it("a monolithic POST ?digest= over the limit -> 413 and nothing is published", async () => {
    const repo = h.uniqueRepo("lim");
    const bytes = h.randomBytes(LIMIT + 5);
    const digest = await h.sha256(bytes);
    const headers = { "Content-Length": String(bytes.length) };
    await expectTooLarge(await limitedCall("POST", `/v2/${repo}/blobs/uploads/?digest=${digest}`, { headers, body: bytes }));
    expect((await h.call("HEAD", `/v2/${repo}/blobs/${digest}`)).status).toBe(404);
  });
});

describe("a refused over-limit chunk leaves no multipart parts behind", () => {
  const bigEnv = { ...env, MAX_REQUEST_BODY_BYTES: String(12 * h.MiB) } as Env;
  const call = (method: string, path: string, init: RequestInit = {}) => worker.fetch(new Request(h.url(path), { ...init, method }), bigEnv);

  /** A body of `total` bytes without Content-Length that stops after `pauseAt` bytes until released. */
  function pausingStream(bytes: Uint8Array, pauseAt: number) {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (at >= bytes.length) return controller.close();
        if (at >= pauseAt) await released;
        controller.enqueue(bytes.slice(at, at + h.MiB));
        at += h.MiB;
      },
    });
    return { body, release };
  }

  async function waitFor<T>(read: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 200; i++) {
      const value = await read();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error("timed out");
  }

  it("first chunk of a session cut off after a part was uploaded -> 413; the multipart upload is aborted and forgotten; a resend completes", async () => {
    const repo = h.uniqueRepo("lim");
    const open = await call("POST", `/v2/${repo}/blobs/uploads/`);
    await open.arrayBuffer();
    const location = open.headers.get("Location")!;
    const uuid = open.headers.get("Docker-Upload-UUID")!;
    const bytes = h.randomBytes(20 * h.MiB);
    const { body, release } = pausingStream(bytes, 6 * h.MiB);
    const refused = call("PATCH", location, { body, duplex: "half" } as RequestInit);
    // Part 1 (5 MiB) is cut and uploaded while the body is still coming.
    const multipart = await waitFor(async () => {
      const state = await h.storedSession(uuid);
      return state?.multipartId ? { key: state.dataKey, id: state.multipartId } : undefined;
    });
    release();
    await h.expectError(await refused, 413, "SIZE_INVALID");
    await h.expectMultipartAborted(multipart.key, multipart.id);
    const state = await h.storedSession(uuid);
    expect(state?.multipartId).toBeUndefined();
    expect(state?.offset).toBe(0);

    for (const [from, to] of [[0, 12], [12, 20]] as const) {
      const res = await call("PATCH", location, { body: streamOf(bytes.subarray(from * h.MiB, to * h.MiB)), duplex: "half" } as RequestInit);
      await res.arrayBuffer();
      expect(res.status).toBe(202);
    }
    const digest = await h.sha256(bytes);
    const put = await call("PUT", h.withQuery(location, { digest }));
    expect(put.status, await put.text()).toBe(201);
    h.expectSameBytes(await h.getBlobBytes(repo, digest), bytes);
  });
});
