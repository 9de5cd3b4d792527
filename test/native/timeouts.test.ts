// Slow, stalled, vanishing and impatient clients against the native HTTP server on Node, Bun and
// Deno: timeouts (short ones here), disconnects, answers given before the body was read, and
// none of it delaying anybody else.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RUNTIMES, useServers } from "./harness";
import { RawConnection, envelope, getJson, sleep } from "./raw";

const run = promisify(execFile);
const LIMIT_MS = 600;
const server = useServers("test/native/fixture-server.ts", {
  HTTP_HEADERS_TIMEOUT_MS: String(LIMIT_MS),
  HTTP_BODY_IDLE_TIMEOUT_MS: String(LIMIT_MS),
  HTTP_RESPONSE_IDLE_TIMEOUT_MS: String(LIMIT_MS),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: String(LIMIT_MS),
});
/** A deadline fires within LIMIT_MS plus the server's clock tick (LIMIT_MS / 5) plus scheduling slack. */
const LATE_MS = LIMIT_MS * 2 + 400;
const MiB = 1024 * 1024;

let tmp: string;
let file64: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "native-http-"));
  file64 = path.join(tmp, "64m.bin");
  await writeFile(file64, Buffer.alloc(64 * MiB, 7));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe.each(RUNTIMES)("%s", (runtime) => {
  const port = () => server(runtime).port;
  const url = (p: string) => `${server(runtime).url}${p}`;
  // On connections of their own: a kept-alive fetch connection could meet the short keep-alive timeout.
  const events = () => getJson<string[]>(port(), "/events");
  const waitForEvent = async (match: (e: string) => boolean, ms = 3_000) => {
    const seen: string[] = [];
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      seen.push(...(await events()));
      if (seen.some(match)) return seen;
      await sleep(50);
    }
    throw new Error(`event not seen; got ${JSON.stringify(seen)}`);
  };
  const connect = async (options: { pauseReading?: boolean } = {}) => {
    const conn = new RawConnection(port(), options);
    await conn.ready();
    return conn;
  };

  test("slowloris: a head not complete in time gets 408 and the connection closes; a silent connection just closes", async () => {
    const drip = await connect();
    const silent = await connect();
    const dripping = (async () => {
      for (const c of "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ") {
        if (drip.socket.destroyed) return;
        drip.write(c);
        await sleep(60);
      }
    })();
    const refused = await drip.next(LATE_MS);
    expect(refused.status).toBe(408);
    expect(envelope(refused).code).toBe("UNSUPPORTED");
    expect(refused.at).toBeGreaterThanOrEqual(LIMIT_MS - 50);
    await drip.waitClosed();
    await dripping;
    const closed = await silent.waitClosed(LATE_MS);
    expect(closed.at).toBeGreaterThanOrEqual(LIMIT_MS - 50);
    expect(silent.rest()).toBe("");
  });

  test("an idle kept-alive connection is closed after the keep-alive timeout", async () => {
    const conn = await connect();
    conn.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const first = await conn.next();
    const closed = await conn.waitClosed(LATE_MS + first.at);
    expect(closed.how).toBe("end");
    expect(closed.at - first.at).toBeGreaterThanOrEqual(LIMIT_MS - 50);
  });

  test("a stalled body fails the handler's read, aborts the signal, answers 408 and closes", async () => {
    for (const framing of ["Content-Length: 1000\r\n\r\n0123456789", "Transfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n"]) {
      const conn = await connect();
      conn.write(`PATCH /read-hold HTTP/1.1\r\nHost: x\r\n${framing}`);
      const answer = await conn.next(LATE_MS);
      expect(answer.status).toBe(408);
      expect(envelope(answer).message).toMatch(/stalled/);
      expect(answer.at).toBeGreaterThanOrEqual(LIMIT_MS - 50);
      await conn.waitClosed();
      const seen = await waitForEvent((e) => e.startsWith("read-hold signal aborted"));
      expect(seen.find((e) => e.startsWith("read-hold body error"))).toMatch(/stalled/);
      expect(seen).toContain("read-hold signal aborted: true");
    }
  });

  test("a handler that is slow to read is not the client's fault: no timeout while it processes", async () => {
    // The handler waits longer than the body idle timeout after each chunk it reads.
    const res = await fetch(url(`/count?delay=${LIMIT_MS + 400}`), { method: "PUT", body: Buffer.alloc(128 * 1024, 1) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { bytes: number }).bytes).toBe(128 * 1024);
  });

  test("a client that disconnects mid-body errors the body and aborts request.signal", async () => {
    const conn = await connect();
    conn.write("PATCH /read-hold HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789");
    await sleep(100);
    conn.destroy();
    const seen = await waitForEvent((e) => e.startsWith("read-hold signal aborted"), LIMIT_MS);
    expect(seen).toContain("read-hold signal aborted: true");
  });

  test("a client that disconnects while the handler works aborts request.signal", async () => {
    const conn = await connect();
    conn.write("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    await sleep(100);
    conn.destroy();
    await waitForEvent((e) => e === "hold aborted", LIMIT_MS);
  });

  test("a client that reads nothing of its response is dropped and the response body cancelled", async () => {
    const conn = await connect({ pauseReading: true });
    conn.write(`GET /huge?bytes=${512 * MiB} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const seen = await waitForEvent((e) => e.startsWith("huge cancelled"), 10_000);
    const sent = Number(seen.find((e) => e.startsWith("huge cancelled"))!.split(" ").at(-1));
    expect(sent).toBeLessThan(512 * MiB);
    conn.resumeReading();
    await conn.waitClosed();
  });

  test.each([
    ["Content-Length", (total: number) => `Content-Length: ${total}`, (b: Buffer) => b],
    ["chunked", () => "Transfer-Encoding: chunked", (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")])],
  ])("early answer to a large %s body: the real status and JSON at once, no reset", async (_name, framing, frame) => {
    const total = 256 * MiB;
    const conn = await connect();
    conn.write(`PATCH /early?status=413 HTTP/1.1\r\nHost: x\r\n${framing(total)}\r\n\r\n`);
    const pumping = conn.pump(total, 64 * 1024, frame);
    const answer = await conn.next(2_000);
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe("close");
    expect(envelope(answer).code).toBe("SIZE_INVALID");
    expect(answer.at).toBeLessThan(1_000);
    // The client stops sending once it has its answer.
    conn.end();
    await pumping;
    expect((await conn.waitClosed(LATE_MS)).how).toBe("end");
  });

  test("early answer whose body streams (chunked response) reaches the client whole", async () => {
    const conn = await connect();
    conn.write(`PUT /early-chunked HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * MiB}\r\n\r\n`);
    const pumping = conn.pump(64 * MiB);
    const answer = await conn.next(2_000);
    expect(answer.status).toBe(413);
    expect(answer.headers["transfer-encoding"]).toBe("chunked");
    expect(envelope(answer).message).toBe("refused");
    conn.end();
    await pumping;
  });

  test("early answer with fetch and with curl: the status, not a connection error", async () => {
    const res = await fetch(url("/early?status=401"), { method: "PUT", body: Buffer.alloc(32 * MiB, 1) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("SIZE_INVALID");
    const started = Date.now();
    const curl = await run("curl", ["-sS", "-o", "-", "-w", "\n%{http_code}", "--data-binary", `@${file64}`, url("/early?status=413")]);
    expect(curl.stdout.trim().split("\n").at(-1)).toBe("413");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test("16 stalled bodies, 16 unread responses and 16 slowloris heads delay nobody", async () => {
    const held: RawConnection[] = [];
    for (let i = 0; i < 16; i++) {
      const body = await connect();
      body.write("PATCH /read-hold HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc");
      const reader = await connect({ pauseReading: true });
      reader.write(`GET /huge?bytes=${64 * MiB} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const slow = await connect();
      slow.write("GET / HTTP/1.1\r\n");
      held.push(body, reader, slow);
    }
    await sleep(100);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      await getJson(port(), "/info");
      times.push(Date.now() - started);
      await sleep(50);
    }
    // Served at once, not after the held requests' timeouts (LIMIT_MS): the median, as others share the machine.
    expect(times.sort((a, b) => a - b)[2]).toBeLessThan(LIMIT_MS / 2);
    for (const conn of held) conn.destroy();
    await events();
  });
});
