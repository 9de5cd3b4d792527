// One upstream body, two readers: the store (which sets the pace) and the client that asked for it.
// Nothing is buffered beyond a few chunks: the store reads on only while the client keeps up (or
// has gone). The client's last chunk is held back until the store's verdict: a blob whose digest
// turns out wrong reaches the client cut short, never complete.

export interface ForkedBody {
  /** Read by the store; it ends when the upstream body ends. */
  store: ReadableStream<Uint8Array>;
  /** Read by the client; it ends once `settle` is called after the store has read everything. */
  client: ReadableStream<Uint8Array>;
  /** The store's verdict: the client's stream is completed, or errored with `error`. */
  settle(error?: unknown): void;
}

/** Chunks queued for a slow client before the store waits for it. */
const CLIENT_QUEUE_CHUNKS = 4;
/** An upstream body that sends nothing for this long is given up (the store fails, nothing is kept). */
export const UPSTREAM_IDLE_MS = 60_000;

export class UpstreamStalled extends Error {}

export function forkBody(source: ReadableStream<Uint8Array>, idleMs = UPSTREAM_IDLE_MS): ForkedBody {
  const reader = source.getReader();
  let client!: ReadableStreamDefaultController<Uint8Array>;
  let clientGone = false;
  let held: Uint8Array | null = null;
  let wake: (() => void) | null = null;
  const wakeStore = () => {
    wake?.();
    wake = null;
  };

  const clientStream = new ReadableStream<Uint8Array>(
    {
      start: (controller) => void (client = controller),
      pull: wakeStore,
      cancel: () => {
        // The client went away: the store goes on alone, so the blob is still stored once.
        clientGone = true;
        held = null;
        wakeStore();
      },
    },
    { highWaterMark: CLIENT_QUEUE_CHUNKS },
  );

  const storeStream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await readWithin(reader, idleMs);
        if (done) return controller.close();
        if (!clientGone) {
          if (held) client.enqueue(held);
          held = value;
          while (!clientGone && (client.desiredSize ?? 1) <= 0) await new Promise<void>((resolve) => (wake = resolve));
        }
        controller.enqueue(value);
      },
      cancel: async (reason) => {
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );

  return {
    store: storeStream,
    client: clientStream,
    settle(error?: unknown) {
      if (clientGone) return;
      clientGone = true;
      try {
        if (error !== undefined) return client.error(error);
        if (held) client.enqueue(held);
        client.close();
      } catch {
        // already closed or errored
      }
    },
  };
}

/** One read, or UpstreamStalled when nothing arrives within `ms` (a stalled upstream must not hold a flight forever). */
async function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpstreamStalled(`the upstream sent nothing for ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([reader.read(), stalled]);
  } catch (err) {
    if (err instanceof UpstreamStalled) await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
