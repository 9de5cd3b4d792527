import { describe, it, expect } from "vitest";
import {
  createHash,
  restoreHash,
  type HashAlgorithm,
  type ResumableHash,
} from "../../src/hash/resumable-hash";

const ALGORITHMS: HashAlgorithm[] = ["sha256", "sha512"];
const BLOCK: Record<HashAlgorithm, number> = { sha256: 64, sha512: 128 };
const WORDS: Record<HashAlgorithm, number> = { sha256: 32, sha512: 64 };
const SUBTLE_NAME: Record<HashAlgorithm, string> = { sha256: "SHA-256", sha512: "SHA-512" };

const enc = new TextEncoder();

function toHex(buf: ArrayBuffer): string {
  const bytes = new Uint8Array(buf);
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, "0");
  return s;
}

async function reference(alg: HashAlgorithm, data: Uint8Array): Promise<string> {
  // slice(): a copy with a plain ArrayBuffer, which is what BufferSource wants under every lib typing
  return toHex(await crypto.subtle.digest(SUBTLE_NAME[alg], data.slice()));
}

/** Deterministic PRNG (mulberry32) so failures are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const rnd = prng(seed);
  for (let i = 0; i + 4 <= n; i += 4) {
    const v = (rnd() * 4294967296) >>> 0;
    out[i] = v;
    out[i + 1] = v >>> 8;
    out[i + 2] = v >>> 16;
    out[i + 3] = v >>> 24;
  }
  for (let i = n - (n % 4); i < n; i++) out[i] = (rnd() * 256) | 0;
  return out;
}

/** Piece sizes spread log-uniformly over [1, max]: plenty of tiny, mid-size and huge pieces. */
function randomPieceSize(rnd: () => number, max: number): number {
  return Math.max(1, Math.min(max, Math.floor(Math.exp(rnd() * Math.log(max + 1)))));
}

function hashOf(alg: HashAlgorithm, ...parts: Uint8Array[]): ResumableHash {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h;
}

describe("resumable hash: known answers (FIPS 180-4 examples)", () => {
  const vectors: Record<HashAlgorithm, Array<[string, string]>> = {
    sha256: [
      ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
      ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
      [
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
      ],
    ],
    sha512: [
      [
        "",
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" +
          "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
      ],
      [
        "abc",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" +
          "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
      ],
      [
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018" +
          "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
      ],
    ],
  };

  for (const alg of ALGORITHMS) {
    it(`${alg}: published vectors`, async () => {
      for (const [msg, hex] of vectors[alg]) {
        const data = enc.encode(msg);
        const h = hashOf(alg, data);
        expect(h.digestHex()).toBe(hex);
        expect(h.digestHex()).toBe(await reference(alg, data));
        expect(h.length).toBe(data.length);
        expect(h.algorithm).toBe(alg);
      }
    });

    it(`${alg}: both FIPS multi-block messages match WebCrypto`, async () => {
      for (const msg of [
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
      ]) {
        const data = enc.encode(msg);
        expect(hashOf(alg, data).digestHex()).toBe(await reference(alg, data));
      }
    });

    it(`${alg}: one million 'a'`, async () => {
      const data = new Uint8Array(1_000_000).fill(0x61);
      const expected: Record<HashAlgorithm, string> = {
        sha256: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
        sha512:
          "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb" +
          "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
      };
      expect(hashOf(alg, data).digestHex()).toBe(expected[alg]);
      expect(expected[alg]).toBe(await reference(alg, data));
    });
  }
});

describe("resumable hash vs crypto.subtle.digest", () => {
  for (const alg of ALGORITHMS) {
    it(`${alg}: every length 0..300, one-shot and byte by byte`, async () => {
      const data = randomBytes(300, 1);
      const byteByByte = createHash(alg);
      for (let n = 0; n <= 300; n++) {
        const prefix = data.subarray(0, n);
        const ref = await reference(alg, prefix);
        expect(hashOf(alg, prefix).digestHex(), `one-shot n=${n}`).toBe(ref);
        // digestHex after every byte must neither be wrong nor disturb later bytes
        expect(byteByByte.length).toBe(n);
        expect(byteByByte.digestHex(), `byte-by-byte n=${n}`).toBe(ref);
        if (n < 300) byteByByte.update(data.subarray(n, n + 1));
      }
    });

    it(`${alg}: a few MiB fed in random-size pieces (1 B .. 1 MiB)`, async () => {
      const data = randomBytes(3 * 1024 * 1024 + 777, 2);
      const ref = await reference(alg, data);
      for (const seed of [10, 11]) {
        const rnd = prng(seed);
        const h = createHash(alg);
        let pos = 0;
        while (pos < data.length) {
          const n = Math.min(randomPieceSize(rnd, 1024 * 1024), data.length - pos);
          h.update(data.subarray(pos, pos + n));
          if (rnd() < 0.05) h.update(new Uint8Array(0));
          pos += n;
        }
        expect(h.length).toBe(data.length);
        expect(h.digestHex()).toBe(ref);
      }
    });

    it(`${alg}: input views with odd byteOffset into a larger buffer`, async () => {
      const backing = randomBytes(10_000, 3);
      for (const [off, len] of [
        [1, 0],
        [1, 63],
        [3, 64],
        [5, 129],
        [7, 1000],
        [13, 9_000],
      ] as const) {
        const view = new Uint8Array(backing.buffer, off, len);
        const copy = view.slice();
        expect(hashOf(alg, view).digestHex()).toBe(await reference(alg, copy));
        // also after a partial block is already buffered
        const h = hashOf(alg, copy.subarray(0, Math.min(1, len)));
        h.update(view.subarray(h.length));
        expect(h.digestHex()).toBe(await reference(alg, copy));
      }
    });

    it(`${alg}: digestHex mid-stream does not change the state`, async () => {
      const data = randomBytes(5_000, 4);
      const h = createHash(alg);
      h.update(data.subarray(0, 1_234));
      const mid = h.digestHex();
      expect(h.digestHex()).toBe(mid);
      expect(mid).toBe(await reference(alg, data.subarray(0, 1_234)));
      expect(h.length).toBe(1_234);
      h.update(data.subarray(1_234, 4_000));
      expect(h.digestHex()).toBe(await reference(alg, data.subarray(0, 4_000)));
      h.update(data.subarray(4_000));
      expect(h.digestHex()).toBe(await reference(alg, data));
      expect(h.length).toBe(5_000);
    });
  }
});

describe("resumable hash: export / restore", () => {
  for (const alg of ALGORITHMS) {
    const block = BLOCK[alg];

    it(`${alg}: state layout and size`, () => {
      const h = createHash(alg);
      h.update(randomBytes(block * 3 + 5, 5));
      const state = h.exportState();
      expect(state[0]).toBe(1); // format version
      expect(state[1]).toBe(alg === "sha256" ? 1 : 2);
      expect(state.length).toBe(10 + WORDS[alg] + 5);
      const fresh = createHash(alg).exportState();
      expect(fresh.length).toBe(10 + WORDS[alg]);
    });

    it(`${alg}: export/restore at many random points (mid-block and block boundaries)`, async () => {
      const data = randomBytes(64 * 1024 + 300, 6);
      const ref = await reference(alg, data);
      const rnd = prng(7);

      // cut points: random ones plus every kind of block-relative position
      const cuts = new Set<number>([0, 1, block - 1, block, block + 1, 2 * block, data.length]);
      for (let i = 0; i < 40; i++) cuts.add(Math.floor(rnd() * data.length));
      for (let i = 0; i < 15; i++) cuts.add(block * Math.floor((rnd() * data.length) / block));
      const sorted = [...cuts].sort((a, b) => a - b);

      let h = createHash(alg);
      let pos = 0;
      for (const cut of sorted) {
        // feed up to the cut in a couple of uneven pieces
        while (pos < cut) {
          const n = Math.min(randomPieceSize(rnd, 5_000), cut - pos);
          h.update(data.subarray(pos, pos + n));
          pos += n;
        }
        const before = h.digestHex();
        const state = h.exportState();
        expect(state.length).toBe(10 + WORDS[alg] + (cut % block));

        // restore from a copy living at an odd offset inside a bigger buffer
        const holder = new Uint8Array(state.length + 7);
        holder.set(state, 3);
        const restored = restoreHash(holder.subarray(3, 3 + state.length));
        expect(restored.algorithm).toBe(alg);
        expect(restored.length).toBe(cut);
        expect(restored.digestHex()).toBe(before);
        expect(restored.exportState()).toEqual(state);
        h = restored; // carry on with the restored object only
      }
      expect(pos).toBe(data.length);
      expect(h.digestHex()).toBe(ref);
    });

    it(`${alg}: restore after every single byte of a short stream`, async () => {
      const data = randomBytes(3 * block + 17, 8);
      let h = createHash(alg);
      for (let i = 0; i < data.length; i++) {
        h = restoreHash(h.exportState());
        h.update(data.subarray(i, i + 1));
      }
      expect(restoreHash(h.exportState()).digestHex()).toBe(await reference(alg, data));
    });

    it(`${alg}: a restored copy is independent of the original`, async () => {
      const data = randomBytes(1_000, 9);
      const a = hashOf(alg, data.subarray(0, 500));
      const b = restoreHash(a.exportState());
      a.update(data.subarray(500));
      expect(b.digestHex()).toBe(await reference(alg, data.subarray(0, 500)));
      b.update(data.subarray(500));
      expect(b.digestHex()).toBe(a.digestHex());
    });
  }
});

describe("resumable hash: malformed state and bad input", () => {
  it("restoreHash rejects garbage", () => {
    const rnd = prng(12);
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array(1).fill(1),
      new Uint8Array(2).fill(1),
      new Uint8Array(100),
      enc.encode("definitely not a hash state"),
    ];
    for (let i = 0; i < 200; i++) bad.push(randomBytes(Math.floor(rnd() * 200), 100 + i));
    for (const state of bad) {
      let threw = false;
      try {
        restoreHash(state);
      } catch (e) {
        threw = true;
        expect(e).toBeInstanceOf(Error);
      }
      // random bytes are valid only in the astronomically unlikely case that
      // version, tag, length and size all line up; these seeds never do
      expect(threw, `state of ${state.length} bytes`).toBe(true);
    }
    expect(() => restoreHash(null as unknown as Uint8Array)).toThrow(Error);
    expect(() => restoreHash("abc" as unknown as Uint8Array)).toThrow(Error);
    expect(() => restoreHash([1, 1, 0] as unknown as Uint8Array)).toThrow(Error);
  });

  for (const alg of ALGORITHMS) {
    it(`${alg}: restoreHash rejects corrupted valid states`, () => {
      const h = hashOf(alg, randomBytes(BLOCK[alg] + 10, 13));
      const good = h.exportState();
      expect(() => restoreHash(good)).not.toThrow();

      const withByte = (index: number, value: number): Uint8Array => {
        const s = good.slice();
        s[index] = value;
        return s;
      };
      const cases: Array<[string, Uint8Array]> = [
        ["wrong version", withByte(0, 2)],
        ["version 0", withByte(0, 0)],
        ["unknown tag", withByte(1, 9)],
        ["other algorithm's tag", withByte(1, alg === "sha256" ? 2 : 1)],
        ["truncated by one byte", good.slice(0, good.length - 1)],
        ["one extra byte", new Uint8Array([...good, 0])],
        ["header only", good.slice(0, 10)],
        ["length changed (buffer size mismatch)", withByte(9, (good[9]! + 1) & 0xff)],
        ["length beyond 2^53", withByte(2, 0xff)],
      ];
      for (const [name, state] of cases) {
        expect(() => restoreHash(state), name).toThrow(Error);
      }
    });

    it(`${alg}: empty updates are no-ops`, async () => {
      const h = createHash(alg);
      h.update(new Uint8Array(0));
      expect(h.length).toBe(0);
      expect(h.digestHex()).toBe(await reference(alg, new Uint8Array(0)));
      expect(restoreHash(h.exportState()).digestHex()).toBe(h.digestHex());
    });
  }

  it("createHash rejects unknown algorithms", () => {
    expect(() => createHash("md5" as HashAlgorithm)).toThrow(Error);
  });
});
