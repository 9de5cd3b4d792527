// HTTP/1.1 client from the local front to workerd, written for workerd's habits (measured, see
// ARCHITECTURE.md "Local server"):
//
// - A worker that answers before reading the whole request body (413, 416, 401...) makes
//   workerd send the answer and close at once; the unread body bytes turn that close into a TCP
//   reset. Node's http client (like any net.Socket) then fails on its next write and destroys the
//   socket before reading the answer already waiting in the receive queue: the old front's
//   "502 registry worker unreachable". Here answers arrive through `onread` (not the stream, which
//   a failed write poisons) and a socket whose write failed stays open until the answer is read.
// - workerd closes a kept-alive connection after 5 s idle. A request sent on it at that moment is
//   lost: the old front's intermittent 502 on bodyless GETs. Idle connections are reused only for
//   IDLE_REUSE_MS, and a bodyless request that fails on a reused connection before any byte of
//   answer goes again, once, on a fresh one.
import net from "node:net";
import { ChunkedDecoder } from "../../src/runtimes/native/http/chunked";

/** workerd closes idle connections after 5 s; reuse them well within that. */
export const IDLE_REUSE_MS = 2_000;
/** Response bytes read ahead of the front's client (reading from workerd pauses beyond this). */
const READ_AHEAD_BYTES = 256 * 1024;
/** Longest response head accepted from workerd. */
const MAX_RESPONSE_HEAD = 256 * 1024;
/** After a failed write, how long the socket stays open for the answer to arrive. */
const ANSWER_GRACE_MS = 2_000;

/** Fields of one hop only; Content-Length is set from the body that is actually sent. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect", "content-length"]);
const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

export interface UpstreamRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** End-to-end header fields (hop-by-hop ones are dropped here). */
  headers: Iterable<[string, string]>;
  /** The request body, or null; with `length` -1 it is sent chunked. */
  body: ReadableStream<Uint8Array> | null;
  length: number;
  /** Wait up to this long for an answer before sending the body (the client asked for 100-continue). */
  holdBodyMs?: number;
  signal: AbortSignal;
}

export interface UpstreamExchange {
  response: Response;
  /** Settles when workerd's part is over: the response body read, cancelled or broken. */
  done: Promise<void>;
}

export class UpstreamError extends Error {}
/** A reused connection closed by workerd before it answered: nothing reached the worker. */
class StaleConnection extends UpstreamError {}

/** Connections to one workerd address; bodyless requests reuse idle ones. */
export class Upstream {
  private readonly idle: UpstreamConnection[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  async send(request: UpstreamRequest): Promise<UpstreamExchange> {
    const bodyless = request.body === null;
    const reused = bodyless ? this.takeIdle() : null;
    try {
      return await (reused ?? this.connect()).send(request, bodyless);
    } catch (err) {
      if (reused !== null && err instanceof StaleConnection && !request.signal.aborted) return this.connect().send(request, bodyless);
      throw err;
    }
  }

  /** Drops every idle connection. */
  close(): void {
    for (const connection of this.idle.splice(0)) connection.destroy();
  }

  release(connection: UpstreamConnection): void {
    this.idle.push(connection);
  }

  forget(connection: UpstreamConnection): void {
    const i = this.idle.indexOf(connection);
    if (i !== -1) this.idle.splice(i, 1);
  }

  private connect(): UpstreamConnection {
    return new UpstreamConnection(this.host, this.port, this);
  }

  private takeIdle(): UpstreamConnection | null {
    const now = Date.now();
    for (;;) {
      const connection = this.idle.pop();
      if (connection === undefined) return null;
      if (connection.reusable(now)) return connection;
      connection.destroy();
    }
  }
}

interface Pending {
  request: UpstreamRequest;
  keepAfter: boolean;
  resolve: (exchange: UpstreamExchange) => void;
  reject: (err: Error) => void;
  finished: () => void;
  done: Promise<void>;
  detach: () => void;
  answered: boolean;
  bodySent: boolean;
  /** Set while the body waits for a 100-continue pause to end. */
  stopHolding: (() => void) | null;
}

class UpstreamConnection {
  private readonly socket: net.Socket;
  private readonly realDestroy: (err?: Error) => net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private dead = false;
  private idleSince = 0;
  private used = 0;
  private writeFailed = false;
  private answerBytes = 0;
  private lastError: Error | null = null;
  private drainWaiters: (() => void)[] = [];
  private pending: Pending | null = null;
  private body: ResponseBody | null = null;

  constructor(host: string, port: number, private readonly pool: Upstream) {
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      // Each read gets a buffer of its own, so response bytes can be handed on without copying.
      onread: {
        buffer: () => Buffer.allocUnsafe(64 * 1024),
        callback: (n: number, buf: Uint8Array) => {
          this.onBytes(Buffer.from(buf.buffer, buf.byteOffset, n));
          return true;
        },
      },
    });
    this.realDestroy = this.socket.destroy.bind(this.socket);
    this.socket.destroy = ((err?: Error) => {
      if (err !== undefined && (err as NodeJS.ErrnoException).syscall === "write" && !this.dead && this.pending !== null) {
        // workerd reset the connection after answering early: the answer may still be queued for reading.
        this.writeFailed = true;
        this.lastError = err;
        this.wakeDrain();
        setTimeout(() => this.destroy(err), ANSWER_GRACE_MS).unref();
        return this.socket;
      }
      return this.realDestroy(err);
    }) as typeof this.socket.destroy;
    this.socket.on("error", (err) => {
      this.lastError = err;
    });
    this.socket.on("drain", () => this.wakeDrain());
    this.socket.on("end", () => this.onEnd());
    this.socket.on("close", () => this.onEnd());
  }

  reusable(now: number): boolean {
    return !this.dead && now - this.idleSince < IDLE_REUSE_MS;
  }

  send(request: UpstreamRequest, keepAfter: boolean): Promise<UpstreamExchange> {
    this.used++;
    this.answerBytes = 0;
    return new Promise<UpstreamExchange>((resolve, reject) => {
      let finished!: () => void;
      const done = new Promise<void>((r) => (finished = r));
      const onAbort = () => this.destroy(new UpstreamError("the client went away"));
      request.signal.addEventListener("abort", onAbort, { once: true });
      this.pending = {
        request,
        keepAfter,
        resolve,
        reject,
        finished,
        done,
        detach: () => request.signal.removeEventListener("abort", onAbort),
        answered: false,
        bodySent: request.body === null,
        stopHolding: null,
      };
      if (request.signal.aborted) return onAbort();
      if (this.dead) return this.destroy(this.lastError ?? new UpstreamError("connection closed"));
      this.socket.resume();
      this.socket.write(requestHead(request), "latin1");
      if (request.body !== null) void this.pump(this.pending, request.body);
    });
  }

  /** Streams the request body until it ends, workerd answers, or something fails. */
  private async pump(pending: Pending, body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const chunked = pending.request.length === -1;
    const stopped = () => pending.answered || this.dead || this.writeFailed;
    try {
      if (pending.request.holdBodyMs) {
        // The client asked for 100-continue: give the worker a moment to refuse before the body moves.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pending.request.holdBodyMs);
          pending.stopHolding = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        pending.stopHolding = null;
      }
      for (;;) {
        if (stopped()) break;
        const { done, value } = await reader.read();
        if (stopped()) break;
        if (done) {
          if (chunked) this.socket.write("0\r\n\r\n", "latin1");
          pending.bodySent = true;
          return;
        }
        if (value.length === 0) continue;
        let ok: boolean;
        if (chunked) {
          this.socket.cork();
          this.socket.write(`${value.length.toString(16)}\r\n`, "latin1");
          this.socket.write(value);
          ok = this.socket.write("\r\n", "latin1");
          this.socket.uncork();
        } else {
          ok = this.socket.write(value);
        }
        if (!ok) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      }
      // The worker answered first (or the connection broke): the rest of the client's body is not wanted.
      void reader.cancel().catch(() => {});
    } catch (err) {
      // The client's body failed (stalled, cut off, malformed): workerd must see this request end broken.
      this.destroy(err instanceof Error ? err : new UpstreamError(String(err)));
    }
  }

  private wakeDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private onBytes(bytes: Buffer): void {
    if (this.dead || bytes.length === 0) return;
    this.answerBytes += bytes.length;
    if (this.body !== null) {
      const rest = this.body.feed(bytes);
      if (rest !== null) return this.destroy(new UpstreamError("workerd sent more than its response"));
      if (this.body.complete) this.finish(this.body.close);
      return;
    }
    const pending = this.pending;
    if (pending === null) return this.destroy(new UpstreamError("workerd sent bytes on an idle connection"));
    this.buffer = this.buffer.length === 0 ? bytes : Buffer.concat([this.buffer, bytes]);
    const end = this.buffer.indexOf(CRLFCRLF);
    if (end === -1) {
      if (this.buffer.length > MAX_RESPONSE_HEAD) this.destroy(new UpstreamError("response head from workerd too large"));
      return;
    }
    let head: ResponseHead;
    try {
      head = parseResponseHead(this.buffer.toString("latin1", 0, end));
    } catch (err) {
      return this.destroy(err as Error);
    }
    const rest = this.buffer.subarray(end + 4);
    this.buffer = Buffer.alloc(0);
    pending.answered = true;
    pending.stopHolding?.();
    this.wakeDrain();
    const init = { status: head.status, statusText: head.reason, headers: head.headers };
    const noBody = pending.request.method === "HEAD" || head.status === 204 || head.status === 304 || (!head.chunked && head.contentLength === 0);
    if (noBody) {
      pending.resolve({ response: new Response(null, init), done: pending.done });
      if (rest.length > 0) return this.destroy(new UpstreamError("workerd sent more than its response"));
      return this.finish(head.close);
    }
    const body = new ResponseBody(head, this);
    this.body = body;
    pending.resolve({ response: new Response(body.stream, init), done: pending.done });
    if (rest.length > 0) {
      if (body.feed(rest) !== null) return this.destroy(new UpstreamError("workerd sent more than its response"));
      if (body.complete) this.finish(body.close);
    }
  }

  /** The response is complete: keep the connection for the next bodyless request, or close it. */
  private finish(close: boolean): void {
    const pending = this.pending!;
    this.pending = null;
    this.body = null;
    pending.detach();
    const keep = !close && pending.keepAfter && pending.bodySent && !this.writeFailed && !this.dead;
    if (keep) {
      this.idleSince = Date.now();
      this.pool.release(this);
    } else {
      this.destroy();
    }
    pending.finished();
  }

  /** workerd's side ended (FIN, reset or close). */
  private onEnd(): void {
    if (this.dead) return;
    if (this.body !== null && this.body.untilClose) {
      this.body.end();
      return this.finish(true);
    }
    const stale = this.pending !== null && !this.pending.answered && this.answerBytes === 0 && this.used > 1;
    const reason = this.lastError?.message ?? "closed";
    this.destroy(stale ? new StaleConnection(`workerd closed a kept-alive connection (${reason})`) : new UpstreamError(`workerd closed the connection (${reason})`));
  }

  pauseReading(): void {
    if (!this.dead) this.socket.pause();
  }

  resumeReading(): void {
    if (!this.dead) this.socket.resume();
  }

  destroy(err?: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.pool.forget(this);
    this.realDestroy();
    this.wakeDrain();
    const failure = err ?? new UpstreamError("connection closed");
    this.body?.error(failure);
    this.body = null;
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) {
      pending.stopHolding?.();
      pending.detach();
      pending.reject(failure);
      pending.finished();
    }
  }
}

interface ResponseHead {
  status: number;
  reason: string;
  headers: [string, string][];
  contentLength: number;
  chunked: boolean;
  close: boolean;
}

function parseResponseHead(text: string): ResponseHead {
  const lines = text.split("\r\n");
  const statusLine = lines[0]!;
  const status = Number(statusLine.slice(9, 12));
  if (!statusLine.startsWith("HTTP/1.") || !(status >= 200 && status <= 599)) {
    throw new UpstreamError(`unexpected status line from workerd: ${statusLine.slice(0, 80)}`);
  }
  const headers: [string, string][] = [];
  let contentLength = -1;
  let chunked = false;
  let close = statusLine.startsWith("HTTP/1.0");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new UpstreamError("malformed header field from workerd");
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === "content-length") contentLength = Number(value);
    else if (lower === "transfer-encoding") chunked = value.toLowerCase().endsWith("chunked");
    else if (lower === "connection") close ||= value.toLowerCase().split(",").some((s) => s.trim() === "close");
    // The front's server frames the response again; Content-Length travels as the length to use.
    if (lower === "content-length" || !HOP_BY_HOP.has(lower)) headers.push([name, value]);
  }
  if (chunked) {
    const i = headers.findIndex(([name]) => name.toLowerCase() === "content-length");
    if (i !== -1) headers.splice(i, 1);
  }
  return { status, reason: statusLine.slice(13), headers, contentLength: chunked ? -1 : contentLength, chunked, close };
}

function requestHead(request: UpstreamRequest): string {
  let head = `${request.method} ${request.path} HTTP/1.1\r\n`;
  for (const [name, value] of request.headers) {
    if (!HOP_BY_HOP.has(name.toLowerCase())) head += `${name}: ${value}\r\n`;
  }
  if (request.body !== null) head += request.length === -1 ? "Transfer-Encoding: chunked\r\n" : `Content-Length: ${request.length}\r\n`;
  else if (request.method === "POST" || request.method === "PUT" || request.method === "PATCH") head += "Content-Length: 0\r\n";
  return `${head}\r\n`;
}

/** A response body from workerd, framed by Content-Length, chunked, or the end of the connection. */
class ResponseBody {
  readonly stream: ReadableStream<Uint8Array>;
  complete = false;
  readonly close: boolean;
  readonly untilClose: boolean;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private remaining: number;
  private readonly decoder: ChunkedDecoder | null;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private waiting: (() => void) | null = null;
  private settled = false;

  constructor(head: ResponseHead, private readonly connection: UpstreamConnection) {
    this.decoder = head.chunked ? new ChunkedDecoder(64 * 1024) : null;
    this.remaining = head.contentLength;
    this.untilClose = !head.chunked && head.contentLength < 0;
    this.close = head.close || this.untilClose;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.pull(),
        cancel: () => {
          this.settled = true;
          this.queue = [];
          // The front's client stopped reading (gone, or too slow): workerd's request ends with the connection.
          connection.destroy(new UpstreamError("response cancelled"));
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Takes this body's bytes; returns what follows it (workerd should send nothing more). */
  feed(bytes: Buffer): Buffer | null {
    let used: number;
    if (this.decoder !== null) {
      used = this.decoder.decode(bytes, 0, bytes.length, (from, to) => this.push(bytes.subarray(from, to)));
      if (this.decoder.done) this.complete = true;
    } else if (this.untilClose) {
      used = bytes.length;
      this.push(bytes);
    } else {
      used = Math.min(this.remaining, bytes.length);
      if (used > 0) this.push(used === bytes.length ? bytes : bytes.subarray(0, used));
      this.remaining -= used;
      if (this.remaining === 0) this.complete = true;
    }
    this.deliver();
    if (!this.complete && this.queued >= READ_AHEAD_BYTES) this.connection.pauseReading();
    return used < bytes.length ? bytes.subarray(used) : null;
  }

  end(): void {
    this.complete = true;
    this.deliver();
  }

  error(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.queue = [];
    this.controller.error(err);
    this.wake();
  }

  private push(data: Uint8Array): void {
    if (this.settled) return;
    this.queue.push(data);
    this.queued += data.length;
  }

  private pull(): Promise<void> | undefined {
    if (this.queue.length > 0 || this.complete) {
      this.flush();
      return undefined;
    }
    this.connection.resumeReading();
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  private deliver(): void {
    if (this.waiting === null || (this.queue.length === 0 && !this.complete)) return;
    this.flush();
    this.wake();
  }

  private flush(): void {
    if (this.settled) return;
    for (const data of this.queue) this.controller.enqueue(data);
    this.queue = [];
    this.queued = 0;
    if (this.complete) {
      this.settled = true;
      this.controller.close();
    } else {
      this.connection.resumeReading();
    }
  }

  private wake(): void {
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.();
  }
}
