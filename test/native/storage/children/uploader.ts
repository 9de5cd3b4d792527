// Uploads a file to a native registry in two PATCHes and is killed by the test: after the first
// chunk ("between"), or while the second streams ("inside"). argv: <data dir> <file> <first chunk bytes> <mode>
import * as fs from "node:fs";
import process from "node:process";
import { createNativeRegistry } from "../../../../src/runtimes/native/registry";

const [dataDir, file, firstBytes, mode] = process.argv.slice(2) as [string, string, string, "between" | "inside"];
const bytes = new Uint8Array(fs.readFileSync(file));
const first = Number(firstBytes);
const registry = await createNativeRegistry({ dataDir, settings: { AUTH_MODE: "open", UPLOAD_PART_SIZE: String(5 * 1024 * 1024) } });
const base = "http://registry.test";
const post = await registry.handle(new Request(`${base}/v2/demo/killed/blobs/uploads/`, { method: "POST" }));
const location = post.headers.get("Location")!;
const chunk1 = await registry.handle(
  new Request(base + location, { method: "PATCH", body: bytes.subarray(0, first), headers: { "Content-Range": `0-${first - 1}` } }),
);
console.log(JSON.stringify({ location, chunk1: chunk1.status, range: chunk1.headers.get("Range") }));
if (mode === "between") await new Promise(() => setInterval(() => {}, 1000)); // wait to be killed
// The second chunk streams slowly, 256 KiB at a time, reporting how much it has handed over.
let at = first;
const slow = new ReadableStream<Uint8Array>({
  async pull(controller) {
    if (at >= bytes.length) return controller.close();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const piece = bytes.slice(at, at + 256 * 1024);
    controller.enqueue(piece);
    at += piece.length;
    console.log(JSON.stringify({ sent: at }));
  },
});
const init: RequestInit & { duplex: string } = { method: "PATCH", body: slow, duplex: "half" };
const chunk2 = await registry.handle(new Request(base + location, init));
console.log(JSON.stringify({ chunk2: chunk2.status, range: chunk2.headers.get("Range") }));
