// The registry operations the scenarios are made of, each checking the status the
// distribution spec requires (anything else throws, and the caller counts an error).
import { createHash, randomFillSync } from "node:crypto";
import type { Body, RegistryClient, Response } from "./client.ts";
import { headerValue } from "./client.ts";

const MiB = 1024 * 1024;
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
const MANIFEST_ACCEPT = [OCI_MANIFEST, "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json"].join(", ");

export interface Blob {
  digest: string;
  size: number;
}

export interface Image {
  repo: string;
  tag: string;
  manifestDigest: string;
  layer: Blob;
  config: Blob;
}

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function randomBytes(size: number): Buffer {
  return randomFillSync(Buffer.allocUnsafe(size));
}

/**
 * A random stream of `size` bytes in fresh 1 MiB pieces (a piece may still be queued in the
 * socket when the next one is made, so none is reused), hashed on the way out.
 */
export function randomStream(size: number, hash: ReturnType<typeof createHash>): () => AsyncIterable<Uint8Array> {
  return async function* () {
    for (let sent = 0; sent < size; sent += MiB) {
      const piece = randomBytes(Math.min(MiB, size - sent));
      hash.update(piece);
      yield piece;
    }
  };
}

export function expectStatus(res: Response, expected: number[], what: string): void {
  if (expected.includes(res.status)) return;
  const body = res.text.replace(/\s+/g, " ").slice(0, 160);
  throw new Error(`${what}: HTTP ${res.status}${body ? ` ${body}` : ""}`);
}

function location(res: Response, what: string): string {
  const value = headerValue(res.headers.location);
  if (!value) throw new Error(`${what}: no Location header`);
  return value;
}

function withQuery(url: string, key: string, value: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}${key}=${encodeURIComponent(value)}`;
}

export async function startUpload(client: RegistryClient, repo: string): Promise<string> {
  const res = await client.send({ method: "POST", path: `/v2/${repo}/blobs/uploads/` });
  expectStatus(res, [202], "POST upload");
  return location(res, "POST upload");
}

async function closeUpload(client: RegistryClient, at: string, digest: string, body?: Uint8Array): Promise<void> {
  const res = await client.send({
    method: "PUT",
    path: withQuery(at, "digest", digest),
    headers: body ? { "Content-Type": "application/octet-stream" } : {},
    body,
  });
  expectStatus(res, [201], "PUT upload");
}

/** POST, one PATCH with the whole body (streamed, like docker), PUT ?digest=. */
export async function pushStreamed(
  client: RegistryClient,
  repo: string,
  size: number,
  onWrite?: (bytes: number) => void,
): Promise<Blob> {
  const hash = createHash("sha256");
  let at = await startUpload(client, repo);
  const res = await client.send({
    method: "PATCH",
    path: at,
    headers: { "Content-Type": "application/octet-stream" },
    body: randomStream(size, hash),
    onWrite,
  });
  expectStatus(res, [202], "PATCH upload");
  at = location(res, "PATCH upload");
  const digest = `sha256:${hash.digest("hex")}`;
  await closeUpload(client, at, digest);
  return { digest, size };
}

/** POST, PATCHes of `chunkSize` with Content-Range, PUT ?digest=. */
export async function pushChunked(
  client: RegistryClient,
  repo: string,
  size: number,
  chunkSize: number,
  onWrite?: (bytes: number) => void,
): Promise<Blob> {
  const hash = createHash("sha256");
  let at = await startUpload(client, repo);
  for (let offset = 0; offset < size; offset += chunkSize) {
    const length = Math.min(chunkSize, size - offset);
    const res = await client.send({
      method: "PATCH",
      path: at,
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Range": `${offset}-${offset + length - 1}`,
        "Content-Length": String(length),
      },
      body: randomStream(length, hash),
      onWrite,
    });
    expectStatus(res, [202], `PATCH chunk at ${offset}`);
    at = location(res, "PATCH chunk");
  }
  const digest = `sha256:${hash.digest("hex")}`;
  await closeUpload(client, at, digest);
  return { digest, size };
}

/** POST then PUT ?digest= with the bytes (small blobs: configs, layers of the small scenario). */
export async function pushBytes(client: RegistryClient, repo: string, data: Uint8Array): Promise<Blob> {
  const digest = sha256(data);
  const at = await startUpload(client, repo);
  await closeUpload(client, at, digest, data);
  return { digest, size: data.length };
}

/** Pushes an image manifest with one layer and a config, tagged `tag`. */
export async function pushManifest(client: RegistryClient, repo: string, tag: string, layer: Blob, config: Blob): Promise<string> {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: [{ mediaType: OCI_LAYER, digest: layer.digest, size: layer.size }],
    }),
  );
  const res = await client.send({
    method: "PUT",
    path: `/v2/${repo}/manifests/${tag}`,
    headers: { "Content-Type": OCI_MANIFEST },
    body: manifest,
  });
  expectStatus(res, [201], "PUT manifest");
  return sha256(manifest);
}

export function configFor(layer: Blob): Buffer {
  return Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] } }));
}

/** A small image to read: one layer of `layerSize` random bytes, its config, a manifest under `tag`. */
export async function pushImage(client: RegistryClient, repo: string, tag: string, layerSize: number): Promise<Image> {
  const layer = await pushBytes(client, repo, randomBytes(layerSize));
  const config = await pushBytes(client, repo, configFor(layer));
  const manifestDigest = await pushManifest(client, repo, tag, layer, config);
  return { repo, tag, manifestDigest, layer, config };
}

/** GET a manifest, checking the body against Docker-Content-Digest. Returns its size. */
export async function getManifest(client: RegistryClient, repo: string, reference: string, expected?: string): Promise<number> {
  const chunks: Buffer[] = [];
  const res = await client.send({
    method: "GET",
    path: `/v2/${repo}/manifests/${reference}`,
    headers: { Accept: MANIFEST_ACCEPT },
    sink: (chunk) => chunks.push(chunk),
  });
  const raw = Buffer.concat(chunks);
  expectStatus({ ...res, text: raw.toString("utf8") }, [200], "GET manifest");
  // The digest is over the exact bytes served, so hash them, not a decoded string.
  const actual = sha256(raw);
  const announced = headerValue(res.headers["docker-content-digest"]);
  if (announced && announced !== actual) throw new Error(`GET manifest: body ${actual} but Docker-Content-Digest ${announced}`);
  if (expected && expected !== actual) throw new Error(`GET manifest: got ${actual}, expected ${expected}`);
  return res.bytes;
}

export async function headManifest(client: RegistryClient, repo: string, reference: string, expected: string): Promise<number> {
  const res = await client.send({ method: "HEAD", path: `/v2/${repo}/manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT } });
  expectStatus(res, [200], "HEAD manifest");
  const announced = headerValue(res.headers["docker-content-digest"]);
  if (announced !== expected) throw new Error(`HEAD manifest: Docker-Content-Digest ${announced}, expected ${expected}`);
  return 0;
}

export async function headBlob(client: RegistryClient, repo: string, blob: Blob): Promise<number> {
  const res = await client.send({ method: "HEAD", path: `/v2/${repo}/blobs/${blob.digest}` });
  expectStatus(res, [200], "HEAD blob");
  const length = Number(headerValue(res.headers["content-length"]));
  if (length !== blob.size) throw new Error(`HEAD blob: Content-Length ${length}, expected ${blob.size}`);
  return 0;
}

/** GET a whole blob, hashing it as it streams in. Returns the bytes received. */
export async function pullBlob(client: RegistryClient, repo: string, blob: Blob, onRead?: (bytes: number) => void): Promise<number> {
  const hash = createHash("sha256");
  const res = await client.send({
    method: "GET",
    path: `/v2/${repo}/blobs/${blob.digest}`,
    sink: (chunk) => {
      hash.update(chunk);
      onRead?.(chunk.length);
    },
  });
  expectStatus(res, [200], "GET blob");
  const actual = `sha256:${hash.digest("hex")}`;
  if (res.bytes !== blob.size || actual !== blob.digest) {
    throw new Error(`GET blob: ${res.bytes} bytes with digest ${actual}, expected ${blob.size} bytes ${blob.digest}`);
  }
  return res.bytes;
}

/** GET bytes [offset, offset + length) of a blob with a Range request. */
export async function pullRange(client: RegistryClient, repo: string, blob: Blob, offset: number, length: number, onRead?: (bytes: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const res = await client.send({
    method: "GET",
    path: `/v2/${repo}/blobs/${blob.digest}`,
    headers: { Range: `bytes=${offset}-${offset + length - 1}` },
    sink: (chunk) => {
      chunks.push(chunk);
      onRead?.(chunk.length);
    },
  });
  expectStatus(res, [206], `GET blob range at ${offset}`);
  if (res.bytes !== length) throw new Error(`GET blob range at ${offset}: ${res.bytes} bytes, expected ${length}`);
  return Buffer.concat(chunks, length);
}

export async function listTags(client: RegistryClient, repo: string): Promise<number> {
  const res = await client.send({ method: "GET", path: `/v2/${repo}/tags/list` });
  expectStatus(res, [200], "GET tags");
  const body = JSON.parse(res.text) as { tags?: string[] };
  if (!Array.isArray(body.tags) || body.tags.length === 0) throw new Error("GET tags: no tags listed");
  return res.bytes;
}

export async function listCatalog(client: RegistryClient, n: number): Promise<number> {
  const res = await client.send({ method: "GET", path: `/v2/_catalog?n=${n}` });
  expectStatus(res, [200], "GET catalog");
  const body = JSON.parse(res.text) as { repositories?: string[] };
  if (!Array.isArray(body.repositories)) throw new Error("GET catalog: no repositories array");
  return res.bytes;
}

export async function ping(client: RegistryClient): Promise<void> {
  const res = await client.send({ method: "GET", path: "/v2/" });
  expectStatus(res, [200], "GET /v2/");
}
