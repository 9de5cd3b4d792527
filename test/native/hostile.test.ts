// Malformed and hostile request heads and bodies against the native HTTP server on Node, Bun and
// Deno: each gets the registry's JSON error envelope with the right status, then the connection
// closes (orderly, so the answer is read); request smuggling shapes never reach a handler.
import { describe, expect, test } from "vitest";
import { RUNTIMES, useServers } from "./harness";
import { RawConnection, envelope, send } from "./raw";

const MAX_HEADER_BYTES = 8192;
const server = useServers("test/native/fixture-server.ts", { HTTP_MAX_HEADER_BYTES: String(MAX_HEADER_BYTES) });

/** Requests that must be refused: [name, status, bytes]. */
const REFUSED: [string, number, string][] = [
  ["no version", 400, "GET /\r\nHost: x\r\n\r\n"],
  ["HTTP/0.9 style", 400, "GET /\r\n\r\n"],
  ["double space", 400, "GET  / HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["trailing space", 400, "GET / HTTP/1.1 \r\nHost: x\r\n\r\n"],
  ["garbage version", 400, "GET / HTTX/1.1\r\nHost: x\r\n\r\n"],
  ["unsupported version", 505, "GET / HTTP/1.2\r\nHost: x\r\n\r\n"],
  ["HTTP/2 preface", 505, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
  ["lowercase method", 501, "get / HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["mixed-case method", 501, "Post /count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"],
  ["unknown method", 501, "FOO / HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["CONNECT", 405, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"],
  ["TRACE", 405, "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["TRACK", 405, "TRACK / HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["method with bad bytes", 400, "G(T / HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["GET *", 400, "GET * HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["relative target", 400, "GET info HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["target with a fragment", 400, "GET /info#x HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["target with non-ASCII", 400, "GET /caf\xe9 HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["absolute-form with another scheme", 400, "GET ftp://x/info HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["absolute-form with userinfo", 400, "GET http://user@x/info HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["missing Host", 400, "GET / HTTP/1.1\r\n\r\n"],
  ["two Host fields", 400, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
  ["empty Host", 400, "GET / HTTP/1.1\r\nHost:\r\n\r\n"],
  ["Host with a space", 400, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"],
  ["Host with a path", 400, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"],
  ["Host with userinfo", 400, "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"],
  ["Host with a bad port", 400, "GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n"],
  ["Host with a bad IPv6 literal", 400, "GET / HTTP/1.1\r\nHost: [zz::1]\r\n\r\n"],
  ["obs-fold", 400, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"],
  ["space before colon", 400, "GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n"],
  ["header without colon", 400, "GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n"],
  ["NUL in a value", 400, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"],
  ["bare CR in a value", 400, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"],
  ["bare LF line ending", 400, "GET / HTTP/1.1\r\nHost: x\nX-A: a\r\n\r\n"],
  ["CL and TE", 400, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
  ["TE and CL", 400, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"],
  ["TE not ending in chunked", 400, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"],
  ["TE identity", 400, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n"],
  ["TE chunked twice", 400, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
  ["TE gzip, chunked", 501, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"],
  ["TE in HTTP/1.0", 400, "POST /count HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
  ["duplicate CL, same value", 400, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"],
  ["CL list", 400, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc"],
  ["CL negative", 400, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"],
  ["CL with a sign", 400, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc"],
  ["CL hexadecimal", 400, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc"],
  ["CL beyond 2^53", 400, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n"],
  ["GET with a body", 400, "GET /info HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"],
  ["Expect other than 100-continue", 417, "PUT /count HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: 200-ok\r\n\r\na"],
  ["bad chunk size", 400, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"],
  ["chunk size with a sign", 400, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n"],
  ["chunk longer than its size", 400, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"],
  ["chunk size line with bare LF", 400, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n"],
  ["chunk size overflow", 400, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nabc\r\n0\r\n\r\n"],
];

describe.each(RUNTIMES)("%s", (runtime) => {
  const port = () => server(runtime).port;

  test.each(REFUSED)("%s → %i in the envelope, then the connection closes", async (name, status, bytes) => {
    const { response, conn } = await send(port(), bytes);
    expect(response.status).toBe(status);
    const error = envelope(response);
    expect(error.code).toBe("UNSUPPORTED");
    expect(error.message.length).toBeGreaterThan(0);
    expect(response.headers.connection).toBe("close");
    if (status === 405 || (status === 501 && name.includes("method"))) expect(response.headers.allow).toContain("GET");
    expect((await conn.waitClosed()).how).toBe("end");
  });

  test("a request smuggled in a refused body never reaches a handler", async () => {
    const smuggled = "GET /early?status=299 HTTP/1.1\r\nHost: x\r\n\r\n";
    const { response, conn } = await send(
      port(),
      `POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    );
    expect(response.status).toBe(400);
    await conn.waitClosed();
    expect(conn.rest()).toBe("");
    const events = (await (await fetch(`${server(runtime).url}/events`)).json()) as string[];
    expect(events.filter((e) => e.includes("299"))).toEqual([]);
  });

  test("headers over the limit get 431, an overlong target 414", async () => {
    const padding = "X-Pad: " + "p".repeat(MAX_HEADER_BYTES) + "\r\n";
    const tooLarge = await send(port(), `GET / HTTP/1.1\r\nHost: x\r\n${padding}\r\n`);
    expect(tooLarge.response.status).toBe(431);
    expect(envelope(tooLarge.response).code).toBe("UNSUPPORTED");
    await tooLarge.conn.waitClosed();

    // Refused as soon as the limit is passed, without waiting for the end of the head.
    const endless = new RawConnection(port());
    await endless.ready();
    endless.write(`GET / HTTP/1.1\r\nHost: x\r\n${padding}`);
    expect((await endless.next()).status).toBe(431);

    const longTarget = await send(port(), `GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(longTarget.response.status).toBe(414);
    expect(envelope(longTarget.response).code).toBe("UNSUPPORTED");
    const endlessTarget = new RawConnection(port());
    await endlessTarget.ready();
    endlessTarget.write(`GET /${"a".repeat(9000)}`);
    expect((await endlessTarget.next()).status).toBe(414);
  });

  test("OPTIONS * is answered by the server itself", async () => {
    const { response, conn } = await send(port(), "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(response.status).toBe(204);
    expect(response.headers.allow).toBe("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    conn.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await conn.next()).body.toString()).toBe("ok");
    conn.destroy();
  });

  test("absolute-form target: its authority wins over Host (RFC 9112 3.2.2)", async () => {
    const { response, conn } = await send(port(), "GET http://registry.example:8080/info?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString()).url).toBe("http://registry.example:8080/info?q=1");
    conn.write("GET HTTP://Registry.Example HTTP/1.1\r\nHost: x\r\n\r\n");
    const bare = await conn.next();
    expect(bare.status).toBe(200);
    expect(bare.body.toString()).toBe("ok");
    conn.destroy();
  });

  test("obs-text in a header value passes through; leading empty lines are ignored", async () => {
    const { response, conn } = await send(port(), "\r\n\r\nGET /info HTTP/1.1\r\nHost: x\r\nX-Latin: caf\xe9\r\n\r\n");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString()).headers).toContainEqual(["x-latin", "café"]);
    conn.destroy();
  });

  test("a TLS ClientHello to a plain-HTTP port gets an HTTP/1.0 400 at once", async () => {
    const conn = new RawConnection(port());
    await conn.ready();
    // The first bytes of a TLS 1.2 ClientHello record.
    conn.write(Buffer.from("16030100a5010000a10303", "hex"));
    const response = await conn.next(1_000);
    expect(response.head).toMatch(/^HTTP\/1\.0 400 Bad Request\r\n/);
    expect(envelope(response).code).toBe("UNSUPPORTED");
    expect((await conn.waitClosed(1_000)).how).toBe("end");
  });
});
