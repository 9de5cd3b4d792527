// TLS on the native HTTP server (Node, Bun, Deno): with a certificate the same port serves HTTPS
// and plain HTTP; the handshake counts against the header timeout.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import { RUNTIMES, useServers } from "./harness";
import { RawConnection, send, sleep } from "./raw";

const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), "native-tls-"));
const cert = path.join(dir, "cert.pem");
const key = path.join(dir, "key.pem");
execFileSync("openssl", [
  "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
  "-subj", "/CN=127.0.0.1", "-days", "2", "-addext", "subjectAltName=IP:127.0.0.1",
], { stdio: "ignore" });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADERS_TIMEOUT_MS = 800;
const server = useServers("test/native/fixture-server.ts", {
  FIXTURE_TLS_CERT: cert,
  FIXTURE_TLS_KEY: key,
  HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
});

describe.each(RUNTIMES)("%s", (runtime) => {
  const port = () => server(runtime).port;

  test("HTTPS and HTTP on the same port; the request URL says which", async () => {
    const https = await run("curl", ["-sS", "--cacert", cert, `https://127.0.0.1:${port()}/info`]);
    expect(JSON.parse(https.stdout).url).toBe(`https://127.0.0.1:${port()}/info`);
    const http = await run("curl", ["-sS", `http://127.0.0.1:${port()}/info`]);
    expect(JSON.parse(http.stdout).url).toBe(`http://127.0.0.1:${port()}/info`);
  });

  test("over TLS: keep-alive, a chunked upload and a large response", async () => {
    const conn = new RawConnection(port(), { tls: true });
    await conn.ready();
    conn.write("POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    expect(JSON.parse((await conn.next()).body.toString()).bytes).toBe(5);
    conn.write("GET /huge?bytes=2000000&cl=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    const big = await conn.next();
    expect(big.body.length).toBe(2_000_000);
    expect(big.body[123_456]).toBe(123_456 % 251);
    conn.destroy();
    const curl = await run("curl", ["-sS", "--cacert", cert, "-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects} ", `https://127.0.0.1:${port()}/`, `https://127.0.0.1:${port()}/info`]);
    expect(curl.stdout.trim().split(/\s+/)).toEqual(["1", "0"]);
  });

  test("malformed requests over TLS get the same envelope", async () => {
    const conn = new RawConnection(port(), { tls: true });
    await conn.ready();
    conn.write("get / HTTP/1.1\r\nHost: x\r\n\r\n");
    const res = await conn.next();
    expect(res.status).toBe(501);
    expect(JSON.parse(res.body.toString()).errors[0].code).toBe("UNSUPPORTED");
    await conn.waitClosed();
  });

  test("a handshake that never completes is dropped after the header timeout", async () => {
    const conn = new RawConnection(port());
    await conn.ready();
    // A TLS record header promising a ClientHello that never comes.
    conn.write(Buffer.from("16030100a5", "hex"));
    const closed = await conn.waitClosed(HEADERS_TIMEOUT_MS * 2 + 500);
    expect(closed.at).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    // Meanwhile plain HTTP is served at once.
    const started = Date.now();
    const { response } = await send(port(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(response.body.toString()).toBe("ok");
    expect(Date.now() - started).toBeLessThan(500);
    await sleep(10);
  });
});
