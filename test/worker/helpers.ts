// Shared helpers for the worker suite (runs inside workerd against real local R2 + Durable Objects).
//
// Storage isolation in @cloudflare/vitest-pool-workers 0.23 (vitest 4): every test FILE gets its
// own Miniflare instance with in-memory storage, so files never see each other's data; tests in
// the SAME file share R2 and Durable Object storage. Every test therefore uses its own repository
// name (uniqueRepo) and never assumes an empty bucket or catalog.
import { SELF, env, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";

export const BASE = "http://registry";
export const MiB = 1024 * 1024;
/** UPLOAD_PART_SIZE in wrangler.local.toml. */
export const PART = 5 * MiB;

export const MT = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayer: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociNonDistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociEmpty: "application/vnd.oci.empty.v1+json",
} as const;

// ---------------------------------------------------------------------------------------------
// bytes and digests

const enc = new TextEncoder();
export const utf8 = (s: string): Uint8Array => enc.encode(s);

function hex(buf: ArrayBuffer): string {
  let out = "";
  for (const b of new Uint8Array(buf)) out += b.toString(16).padStart(2, "0");
  return out;
}

export async function sha256(bytes: Uint8Array): Promise<string> {
  return `sha256:${hex(await crypto.subtle.digest("SHA-256", bytes))}`;
}

export async function sha512(bytes: Uint8Array): Promise<string> {
  return `sha512:${hex(await crypto.subtle.digest("SHA-512", bytes))}`;
}

export function digestOf(bytes: Uint8Array, algorithm: "sha256" | "sha512" = "sha256"): Promise<string> {
  return algorithm === "sha256" ? sha256(bytes) : sha512(bytes);
}

/** Cryptographically random bytes of any length (getRandomValues is capped at 64 KiB a call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Byte equality with a useful failure message (no multi-megabyte diffs). */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, label = "bytes"): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let firstDiff = -1;
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      firstDiff = i;
      break;
    }
  }
  expect(firstDiff, `${label}: first differing byte`).toBe(-1);
}

export async function bodyBytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

// ---------------------------------------------------------------------------------------------
// names

let counter = 0;
/** A repository name no other test uses (lower-case, valid per the distribution-spec grammar). */
export function uniqueRepo(prefix = "t"): string {
  counter += 1;
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${prefix}-${counter}-${rand}`;
}

// ---------------------------------------------------------------------------------------------
// HTTP

export function url(path: string): string {
  return new URL(path, BASE).toString();
}

export function call(method: string, path: string, init: RequestInit = {}): Promise<Response> {
  return SELF.fetch(url(path), { ...init, method });
}

/** Drains a body so workerd does not complain about unread streams. */
export async function drain(res: Response): Promise<Response> {
  await res.arrayBuffer();
  return res;
}

/**
 * Asserts the distribution-spec error envelope: `{"errors":[{"code","message",...}]}` with the
 * given status and (first) error code.
 */
export async function expectError(res: Response, status: number, code?: string): Promise<{ code: string; message: string; detail?: unknown }[]> {
  const text = await res.text();
  expect(res.status, `status (body: ${text.slice(0, 300)})`).toBe(status);
  expect(res.headers.get("Content-Type") ?? "", "error Content-Type").toMatch(/^application\/json/);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`error body is not JSON: ${text.slice(0, 300)}`);
  }
  const errors = (body as { errors?: unknown }).errors;
  expect(Array.isArray(errors), `errors array in ${text.slice(0, 300)}`).toBe(true);
  const list = errors as { code: string; message: string; detail?: unknown }[];
  expect(list.length).toBeGreaterThan(0);
  for (const e of list) {
    expect(typeof e.code).toBe("string");
    expect(typeof e.message).toBe("string");
  }
  if (code !== undefined) expect(list[0]!.code).toBe(code);
  return list;
}

// ---------------------------------------------------------------------------------------------
// blobs and uploads

/** Monolithic push: POST /blobs/uploads/?digest=...; returns the digest. */
export async function pushBlob(repo: string, bytes: Uint8Array, algorithm: "sha256" | "sha512" = "sha256"): Promise<string> {
  const digest = await digestOf(bytes, algorithm);
  const res = await call("POST", `/v2/${repo}/blobs/uploads/?digest=${digest}`, { body: bytes });
  const text = await res.text();
  expect(res.status, `push blob to ${repo}: ${text}`).toBe(201);
  expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
  return digest;
}

export interface Upload {
  /** Location as returned by the registry (relative or absolute). */
  location: string;
  uuid: string;
  res: Response;
}

/** POST /blobs/uploads/ (optionally with a query string); expects 202. */
export async function startUpload(repo: string, query = ""): Promise<Upload> {
  const res = await call("POST", `/v2/${repo}/blobs/uploads/${query}`);
  const text = await res.text();
  expect(res.status, `start upload in ${repo}: ${text}`).toBe(202);
  const location = res.headers.get("Location");
  expect(location).toBeTruthy();
  return { location: location!, uuid: res.headers.get("Docker-Upload-UUID") ?? "", res };
}

/** Location with extra query parameters appended (Location may already carry a query). */
export function withQuery(location: string, params: Record<string, string>): string {
  const u = new URL(location, BASE);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

/** PATCH a chunk; `start` given: send Content-Range start-end (inclusive). */
export function patchChunk(location: string, chunk: Uint8Array, start?: number): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
  if (start !== undefined) headers["Content-Range"] = `${start}-${start + chunk.length - 1}`;
  return SELF.fetch(url(location), { method: "PATCH", headers, body: chunk });
}

/** PATCH a chunk that must be accepted; returns the next Location. */
export async function patchOk(location: string, chunk: Uint8Array, start?: number): Promise<string> {
  const res = await patchChunk(location, chunk, start);
  const text = await res.text();
  expect(res.status, `PATCH ${start ?? "(no range)"}+${chunk.length}: ${text}`).toBe(202);
  if (start !== undefined) expect(res.headers.get("Range")).toBe(`0-${start + chunk.length - 1}`);
  return res.headers.get("Location") ?? location;
}

/** PUT ?digest= (optionally carrying a final chunk). */
export function finishUpload(location: string, digest: string, body?: Uint8Array, start?: number): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body && start !== undefined) headers["Content-Range"] = `${start}-${start + body.length - 1}`;
  if (body) headers["Content-Type"] = "application/octet-stream";
  return SELF.fetch(withQuery(location, { digest }), { method: "PUT", headers, ...(body ? { body } : {}) });
}

/** The upload's offset from GET on the session (Range: 0-<last>; "0-0" for empty). */
export async function uploadOffset(location: string): Promise<number> {
  const res = await SELF.fetch(url(location));
  await res.arrayBuffer();
  expect(res.status).toBe(204);
  return parseRange(res.headers.get("Range"));
}

/** Upload `Range: 0-<last>` (docker form, optionally "bytes=") -> number of bytes held. */
export function parseRange(range: string | null): number {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range ?? "");
  if (!m) throw new Error(`unexpected Range header ${range}`);
  const last = Number(m[1]);
  // "0-0" is ambiguous (empty or one byte); the registries in the wild all report empty as 0-0.
  return last === 0 ? 0 : last + 1;
}

/** Chunked upload in pieces of `chunkSize` with Content-Range, then PUT ?digest= without body. */
export async function chunkedUpload(repo: string, bytes: Uint8Array, chunkSize: number, algorithm: "sha256" | "sha512" = "sha256"): Promise<{ digest: string; location: string; uuid: string }> {
  const { location: first, uuid } = await startUpload(repo, algorithm === "sha512" ? "?digest-algorithm=sha512" : "");
  let location = first;
  for (let at = 0; at < bytes.length; at += chunkSize) {
    location = await patchOk(location, bytes.subarray(at, Math.min(bytes.length, at + chunkSize)), at);
  }
  const digest = await digestOf(bytes, algorithm);
  const res = await finishUpload(location, digest);
  const text = await res.text();
  expect(res.status, `PUT ${digest}: ${text}`).toBe(201);
  expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
  return { digest, location: first, uuid };
}

export async function getBlobBytes(repo: string, digest: string): Promise<Uint8Array> {
  const res = await call("GET", `/v2/${repo}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return bodyBytes(res);
}

// ---------------------------------------------------------------------------------------------
// manifests

export function descriptor(mediaType: string, bytes: Uint8Array, digest: string, extra: Record<string, unknown> = {}) {
  return { mediaType, digest, size: bytes.length, ...extra };
}

/** PUT a manifest (object -> JSON, or exact bytes) under a tag or digest. */
export function putManifest(repo: string, reference: string, manifest: unknown, contentType?: string): Promise<Response> {
  const body = manifest instanceof Uint8Array ? manifest : utf8(JSON.stringify(manifest));
  const headers: Record<string, string> = {};
  const type = contentType ?? (manifest instanceof Uint8Array ? undefined : (manifest as { mediaType?: string }).mediaType);
  if (type) headers["Content-Type"] = type;
  return call("PUT", `/v2/${repo}/manifests/${reference}`, { headers, body });
}

/** PUT a manifest that must be accepted; returns its digest (checked against the bytes). */
export async function pushManifest(repo: string, reference: string, manifest: unknown, contentType?: string): Promise<{ digest: string; bytes: Uint8Array }> {
  const bytes = manifest instanceof Uint8Array ? manifest : utf8(JSON.stringify(manifest));
  const res = await putManifest(repo, reference, bytes, contentType ?? (manifest as { mediaType?: string }).mediaType);
  const text = await res.text();
  expect(res.status, `PUT manifest ${repo}:${reference}: ${text}`).toBe(201);
  const algorithm = reference.startsWith("sha512:") ? "sha512" : "sha256";
  const digest = await digestOf(bytes, algorithm);
  expect(res.headers.get("Docker-Content-Digest")).toBe(digest);
  return { digest, bytes };
}

export interface Image {
  manifest: Record<string, unknown>;
  config: { bytes: Uint8Array; digest: string };
  layers: { bytes: Uint8Array; digest: string }[];
}

/** Pushes a config and `layerCount` small layers; returns an OCI (default) or Docker manifest for them. */
export async function pushImageBlobs(repo: string, opts: { docker?: boolean; layerCount?: number; extra?: Record<string, unknown> } = {}): Promise<Image> {
  const configBytes = utf8(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, nonce: uniqueRepo("c") }));
  const config = { bytes: configBytes, digest: await pushBlob(repo, configBytes) };
  const layers = [];
  for (let i = 0; i < (opts.layerCount ?? 1); i++) {
    const bytes = randomBytes(100 + i);
    layers.push({ bytes, digest: await pushBlob(repo, bytes) });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: opts.docker ? MT.dockerManifest : MT.ociManifest,
    config: descriptor(opts.docker ? MT.dockerConfig : MT.ociConfig, config.bytes, config.digest),
    layers: layers.map((l) => descriptor(opts.docker ? MT.dockerLayer : MT.ociLayer, l.bytes, l.digest)),
    ...(opts.extra ?? {}),
  };
  return { manifest, config, layers };
}

/** Pushes a complete image under `reference`; returns its digest and bytes. */
export async function pushImage(repo: string, reference: string, opts: { docker?: boolean; layerCount?: number; extra?: Record<string, unknown> } = {}) {
  const image = await pushImageBlobs(repo, opts);
  const pushed = await pushManifest(repo, reference, image.manifest);
  return { ...image, ...pushed };
}

/** The `{}` config/empty descriptor artifacts use (OCI image-spec "empty descriptor"). */
export const EMPTY_JSON = utf8("{}");
export const EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

// ---------------------------------------------------------------------------------------------
// a per-file pool of blobs, mounted into each test's own repository
//
// Every new upload session is a new Durable Object (~0.1 s locally), so manifest-level tests push
// their config/layer blobs once per file into a seed repository and mount them (cheap) instead.

export interface SeedPool {
  repo: string;
  ociConfig: { bytes: Uint8Array; digest: string };
  dockerConfig: { bytes: Uint8Array; digest: string };
  layers: { bytes: Uint8Array; digest: string }[];
  sha512Layer: { bytes: Uint8Array; digest: string };
}

export async function seedPool(prefix = "seed"): Promise<SeedPool> {
  const repo = uniqueRepo(prefix);
  const ociBytes = utf8(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const dockerBytes = utf8(JSON.stringify({ architecture: "arm64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const layers = [randomBytes(512), randomBytes(1024), randomBytes(2048)];
  const sha512Bytes = randomBytes(256);
  const [ociDigest, dockerDigest, ...layerDigests] = await Promise.all([
    pushBlob(repo, ociBytes),
    pushBlob(repo, dockerBytes),
    ...layers.map((l) => pushBlob(repo, l)),
    pushBlob(repo, EMPTY_JSON),
  ]);
  const sha512Digest = await pushBlob(repo, sha512Bytes, "sha512");
  return {
    repo,
    ociConfig: { bytes: ociBytes, digest: ociDigest! },
    dockerConfig: { bytes: dockerBytes, digest: dockerDigest! },
    layers: layers.map((bytes, i) => ({ bytes, digest: layerDigests[i]! })),
    sha512Layer: { bytes: sha512Bytes, digest: sha512Digest },
  };
}

/** Cross-repository mount that must succeed (201). */
export async function mountBlob(repo: string, digest: string, from: string): Promise<void> {
  const res = await call("POST", `/v2/${repo}/blobs/uploads/?mount=${digest}&from=${from}`);
  await res.arrayBuffer();
  expect(res.status, `mount ${digest} from ${from} into ${repo}`).toBe(201);
}

/**
 * An image manifest for `repo` whose blobs are mounted from the pool. `nonce` (an annotation)
 * makes every manifest unique. OCI by default; Docker schema2 with `docker: true`.
 */
export async function poolImage(pool: SeedPool, repo: string, opts: { docker?: boolean; layers?: number; extra?: Record<string, unknown>; mount?: boolean } = {}): Promise<Record<string, unknown>> {
  const config = opts.docker ? pool.dockerConfig : pool.ociConfig;
  const layers = pool.layers.slice(0, opts.layers ?? 1);
  if (opts.mount !== false) {
    await Promise.all([config, ...layers].map((b) => mountBlob(repo, b.digest, pool.repo)));
  }
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: opts.docker ? MT.dockerManifest : MT.ociManifest,
    config: descriptor(opts.docker ? MT.dockerConfig : MT.ociConfig, config.bytes, config.digest),
    layers: layers.map((l) => descriptor(opts.docker ? MT.dockerLayer : MT.ociLayer, l.bytes, l.digest)),
  };
  if (!opts.docker) manifest.annotations = { "test.nonce": uniqueRepo("n") };
  return { ...manifest, ...(opts.extra ?? {}) };
}

// ---------------------------------------------------------------------------------------------
// upload-session internals (src/uploads/session-state.ts), for tests that check durability

export interface StoredSession {
  name: string;
  algorithm: string;
  offset: number;
  partSize: number;
  dataKey: string;
  multipartId?: string;
  parts: { partNumber: number; etag: string }[];
  tailSegments: number;
  tailLength: number;
  expiresAt: number;
}

export function sessionStub(uuid: string) {
  return env.UPLOADS.get(env.UPLOADS.idFromString(uuid));
}

/** The session's durable state as the Durable Object stored it (undefined once gone). */
export function storedSession(uuid: string): Promise<StoredSession | undefined> {
  return runInDurableObject(sessionStub(uuid), async (_instance, state) => state.storage.get<StoredSession>("session"));
}

export function storedKeyCount(uuid: string): Promise<number> {
  return runInDurableObject(sessionStub(uuid), async (_instance, state) => (await state.storage.list()).size);
}

/** Proves an R2 multipart upload is gone: completing or adding to it must fail. */
export async function expectMultipartAborted(key: string, uploadId: string): Promise<void> {
  const upload = env.BUCKET.resumeMultipartUpload(key, uploadId);
  await expect(upload.uploadPart(1, new Uint8Array(16))).rejects.toThrow();
  expect(await env.BUCKET.head(key)).toBeNull();
}

export const hexOf = (digest: string) => digest.slice(digest.indexOf(":") + 1);
