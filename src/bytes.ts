// Byte-array helpers shared by the router, the upload session and the pull-through cache.

/** Joins chunks into one array of `length` bytes (their total by default); one chunk is returned as is. */
export function concatBytes(chunks: Uint8Array[], length = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.length === length) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * A whole stream of at most `max` bytes, or null when it is longer. Bytes past `max` are read and
 * dropped until `drainLimit` bytes came in all (default `max`: none), then the rest is cancelled.
 */
export async function readAtMost(body: ReadableStream<Uint8Array> | null, max: number, drainLimit = max): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0);
  const stopAt = Math.max(max, drainLimit);
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > stopAt) {
      await reader.cancel();
      return null;
    }
    if (length <= max) chunks.push(value);
  }
  return length > max ? null : concatBytes(chunks, length);
}
