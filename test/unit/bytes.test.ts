// readAtMost: the one capped body reader behind readCapped (request bodies) and readSmall (upstream answers).
import { describe, expect, it } from "vitest";
import { readAtMost } from "../../src/bytes";

/** A stream of `sizes` chunks that records how many it handed out and whether it was cancelled. */
function chunks(sizes: number[]) {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = sizes[seen.pulled++];
      if (size === undefined) controller.close();
      else controller.enqueue(new Uint8Array(size).fill(seen.pulled));
    },
    cancel() {
      seen.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

describe("readAtMost", () => {
  it("returns the whole body up to exactly max bytes, joined in order", async () => {
    const { stream, seen } = chunks([3, 4, 3]);
    const bytes = await readAtMost(stream, 10);
    expect(bytes && [...bytes]).toEqual([1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
    expect(seen.cancelled).toBe(false);
  });

  it("no body is an empty one", async () => {
    expect(await readAtMost(null, 10)).toEqual(new Uint8Array(0));
  });

  it("one byte over max without a drain limit: null, and the rest is cancelled at once", async () => {
    const { stream, seen } = chunks([6, 5, 100, 100]);
    expect(await readAtMost(stream, 10)).toBeNull();
    expect(seen).toEqual({ pulled: 2, cancelled: true });
  });

  it("over max with a drain limit: read and dropped to the end when the whole body fits the limit", async () => {
    const { stream, seen } = chunks([6, 5, 20]);
    expect(await readAtMost(stream, 10, 40)).toBeNull();
    expect(seen.cancelled).toBe(false);
    expect(seen.pulled).toBe(4); // the end of the stream was read
  });

  it("past the drain limit: null, cancelled there", async () => {
    const { stream, seen } = chunks([6, 5, 20, 20, 20]);
    expect(await readAtMost(stream, 10, 40)).toBeNull();
    expect(seen).toEqual({ pulled: 4, cancelled: true });
  });
});
