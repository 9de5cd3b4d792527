// A request body as a pull-driven ReadableStream: bytes are framed (Content-Length or chunked)
// as they arrive and handed out only when the handler reads, with at most a small read-ahead.
import { ChunkedDecoder } from "./chunked";

/** What a body needs from its connection. */
export interface BodyOwner {
  /** The handler waits for bytes: send 100 Continue if asked for, read from the socket, run the idle clock. */
  bodyWanted(): void;
  /** The handler took what there was; the connection decides whether to keep reading ahead. */
  bodyTaken(): void;
}

export class RequestBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** Every byte of the body has arrived (its framing is complete). */
  complete = false;
  /** The handler asked for bytes at least once. */
  pulled = false;
  /** The stream will deliver nothing more (closed, errored or cancelled). */
  settled = false;
  /** Bytes received and not yet handed to the stream. */
  queuedBytes = 0;
  /** Body bytes received in all (after chunked decoding). */
  receivedBytes = 0;

  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private queue: Uint8Array[] = [];
  private remaining: number;
  private readonly decoder: ChunkedDecoder | null;
  private waiting: (() => void) | null = null;

  constructor(contentLength: number, chunked: boolean, maxTrailerBytes: number, private readonly owner: BodyOwner) {
    this.remaining = contentLength;
    this.decoder = chunked ? new ChunkedDecoder(maxTrailerBytes) : null;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.pull(),
        cancel: () => this.cancel(),
      },
      { highWaterMark: 0 },
    );
  }

  /** The handler is waiting for bytes that have not arrived. */
  get waitingForBytes(): boolean {
    return this.waiting !== null;
  }

  /**
   * Takes the body's bytes from `chunk`; returns what follows the body (the next request), or null.
   * Throws a 400 RegistryError on bad chunked framing.
   */
  feed(chunk: Uint8Array): Uint8Array | null {
    let used: number;
    if (this.decoder === null) {
      used = Math.min(this.remaining, chunk.length);
      if (used > 0) this.push(used === chunk.length ? chunk : chunk.subarray(0, used));
      this.remaining -= used;
      if (this.remaining === 0) this.complete = true;
    } else {
      used = this.decoder.decode(chunk, 0, chunk.length, (from, to) => this.push(chunk.subarray(from, to)));
      if (this.decoder.done) this.complete = true;
    }
    this.deliver();
    return used < chunk.length ? chunk.subarray(used) : null;
  }

  /** Ends the stream with an error (client gone, body stalled, bad framing). */
  fail(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.dropQueue();
    this.controller.error(reason);
    this.wake();
  }

  private push(data: Uint8Array): void {
    if (this.settled) return;
    this.queue.push(data);
    this.queuedBytes += data.length;
    this.receivedBytes += data.length;
  }

  /** Hands queued bytes to a waiting reader, and the end of the body once everything is handed. */
  private deliver(): void {
    if (this.waiting === null || this.settled) return;
    if (this.queue.length > 0) this.flushQueue();
    else if (!this.complete) return;
    if (this.complete && this.queue.length === 0) this.close();
    this.wake();
  }

  private pull(): Promise<void> | undefined {
    this.pulled = true;
    if (this.queue.length > 0) {
      this.flushQueue();
      if (this.complete) this.close();
      this.owner.bodyTaken();
      return undefined;
    }
    if (this.complete) {
      this.close();
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.waiting = resolve;
      this.owner.bodyWanted();
    });
  }

  private flushQueue(): void {
    for (const data of this.queue) this.controller.enqueue(data);
    this.dropQueue();
  }

  private dropQueue(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }

  private close(): void {
    if (this.settled) return;
    this.settled = true;
    this.controller.close();
  }

  private cancel(): void {
    this.settled = true;
    this.dropQueue();
    this.wake();
  }

  private wake(): void {
    const resolve = this.waiting;
    this.waiting = null;
    if (resolve) {
      resolve();
      this.owner.bodyTaken();
    }
  }
}
