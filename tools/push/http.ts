// One HTTP request over node:http(s) with keep-alive, an inactivity timeout and a body that can
// be a buffer or a stream. Used by everything that talks to a registry (push client and proxy).
import http from "node:http";
import https from "node:https";
import type { Readable } from "node:stream";

const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 32 }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 32 }),
};

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | Readable | null;
  /** Fail when the connection shows no progress (neither sent nor received bytes) for this long. */
  idleTimeoutMs?: number;
}

/** Resolves with the response once its headers arrive; the body is left to the caller. */
export function send(req: HttpRequest): Promise<http.IncomingMessage> {
  const client = req.url.protocol === "https:" ? https : http;
  const agent = agents[req.url.protocol as keyof typeof agents];
  const headers: Record<string, string> = { ...req.headers };
  if (Buffer.isBuffer(req.body)) headers["Content-Length"] = String(req.body.length);
  return new Promise((resolve, reject) => {
    const outgoing = client.request(req.url, { method: req.method, headers, agent }, (res) => {
      res.on("error", () => {}); // surfaced to whoever reads the body
      resolve(res);
    });
    const idle = req.idleTimeoutMs ?? 60_000;
    outgoing.setTimeout(idle, () => outgoing.destroy(new Error(`no progress for ${idle / 1000} s (${req.method} ${req.url.pathname})`)));
    outgoing.on("error", reject);
    const body = req.body;
    if (!body) outgoing.end();
    else if (Buffer.isBuffer(body)) outgoing.end(body);
    else {
      body.on("error", (err) => outgoing.destroy(err));
      body.pipe(outgoing);
    }
  });
}

/** Reads a (small) response body whole. */
export async function readBody(res: http.IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of res) {
    length += (chunk as Buffer).length;
    if (length > limit) throw new Error(`response body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Drops a response body so the connection can be reused. */
export async function discard(res: http.IncomingMessage): Promise<void> {
  try {
    for await (const _ of res);
  } catch {
    // the connection is gone anyway
  }
}

export function header(res: http.IncomingMessage, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
