// One request and its response on a connection: runs the handler, feeds the request body,
// and writes the response (Content-Length when the body's length is known at once, else chunked)
// with backpressure. A failure of the request itself (bad framing, stalled body) overrides the
// handler's answer.
import { errorResponse, type RegistryError } from "../../../oci/errors";
import type { RequestBody } from "./body";
import type { Connection } from "./connection";
import type { RequestHead } from "./head";
import { BODY_READ_AHEAD_BYTES } from "./limits";
import { isRegistryError, refusal } from "./refusal";
import type { LazyAbort } from "./request";
import { CONTINUE, LAST_CHUNK, SMALL_WRITE_BYTES, chunkFrame, responseHead } from "./response";

/** What a response body has at once is gathered up to this much before the head goes out. */
const COALESCE_BYTES = 64 * 1024;

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>>;

const LATE = Symbol("late");
/**
 * After the first chunk, how many microtask turns the body gets to show more (or its end) before
 * the head goes out without it. A read from a body in memory (string, buffer, closed stream)
 * settles within 2 on Node, Bun and Deno; one that waits for I/O needs a macrotask, so it is never
 * waited for. Cheaper than waiting for a macrotask (setImmediate), measured.
 */
const PATIENCE_MICROTASKS = 4;

function soon(): Promise<typeof LATE> {
  let p: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < PATIENCE_MICROTASKS; i++) p = p.then();
  return p.then(() => LATE);
}

/** One request and its response on a connection. */
export class Exchange {
  /** A failure of the request itself (bad framing, stalled body) that overrides the handler's answer. */
  private failure: RegistryError | null = null;
  private headWritten = false;
  private continueSent = false;
  private finished = false;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private closeAfter = false;

  constructor(
    private readonly conn: Connection,
    /** null for a request refused before its head was understood. */
    private readonly head: RequestHead | null,
    private readonly body: RequestBody | null,
    readonly abort: LazyAbort | null,
  ) {}

  private get method(): string {
    return this.head?.method ?? "GET";
  }

  async run(request: Request): Promise<void> {
    let response: Response | null = null;
    try {
      response = await this.conn.handle(request, this.body);
      if (!(response instanceof Response)) throw new TypeError("the handler did not return a Response");
    } catch (err) {
      // A handler that gives up because the request failed or its client left is not a server error.
      if (this.failure === null && !this.abort?.aborted) response = errorResponse(err, this.method);
      else response = null;
    }
    if (this.finished) {
      void response?.body?.cancel().catch(() => {});
      return;
    }
    if (this.failure !== null) {
      void response?.body?.cancel().catch(() => {});
      response = this.failure.toResponse(this.method);
      this.closeAfter = true;
    }
    // The client left (or half-closed) and the handler gave up: nothing to say.
    if (response === null) return this.conn.destroy();
    await this.respond(response);
  }

  // ---- request body ----------------------------------------------------------------------------

  onData(chunk: Buffer): void {
    const body = this.body;
    if (body === null || body.complete) {
      // Bytes of a next request.
      this.conn.keepForNextRequest(chunk);
      return;
    }
    if (body.settled) {
      // The rest of a body nobody reads any more: it waits in the socket until the lingering close.
      this.conn.pause();
      return;
    }
    let rest: Uint8Array | null;
    try {
      rest = body.feed(chunk);
    } catch (err) {
      this.failRequest(isRegistryError(err) ? err : refusal(400, "malformed request body"));
      return;
    }
    if (rest !== null) this.conn.keepForNextRequest(rest);
    this.bodyTaken();
  }

  bodyWanted(): void {
    if (this.head!.expectContinue && !this.continueSent && !this.headWritten) {
      this.continueSent = true;
      this.conn.write(CONTINUE);
    }
    this.conn.setBodyDeadline(true);
    this.conn.resume();
  }

  /** After bytes were fed or handed out: keep reading ahead a little, or pause. */
  bodyTaken(): void {
    const body = this.body;
    if (body === null || this.finished) return;
    this.conn.setBodyDeadline(body.waitingForBytes);
    if (body.complete) this.conn.keepReading();
    else if (body.settled || (!body.pulled && !body.waitingForBytes) || body.queuedBytes >= BODY_READ_AHEAD_BYTES) this.conn.pause();
    else this.conn.resume();
  }

  onBodyStalled(): void {
    const seconds = this.conn.limits.bodyIdleTimeoutMs / 1000;
    this.failRequest(refusal(408, `request body stalled: no bytes for ${seconds} s`));
  }

  /** The request cannot go on (bad framing, stalled body): the body fails, the answer is this error, the connection closes. */
  private failRequest(err: RegistryError): void {
    this.failure ??= err;
    this.closeAfter = true;
    this.conn.pause();
    this.conn.setBodyDeadline(false);
    this.body?.fail(err);
    this.abort?.abort(err);
    // A response already on its way cannot change: end it where it is.
    if (this.headWritten && !this.finished) this.conn.destroy();
  }

  /** The client sent FIN: it is gone or at least done; the handler is told (signal), an answer is still written. */
  onPeerEnd(): void {
    this.closeAfter = true;
    const body = this.body;
    const reason =
      body !== null && !body.complete
        ? refusal(400, "the client closed the connection before the end of the request body")
        : new Error("the client closed its side of the connection");
    body?.fail(reason);
    this.abort?.abort(reason);
  }

  onConnectionLost(): void {
    if (this.finished) return;
    this.finished = true;
    const reason = new Error("the client closed the connection");
    this.body?.fail(reason);
    this.abort?.abort(reason);
    void this.reader?.cancel(reason).catch(() => {});
  }

  // ---- response --------------------------------------------------------------------------------

  /** Writes `response`; `close` forces Connection: close (the server's own refusals). */
  async respond(response: Response, close = false): Promise<void> {
    if (this.finished) {
      void response.body?.cancel().catch(() => {});
      return;
    }
    const conn = this.conn;
    const head = this.head;
    const method = this.method;
    const status = response.status;
    const withBody = method !== "HEAD" && status !== 204 && status !== 304;
    const { text, contentLength: declared } = responseHead(response);
    let headText = text;
    let contentLength = declared;
    let chunked = false;

    let stream = withBody ? response.body : null;
    if (!withBody) void response.body?.cancel().catch(() => {});
    const gathered: Uint8Array[] = [];
    let gatheredBytes = 0;
    let pendingRead: Promise<ReadResult> | null = null;
    let ended = stream === null;
    if (stream !== null) {
      this.reader = stream.getReader();
      // Gather what the body has at once: a body that ends right away gets a Content-Length, and a
      // small one leaves with the head in one write.
      try {
        for (let first = true; ; first = false) {
          const read = this.reader.read();
          // The head waits for the first chunk (a body that has none yet has nothing to say either).
          const result = first ? await read : await Promise.race([read, soon()]);
          if (result === LATE || gatheredBytes >= COALESCE_BYTES) {
            // Enough gathered: this read only tells whether the body ends here.
            if (result !== LATE && result.done) ended = true;
            else pendingRead = read;
            break;
          }
          if (result.done) {
            ended = true;
            break;
          }
          gathered.push(result.value);
          gatheredBytes += result.value.length;
        }
      } catch {
        // The body failed before anything was sent: the answer becomes a 500.
        return this.respondAfterBodyError(close);
      }
      if (this.finished) return;
    }

    if (withBody) {
      if (contentLength === -1) {
        if (ended) contentLength = gatheredBytes;
        else if (head === null || head.minorVersion === 1) chunked = true;
        else this.closeAfter = true; // HTTP/1.0: the body ends with the connection
      }
      if (contentLength !== -1) headText += `content-length: ${contentLength}\r\n`;
      else if (chunked) headText += "transfer-encoding: chunked\r\n";
    } else if (contentLength !== -1 && status !== 204) {
      headText += `content-length: ${contentLength}\r\n`;
    }

    // Keep the connection only when the client wants it and nothing of this request is left unread.
    const bodyPending = this.body !== null && !this.body.complete;
    if (close || this.failure !== null || head === null || !head.keepAlive || bodyPending || !conn.mayKeepAlive) this.closeAfter = true;
    if (this.closeAfter) headText += "connection: close\r\n";
    else if (head!.minorVersion === 0) headText += "connection: keep-alive\r\n";
    headText += "\r\n";

    this.headWritten = true;
    let ok: boolean;
    // More than the declared Content-Length: send what was declared, then end the connection.
    const overlong = withBody && contentLength !== -1 && gatheredBytes > contentLength;
    if (overlong) {
      gathered.splice(0, gathered.length, Buffer.concat(gathered).subarray(0, contentLength));
      gatheredBytes = contentLength;
    }
    if (gatheredBytes > 0 && gatheredBytes <= SMALL_WRITE_BYTES) {
      // Head and body in one buffer, one write.
      const body = gathered.length === 1 ? gathered[0]! : Buffer.concat(gathered);
      const piece = chunked ? chunkFrame(body) : body;
      const out = Buffer.allocUnsafe(headText.length + piece.length);
      out.write(headText, 0, "latin1");
      out.set(piece, headText.length);
      ok = conn.write(out);
    } else {
      conn.cork();
      ok = conn.write(headText);
      for (const piece of gathered) ok = conn.writeBody(piece, chunked);
      conn.uncork();
    }
    let complete = !overlong;
    if (overlong) void this.reader?.cancel().catch(() => {});
    else if (!ended && this.reader !== null) {
      complete = await this.streamBody(this.reader, pendingRead, ok, gatheredBytes, contentLength, chunked);
    } else if (withBody && contentLength !== -1 && gatheredBytes !== contentLength) {
      complete = false;
    }
    if (this.finished) return;
    this.finished = true;
    this.reader = null;
    if (!complete) {
      // A body that broke off or did not match its Content-Length: the client must see the connection end.
      this.body?.fail(new Error("response failed"));
      return conn.destroy();
    }
    const stillPending = this.body !== null && !this.body.complete;
    if (this.body !== null && !this.body.settled) {
      // The handler answered without reading everything: what is buffered is dropped.
      if (stillPending) this.body.fail(new Error("the response was sent before the request body was read"));
    }
    conn.exchangeDone(this.closeAfter);
  }

  /** Streams the rest of a response body; false when it cannot be completed. */
  private async streamBody(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    pendingRead: Promise<ReadResult> | null,
    ok: boolean,
    written: number,
    contentLength: number,
    chunked: boolean,
  ): Promise<boolean> {
    const conn = this.conn;
    try {
      for (;;) {
        if (!ok) {
          await conn.drained();
          if (this.finished || conn.closed) return false;
        }
        const result = await (pendingRead ?? reader.read());
        pendingRead = null;
        if (this.finished || conn.closed) return false;
        if (result.done) break;
        let value = result.value;
        if (contentLength !== -1) {
          if (written + value.length > contentLength) {
            value = value.subarray(0, contentLength - written);
            void reader.cancel().catch(() => {});
            written += value.length;
            conn.write(value);
            return false;
          }
        }
        written += value.length;
        if (value.length === 0) continue;
        ok = conn.writeBody(value, chunked);
      }
    } catch {
      void reader.cancel().catch(() => {});
      return false;
    }
    if (contentLength !== -1) return written === contentLength;
    if (chunked) conn.write(LAST_CHUNK);
    return true;
  }

  private async respondAfterBodyError(close: boolean): Promise<void> {
    this.reader = null;
    await this.respond(errorResponse(new Error("response body failed before its first byte"), this.method), close);
  }
}
