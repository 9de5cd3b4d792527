// Writes objects and multipart uploads in a loop until killed: each object's metadata carries the
// SHA-256 of its bytes, so a reader can tell a torn write. argv: <store root>
import { createHash, randomBytes } from "node:crypto";
import process from "node:process";
import { FilesystemObjectStore } from "../../../../src/runtimes/native/fs-store";

const MiB = 1024 * 1024;
const store = await FilesystemObjectStore.open(process.argv[2]!);
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
console.log(JSON.stringify({ ready: true }));
for (let i = 0; ; i++) {
  const bytes = new Uint8Array(randomBytes(MiB + ((i * 7919) % (3 * MiB))));
  await store.put(`torn/k${i % 4}`, bytes, { sha: sha(bytes), n: String(i) });
  if (i % 3 === 0) {
    const key = `torn/mp${i % 2}`;
    const id = await store.createMultipart(key);
    const parts = [new Uint8Array(randomBytes(5 * MiB)), new Uint8Array(randomBytes(1000 + i))];
    const uploaded = [];
    for (const [n, part] of parts.entries()) uploaded.push(await store.uploadPart(key, id, n + 1, part));
    await store.completeMultipart(key, id, uploaded);
  }
  console.log(JSON.stringify({ written: i }));
}
