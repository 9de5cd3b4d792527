// A raw HTTP/1.1 client on node:net for tests that must send exactly the bytes they mean
// (malformed, hostile, slow). Its response parser is independent of the server's code.
import net from "node:net";
import tls from "node:tls";

export interface RawResponse {
  status: number;
  /** Header fields, names lower-cased, repeated fields joined with ", ". */
  headers: Record<string, string>;
  head: string;
  body: Buffer;
  /** Milliseconds from the connection's start until this response was complete. */
  at: number;
}

export interface Closed {
  /** "end": orderly FIN; "reset": ECONNRESET or similar. */
  how: "end" | "reset";
  at: number;
}

export class RawConnection {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private responses: RawResponse[] = [];
  private waiters: (() => void)[] = [];
  private readonly started = Date.now();
  private ended = false;
  /** Resolves when the connection is closed, with how it ended. */
  readonly closed: Promise<Closed>;
  /** Bytes this client managed to write (set by pump()). */
  bytesSent = 0;
  /** Response bytes received. */
  bytesReceived = 0;
  /** Request methods sent, in order, so HEAD responses are parsed without a body. */
  private methods: string[] = [];
  private readonly connected: Promise<void>;

  constructor(port: number, options: { tls?: boolean; pauseReading?: boolean } = {}) {
    this.socket = options.tls
      ? tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false })
      : net.connect({ port, host: "127.0.0.1" });
    this.connected = new Promise((resolve) => this.socket.once(options.tls ? "secureConnect" : "connect", () => resolve()));
    let how: Closed["how"] = "end";
    this.socket.on("error", () => {
      how = "reset";
    });
    this.socket.on("end", () => {
      this.ended = true;
      this.parse(true);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      this.socket.on("close", () => {
        this.ended = true;
        this.parse(true);
        this.wake();
        resolve({ how, at: Date.now() - this.started });
      }),
    );
    this.socket.on("data", (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse(false);
      this.wake();
    });
    if (options.pauseReading) this.socket.pause();
  }

  ready(): Promise<void> {
    return this.connected;
  }

  /** Sends bytes (a string is latin1). Notes request methods for HEAD handling. */
  write(data: string | Uint8Array): boolean {
    if (typeof data === "string") {
      for (const m of data.matchAll(/(?:^|\r\n\r\n)([A-Z]+) /g)) this.methods.push(m[1]!);
      return this.socket.write(Buffer.from(data, "latin1"));
    }
    return this.socket.write(data);
  }

  /** Writes `total` bytes of filler as fast as the socket takes them, until done or the connection fails. */
  async pump(total: number, piece = 64 * 1024, frame: (b: Buffer) => Buffer = (b) => b): Promise<void> {
    const block = Buffer.alloc(piece, 0x61);
    while (this.bytesSent < total && !this.socket.destroyed && this.socket.writable) {
      const n = Math.min(piece, total - this.bytesSent);
      const ok = this.socket.write(frame(n === piece ? block : block.subarray(0, n)));
      this.bytesSent += n;
      if (!ok) {
        const drained = await Promise.race([
          new Promise<boolean>((resolve) => this.socket.once("drain", () => resolve(true))),
          this.closed.then(() => false),
        ]);
        if (!drained) return;
      }
    }
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** The next complete response; rejects after timeoutMs or when the connection ends first. */
  async next(timeoutMs = 5_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = this.responses.shift();
      if (response) return response;
      if (this.ended) throw new Error(`connection ended without a (complete) response; got ${JSON.stringify(this.buffer.toString("latin1").slice(0, 300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms; got ${JSON.stringify(this.buffer.toString("latin1").slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves with how the connection closed, or rejects after timeoutMs. */
  async waitClosed(timeoutMs = 5_000): Promise<Closed> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Everything received that is not part of a parsed response. */
  rest(): string {
    return this.buffer.toString("latin1");
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private parse(atEnd: boolean): void {
    for (;;) {
      const headEnd = this.buffer.indexOf("\r\n\r\n");
      if (headEnd === -1) return;
      const head = this.buffer.toString("latin1", 0, headEnd);
      const [statusLine, ...fields] = head.split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1] ?? Number.NaN);
      const headers: Record<string, string> = {};
      for (const field of fields) {
        const colon = field.indexOf(":");
        const name = field.slice(0, colon).trim().toLowerCase();
        const value = field.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      const start = headEnd + 4;
      if (status >= 100 && status < 200) {
        this.responses.push({ status, headers, head, body: Buffer.alloc(0), at: Date.now() - this.started });
        this.buffer = this.buffer.subarray(start);
        continue;
      }
      const method = this.methods.shift();
      let body: Buffer;
      let end: number;
      if (method === "HEAD" || status === 204 || status === 304) {
        body = Buffer.alloc(0);
        end = start;
      } else if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
        const decoded = decodeChunked(this.buffer, start);
        if (decoded === null) {
          this.methods.unshift(method ?? "GET");
          return;
        }
        ({ body, end } = decoded);
      } else if (headers["content-length"] !== undefined) {
        const length = Number(headers["content-length"]);
        if (this.buffer.length < start + length) {
          this.methods.unshift(method ?? "GET");
          return;
        }
        body = this.buffer.subarray(start, start + length);
        end = start + length;
      } else {
        // Delimited by the end of the connection.
        if (!atEnd) {
          this.methods.unshift(method ?? "GET");
          return;
        }
        body = this.buffer.subarray(start);
        end = this.buffer.length;
      }
      this.responses.push({ status, headers, head, body: Buffer.from(body), at: Date.now() - this.started });
      this.buffer = this.buffer.subarray(end);
    }
  }
}

function decodeChunked(buf: Buffer, start: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = buf.indexOf("\r\n", pos);
    if (lineEnd === -1) return null;
    const size = Number.parseInt(buf.toString("latin1", pos, lineEnd).split(";")[0]!, 16);
    pos = lineEnd + 2;
    if (size === 0) {
      const end = buf.indexOf("\r\n\r\n", pos - 2);
      if (end === -1) return null;
      return { body: Buffer.concat(parts), end: end + 4 };
    }
    if (buf.length < pos + size + 2) return null;
    parts.push(buf.subarray(pos, pos + size));
    pos += size + 2;
  }
}

/** Opens a connection, sends `data`, returns the first response and the connection. */
export async function send(port: number, data: string | Uint8Array, timeoutMs = 5_000): Promise<{ response: RawResponse; conn: RawConnection }> {
  const conn = new RawConnection(port);
  await conn.ready();
  conn.write(data);
  const response = await conn.next(timeoutMs);
  return { response, conn };
}

/** The error envelope's first entry, checked for shape. */
export function envelope(response: RawResponse): { code: string; message: string } {
  if (!response.headers["content-type"]?.startsWith("application/json")) {
    throw new Error(`not a JSON envelope (content-type ${response.headers["content-type"]}): ${response.body.toString("latin1").slice(0, 200)}`);
  }
  const parsed = JSON.parse(response.body.toString("utf8")) as { errors: { code: string; message: string }[] };
  if (!Array.isArray(parsed.errors) || parsed.errors.length !== 1) throw new Error(`bad envelope ${response.body.toString()}`);
  return parsed.errors[0]!;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** GET `path` on a connection of its own (Connection: close), the body parsed as JSON. */
export async function getJson<T>(port: number, path: string): Promise<T> {
  const { response, conn } = await send(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  conn.destroy();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${response.body.toString()}`);
  return JSON.parse(response.body.toString("utf8")) as T;
}
