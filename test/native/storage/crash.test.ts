// kill -9 at arbitrary points: torn writes never show (every object is one whole version, its
// metadata matching its bytes, leftovers in .tmp/ cleared at open), and an upload killed between
// or inside chunks resumes in a new process with the exact bytes and digest. The killed process
// runs on Node, Bun or Deno; the resume runs here (Node) on the same data directory.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FilesystemObjectStore } from "../../../src/runtimes/native/fs-store";
import { removeBundles, startChild } from "./children";
import { finish, open, patch, pullBlob, request } from "./registry-contract";
import { MiB, assertSameBytes, randomBytes, readAll, sha256, tempDir } from "./support";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  await removeBundles();
});
function dir(label: string): string {
  const d = tempDir(label);
  dirs.push(d);
  return d;
}

describe("kill -9 of a process writing objects", () => {
  it("leaves every object whole and consistent with its metadata; .tmp/ is cleared at open", async () => {
    const root = path.join(dir("torn"), "root");
    let tempFilesSeen = 0;
    for (let round = 0; round < 6; round++) {
      const child = await startChild("torn-writer.ts", [root]);
      await child.waitFor((m) => m.ready === true);
      await child.waitFor((m) => typeof m.written === "number" && m.written >= round);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 200)));
      await child.kill9();
      tempFilesSeen += fs.readdirSync(path.join(root, ".tmp")).length;

      const store = await FilesystemObjectStore.open(root);
      expect(fs.readdirSync(path.join(root, ".tmp"))).toEqual([]);
      const { objects } = await store.list("torn/", { metadata: true });
      expect(objects.length).toBeGreaterThan(0);
      for (const info of objects) {
        const object = await store.get(info.key);
        const bytes = await readAll(object!.body);
        expect(bytes.length, info.key).toBe(info.size);
        if (info.key.includes("/k")) expect(createHash("sha256").update(bytes).digest("hex"), info.key).toBe(info.metadata.sha);
        else expect(bytes.length, info.key).toBeGreaterThan(5 * MiB);
      }
    }
    // The kills did land inside writes (a temporary file was being written), not only between them.
    expect(tempFilesSeen).toBeGreaterThan(0);
  });
});

describe.each(["node", "bun", "deno"])("kill -9 of an upload on %s, resumed in a new process", (runtime) => {
  for (const mode of ["between", "inside"] as const) {
    it(`${mode} chunks: exact bytes and digest`, async () => {
      const work = dir(`kill-${runtime}-${mode}`);
      const dataDir = path.join(work, "data");
      const bytes = randomBytes(23 * MiB + 12_345);
      const file = path.join(work, "layer.bin");
      fs.writeFileSync(file, bytes);
      const first = 7 * MiB + 3;
      const child = await startChild("uploader.ts", [dataDir, file, String(first), mode], runtime);
      const started = await child.waitFor<{ location: string; chunk1: number; range: string }>((m) => typeof m.location === "string");
      expect(started.chunk1).toBe(202);
      expect(started.range).toBe(`0-${first - 1}`);
      if (mode === "inside") await child.waitFor((m) => typeof m.sent === "number" && m.sent >= first + 9 * MiB);
      await child.kill9();

      // A new process: the stale lock is taken over, the session is where storage says it is.
      const registry = await open(dataDir);
      try {
        const status = await registry.handle(request("GET", started.location));
        expect(status.status).toBe(204);
        const offset = Number(status.headers.get("Range")!.split("-")[1]) + 1;
        // Committed states: the end of chunk 1, or a part boundary inside chunk 2 (parts are 5 MiB).
        if (mode === "between") expect(offset).toBe(first);
        else expect(offset === first || offset % (5 * MiB) === 0).toBe(true);
        if (mode === "inside") expect(offset).toBeGreaterThan(first); // at least one part of chunk 2 was committed
        const rest = await patch(registry, started.location, bytes.subarray(offset), offset, bytes.length - offset);
        expect(rest.status).toBe(202);
        const done = await finish(registry, started.location, sha256(bytes));
        expect(done.status, await done.clone().text()).toBe(201);
        const pulled = await pullBlob(registry, "demo/killed", sha256(bytes));
        expect(pulled.headers.get("Docker-Content-Digest")).toBe(sha256(bytes));
        assertSameBytes(await readAll(pulled.body), bytes, "the blob");
      } finally {
        await registry.close();
      }
    });
  }
});
