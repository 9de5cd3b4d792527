// The native HTTP server speaking normal HTTP/1.1 on Node, Bun and Deno: keep-alive, pipelining,
// bodies both ways (Content-Length and chunked), HEAD/204/304, HTTP/1.0, 100-continue, with raw
// sockets, fetch and curl.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RUNTIMES, useServers } from "./harness";
import { RawConnection, envelope, send } from "./raw";

const run = promisify(execFile);
const server = useServers("test/native/fixture-server.ts");
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

let tmp: string;
let bigFile: string;
let big: Buffer;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "native-http-"));
  big = randomBytes(3 * 1024 * 1024 + 17);
  bigFile = path.join(tmp, "big.bin");
  await writeFile(bigFile, big);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe.each(RUNTIMES)("%s", (runtime) => {
  const port = () => server(runtime).port;
  const url = (p: string) => `${server(runtime).url}${p}`;

  test("fetch: GET answers with the handler's response, the peer address and the Host in the URL", async () => {
    const res = await fetch(url("/info?x=1"), { headers: { "X-Test": "a" } });
    expect(res.status).toBe(200);
    const info = (await res.json()) as { method: string; url: string; address: string; headers: [string, string][]; hasBody: boolean };
    expect(info.method).toBe("GET");
    expect(info.url).toBe(`http://127.0.0.1:${port()}/info?x=1`);
    expect(info.address).toBe("127.0.0.1");
    expect(info.hasBody).toBe(false);
    expect(info.headers).toContainEqual(["x-test", "a"]);
  });

  test("OCI-Tag goes out as one field line per tag; other repeated fields stay one joined line", async () => {
    const conn = new RawConnection(port());
    await conn.ready();
    conn.write(`GET /oci-tags HTTP/1.1\r\nHost: x\r\n\r\n`);
    const res = await conn.next();
    expect(res.status).toBe(201);
    const lines = res.head.split("\r\n").slice(1).map((l) => l.toLowerCase());
    expect(lines.filter((l) => l.startsWith("oci-tag:"))).toEqual(["oci-tag: v1", "oci-tag: latest"]);
    expect(lines.filter((l) => l.startsWith("x-joined:"))).toEqual(["x-joined: a, b"]);
    conn.destroy();
  });

  test("keep-alive: sequential requests share one connection; small bodies get a Content-Length", async () => {
    const conn = new RawConnection(port());
    await conn.ready();
    for (let i = 0; i < 3; i++) {
      conn.write(`GET / HTTP/1.1\r\nHost: x\r\n\r\n`);
      const res = await conn.next();
      expect(res.status).toBe(200);
      expect(res.headers["content-length"]).toBe("2");
      expect(res.headers.connection).toBeUndefined();
      expect(res.headers.date).toMatch(/GMT$/);
      expect(res.body.toString()).toBe("ok");
    }
    conn.destroy();
  });

  test("a head and body that arrive byte by byte", async () => {
    const conn = new RawConnection(port());
    await conn.ready();
    conn.socket.setNoDelay(true);
    for (const c of "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") {
      conn.write(c);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(JSON.parse((await conn.next()).body.toString()).bytes).toBe(3);
    conn.destroy();
  });

  test("pipelining: requests sent at once are answered in order", async () => {
    const conn = new RawConnection(port());
    await conn.ready();
    conn.write(
      "GET /info?n=1 HTTP/1.1\r\nHost: x\r\n\r\n" +
        "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
        "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
        "GET /info?n=4 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const a = await conn.next();
    const b = await conn.next();
    const c = await conn.next();
    const d = await conn.next();
    expect(JSON.parse(a.body.toString()).url).toMatch(/n=1$/);
    expect(JSON.parse(b.body.toString()).bytes).toBe(5);
    expect(JSON.parse(c.body.toString()).bytes).toBe(3);
    expect(JSON.parse(d.body.toString()).url).toMatch(/n=4$/);
    conn.destroy();
  });

  test("chunked request body with extensions and trailers", async () => {
    const { response, conn } = await send(
      port(),
      "PATCH /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "4;name=value\r\nWiki\r\n5 ; x\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n",
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString())).toEqual({ bytes: 23, sha256: sha256(Buffer.from("Wikipedia in\r\n\r\nchunks.")) });
    conn.destroy();
  });

  test("fetch: a 3 MiB body streams through the handler and back (echo), bytes intact", async () => {
    const res = await fetch(url("/echo"), { method: "PUT", body: big });
    expect(res.status).toBe(200);
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(big));
  });

  test("responses: chunked when the length is unknown, Content-Length when declared, streamed", async () => {
    const { response: chunked, conn } = await send(port(), "GET /huge?bytes=300000 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(chunked.headers["transfer-encoding"]).toBe("chunked");
    expect(chunked.body.length).toBe(300_000);
    conn.write("GET /huge?bytes=300000&cl=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    const fixed = await conn.next();
    expect(fixed.headers["content-length"]).toBe("300000");
    expect(fixed.headers["transfer-encoding"]).toBeUndefined();
    expect(fixed.body.length).toBe(300_000);
    expect(fixed.body[1000]).toBe(1000 % 251);
    conn.destroy();
  });

  test("a body that is there at once gets a Content-Length (up to 64 KiB gathered; Node and Deno hand a buffer body over whole)", async () => {
    const { response, conn } = await send(port(), "GET /blob?bytes=60000 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(response.headers["content-length"]).toBe("60000");
    expect(response.body.length).toBe(60_000);
    conn.write("GET /blob?bytes=3000000 HTTP/1.1\r\nHost: x\r\n\r\n");
    const large = await conn.next();
    expect(large.body.length).toBe(3_000_000);
    // Bun's Response hands a large buffer over in pieces, so it goes out chunked there.
    if (runtime !== "bun") expect(large.headers["content-length"]).toBe("3000000");
    conn.destroy();
  });

  test("a body that does not match its Content-Length ends the connection (the client cannot take it as complete)", async () => {
    const { response, conn } = await send(port(), "GET /long HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(response.body.length).toBe(5);
    await conn.waitClosed();
    const short = new RawConnection(port());
    await short.ready();
    short.write("GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
    await short.waitClosed();
    await expect(short.next(100)).rejects.toThrow(/without a \(complete\) response/);
  });

  test("HEAD, 204 and 304 carry no body; HEAD keeps the handler's Content-Length", async () => {
    const conn = new RawConnection(port());
    await conn.ready();
    conn.write("HEAD /head-length HTTP/1.1\r\nHost: x\r\n\r\nGET /status?code=204 HTTP/1.1\r\nHost: x\r\n\r\nGET /status?code=304 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const head = await conn.next();
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe("1234");
    const noContent = await conn.next();
    expect(noContent.status).toBe(204);
    expect(noContent.headers["content-length"]).toBeUndefined();
    expect(noContent.headers["transfer-encoding"]).toBeUndefined();
    const notModified = await conn.next();
    expect(notModified.status).toBe(304);
    const last = await conn.next();
    // Had any of them carried a body, this response would not parse as "ok".
    expect(last.body.toString()).toBe("ok");
    conn.destroy();
  });

  test("HTTP/1.0 without Host is served on the listen address; a stream of unknown length ends with the connection", async () => {
    const { response, conn } = await send(port(), "GET /info HTTP/1.0\r\n\r\n");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString()).url).toBe(`http://127.0.0.1:${port()}/info`);
    expect((await conn.waitClosed()).how).toBe("end");

    const stream = new RawConnection(port());
    await stream.ready();
    stream.write("GET /slow-stream?chunks=3&delay=10 HTTP/1.0\r\n\r\n");
    await stream.waitClosed();
    const res = await stream.next();
    expect(res.headers["transfer-encoding"]).toBeUndefined();
    expect(res.headers.connection).toBe("close");
    expect(res.body.toString()).toBe("chunk 1\nchunk 2\nchunk 3\n");
  });

  test("HTTP/1.0 keep-alive when asked for", async () => {
    const conn = new RawConnection(port());
    await conn.ready();
    conn.write("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const first = await conn.next();
    expect(first.headers.connection).toBe("keep-alive");
    conn.write("GET / HTTP/1.0\r\n\r\n");
    const second = await conn.next();
    expect(second.body.toString()).toBe("ok");
    expect((await conn.waitClosed()).how).toBe("end");
  });

  test("Expect: 100-continue: 100 only once the handler reads the body", async () => {
    const conn = new RawConnection(port());
    await conn.ready();
    conn.write("PUT /count HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    const interim = await conn.next();
    expect(interim.status).toBe(100);
    conn.write("abcd");
    const final = await conn.next();
    expect(final.status).toBe(200);
    expect(JSON.parse(final.body.toString()).bytes).toBe(4);
    conn.destroy();

    const early = new RawConnection(port());
    await early.ready();
    early.write("PUT /early?status=413 HTTP/1.1\r\nHost: x\r\nContent-Length: 400000000\r\nExpect: 100-continue\r\n\r\n");
    const refused = await early.next();
    expect(refused.status).toBe(413);
    expect(refused.headers.connection).toBe("close");
    expect(envelope(refused).code).toBe("SIZE_INVALID");
    expect((await early.waitClosed()).how).toBe("end");
  });

  test("a handler that throws answers 500 in the JSON envelope", async () => {
    const res = await fetch(url("/throw"));
    expect(res.status).toBe(500);
    const body = (await res.json()) as { errors: { code: string }[] };
    expect(body.errors).toHaveLength(1);
  });

  test("curl: chunked upload, Expect on a large body, keep-alive across URLs", async () => {
    const upload = await run("curl", ["-sS", "-T", bigFile, "-H", "Transfer-Encoding: chunked", url("/count")]);
    expect(JSON.parse(upload.stdout)).toEqual({ bytes: big.length, sha256: sha256(big) });
    const started = Date.now();
    const expect100 = await run("curl", ["-sS", "-X", "PUT", "--data-binary", `@${bigFile}`, "-H", "Expect: 100-continue", url("/count")]);
    expect(JSON.parse(expect100.stdout).bytes).toBe(big.length);
    // curl waits 1 s for a 100 that never comes; the server sends it when the handler reads.
    expect(Date.now() - started).toBeLessThan(900);
    const both = await run("curl", ["-sS", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects} ", url("/"), url("/info")]);
    expect(both.stdout.trim().split(/\s+/)).toEqual(["1", "0"]);
  });
});
