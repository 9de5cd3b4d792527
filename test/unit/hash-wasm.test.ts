// The WebAssembly SHA-256 compression (src/hash/sha256.wasm) against WebCrypto, and hash states
// moving between it and the TypeScript compression. hash.test.ts covers the TypeScript path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, restoreHash } from "../../src/hash/resumable-hash";
import { sha256Engine, stopUsingSha256Wasm, useSha256Wasm } from "../../src/hash/sha256-wasm";
import sha256Wasm from "../../src/hash/sha256.wasm";

function toHex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function webcrypto(data: Uint8Array): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", data.slice()));
}

/** Deterministic bytes (xorshift32), so a failure is reproducible. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

describe("sha256 with WebAssembly compression", () => {
  beforeAll(() => useSha256Wasm(sha256Wasm));
  afterAll(() => stopUsingSha256Wasm());

  it("the module is a compiled WebAssembly.Module (imported, not compiled at run time)", () => {
    expect(sha256Wasm).toBeInstanceOf(WebAssembly.Module);
    expect(sha256Engine()).toBe("wasm");
  });

  it("known answers", () => {
    const hex = (s: string) => {
      const h = createHash("sha256");
      h.update(new TextEncoder().encode(s));
      return h.digestHex();
    };
    expect(hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("every length 0..300, one-shot and byte by byte", async () => {
    const data = bytes(300, 7);
    for (let n = 0; n <= 300; n++) {
      const input = data.subarray(0, n);
      const oneShot = createHash("sha256");
      oneShot.update(input);
      const byByte = createHash("sha256");
      for (let i = 0; i < n; i++) byByte.update(input.subarray(i, i + 1));
      const expected = await webcrypto(input);
      expect(oneShot.digestHex()).toBe(expected);
      expect(byByte.digestHex()).toBe(expected);
    }
  });

  it("pieces larger than the 64 KiB slab, at odd offsets into a larger buffer", async () => {
    const backing = bytes(3 * 1024 * 1024 + 7, 11);
    const data = backing.subarray(3, backing.length - 4); // odd byteOffset and length
    const hash = createHash("sha256");
    let at = 0;
    for (const size of [1, 63, 65, 70_000, 64 * 1024, 200_001, 1_000_000, 5]) {
      hash.update(data.subarray(at, at + size));
      at += size;
    }
    hash.update(data.subarray(at));
    expect(hash.digestHex()).toBe(await webcrypto(data));
  });

  it("a state exported with WebAssembly resumes in TypeScript, and back", async () => {
    const data = bytes(1_000_003, 23);
    const first = createHash("sha256");
    first.update(data.subarray(0, 333_333));
    const state = first.exportState();

    stopUsingSha256Wasm();
    expect(sha256Engine()).toBe("typescript");
    const middle = restoreHash(state);
    middle.update(data.subarray(333_333, 700_001));
    const state2 = middle.exportState();

    useSha256Wasm(sha256Wasm);
    const last = restoreHash(state2);
    last.update(data.subarray(700_001));
    expect(last.digestHex()).toBe(await webcrypto(data));
  });
});
