// Disk full on a real 8 MiB tmpfs (needs root): ENOSPC from the object store and SQLITE_FULL from
// the session database answer 507 in the error envelope, what was stored before stays readable,
// and the registry takes uploads again once space is freed (the abandoned session expires).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NativeRegistry } from "../../../src/runtimes/native/registry";
import { finish, open, patch, pullBlob, request, startUpload } from "./registry-contract";
import { MiB, assertSameBytes, errorsOf, randomBytes, readAll, sha256, tempDir } from "./support";

const mountPoint = tempDir("tmpfs");
let registry: NativeRegistry;

beforeAll(async () => {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint]);
  registry = await open(path.join(mountPoint, "data"), { UPLOAD_TTL_SECONDS: "2" }, { sweepIntervalMs: 100 });
});

afterAll(async () => {
  await registry?.close();
  execFileSync("umount", [mountPoint]);
  fs.rmSync(mountPoint, { recursive: true, force: true });
});

async function expectFull(response: Response, label: string): Promise<void> {
  expect(response.status, label).toBe(507);
  const [error] = await errorsOf(response);
  expect(error!.code).toBe("UNKNOWN");
  expect(error!.message).toMatch(/registry storage is full/);
}

async function push(bytes: Uint8Array): Promise<Response> {
  return registry.handle(request("POST", `/v2/demo/full/blobs/uploads/?digest=${sha256(bytes)}`, bytes));
}

describe("disk full", () => {
  const early = randomBytes(200_000);
  const manifestConfig = new TextEncoder().encode("{}");
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(manifestConfig), size: 2 },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(early), size: early.length }],
  });
  const manifestType = { "Content-Type": "application/vnd.oci.image.manifest.v1+json" };

  it("stores what fits", async () => {
    expect((await push(early)).status).toBe(201);
    expect((await push(manifestConfig)).status).toBe(201);
    expect((await registry.handle(request("PUT", "/v2/demo/full/manifests/v1", manifest, manifestType))).status).toBe(201);
  });

  it("a layer larger than the free space (parts on the filesystem) is 507 ENOSPC", async () => {
    await expectFull(await push(randomBytes(12 * MiB)), "monolithic 12 MiB");
  });

  it("chunks below the part size (tail in SQLite) are 507 SQLITE_FULL, and so are manifests", async () => {
    const location = await startUpload(registry, "demo/full").catch(() => null);
    if (location) {
      let full: Response | null = null;
      for (let i = 0; i < 8 && !full; i++) {
        const response = await patch(registry, location, randomBytes(MiB));
        if (response.status !== 202) full = response;
      }
      expect(full, "the disk filled up").not.toBeNull();
      await expectFull(full!, "PATCH into the tail");
    }
    const other = manifest.replace('"schemaVersion":2', '"schemaVersion":2,"annotations":{"a":"' + "x".repeat(3 * MiB) + '"}');
    await expectFull(await registry.handle(request("PUT", "/v2/demo/full/manifests/v2", other, manifestType)), "manifest PUT");
  });

  it("everything stored before is still readable", async () => {
    const blob = await pullBlob(registry, "demo/full", sha256(early));
    expect(blob.status).toBe(200);
    assertSameBytes(await readAll(blob.body), early);
    const tag = await registry.handle(request("GET", "/v2/demo/full/manifests/v1", null, { Accept: manifestType["Content-Type"] }));
    expect(tag.status).toBe(200);
    expect(await tag.text()).toBe(manifest);
    expect(await (await registry.handle(request("GET", "/v2/demo/full/tags/list"))).json()).toEqual({ name: "demo/full", tags: ["v1"] });
    expect(fs.readdirSync(path.join(mountPoint, "data", "objects", ".tmp"))).toEqual([]);
  });

  it("takes uploads again once the abandoned sessions have expired and freed their parts", async () => {
    const deadline = Date.now() + 15_000;
    // The sweep frees the parts first, then the sessions' state (their tails in SQLite), then gives
    // the tails' space back by truncating the WAL: wait for all three (the state is gone a moment
    // before the WAL is truncated, and a push in that moment would find the disk still full).
    const file = path.join(mountPoint, "data", "uploads.sqlite");
    const db = new DatabaseSync(file, { readOnly: true });
    const sessionsLeft = () => (db.prepare("SELECT COUNT(DISTINCT session) AS n FROM upload_entries").get() as { n: number }).n;
    const walBytes = () => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
    try {
      while (
        (fs.readdirSync(path.join(mountPoint, "data", "objects", ".multipart")).length > 0 || sessionsLeft() > 0 || walBytes() > 0) &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(sessionsLeft(), "abandoned sessions' state swept").toBe(0);
      expect(walBytes(), "the WAL truncated after the sweep").toBe(0);
    } finally {
      db.close();
    }
    expect(fs.readdirSync(path.join(mountPoint, "data", "objects", ".multipart"))).toEqual([]);
    const later = randomBytes(2 * MiB); // its tail in SQLite, then its file: twice its size must fit
    const location = await startUpload(registry, "demo/full");
    const patched = await patch(registry, location, later, 0, later.length);
    expect(patched.status, await patched.clone().text()).toBe(202);
    expect((await finish(registry, location, sha256(later))).status).toBe(201);
    assertSameBytes(await readAll((await pullBlob(registry, "demo/full", sha256(later))).body), later);
  });
});
