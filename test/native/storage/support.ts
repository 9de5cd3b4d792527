// Small helpers shared by the native storage tests and the cross-runtime contract runner: no
// vitest here (the runner is bundled and run under Bun and Deno), node:assert for checks.
import assert from "node:assert/strict";
import { createHash, randomBytes as nodeRandomBytes } from "node:crypto";
import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const MiB = 1024 * 1024;
export const BASE = "http://registry.test";

export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(n));
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export function sha512(bytes: Uint8Array): string {
  return `sha512:${createHash("sha512").update(bytes).digest("hex")}`;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A fresh directory under the system temp dir (or `under`). */
export function tempDir(label: string, under = os.tmpdir()): string {
  return fs.mkdtempSync(path.join(under, `edge-registry-${label}-`));
}

export async function readAll(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** Byte equality without multi-megabyte diffs in the failure. */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, label = "bytes"): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${label}: first difference at byte ${i}`);
  }
}

/** A stream of `bytes` in pieces of `piece` bytes. */
export function streamOf(bytes: Uint8Array, piece = 64 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

export interface TestCase<C> {
  name: string;
  run(context: C): Promise<void>;
}

/** The registry's JSON error envelope of a response, checked. */
export async function errorsOf(response: Response): Promise<{ code: string; message: string }[]> {
  const body = (await response.json()) as { errors?: { code: string; message: string }[] };
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, "error envelope");
  return body.errors;
}

export { assert };
