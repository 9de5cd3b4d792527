// The Fetch Request handed to the handler. Its `signal` is made on first use: in Node an
// AbortSignal passed to `new Request` costs more than the rest of the request together
// (measured: 6 us without, 15 us with), and most handlers never look at it.

const ABORT = Symbol("abort");

/** Aborts a request's signal, whether or not anyone has asked for it yet. */
export class LazyAbort {
  private controller: AbortController | null = null;
  private reason: unknown = undefined;
  aborted = false;

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

class ServerRequest extends Request {
  declare [ABORT]: LazyAbort;
}
Object.defineProperty(ServerRequest.prototype, "signal", {
  get(this: ServerRequest) {
    return this[ABORT].signal;
  },
  configurable: true,
});

export function createRequest(url: string, init: RequestInit & { duplex?: "half" }, abort: LazyAbort): Request {
  const request = new ServerRequest(url, init);
  request[ABORT] = abort;
  return request;
}
