// Bun's own file streams, for pulling large blobs: about a fifth less CPU per pull than node:fs reads
// there (BENCHMARKS.md, "Every runtime over HTTP"). Only imported where Bun runs.
import type { RangeReader } from "../native/fs-store";

declare const Bun: { file(path: string): { slice(start: number, end: number): { stream(): ReadableStream<Uint8Array> } } };

export const bunFileRanges: RangeReader = (file, position, length) => Bun.file(file).slice(position, position + length).stream();
