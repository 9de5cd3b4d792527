// A local push proxy: `docker push 127.0.0.1:<port>/app:tag` through it reaches an upstream
// registry that limits request bodies. Blob uploads are taken over: docker's single PATCH is read
// as a stream into a buffer of one chunk and forwarded upstream chunk by chunk, each chunk resumed
// from the upstream's offset when it fails. Everything else (pulls, manifests, HEADs) passes
// through. Memory: at most one chunk buffer per upload in progress.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { header, readBody } from "./http.ts";
import { Registry, RegistryError, type Credentials } from "./registry.ts";
import { BlobUpload, DEFAULT_RETRY, type RetryPolicy } from "./upload.ts";

const MiB = 1024 * 1024;
export const DEFAULT_CHUNK = 64 * MiB;

export interface ProxyOptions {
  /** Upstream registry base URL, e.g. https://registry.example.com */
  upstream: string;
  credentials?: Credentials | undefined;
  /** Default 127.0.0.1 (the proxy has no authentication of its own). */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Upstream chunk size; capped by the upstream's OCI-Chunk-Max-Length. Default 64 MiB. */
  chunkSize?: number;
  retry?: RetryPolicy;
  /** Upstream inactivity timeout per request (a stalled chunk is retried after it). */
  idleTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface PushProxy {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly stats: { uploads: number; chunks: number; retries: number; bytes: number };
  close(): Promise<void>;
}

interface ProxiedUpload {
  id: string;
  name: string;
  upstream: BlobUpload;
  chunkSize: number;
  buffer: Buffer | null;
  /** Bytes in `buffer`, which start at blob offset `bufferStart`. */
  filled: number;
  bufferStart: number;
  /** Bytes accepted from the client (sent upstream, or in the buffer). */
  received: number;
  busy: boolean;
}

const UPLOADS = /^\/v2\/(.+)\/blobs\/uploads\/?$/;
const UPLOAD = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/;
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "proxy-connection", "host", "authorization", "content-length"]);

class ProxyFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export async function startPushProxy(options: ProxyOptions): Promise<PushProxy> {
  const log = options.log ?? (() => {});
  const stats = { uploads: 0, chunks: 0, retries: 0, bytes: 0 };
  const registry = new Registry(options.upstream, { credentials: options.credentials, idleTimeoutMs: options.idleTimeoutMs });
  const policy = options.retry ?? DEFAULT_RETRY;
  const wantedChunk = options.chunkSize ?? DEFAULT_CHUNK;
  const uploads = new Map<string, ProxiedUpload>();

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => fail(res, err));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://proxy");
    const method = req.method ?? "GET";
    const collection = UPLOADS.exec(url.pathname);
    if (collection && method === "POST") return startUpload(req, res, decodeURIComponent(collection[1]!), url);
    const one = UPLOAD.exec(url.pathname);
    if (one) {
      const upload = uploads.get(one[2]!);
      if (!upload || upload.name !== decodeURIComponent(one[1]!)) throw new ProxyFailure(404, "BLOB_UPLOAD_UNKNOWN", "upload session not found (the proxy may have restarted)");
      if (method === "PATCH") return appendChunk(req, res, upload);
      if (method === "PUT") return finishUpload(req, res, upload, url);
      if (method === "GET") return reply(res, 204, uploadHeaders(upload));
      if (method === "DELETE") {
        uploads.delete(upload.id);
        await upload.upstream.cancel();
        return reply(res, 204);
      }
    }
    return passThrough(req, res, url);
  }

  async function startUpload(req: http.IncomingMessage, res: http.ServerResponse, name: string, url: URL): Promise<void> {
    const mount = url.searchParams.get("mount") ?? undefined;
    const from = url.searchParams.get("from") ?? undefined;
    const upstream = await BlobUpload.start(registry, name, { mount, from, policy });
    if (!upstream) {
      await drainRequest(req);
      return reply(res, 201, { Location: `/v2/${name}/blobs/${mount}`, "Docker-Content-Digest": mount! });
    }
    const upload: ProxiedUpload = {
      id: randomUUID(),
      name,
      upstream,
      chunkSize: upstream.chunkSize(wantedChunk),
      buffer: null,
      filled: 0,
      bufferStart: 0,
      received: 0,
      busy: false,
    };
    upstream.onRetry = (err, attempt, delay) => {
      stats.retries++;
      log(`upload ${upload.id.slice(0, 8)} (${name}): ${err.message}; retry ${attempt} in ${delay} ms`);
    };
    uploads.set(upload.id, upload);
    stats.uploads++;
    const digest = url.searchParams.get("digest");
    if (digest) return finishUpload(req, res, upload, url); // monolithic POST ?digest= with the body
    await drainRequest(req);
    return reply(res, 202, { ...uploadHeaders(upload), "OCI-Chunk-Min-Length": "1" });
  }

  async function appendChunk(req: http.IncomingMessage, res: http.ServerResponse, upload: ProxiedUpload): Promise<void> {
    await receive(req, upload);
    return reply(res, 202, uploadHeaders(upload));
  }

  async function finishUpload(req: http.IncomingMessage, res: http.ServerResponse, upload: ProxiedUpload, url: URL): Promise<void> {
    const digest = url.searchParams.get("digest");
    if (!digest) throw new ProxyFailure(400, "DIGEST_INVALID", "digest parameter is required");
    await receive(req, upload, { keepLast: true });
    try {
      await upload.upstream.finish(digest, takeBuffered(upload));
    } finally {
      uploads.delete(upload.id);
      upload.buffer = null;
    }
    return reply(res, 201, { Location: `/v2/${upload.name}/blobs/${digest}`, "Docker-Content-Digest": digest });
  }

  /** Reads a client body into the chunk buffer, sending each full chunk upstream before reading on. */
  async function receive(req: http.IncomingMessage, upload: ProxiedUpload, opts: { keepLast?: boolean } = {}): Promise<void> {
    if (upload.busy) throw new ProxyFailure(416, "BLOB_UPLOAD_INVALID", "another request is writing to this upload", uploadHeaders(upload));
    const range = /^(?:bytes[= ])?(\d+)-(\d+)/.exec(header(req, "Content-Range") ?? "");
    if (range && Number(range[1]) !== upload.received) {
      await drainRequest(req);
      throw new ProxyFailure(416, "BLOB_UPLOAD_INVALID", `chunk starts at ${range[1]}, upload is at ${upload.received}`, uploadHeaders(upload));
    }
    upload.busy = true;
    try {
      for await (const piece of req as AsyncIterable<Buffer>) {
        let at = 0;
        while (at < piece.length) {
          if (upload.filled === upload.chunkSize) await flush(upload);
          upload.buffer ??= Buffer.allocUnsafe(upload.chunkSize);
          const n = piece.copy(upload.buffer, upload.filled, at, at + Math.min(piece.length - at, upload.chunkSize - upload.filled));
          upload.filled += n;
          upload.received += n;
          at += n;
        }
      }
      if (!opts.keepLast) await flush(upload);
    } catch (err) {
      // The client went away or upstream gave up: this session cannot continue consistently.
      uploads.delete(upload.id);
      upload.buffer = null;
      void upload.upstream.cancel();
      throw err;
    } finally {
      upload.busy = false;
    }
  }

  async function flush(upload: ProxiedUpload): Promise<void> {
    const chunk = takeBuffered(upload);
    if (!chunk) return;
    await upload.upstream.write(chunk);
    if (upload.upstream.offset < chunk.start + chunk.length) {
      throw new ProxyFailure(502, "BLOB_UPLOAD_INVALID", `upstream went back to offset ${upload.upstream.offset}, before this chunk (${chunk.start})`);
    }
    stats.chunks++;
    stats.bytes += chunk.length;
  }

  function takeBuffered(upload: ProxiedUpload) {
    if (upload.filled === 0 || !upload.buffer) return undefined;
    const buffer = upload.buffer;
    const chunk = { start: upload.bufferStart, length: upload.filled, open: (skip: number) => buffer.subarray(skip, chunk.length) };
    upload.bufferStart += upload.filled;
    upload.filled = 0;
    return chunk;
  }

  async function passThrough(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const hasBody = req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
    // Bodies that pass through are small (manifests); holding them lets a 401 be answered and resent.
    const body = hasBody ? await readBody(req, 32 * MiB) : null;
    const upstreamRes = await registry.request(req.method ?? "GET", `${url.pathname}${url.search}`, { headers, body });
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(upstreamRes.headers)) {
      if (v === undefined || (HOP_BY_HOP.has(k) && k !== "content-length")) continue;
      out[k] = k === "location" ? localLocation(String(v)) : v;
    }
    res.writeHead(upstreamRes.statusCode ?? 502, out);
    (upstreamRes as Readable).pipe(res);
  }

  /** An upstream URL in a Location header, as a path on the proxy. */
  function localLocation(location: string): string {
    const resolved = new URL(location, registry.base);
    return resolved.origin === registry.base.origin ? `${resolved.pathname}${resolved.search}` : location;
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = `${address.address}:${address.port}`;
  return {
    url: `http://${host}`,
    host,
    port: address.port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function uploadHeaders(upload: ProxiedUpload): Record<string, string> {
  return {
    Location: `/v2/${upload.name}/blobs/uploads/${upload.id}`,
    Range: `0-${Math.max(upload.received - 1, 0)}`,
    "Docker-Upload-UUID": upload.id,
  };
}

function reply(res: http.ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, "Content-Length": "0", "Docker-Distribution-API-Version": "registry/2.0" });
  res.end();
}

/** The spec's error envelope; upstream refusals keep their status and code. */
function fail(res: http.ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.destroy();
  let status = 502;
  let code = "BLOB_UPLOAD_INVALID";
  let headers: Record<string, string> = {};
  if (err instanceof ProxyFailure) ({ status, code, headers } = err);
  else if (err instanceof RegistryError) {
    status = err.status >= 400 && err.status < 500 ? err.status : 502;
    code = err.code ?? code;
  }
  const message = `push proxy: ${(err as Error).message}`;
  const body = Buffer.from(JSON.stringify({ errors: [{ code, message }] }));
  res.writeHead(status, { ...headers, "Content-Type": "application/json", "Content-Length": String(body.length), "Docker-Distribution-API-Version": "registry/2.0" });
  res.end(body);
}

async function drainRequest(req: http.IncomingMessage): Promise<void> {
  for await (const _ of req);
}
