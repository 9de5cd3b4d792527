// Test server for test/native: the native HTTP server with handlers that behave well or badly on
// purpose. Bundled by harness.ts and run on Node, Bun or Deno. Prints "listening <port>".
//   FIXTURE_TLS_CERT / FIXTURE_TLS_KEY: PEM files (HTTPS on the same port); HTTP_* limits (limits.ts).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { limitsFromSettings, serve } from "../../src/runtimes/native/http";

const env = process.env;
const events: string[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const json = (value: unknown, init: ResponseInit = {}) =>
  new Response(JSON.stringify(value), { ...init, headers: { "Content-Type": "application/json", ...(init.headers as Record<string, string>) } });

/** Byte i of a /huge body is i % 251 (a prime: pieces never line up). */
const PATTERN = Uint8Array.from({ length: 251 + 1024 * 1024 }, (_, i) => i % 251);
function pattern(offset: number, length: number): Uint8Array {
  const start = offset % 251;
  return PATTERN.slice(start, start + length);
}

async function consume(request: Request, delayMs = 0): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      hash.update(value);
      if (delayMs) await sleep(delayMs);
    }
  }
  return { bytes, sha256: hash.digest("hex") };
}

const handlers: Record<string, (request: Request, url: URL, client: { address: string }) => Promise<Response>> = {
  async "/info"(request, url, client) {
    return json({ method: request.method, url: request.url, headers: [...request.headers], address: client.address, hasBody: request.body !== null });
  },
  async "/echo"(request) {
    return new Response(request.body, { headers: { "Content-Type": "application/octet-stream" } });
  },
  async "/count"(request, url) {
    return json(await consume(request, Number(url.searchParams.get("delay") ?? 0)));
  },
  async "/early"(request, url) {
    const status = Number(url.searchParams.get("status") ?? 413);
    events.push(`early ${request.method} ${status}`);
    return json({ errors: [{ code: "SIZE_INVALID", message: "refused before reading the body" }] }, { status });
  },
  async "/early-chunked"(_request, url) {
    const status = Number(url.searchParams.get("status") ?? 413);
    const body = new TextEncoder().encode(JSON.stringify({ errors: [{ code: "SIZE_INVALID", message: "refused" }] }));
    // Two halves 20 ms apart: the length is not known when the head goes out.
    let sent = 0;
    return new Response(
      new ReadableStream({
        async pull(c) {
          if (sent > 0) await sleep(20);
          if (sent >= body.length) return c.close();
          const half = body.subarray(sent, sent === 0 ? body.length >> 1 : body.length);
          sent += half.length;
          c.enqueue(half);
        },
      }),
      { status, headers: { "Content-Type": "application/json" } },
    );
  },
  async "/huge"(_request, url) {
    const total = Number(url.searchParams.get("bytes") ?? 1 << 20);
    const piece = Number(url.searchParams.get("piece") ?? 64 * 1024);
    let sent = 0;
    const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
    if (url.searchParams.get("cl") === "1") headers["Content-Length"] = String(total);
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= total) return c.close();
        const n = Math.min(piece, total - sent);
        c.enqueue(pattern(sent, n));
        sent += n;
      },
      cancel() {
        events.push(`huge cancelled after ${sent}`);
      },
    }, { highWaterMark: 0 });
    return new Response(body, { headers });
  },
  async "/throw"() {
    throw new Error("handler failed on purpose");
  },
  async "/hold"(request) {
    await new Promise<void>((resolve) => request.signal.addEventListener("abort", () => resolve(), { once: true }));
    events.push("hold aborted");
    return new Response("late");
  },
  async "/read-hold"(request) {
    try {
      const result = await consume(request);
      events.push(`read-hold complete ${result.bytes}`);
      return json(result);
    } catch (err) {
      events.push(`read-hold body error: ${(err as Error).message}`);
      events.push(`read-hold signal aborted: ${request.signal.aborted}`);
      throw err;
    }
  },
  async "/events"() {
    const out = events.splice(0);
    return json(out);
  },
  async "/blob"(_request, url) {
    return new Response(new Uint8Array(Number(url.searchParams.get("bytes") ?? 1024 * 1024)).fill(7));
  },
  async "/long"() {
    return new Response(new Uint8Array(10).fill(1), { headers: { "Content-Length": "5" } });
  },
  async "/short"() {
    return new Response(new Uint8Array(5), { headers: { "Content-Length": "10" } });
  },
  async "/head-length"() {
    return new Response(null, { headers: { "Content-Length": "1234", "Content-Type": "application/octet-stream" } });
  },
  async "/status"(_request, url) {
    const status = Number(url.searchParams.get("code") ?? 204);
    return new Response(status === 204 || status === 304 ? null : "x", { status });
  },
  async "/slow-stream"(_request, url) {
    const chunks = Number(url.searchParams.get("chunks") ?? 3);
    const delay = Number(url.searchParams.get("delay") ?? 50);
    let i = 0;
    return new Response(new ReadableStream({ async pull(c) { if (i++ >= chunks) return c.close(); await sleep(delay); c.enqueue(new TextEncoder().encode(`chunk ${i}\n`)); } }));
  },
  async "/oci-tags"() {
    const headers = new Headers({ "Content-Length": "0" });
    headers.append("OCI-Tag", "v1");
    headers.append("OCI-Tag", "latest");
    headers.append("X-Joined", "a");
    headers.append("X-Joined", "b");
    return new Response(null, { status: 201, headers });
  },
  async "/"() {
    return new Response("ok");
  },
};

const tlsFiles = env.FIXTURE_TLS_CERT && env.FIXTURE_TLS_KEY ? { cert: readFileSync(env.FIXTURE_TLS_CERT), key: readFileSync(env.FIXTURE_TLS_KEY) } : undefined;
const server = await serve({
  host: env.HOST ?? "127.0.0.1",
  port: Number(env.PORT ?? 0),
  ...(tlsFiles ? { tls: tlsFiles } : {}),
  limits: limitsFromSettings(env),
  async handler(request, client) {
    const url = new URL(request.url);
    const handler = handlers[url.pathname];
    if (!handler) return json({ errors: [{ code: "NAME_UNKNOWN", message: "no such fixture" }] }, { status: 404 });
    return handler(request, url, client);
  },
});
console.log(`listening ${server.port}`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
