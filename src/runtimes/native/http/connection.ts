// One client connection: reads request heads, runs one exchange at a time (sequential
// pipelining), writes responses with backpressure, keeps the connection alive or closes it
// properly (lingering close when the client may still be sending), and enforces the timeouts.
import type { Socket } from "node:net";
import type { RegistryError } from "../../../oci/errors";
import { RequestBody, type BodyOwner } from "./body";
import { Exchange } from "./exchange";
import { ALLOW, parseRequestHead, type RequestHead } from "./head";
import { LINGER_BYTES, LINGER_MS, MAX_TARGET_BYTES, type HttpLimits } from "./limits";
import { isRegistryError, refusal } from "./refusal";
import { LazyAbort, createRequest } from "./request";
import { SMALL_WRITE_BYTES, chunkFrame } from "./response";
import type { ClientConnection } from "./server";

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly limits: HttpLimits;
  /** Still accepting requests; false while the server closes. */
  readonly open: boolean;
  handler(request: Request, client: ClientConnection): Promise<Response>;
  /** host[:port] for requests without Host (HTTP/1.0). */
  defaultAuthority(socket: Socket): string;
  forget(connection: Connection): void;
}

type Phase = "idle" | "head" | "exchange" | "linger" | "closed";

const EMPTY = Buffer.alloc(0);
const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");
/** A request line longer than this (target, method and version) is refused with 414. */
const MAX_REQUEST_LINE = MAX_TARGET_BYTES + 64;
const TLS_HANDSHAKE = 0x16;

export class Connection implements BodyOwner {
  readonly address: string;
  private socket: Socket;
  private phase: Phase = "head";
  private buffer: Buffer = EMPTY;
  /** Storage that `buffer` may be a prefix of (see append). */
  private backing: Buffer | null = null;
  private scanFrom = 0;
  private sawFirstByte = false;
  private peerEnded = false;
  private exchange: Exchange | null = null;
  private drainWaiters: (() => void)[] = [];
  private lingerBytes = 0;
  /** Whether the socket is being read (see pause/resume). */
  private reading = true;

  // Deadlines in ms since the epoch (0: none), checked by the server's clock.
  private headDeadline: number;
  private bodyDeadline = 0;
  private writeDeadline = 0;
  private lingerDeadline = 0;

  constructor(
    socket: Socket,
    private readonly host: ConnectionHost,
    private readonly upgradeToTls: ((raw: Socket, first: Buffer) => Socket) | null,
    private secure = false,
  ) {
    this.socket = socket;
    this.address = normalizeAddress(socket.remoteAddress);
    this.headDeadline = Date.now() + host.limits.headersTimeoutMs;
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    socket.setNoDelay?.(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.onPeerEnd());
    socket.on("drain", () => this.onDrain());
    socket.on("error", () => this.destroy());
    socket.on("close", () => this.onClose());
  }

  // ---- reading -------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    switch (this.phase) {
      case "idle":
        this.phase = "head";
        this.headDeadline = Date.now() + this.host.limits.headersTimeoutMs;
        this.readHead(chunk);
        return;
      case "head":
        if (!this.sawFirstByte) {
          this.sawFirstByte = true;
          if (chunk[0] === TLS_HANDSHAKE) return this.onTlsHello(chunk);
        }
        this.readHead(chunk);
        return;
      case "exchange":
        this.exchange!.onData(chunk);
        return;
      case "linger":
        this.lingerBytes += chunk.length;
        if (this.lingerBytes > LINGER_BYTES) this.destroy();
        return;
      case "closed":
        return;
    }
  }

  private readHead(chunk: Buffer): void {
    this.append(chunk);
    this.parseHead();
  }

  /**
   * Adds bytes to the buffer of unparsed input. The first chunk is kept as it is; more are copied
   * into a buffer that grows by doubling, so a head that drips in byte by byte costs linear time.
   */
  private append(chunk: Uint8Array): void {
    const length = this.buffer.length;
    if (length === 0) {
      this.buffer = chunk as Buffer;
      return;
    }
    const needed = length + chunk.length;
    const current = this.backing;
    const inPlace = current !== null && this.buffer.buffer === current.buffer && this.buffer.byteOffset === current.byteOffset && needed <= current.length;
    const backing = inPlace ? current : Buffer.allocUnsafe(Math.max(needed * 2, 4096));
    if (!inPlace) {
      backing.set(this.buffer, 0);
      this.backing = backing;
    }
    backing.set(chunk, length);
    this.buffer = backing.subarray(0, needed);
  }

  /** Parses a complete head in the buffer and starts its exchange; waits for more bytes otherwise. */
  private parseHead(): void {
    const buffer = this.buffer;
    let start = 0;
    // RFC 9112 2.2: empty lines before a request line are ignored.
    while (buffer.length >= start + 2 && buffer[start] === 0x0d && buffer[start + 1] === 0x0a) start += 2;
    const maxHeader = this.host.limits.maxHeaderBytes;
    const end = buffer.indexOf(CRLFCRLF, Math.max(start, this.scanFrom - 3));
    if (end === -1) {
      this.scanFrom = buffer.length;
      const lineEnd = buffer.indexOf(0x0a, start);
      if ((lineEnd === -1 ? buffer.length : lineEnd) - start > MAX_REQUEST_LINE) {
        return this.refuseHead(refusal(414, `request target longer than ${MAX_TARGET_BYTES} bytes`));
      }
      if (buffer.length - start > maxHeader) {
        return this.refuseHead(refusal(431, `request header fields larger than ${maxHeader} bytes`));
      }
      return;
    }
    if (end - start > maxHeader) {
      const lineEnd = buffer.indexOf(0x0a, start);
      if (lineEnd - start > MAX_REQUEST_LINE) return this.refuseHead(refusal(414, `request target longer than ${MAX_TARGET_BYTES} bytes`));
      return this.refuseHead(refusal(431, `request header fields larger than ${maxHeader} bytes`));
    }
    let head: RequestHead;
    try {
      head = parseRequestHead(buffer.toString("latin1", start, end));
    } catch (err) {
      return this.refuseHead(isRegistryError(err) ? err : refusal(400, "malformed request"));
    }
    const rest = end + 4 < buffer.length ? buffer.subarray(end + 4) : EMPTY;
    this.buffer = EMPTY;
    this.scanFrom = 0;
    this.headDeadline = 0;
    this.startExchange(head, rest);
  }

  private startExchange(head: RequestHead, rest: Buffer): void {
    this.phase = "exchange";
    if (head.path === "*") {
      // OPTIONS * asks about the server as a whole.
      const exchange = new Exchange(this, head, null, null);
      this.exchange = exchange;
      this.buffer = rest;
      this.pause();
      void exchange.respond(new Response(null, { status: 204, headers: { Allow: ALLOW } }));
      return;
    }
    let body: RequestBody | null = null;
    if (head.chunked || head.contentLength > 0) {
      body = new RequestBody(head.contentLength, head.chunked, this.host.limits.maxHeaderBytes, this);
    }
    const exchange = new Exchange(this, head, body, new LazyAbort());
    this.exchange = exchange;
    if (body !== null && rest.length > 0) {
      try {
        this.buffer = (body.feed(rest) as Buffer | null) ?? EMPTY;
      } catch (err) {
        this.buffer = EMPTY;
        void exchange.respond(refusalResponse(err, head.method), true);
        return;
      }
    } else {
      this.buffer = rest;
    }
    // A body is read only when the handler asks for it; without one, reading goes on so that a
    // client that goes away is noticed (and a pipelined request is kept for later).
    if (body !== null && !body.complete) this.pause();
    else this.keepReading();
    const request = this.buildRequest(head, body, exchange.abort!);
    if (request === null) {
      void exchange.respond(refusal(400, "malformed request target").toResponse(head.method), true);
      return;
    }
    void exchange.run(request);
  }

  private buildRequest(head: RequestHead, body: RequestBody | null, abort: LazyAbort): Request | null {
    const origin = head.absoluteOrigin ?? `${this.secure ? "https" : "http"}://${head.host ?? this.host.defaultAuthority(this.socket)}`;
    const init: RequestInit & { duplex?: "half" } = { method: head.method, headers: head.headers };
    if (body !== null) {
      init.body = body.stream;
      init.duplex = "half";
    }
    try {
      return createRequest(origin + head.path, init, abort);
    } catch {
      return null;
    }
  }

  /** Answers a request whose head was refused, then closes. */
  private refuseHead(err: RegistryError): void {
    this.buffer = EMPTY;
    this.headDeadline = 0;
    this.phase = "exchange";
    const exchange = new Exchange(this, null, null, null);
    this.exchange = exchange;
    void exchange.respond(err.toResponse(), true);
  }

  private onTlsHello(first: Buffer): void {
    if (this.upgradeToTls !== null) {
      // HTTPS on the same port: the TLS socket takes over the raw one.
      this.socket.removeAllListeners("data");
      this.socket.removeAllListeners("end");
      this.socket.removeAllListeners("drain");
      this.socket.removeAllListeners("error");
      this.socket.removeAllListeners("close");
      const raw = this.socket;
      raw.on("error", () => raw.destroy());
      this.socket = this.upgradeToTls(raw, first);
      this.secure = true;
      this.attach(this.socket);
      return;
    }
    // No TLS here: a plain HTTP answer at once makes skopeo, podman and docker fall back to HTTP
    // ("server gave HTTP response to HTTPS client") instead of waiting for a handshake timeout.
    this.phase = "linger";
    this.headDeadline = 0;
    this.lingerDeadline = Date.now() + LINGER_MS;
    this.resume();
    void refusal(400, "this port speaks plain HTTP, not TLS")
      .toResponse()
      .text()
      .then((body) => {
        if (this.phase === "closed") return;
        this.socket.end(
          `HTTP/1.0 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      });
  }

  private onPeerEnd(): void {
    this.peerEnded = true;
    if (this.phase === "exchange") this.exchange!.onPeerEnd();
    else if (this.phase !== "linger") this.destroy();
  }

  // ---- BodyOwner -------------------------------------------------------------------------------

  bodyWanted(): void {
    this.exchange?.bodyWanted();
  }

  bodyTaken(): void {
    this.exchange?.bodyTaken();
  }

  // ---- writing ---------------------------------------------------------------------------------

  /** Writes; false when the caller must wait for drained() before writing more. */
  write(data: Uint8Array | string): boolean {
    if (this.phase === "closed") return true;
    return typeof data === "string" ? this.socket.write(data, "latin1") : this.socket.write(data);
  }

  /** Writes response body bytes, framed as a chunk when `chunked`; false when the caller must wait for drained(). */
  writeBody(data: Uint8Array, chunked: boolean): boolean {
    if (!chunked) return this.write(data);
    if (data.length <= SMALL_WRITE_BYTES) return this.write(chunkFrame(data));
    // Large chunks are not copied: size line, data and CRLF leave corked, in one writev where the runtime can.
    this.socket.cork();
    this.write(`${data.length.toString(16)}\r\n`);
    this.write(data);
    const ok = this.write("\r\n");
    this.socket.uncork();
    return ok;
  }

  /** Resolves once the socket's buffer has drained (or the connection is gone); runs the response-idle clock. */
  drained(): Promise<void> {
    if (this.phase === "closed") return Promise.resolve();
    this.writeDeadline = Date.now() + this.host.limits.responseIdleTimeoutMs;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private onDrain(): void {
    this.writeDeadline = 0;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  get closed(): boolean {
    return this.phase === "closed";
  }

  handle(request: Request, body: RequestBody | null): Promise<Response> {
    const receivedBytes = body === null ? noBytes : () => body.receivedBytes;
    return this.host.handler(request, { address: this.address, receivedBytes });
  }

  get mayKeepAlive(): boolean {
    return this.host.open && !this.peerEnded;
  }

  get limits(): HttpLimits {
    return this.host.limits;
  }

  /** Stops reading from the socket (redundant calls are skipped: they cost a lot in some runtimes). */
  pause(): void {
    if (!this.reading) return;
    this.reading = false;
    this.socket.pause();
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  resume(): void {
    if (this.reading || this.phase === "closed") return;
    this.reading = true;
    this.socket.resume();
  }

  setBodyDeadline(waiting: boolean): void {
    this.bodyDeadline = waiting ? Date.now() + this.host.limits.bodyIdleTimeoutMs : 0;
  }

  /** Moves bytes that follow the current request's body (a pipelined request) aside. */
  keepForNextRequest(rest: Uint8Array): void {
    this.append(rest);
    this.keepReading();
  }

  /** Reads on (to notice a client that goes away) unless a pipelined head is already waiting in full. */
  keepReading(): void {
    if (this.buffer.length > this.host.limits.maxHeaderBytes) this.pause();
    else this.resume();
  }

  /** Called by the exchange when its response is written. */
  exchangeDone(close: boolean): void {
    this.exchange = null;
    this.bodyDeadline = 0;
    this.writeDeadline = 0;
    if (this.phase === "closed") return;
    if (close) return this.closeGracefully();
    this.phase = "idle";
    if (this.buffer.length > 0) {
      // A pipelined request is already here.
      this.phase = "head";
      this.headDeadline = Date.now() + this.host.limits.headersTimeoutMs;
      this.parseHead();
      if (this.phase === "head") this.resume();
      return;
    }
    this.headDeadline = Date.now() + this.host.limits.keepAliveTimeoutMs;
    this.resume();
  }

  /**
   * Half-closes after the last response: FIN once it is written, then discards what the client
   * still sends (bounded) until it closes too, so unread request bytes never turn the answer into a reset.
   */
  private closeGracefully(): void {
    // Once both sides have ended and the answer is written, the socket closes by itself.
    this.phase = "linger";
    this.buffer = EMPTY;
    this.socket.end();
    this.lingerDeadline = Date.now() + LINGER_MS;
    this.resume();
  }

  destroy(): void {
    if (this.phase === "closed") return;
    this.socket.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.headDeadline = this.bodyDeadline = this.writeDeadline = this.lingerDeadline = 0;
    this.exchange?.onConnectionLost();
    this.exchange = null;
    this.onDrain();
    this.host.forget(this);
  }

  /** The server's clock: acts on expired deadlines. */
  tick(now: number): void {
    if (this.headDeadline !== 0 && now >= this.headDeadline) {
      this.headDeadline = 0;
      // An idle kept-alive connection, or one that never sent a byte, just closes; a started head gets 408.
      if (this.phase === "head" && this.buffer.length > 0) this.refuseHead(refusal(408, "request head not received in time"));
      else if (this.phase === "idle" || this.phase === "head") this.destroy();
    }
    if (this.bodyDeadline !== 0 && now >= this.bodyDeadline) {
      this.bodyDeadline = 0;
      this.exchange?.onBodyStalled();
    }
    if (this.writeDeadline !== 0 && now >= this.writeDeadline) {
      this.writeDeadline = 0;
      this.destroy();
    }
    if (this.lingerDeadline !== 0 && now >= this.lingerDeadline) this.destroy();
  }

  /** Closes an idle connection now, or the busy one after its current response (server closing). */
  shutdown(): void {
    if (this.phase === "idle" || (this.phase === "head" && this.buffer.length === 0)) this.destroy();
  }
}

const noBytes = () => 0;

/** A thrown refusal as a response; anything else is a 400. */
function refusalResponse(err: unknown, method: string): Response {
  return (isRegistryError(err) ? err : refusal(400, "malformed request")).toResponse(method);
}

/** "::ffff:1.2.3.4" is the IPv4 client 1.2.3.4. */
function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

