// Helpers of the garbage-collector tests on the native runtime: pushing and pulling whole images
// through `handle`, making objects look old (file mtimes), and listing what the store holds.
import * as fs from "node:fs";
import path from "node:path";
import type { NativeRegistry } from "../../../src/runtimes/native/registry";
import { finish, patch, request, startUpload } from "./registry-contract";
import { assert, assertSameBytes, readAll, sha256, utf8 } from "./support";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DAY = 86_400_000;

export interface Image {
  name: string;
  tag?: string;
  digest: string;
  manifest: Uint8Array;
  mediaType: string;
  blobs: Map<string, Uint8Array>;
}

export const digestOf = (bytes: Uint8Array) => sha256(bytes);

/** One blob: monolithic POST when small, else POST + one PATCH + PUT (a multipart upload at ≥ 5 MiB). */
export async function pushBlob(registry: NativeRegistry, name: string, bytes: Uint8Array): Promise<string> {
  const digest = digestOf(bytes);
  if (bytes.length < 1024 * 1024) {
    const res = await registry.handle(request("POST", `/v2/${name}/blobs/uploads/?digest=${digest}`, bytes, { "Content-Type": "application/octet-stream" }));
    assert.equal(res.status, 201, `push blob to ${name}: ${await res.text()}`);
    return digest;
  }
  const location = await startUpload(registry, name);
  const patched = await patch(registry, location, bytes);
  assert.equal(patched.status, 202, `PATCH ${name}`);
  const done = await finish(registry, location, digest);
  assert.equal(done.status, 201, `PUT ${name}: ${await done.text()}`);
  return digest;
}

export async function putManifest(registry: NativeRegistry, name: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<Response> {
  return registry.handle(request("PUT", `/v2/${name}/manifests/${reference}`, bytes, { "Content-Type": mediaType }));
}

export function imageManifest(config: Uint8Array, layers: Uint8Array[], subject?: { digest: string; size: number }): Uint8Array {
  const d = (bytes: Uint8Array, mediaType: string) => ({ mediaType, digest: digestOf(bytes), size: bytes.length });
  return utf8(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: d(config, "application/vnd.oci.image.config.v1+json"),
    layers: layers.map((l) => d(l, "application/vnd.oci.image.layer.v1.tar")),
    ...(subject ? { subject: { mediaType: OCI_MANIFEST, ...subject } } : {}),
  }));
}

/** Pushes config, layers and manifest (tagged when `tag` is given). */
export async function pushImage(registry: NativeRegistry, name: string, tag: string | undefined, layers: Uint8Array[], subject?: { digest: string; size: number }): Promise<Image> {
  const config = utf8(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map(digestOf) }, nonce: Math.random() }));
  const blobs = new Map<string, Uint8Array>();
  for (const blob of [config, ...layers]) blobs.set(await pushBlob(registry, name, blob), blob);
  const manifest = imageManifest(config, layers, subject);
  const res = await putManifest(registry, name, tag ?? digestOf(manifest), manifest, OCI_MANIFEST);
  assert.equal(res.status, 201, `manifest ${name}:${tag}: ${await res.text()}`);
  return { name, tag, digest: digestOf(manifest), manifest, mediaType: OCI_MANIFEST, blobs };
}

export async function pushIndex(registry: NativeRegistry, name: string, tag: string, children: Image[]): Promise<Image> {
  const manifest = utf8(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((c, i) => ({ mediaType: c.mediaType, digest: c.digest, size: c.manifest.length, platform: { architecture: `arch${i}`, os: "linux" } })),
  }));
  const res = await putManifest(registry, name, tag, manifest, OCI_INDEX);
  assert.equal(res.status, 201, `index ${name}:${tag}: ${await res.text()}`);
  return { name, tag, digest: digestOf(manifest), manifest, mediaType: OCI_INDEX, blobs: new Map() };
}

/** Pulls by tag (or digest) and checks the manifest and every blob byte for byte. */
export async function assertPulls(registry: NativeRegistry, image: Image): Promise<void> {
  const ref = image.tag ?? image.digest;
  const res = await registry.handle(request("GET", `/v2/${image.name}/manifests/${ref}`, null, { Accept: image.mediaType }));
  assert.equal(res.status, 200, `pull ${image.name}:${ref}`);
  assertSameBytes(new Uint8Array(await res.arrayBuffer()), image.manifest, `manifest of ${image.name}:${ref}`);
  for (const [digest, bytes] of image.blobs) {
    const blob = await registry.handle(request("GET", `/v2/${image.name}/blobs/${digest}`));
    assert.equal(blob.status, 200, `blob ${digest} of ${image.name}:${ref}`);
    assertSameBytes(await readAll(blob.body), bytes, `blob ${digest} of ${image.name}`);
  }
}

/** Sets the mtime of every object file (and multipart part) to `ms` ago: the store then looks that old. */
export function age(dataDir: string, ms: number): void {
  const when = new Date(Date.now() - ms);
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.name === ".tmp") continue;
      if (entry.isDirectory()) walk(full);
      else fs.utimesSync(full, when, when);
    }
  };
  walk(path.join(dataDir, "objects"));
}

/** Every file of the object store (keys' files, multipart parts), relative to objects/, sorted. */
export function storeFiles(dataDir: string): string[] {
  const root = path.join(dataDir, "objects");
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.name === ".tmp") continue;
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

/** Object store files belonging to a key (its file) or a multipart upload (its directory). */
export const keyFile = (key: string) => `${key}=`;
export const uploadDir = (id: string) => `.multipart/${id}/`;

export async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
