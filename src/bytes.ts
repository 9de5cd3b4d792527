// Byte-array helpers shared by the router and the upload session.

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
