// R2ObjectStore reading multipart-assembled blobs in ranged pieces (R2_READ_PIECE_BYTES): the
// same bytes and length as one GET, whole and for ranges that start, end and cross inside pieces.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { keys } from "../../src/storage/layout";
import { R2ObjectStore } from "../../src/runtimes/workers/r2";
import * as h from "./helpers";

const { MiB } = h;

async function multipartObject(key: string, parts: Uint8Array[]): Promise<Uint8Array> {
  const upload = await env.BUCKET.createMultipartUpload(key);
  const uploaded = [];
  for (let i = 0; i < parts.length; i++) uploaded.push(await upload.uploadPart(i + 1, parts[i]!));
  await upload.complete(uploaded);
  return h.concatBytes(...parts);
}

async function read(store: R2ObjectStore, key: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
  const object = await store.get(key, range);
  expect(object).not.toBeNull();
  // Through a Response, as the blob route sends it: the length must be fixed and exact.
  const res = new Response(object!.body);
  return new Uint8Array(await res.arrayBuffer());
}

describe("R2ObjectStore with readPieceBytes", () => {
  it("reads a multipart blob whole and by ranges, in 1 MiB + 7 byte pieces", async () => {
    const key = keys.blobData(`pieces-${crypto.randomUUID()}`);
    const bytes = await multipartObject(key, [h.randomBytes(5 * MiB), h.randomBytes(MiB + MiB / 2 + 3)]);
    const pieces = new R2ObjectStore(env.BUCKET, { readPieceBytes: MiB + 7 });

    h.expectSameBytes(await read(pieces, key), bytes, "whole");
    for (const [offset, length] of [
      [0, 1],
      [MiB + 6, 2], // across a piece boundary
      [5 * MiB - 3, 10], // across the multipart part boundary
      [123, 3 * MiB], // several pieces, starting and ending inside them
      [bytes.length - 5, 5],
    ] as const) {
      h.expectSameBytes(await read(pieces, key, { offset, length }), bytes.subarray(offset, offset + length), `range ${offset}+${length}`);
    }
    const object = await pieces.get(key, { offset: 10, length: 20 });
    expect(object!.size).toBe(bytes.length);
    expect(object!.range).toEqual({ offset: 10, length: 20 });
    await object!.body.cancel();
  });

  it("a missing blob is null, and other keys are read with one GET as before", async () => {
    const pieces = new R2ObjectStore(env.BUCKET, { readPieceBytes: MiB });
    expect(await pieces.get(keys.blobData(`missing-${crypto.randomUUID()}`))).toBeNull();
    const key = `blobs/sha256/${"ab".repeat(32)}-${crypto.randomUUID()}`;
    const small = h.randomBytes(3 * MiB);
    await env.BUCKET.put(key, small);
    h.expectSameBytes(await read(pieces, key), small, "plain object");
  });
});
