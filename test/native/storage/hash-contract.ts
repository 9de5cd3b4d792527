// The node:crypto HashEngine (native-hash.ts) against one-shot digests, on every runtime.
import { portableHashes } from "../../../src/hash/resumable-hash";
import { nativeHashes } from "../../../src/runtimes/native/native-hash";
import { MiB, assert, randomBytes, sha256, sha512, type TestCase } from "./support";

export const hashContract: TestCase<Record<string, never>>[] = [
  {
    name: "sha256 and sha512 over any split equal the one-shot digest",
    async run() {
      const bytes = randomBytes(3 * MiB + 77);
      for (const [algorithm, expected] of [["sha256", sha256(bytes)], ["sha512", sha512(bytes)]] as const) {
        for (const piece of [1, 63, 64, 65, 127, 128, 4096, MiB + 1]) {
          const hash = nativeHashes.create(algorithm);
          const limit = piece === 1 ? 5000 : bytes.length; // byte-by-byte over a prefix only
          for (let at = 0; at < limit; at += piece) hash.update(bytes.subarray(at, Math.min(at + piece, limit)));
          const want = limit === bytes.length ? expected : (algorithm === "sha256" ? sha256 : sha512)(bytes.subarray(0, limit));
          assert.equal(`${algorithm}:${hash.digestHex()}`, want, `${algorithm} in pieces of ${piece}`);
          assert.equal(hash.length, limit);
        }
      }
      assert.equal(`sha256:${nativeHashes.create("sha256").digestHex()}`, sha256(new Uint8Array(0)));
    },
  },
  {
    name: "digestHex does not end the hash; a fork is independent; the state cannot be saved",
    async run() {
      const a = randomBytes(1000);
      const b = randomBytes(2000);
      const hash = nativeHashes.create("sha256");
      hash.update(a);
      assert.equal(`sha256:${hash.digestHex()}`, sha256(a));
      const fork = hash.fork();
      hash.update(b);
      assert.equal(`sha256:${fork.digestHex()}`, sha256(a), "the fork stayed where it was taken");
      assert.equal(fork.length, 1000);
      fork.update(b);
      assert.equal(fork.digestHex(), hash.digestHex());
      assert.equal(hash.save(), null);
      assert.throws(() => nativeHashes.create("md5" as "sha256"), /unsupported/);
    },
  },
  {
    name: "a state saved by the portable engine continues (sessions begun before the switch)",
    async run() {
      const bytes = randomBytes(10_000);
      const started = portableHashes.create("sha512");
      started.update(bytes.subarray(0, 4321));
      const resumed = nativeHashes.restore(started.save()!);
      resumed.update(bytes.subarray(4321));
      assert.equal(`sha512:${resumed.digestHex()}`, sha512(bytes));
    },
  },
];
