// Every runtime's serving layer (the native HTTP server, and on workerd the front of scripts/serve.mjs)
// against hostile and unlucky clients: malformed requests answered in the JSON envelope, answers the worker gives before reading a large
// body (with and without Content-Length) delivered at once, stalled bodies and unread responses
// that delay nobody; on workerd also: queued requests of vanished clients never forwarded, and
// bodyless requests that survive workerd closing its kept-alive connections.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, test } from "vitest";
import { RawConnection, envelope, sleep, type RawResponse } from "../native/raw";
import { Client, digestOf, expectStatus, openSession, randomBytes, uniqueRepo } from "./oci";
import { RUNTIME, useRegistry } from "./registry";

/** The workerd form queues bodies in its front (MAX_IN_FLIGHT); the native runtimes serve each at once. */
const FRONTED = RUNTIME === "workerd";

const LIMIT = 8_000_000;
const IDLE_MS = 3_000;
const RESPONSE_IDLE_MS = 8_000;
const registry = useRegistry({
  vars: { MAX_REQUEST_BODY_BYTES: String(LIMIT) },
  env: { HTTP_BODY_IDLE_TIMEOUT_MS: String(IDLE_MS), HTTP_RESPONSE_IDLE_TIMEOUT_MS: String(RESPONSE_IDLE_MS), HTTP_HEADERS_TIMEOUT_MS: String(IDLE_MS) },
});
const MiB = 1024 * 1024;
const port = () => Number(new URL(registry().url).port);
const client = () => new Client(registry().url);

async function connect(options: { pauseReading?: boolean } = {}): Promise<RawConnection> {
  const conn = new RawConnection(port(), options);
  await conn.ready();
  return conn;
}

/** The path of a fresh upload session. */
async function session(repo: string): Promise<string> {
  const { location } = await openSession(client(), repo);
  return location.pathname + location.search;
}

function chunk(b: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]);
}

/** Sends a PATCH head and pumps `total` body bytes while reading; returns the answer and when it came. */
async function earlyAnswer(head: string, total: number, chunked: boolean): Promise<{ answer: RawResponse; conn: RawConnection }> {
  const conn = await connect();
  conn.write(head);
  void conn.pump(total, 64 * 1024, chunked ? chunk : (b) => b);
  const answer = await conn.next(10_000);
  conn.end();
  return { answer, conn };
}

describe("malformed requests are answered by the front in the JSON envelope", () => {
  const cases: [string, number, string][] = [
    ["lowercase method", 501, "get /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["unknown method", 501, "FOO /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["TRACE", 405, "TRACE /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["lowercase method on /token", 501, "post /token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"],
    ["CL and TE", 400, "PATCH /v2/a/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
    ["duplicate Content-Length", 400, "PUT /v2/a/manifests/b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"],
    ["unknown transfer coding", 501, "PATCH /v2/a/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"],
    ["bad chunk framing", 400, "PATCH /v2/a/blobs/uploads/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n"],
    ["missing Host", 400, "GET /v2/ HTTP/1.1\r\n\r\n"],
    ["two Host fields", 400, "GET /v2/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
    ["invalid Host", 400, "GET /v2/ HTTP/1.1\r\nHost: a b\r\n\r\n"],
    ["GET *", 400, "GET * HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["obs-fold", 400, "GET /v2/ HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"],
    ["headers over the limit", 431, `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Pad: ${"p".repeat(70 * 1024)}\r\n\r\n`],
    ["overlong target", 414, `GET /v2/${"a".repeat(9000)}/tags/list HTTP/1.1\r\nHost: x\r\n\r\n`],
  ];
  test.each(cases)("%s → %i", async (_name, status, bytes) => {
    const conn = await connect();
    conn.write(bytes);
    const res = await conn.next();
    expect(res.status).toBe(status);
    expect(envelope(res).code).toBe("UNSUPPORTED");
    expect(res.headers.connection).toBe("close");
    expect((await conn.waitClosed()).how).toBe("end");
  });

  test("HTTP/1.0 without Host and absolute-form targets are served", async () => {
    const old = await connect();
    old.write("GET /v2/ HTTP/1.0\r\n\r\n");
    expect((await old.next()).status).toBe(200);
    const absolute = await connect();
    absolute.write(`GET http://127.0.0.1:${port()}/v2/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect((await absolute.next()).status).toBe(200);
    absolute.destroy();
  });
});

describe("answers before the body is read: the real status and JSON at once", () => {
  const repo = uniqueRepo("hostile");

  test.each([
    ["Content-Length", false],
    ["chunked", true],
  ])("a chunk at the wrong offset, %s body → 416", async (_name, chunked) => {
    const path = await session(repo);
    // Under the body limit: the worker refuses because of the offset, before reading.
    const size = 6 * MiB;
    const framing = chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${size}`;
    const { answer, conn } = await earlyAnswer(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Range: 1000-${1000 + size - 1}\r\nContent-Type: application/octet-stream\r\n${framing}\r\n\r\n`, size, chunked);
    expect(answer.status).toBe(416);
    expect(envelope(answer).code).toBe("BLOB_UPLOAD_INVALID");
    expect(answer.headers.location).toBeDefined();
    expect(answer.at).toBeLessThan(2_000);
    await conn.waitClosed();
  });

  test("over MAX_REQUEST_BODY_BYTES with a Content-Length → 413 every time (was 502 most times)", async () => {
    for (let i = 0; i < 10; i++) {
      const path = await session(repo);
      const { answer, conn } = await earlyAnswer(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${64 * MiB}\r\n\r\n`, 64 * MiB, false);
      expect(answer.status).toBe(413);
      expect(envelope(answer).code).toBe("SIZE_INVALID");
      expect(answer.at).toBeLessThan(2_000);
      await conn.waitClosed();
    }
  });

  test("Content-Length not matching Content-Range → 416 at once", async () => {
    const path = await session(repo);
    const { answer } = await earlyAnswer(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Range: 0-999\r\nContent-Type: application/octet-stream\r\nContent-Length: ${6 * MiB}\r\n\r\n`, 6 * MiB, false);
    expect(answer.status).toBe(416);
    expect(answer.at).toBeLessThan(2_000);
  });

  test("a busy session → 416 at once, while its first PATCH is still sending", async () => {
    const path = await session(repo);
    const first = await connect();
    first.write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${4 * MiB}\r\n\r\n`);
    first.write(Buffer.alloc(64 * 1024, 1));
    await sleep(300);
    const { answer } = await earlyAnswer(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${6 * MiB}\r\n\r\n`, 6 * MiB, false);
    expect(answer.status).toBe(416);
    expect(answer.at).toBeLessThan(2_000);
    first.destroy();
  });

  test("a client that sends its whole body before reading gets the answer when it is done (was after 65 s)", async () => {
    const path = await session(repo);
    const conn = await connect();
    conn.write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Range: 1000-${1000 + 6 * MiB - 1}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${6 * MiB}\r\n\r\n`);
    conn.socket.pause();
    const started = Date.now();
    await conn.pump(6 * MiB);
    const sentAt = Date.now() - started;
    conn.socket.resume();
    const answer = await conn.next(5_000);
    expect(answer.status).toBe(416);
    expect(Date.now() - started - sentAt).toBeLessThan(2_000);
  });
});

describe("stalled bodies and unread responses delay nobody", () => {
  const repo = uniqueRepo("stalls");

  test("16 stalled PATCHes and 16 unread blob GETs: GET /v2/ answers at once; the stalled sessions are released; a queued request whose client left is dropped", async () => {
    // A blob large enough that an unread GET fills every buffer on the way.
    const blob = randomBytes(24 * MiB);
    const digest = digestOf(blob);
    let location = await session(repo);
    for (let offset = 0; offset < blob.length; offset += 6 * MiB) {
      const piece = blob.subarray(offset, offset + 6 * MiB);
      const res = await client().patch(location, { body: piece, headers: { "Content-Type": "application/octet-stream", "Content-Range": `${offset}-${offset + piece.length - 1}` } });
      expectStatus(res, 202);
      location = res.location()!.pathname + res.location()!.search;
    }
    const put = await client().put(`${location}${location.includes("?") ? "&" : "?"}digest=${digest}`, { body: new Uint8Array(0) });
    expectStatus(put, 201);

    const stalledConns: RawConnection[] = [];
    const unreadConns: RawConnection[] = [];
    for (let i = 0; i < 16; i++) {
      const unread = await connect({ pauseReading: true });
      unread.write(`GET /v2/${repo}/blobs/${digest} HTTP/1.1\r\nHost: x\r\n\r\n`);
      unreadConns.push(unread);
    }
    // 16 GETs starting at once keep workerd itself (miniflare's R2 simulator) busy for a few
    // seconds, whatever the front does; measure once that is over and they just sit unread.
    for (let deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      const started = Date.now();
      expectStatus(await client().get("/v2/"), 200);
      if (Date.now() - started < 100) break;
    }
    const stalledSessions = await Promise.all(Array.from({ length: 16 }, () => session(repo)));
    const queuedSession = FRONTED ? await session(repo) : null;
    // All 16 stall within well under IDLE_MS, so that the 17th finds no free slot.
    for (const path of stalledSessions) {
      const stalled = await connect();
      stalled.write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${MiB}\r\n\r\n`);
      stalled.write(Buffer.alloc(1024, 2));
      stalledConns.push(stalled);
    }
    // On workerd the 17th body waits for a slot (16 in flight); its client leaves while it waits.
    if (queuedSession) {
      const queued = await connect();
      queued.write(`PATCH ${queuedSession} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Range: 0-9\r\nContent-Length: 10\r\n\r\n0123456789`);
      await sleep(200);
      queued.destroy();
    }

    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      expectStatus(await client().get("/v2/"), 200);
      times.push(Date.now() - started);
    }
    expect(Math.max(...times), `GET /v2/ times ${times.join(", ")} ms`).toBeLessThan(1_000);
    expect(times.sort((a, b) => a - b)[2], `GET /v2/ times ${times.join(", ")} ms`).toBeLessThan(300);

    // The front gives up on them after the idle timeouts: a stalled body gets 408, an unread
    // response is cut off (what the client then reads ends early); the sessions' locks are released.
    const answers = await Promise.all(stalledConns.map((conn) => conn.next(IDLE_MS * 3 + 5_000)));
    expect(answers.map((a) => a.status)).toEqual(Array(16).fill(408));
    await sleep(RESPONSE_IDLE_MS + 2_000);
    for (const conn of unreadConns) conn.resumeReading();
    await Promise.all(unreadConns.map((conn) => conn.waitClosed(10_000)));
    for (const conn of unreadConns) expect(conn.bytesReceived).toBeLessThan(blob.length);
    for (const path of stalledSessions.slice(0, 3)) {
      const status = await client().get(path);
      expectStatus(status, 204);
      // "0-0" for an empty session (the registry's convention; wholeChunk mode keeps none of a broken chunk).
      const offset = Number(status.headers.get("range")!.split("-")[1]) + 1 - (status.headers.get("range") === "0-0" ? 1 : 0);
      const patch = await client().patch(path, { body: Buffer.alloc(10, 3), headers: { "Content-Type": "application/octet-stream", "Content-Range": `${offset}-${offset + 9}` } });
      expectStatus(patch, 202);
    }
    // Never forwarded: nothing reached its session.
    if (queuedSession) {
      await sleep(500);
      const untouched = await client().get(queuedSession);
      expectStatus(untouched, 204);
      expect(untouched.headers.get("range")).toBe("0-0");
    }
  });
});

describe.runIf(FRONTED)("workerd's kept-alive connections", () => {
  test("bodyless requests around workerd's 5 s idle close never fail (was an intermittent 502)", async () => {
    // Each lane leaves an idle connection behind and comes back just as workerd closes such connections.
    const lanes = 24;
    const results = await Promise.all(
      Array.from({ length: lanes }, async (_, i) => {
        await sleep(i * 5);
        const first = await fetch(`${registry().url}/v2/`);
        await first.arrayBuffer();
        await sleep(4_985 + i * 1);
        const second = await fetch(`${registry().url}/v2/`);
        await second.arrayBuffer();
        return second.status;
      }),
    );
    expect(results.filter((s) => s !== 200)).toEqual([]);
  });
});

describe("token mode without AUTH_SERVICE / AUTH_TOKEN_REALM", () => {
  const signingKey = Buffer.from(JSON.stringify(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }))).toString("base64");
  const tokenRegistry = useRegistry({ vars: { AUTH_MODE: "token", AUTH_TOKEN_SIGNING_KEY: signingKey } });

  test("the challenge names the local server itself, whatever Host the request carries", async () => {
    const origin = new URL(tokenRegistry().url);
    const conn = new RawConnection(Number(origin.port));
    await conn.ready();
    conn.write("GET /v2/ HTTP/1.1\r\nHost: other-registry.example\r\n\r\n");
    const res = await conn.next();
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe(`Bearer realm="http://${origin.host}/token",service="${origin.host}"`);
    conn.destroy();
  });
});
