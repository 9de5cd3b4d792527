// A small HTTP/1.1 client over node:http with keep-alive connections, so the load test measures
// the server and not the client (fetch costs noticeably more CPU per request on Node).
import http from "node:http";
import https from "node:https";
import { Authenticator } from "./auth.ts";

export type Body = Uint8Array | (() => AsyncIterable<Uint8Array>);

export interface Request {
  method: string;
  /** Path and query, or an absolute URL (e.g. an upload Location). */
  path: string;
  headers?: Record<string, string>;
  /** A buffer, or a function giving the stream to send (chunked encoding unless Content-Length is set). */
  body?: Body;
  /** Receives the response body; without it the body is collected as text. */
  sink?: (chunk: Buffer) => void;
  /** Counts request body bytes as they are written (for live progress). */
  onWrite?: (bytes: number) => void;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Response body bytes received. */
  bytes: number;
}

export class HttpError extends Error {}

/** The server closed a kept-alive connection just as this request went out on it. */
class StaleConnection extends HttpError {}

export class RegistryClient {
  readonly base: URL;
  readonly auth: Authenticator;
  private readonly agent: http.Agent;
  /**
   * Requests sent again because the server closed a reused keep-alive connection before
   * answering (what Node's docs advise for `reusedSocket` + ECONNRESET). Reported, not hidden.
   */
  staleRetries = 0;

  constructor(base: string, auth: Authenticator, sockets: number, keepAlive = true) {
    this.base = new URL(base.endsWith("/") ? base : `${base}/`);
    this.auth = auth;
    const options = { keepAlive, maxSockets: sockets, maxFreeSockets: sockets };
    this.agent = this.base.protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
  }

  /** Sends a request, answering one auth challenge and following redirects of GET/HEAD. */
  async send(req: Request): Promise<Response> {
    let url = this.resolve(req.path);
    for (let hop = 0; hop < 5; hop++) {
      const sameOrigin = url.origin === this.base.origin;
      const path = url.pathname + url.search;
      let authorization = sameOrigin ? this.auth.headerFor(path) : null;
      let res = await this.once(url, req, authorization);
      // A streamed body cannot be sent twice: its 401 stands (the POST before it got the token).
      if (res.status === 401 && sameOrigin && typeof req.body !== "function") {
        const challenge = headerValue(res.headers["www-authenticate"]);
        if (await this.auth.onUnauthorized(path, challenge, authorization)) {
          authorization = this.auth.headerFor(path);
          res = await this.once(url, req, authorization);
        }
      }
      const location = headerValue(res.headers.location);
      const redirect = [301, 302, 303, 307, 308].includes(res.status) && location;
      if (!redirect || (req.method !== "GET" && req.method !== "HEAD")) return res;
      url = new URL(location, url);
    }
    throw new HttpError(`too many redirects for ${req.method} ${req.path}`);
  }

  resolve(pathOrUrl: string): URL {
    return new URL(pathOrUrl.replace(/^\//, ""), this.base);
  }

  close(): void {
    this.agent.destroy();
  }

  /** One exchange; sent once more on a fresh connection if a reused one turns out closed. */
  private async once(url: URL, req: Request, authorization: string | null): Promise<Response> {
    try {
      return await this.exchange(url, req, authorization);
    } catch (err) {
      // A streamed body is gone once sent; anything else can go again, as nothing was answered.
      if (!(err instanceof StaleConnection) || typeof req.body === "function") throw err;
      this.staleRetries += 1;
      return this.exchange(url, req, authorization);
    }
  }

  private exchange(url: URL, req: Request, authorization: string | null): Promise<Response> {
    const headers: Record<string, string> = { ...req.headers };
    if (authorization) headers.Authorization = authorization;
    if (req.body instanceof Uint8Array) headers["Content-Length"] = String(req.body.length);
    else if (!req.body && req.method !== "GET" && req.method !== "HEAD") headers["Content-Length"] ??= "0";
    const mod = url.protocol === "https:" ? https : http;
    const agent = url.origin === this.base.origin ? this.agent : undefined;
    return new Promise<Response>((resolve, reject) => {
      const request = mod.request(url, { method: req.method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (req.sink) req.sink(chunk);
          else chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8"), bytes }),
        );
        res.on("error", reject);
        res.on("aborted", () => reject(new HttpError(`${req.method} ${url.pathname}: response aborted`)));
      });
      // Name the request in network errors: "socket hang up" alone does not say which step failed.
      request.on("error", (err: NodeJS.ErrnoException) => {
        const message = `${req.method} ${url.pathname}: ${err.message}`;
        const stale = request.reusedSocket && err.code === "ECONNRESET";
        reject(stale ? new StaleConnection(message) : new HttpError(message));
      });
      writeBody(request, req).then(() => request.end(), (err) => request.destroy(err));
    });
  }
}

/** Writes the body with backpressure, so a 1 GiB stream never sits in memory. */
async function writeBody(request: http.ClientRequest, req: Request): Promise<void> {
  if (!req.body) return;
  if (req.body instanceof Uint8Array) {
    request.write(req.body);
    req.onWrite?.(req.body.length);
    return;
  }
  for await (const chunk of req.body()) {
    if (request.destroyed) return;
    const ok = request.write(chunk);
    req.onWrite?.(chunk.length);
    if (!ok) await drained(request);
  }
}

function drained(request: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      request.off("drain", done);
      request.off("close", done);
      resolve();
    };
    request.on("drain", done);
    request.on("close", done);
  });
}

export function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}
