// forkBody (src/extensions/pull-through/fork.ts): one upstream body to the store and the client,
// bounded buffering, the client's last chunk held for the store's verdict, a stalled upstream given up.
import { describe, expect, it } from "vitest";
import { forkBody, UpstreamStalled } from "../../src/extensions/pull-through/fork";

function source(chunks: number, size = 1024): { stream: ReadableStream<Uint8Array>; pulled(): number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled === chunks) return controller.close();
        pulled++;
        controller.enqueue(new Uint8Array(size).fill(pulled % 256));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  return bytes;
}

describe("forkBody", () => {
  it("the store waits for a client that does not read: only a few chunks are ever buffered", async () => {
    const upstream = source(1000);
    const fork = forkBody(upstream.stream);
    const storeReader = fork.store.getReader();
    // The client reads nothing; the store reads as fast as it can.
    const reads = (async () => {
      for (;;) if ((await storeReader.read()).done) return;
    })();
    await new Promise((r) => setTimeout(r, 100));
    expect(upstream.pulled()).toBeLessThanOrEqual(8);
    // Once the client goes away, the store reads the rest alone.
    await fork.client.cancel();
    await reads;
    expect(upstream.pulled()).toBe(1000);
  });

  it("the client's copy completes only after the store's verdict, and errors when the store refuses", async () => {
    const ok = forkBody(source(10).stream);
    const okClient = readAll(ok.client);
    expect(await readAll(ok.store)).toBe(10 * 1024);
    ok.settle();
    expect(await okClient).toBe(10 * 1024);

    const bad = forkBody(source(10).stream);
    const received: number[] = [];
    const badClient = (async () => {
      for await (const chunk of bad.client as unknown as AsyncIterable<Uint8Array>) received.push(chunk.length);
    })();
    await readAll(bad.store);
    bad.settle(new Error("digest mismatch"));
    await expect(badClient).rejects.toThrow("digest mismatch");
    // Never the whole blob: the last chunk was held back.
    expect(received.reduce((a, b) => a + b, 0)).toBeLessThan(10 * 1024);
  });

  it("an upstream that stalls fails the store after the idle time", async () => {
    const stalled = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new Uint8Array(10)) });
    const fork = forkBody(stalled, 200);
    void fork.client.cancel();
    await expect(readAll(fork.store)).rejects.toBeInstanceOf(UpstreamStalled);
  });
});
