// Black-box helpers for the conformance tests: a thin fetch client, digests, the spec's error
// envelope, the blob push flows of the distribution-spec (POST+PUT, single POST, streamed PATCH,
// chunked PATCH) and manifest pushes. Everything asserts with messages that show the exchange.
import { createHash, randomBytes as cryptoRandomBytes } from "node:crypto";
import http from "node:http";
import { expect, test } from "vitest";

export type Algorithm = "sha256" | "sha512";

export const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerNondist: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociLayerNondistGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  octet: "application/octet-stream",
} as const;

/** The `code` values a JSON error body may use (spec "Error Codes", code-1 .. code-14). */
export const SPEC_ERROR_CODES = [
  "BLOB_UNKNOWN",
  "BLOB_UPLOAD_INVALID",
  "BLOB_UPLOAD_UNKNOWN",
  "DIGEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN",
  "NAME_INVALID",
  "NAME_UNKNOWN",
  "SIZE_INVALID",
  "UNAUTHORIZED",
  "DENIED",
  "UNSUPPORTED",
  "TOOMANYREQUESTS",
] as const;

// ------------------------------------------------------------------ bytes and digests

export function bytes(data: Uint8Array | string): Buffer {
  return typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function digestOf(data: Uint8Array | string, algorithm: Algorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes(data)).digest("hex")}`;
}

export function randomBytes(n: number): Buffer {
  return cryptoRandomBytes(n);
}

export function randomId(n = 10): string {
  return cryptoRandomBytes(n).toString("hex").slice(0, n);
}

/** A fresh repository name for one test file / area: conformance/<area>-<random>. */
export function uniqueRepo(area: string): string {
  return `conformance/${area}-${randomId(8)}`;
}

export const EMPTY_JSON = Buffer.from("{}");
export const EMPTY_JSON_SHA256 = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
export const EMPTY_SHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const EMPTY_SHA512 =
  "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

// ------------------------------------------------------------------ HTTP

export interface Res {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  body: Buffer;
  text(): string;
  json<T = any>(): T;
  /** Location resolved against the request URL, or null. */
  location(): URL | null;
  /** One-line description of the exchange for assertion messages. */
  describe(): string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Uint8Array | string | ReadableStream<Uint8Array>;
  /** Query parameters appended to the target (repeatable). */
  query?: Record<string, string | string[]>;
}

export class Client {
  constructor(readonly base: string) {}

  /** Absolute URL for an absolute URL, a path, or a path relative to the registry root. */
  resolve(target: string | URL): URL {
    return new URL(target.toString(), `${this.base}/`);
  }

  async request(method: string, target: string | URL, opts: RequestOptions = {}): Promise<Res> {
    const url = this.resolve(target);
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
    }
    const init: RequestInit & { duplex?: "half" } = { method, headers: opts.headers ?? {}, redirect: "manual" };
    if (opts.body !== undefined) {
      init.body = typeof opts.body === "string" ? bytes(opts.body) : (opts.body as NonNullable<RequestInit["body"]>);
      if (opts.body instanceof ReadableStream) init.duplex = "half";
    }
    const response = await fetch(url, init);
    const body = Buffer.from(await response.arrayBuffer());
    const res: Res = {
      method,
      url: url.toString(),
      status: response.status,
      headers: response.headers,
      body,
      text: () => body.toString("utf8"),
      json: () => JSON.parse(body.toString("utf8")),
      location: () => {
        const loc = response.headers.get("location");
        return loc === null ? null : new URL(loc, url);
      },
      describe: () => {
        const shown = body.length > 600 ? `${body.subarray(0, 600).toString("utf8")}…(${body.length} bytes)` : body.toString("utf8");
        const hdrs = [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`).join("; ");
        return `${method} ${url.pathname}${url.search} -> ${response.status} [${hdrs}] ${shown}`;
      },
    };
    return res;
  }

  get(target: string | URL, opts?: RequestOptions) {
    return this.request("GET", target, opts);
  }
  head(target: string | URL, opts?: RequestOptions) {
    return this.request("HEAD", target, opts);
  }
  put(target: string | URL, opts?: RequestOptions) {
    return this.request("PUT", target, opts);
  }
  post(target: string | URL, opts?: RequestOptions) {
    return this.request("POST", target, opts);
  }
  patch(target: string | URL, opts?: RequestOptions) {
    return this.request("PATCH", target, opts);
  }
  delete(target: string | URL, opts?: RequestOptions) {
    return this.request("DELETE", target, opts);
  }
}

/** Asserts the status with the whole exchange in the failure message. */
export function expectStatus(res: Res, ...statuses: number[]): void {
  expect(statuses, `unexpected status: ${res.describe()}`).toContain(res.status);
}

/**
 * Asserts an error response: the status, and for bodies (not HEAD) the spec's JSON envelope
 * `{"errors":[{"code","message","detail"}]}` with codes from the spec's table; `codes` narrows the
 * first error's code.
 */
export function expectError(res: Res, statuses: number | number[], codes?: string[]): void {
  const list = Array.isArray(statuses) ? statuses : [statuses];
  expectStatus(res, ...list);
  if (res.method === "HEAD") {
    expect(res.body.length, `HEAD error must not carry a body: ${res.describe()}`).toBe(0);
    return;
  }
  if (res.body.length === 0 && codes === undefined) return; // a 4xx MAY have no body
  const contentType = res.headers.get("content-type") ?? "";
  expect(contentType, `error body should be JSON: ${res.describe()}`).toMatch(/^application\/json/);
  const doc = res.json<{ errors?: { code?: unknown; message?: unknown }[] }>();
  expect(Array.isArray(doc.errors) && doc.errors.length > 0, `errors array missing: ${res.describe()}`).toBe(true);
  for (const e of doc.errors ?? []) {
    expect(typeof e.code === "string" && /^[A-Z_]+$/.test(e.code), `malformed code: ${res.describe()}`).toBe(true);
    expect(SPEC_ERROR_CODES as readonly string[], `code not in the spec's table: ${res.describe()}`).toContain(e.code);
    if (e.message !== undefined) expect(typeof e.message, res.describe()).toBe("string");
  }
  if (codes) expect(codes, `unexpected error code: ${res.describe()}`).toContain(doc.errors?.[0]?.code);
}

// ------------------------------------------------------------------ blob push flows

export interface Pushed {
  /** Final response (201 on success). */
  res: Res;
  /** Location of the pushed blob, resolved. */
  location: URL | null;
}

const octetHeaders = (length: number, extra: Record<string, string> = {}) => ({
  "Content-Type": MT.octet,
  "Content-Length": String(length),
  ...extra,
});

/** POST /v2/<name>/blobs/uploads/ with Content-Length: 0; expects 202 + Location. */
export async function openSession(c: Client, repo: string, query: Record<string, string> = {}): Promise<{ res: Res; location: URL }> {
  const res = await c.post(`/v2/${repo}/blobs/uploads/`, { body: new Uint8Array(0), query });
  expectStatus(res, 202);
  const location = res.location();
  expect(location, `POST must return a Location: ${res.describe()}`).not.toBeNull();
  return { res, location: location! };
}

export function withDigest(location: URL, digest: string): URL {
  const u = new URL(location);
  u.searchParams.set("digest", digest);
  return u;
}

/** Monolithic POST then PUT <location>?digest=. Returns the PUT response (not asserted). */
export async function postPut(c: Client, repo: string, data: Uint8Array, digest: string): Promise<Pushed> {
  const { location } = await openSession(c, repo);
  const res = await c.put(withDigest(location, digest), { body: data, headers: octetHeaders(data.length) });
  return { res, location: res.location() };
}

/** Single POST /v2/<name>/blobs/uploads/?digest= with the body. Returns the POST response. */
export async function postOnly(c: Client, repo: string, data: Uint8Array, digest: string): Promise<Pushed> {
  const res = await c.post(`/v2/${repo}/blobs/uploads/`, {
    body: data,
    headers: octetHeaders(data.length),
    query: { digest },
  });
  return { res, location: res.location() };
}

/** Streamed: POST, one PATCH with the whole body (no Content-Range), PUT ?digest= without body. */
export async function stream(
  c: Client,
  repo: string,
  data: Uint8Array,
  digest: string,
  opts: { transferEncodingChunked?: boolean } = {},
): Promise<Pushed & { patch: Res }> {
  const { location } = await openSession(c, repo);
  const body = opts.transferEncodingChunked ? chunkedStream(data, 97) : data;
  const headers: Record<string, string> = { "Content-Type": MT.octet };
  if (!opts.transferEncodingChunked) headers["Content-Length"] = String(data.length);
  const patch = await c.patch(location, { body, headers });
  expectStatus(patch, 202);
  const next = patch.location();
  expect(next, `PATCH must return a Location: ${patch.describe()}`).not.toBeNull();
  const res = await c.put(withDigest(next!, digest), { body: new Uint8Array(0), headers: octetHeaders(0) });
  return { res, location: res.location(), patch };
}

/** A body sent with Transfer-Encoding: chunked, in pieces of `piece` bytes. */
export function chunkedStream(data: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) {
        controller.close();
        return;
      }
      controller.enqueue(data.slice(offset, offset + piece));
      offset += piece;
    },
  });
}

/**
 * Chunked: POST (Content-Length: 0), PATCH chunks with Content-Range "<start>-<end>", then PUT
 * ?digest= (empty, or carrying the last chunk when `lastInPut`). Each PATCH must answer 202 with
 * Location and `Range: 0-<end>`. Returns the closing PUT response.
 */
export async function chunked(
  c: Client,
  repo: string,
  data: Uint8Array,
  digest: string,
  opts: { chunkSize?: number; lastInPut?: boolean; query?: Record<string, string> } = {},
): Promise<Pushed & { minLength: number | null; patches: Res[] }> {
  const { res: post, location: start } = await openSession(c, repo, opts.query);
  const minHeader = post.headers.get("oci-chunk-min-length");
  const minLength = minHeader === null ? null : Number(minHeader);
  let chunkSize = opts.chunkSize ?? Math.floor(data.length / 3) + 1;
  if (minLength !== null && minLength > chunkSize) chunkSize = minLength;
  chunkSize = Math.max(1, Math.min(chunkSize, Math.max(data.length, 1)));
  let location = start;
  const patches: Res[] = [];
  let offset = 0;
  while (offset < data.length) {
    const end = Math.min(offset + chunkSize, data.length) - 1;
    const last = end === data.length - 1;
    if (last && opts.lastInPut) break;
    const patch = await c.patch(location, {
      body: data.subarray(offset, end + 1),
      headers: octetHeaders(end - offset + 1, { "Content-Range": `${offset}-${end}` }),
    });
    expectStatus(patch, 202);
    expect(patch.headers.get("range"), `PATCH Range header: ${patch.describe()}`).toBe(`0-${end}`);
    const next = patch.location();
    expect(next, `PATCH must return a Location: ${patch.describe()}`).not.toBeNull();
    location = next!;
    patches.push(patch);
    offset = end + 1;
  }
  let res: Res;
  if (offset < data.length) {
    const end = data.length - 1;
    res = await c.put(withDigest(location, digest), {
      body: data.subarray(offset),
      headers: octetHeaders(data.length - offset, { "Content-Range": `${offset}-${end}` }),
    });
  } else {
    res = await c.put(withDigest(location, digest), { body: new Uint8Array(0), headers: octetHeaders(0) });
  }
  return { res, location: res.location(), minLength, patches };
}

/** Checks a successful blob push: 201, Location that serves the bytes, digest header if any. */
export async function expectBlobCreated(c: Client, pushed: Pushed, data: Uint8Array, digest: string): Promise<void> {
  expectStatus(pushed.res, 201);
  expect(pushed.location, `201 must carry Location: ${pushed.res.describe()}`).not.toBeNull();
  // Spec: SHOULD; the conformance suite's 1.1+dev profile requires it, and this registry sends it.
  expect(pushed.res.headers.get("docker-content-digest"), pushed.res.describe()).toBe(digest);
  const get = await c.get(pushed.location!);
  expectStatus(get, 200);
  expect(get.body.equals(bytes(data)), `blob at Location differs: ${get.describe()}`).toBe(true);
}

export type PushMethod = "post-put" | "post-only";

/** Pushes a blob (POST+PUT by default, or a single POST) and asserts success. */
export async function pushBlob(c: Client, repo: string, data: Uint8Array | string, algorithm: Algorithm = "sha256", method: PushMethod = "post-put"): Promise<string> {
  const b = bytes(data);
  const digest = digestOf(b, algorithm);
  const pushed = method === "post-put" ? await postPut(c, repo, b, digest) : await postOnly(c, repo, b, digest);
  expectStatus(pushed.res, 201);
  return digest;
}

/** HEAD + GET of an existing blob: 200, lengths, digest header, exact bytes. */
export async function expectBlob(c: Client, repo: string, digest: string, data: Uint8Array): Promise<void> {
  const head = await c.head(`/v2/${repo}/blobs/${digest}`);
  expectStatus(head, 200);
  expect(head.body.length, head.describe()).toBe(0);
  expect(head.headers.get("content-length"), head.describe()).toBe(String(data.length));
  // Docker-Content-Digest: SHOULD in the spec, required by the suite's 1.1+dev profile.
  expect(head.headers.get("docker-content-digest"), head.describe()).toBe(digest);
  const get = await c.get(`/v2/${repo}/blobs/${digest}`);
  expectStatus(get, 200);
  expect(get.headers.get("content-length"), get.describe()).toBe(String(data.length));
  expect(get.headers.get("docker-content-digest"), get.describe()).toBe(digest);
  expect(get.body.equals(bytes(data)), `blob bytes differ: ${get.describe()}`).toBe(true);
}

export async function expectNoBlob(c: Client, repo: string, digest: string): Promise<void> {
  expectError(await c.head(`/v2/${repo}/blobs/${digest}`), 404);
  expectError(await c.get(`/v2/${repo}/blobs/${digest}`), 404, ["BLOB_UNKNOWN"]);
}

// ------------------------------------------------------------------ manifests

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Record<string, unknown>;
  urls?: string[];
  data?: string;
  [k: string]: unknown;
}

/** The media type a conformance client puts in Content-Type: the manifest's own field, else image manifest. */
export function mediaTypeOf(body: Uint8Array): string {
  try {
    const doc = JSON.parse(bytes(body).toString("utf8"));
    if (typeof doc.mediaType === "string") return doc.mediaType;
  } catch {
    // fall through
  }
  return MT.ociManifest;
}

export function putManifest(c: Client, repo: string, reference: string, body: Uint8Array, contentType = mediaTypeOf(body), query?: Record<string, string | string[]>): Promise<Res> {
  return c.put(`/v2/${repo}/manifests/${reference}`, { body, headers: { "Content-Type": contentType }, query });
}

/**
 * One request over node:http, which keeps the response's header lines apart: fetch joins repeated
 * headers into one, and the spec wants one `OCI-Tag` line per tag. `lines(name)` gives them.
 */
export function requestWithHeaderLines(c: Client, method: string, target: string, body: Uint8Array, headers: Record<string, string>): Promise<Res & { lines(name: string): string[] }> {
  const url = c.resolve(target);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, "Content-Length": String(body.length) } }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on("data", (chunk: Buffer) => chunks.push(chunk));
      answer.on("error", reject);
      answer.on("end", () => {
        const data = Buffer.concat(chunks);
        const raw = answer.rawHeaders;
        const joined = new Headers();
        for (let i = 0; i < raw.length; i += 2) joined.append(raw[i]!, raw[i + 1]!);
        resolve({
          method,
          url: url.toString(),
          status: answer.statusCode ?? 0,
          headers: joined,
          body: data,
          text: () => data.toString("utf8"),
          json: () => JSON.parse(data.toString("utf8")),
          location: () => (joined.get("location") === null ? null : new URL(joined.get("location")!, url)),
          describe: () => `${method} ${url.pathname}${url.search} -> ${answer.statusCode} [${raw.join(" ")}] ${data.toString("utf8").slice(0, 600)}`,
          lines: (name) => raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === name.toLowerCase() ? [raw[i + 1]!] : [])),
        });
      });
    });
    req.on("error", reject);
    req.end(Buffer.from(body));
  });
}

/** PUT by digest with `?tag=` for each tag (spec end-7b); returns the response and its OCI-Tag header lines. */
export async function putManifestTagged(c: Client, repo: string, digest: string, body: Uint8Array, tags: string[], contentType = mediaTypeOf(body)) {
  const query = tags.map((t) => `tag=${encodeURIComponent(t)}`).join("&");
  const res = await requestWithHeaderLines(c, "PUT", `/v2/${repo}/manifests/${digest}?${query}`, body, { "Content-Type": contentType });
  return { res, ociTags: res.lines("OCI-Tag") };
}

const ACCEPT_ALL = [MT.ociIndex, MT.ociManifest, MT.dockerManifestList, MT.dockerManifest].join(", ");

export function getManifest(c: Client, repo: string, reference: string, method: "GET" | "HEAD" = "GET"): Promise<Res> {
  return c.request(method, `/v2/${repo}/manifests/${reference}`, { headers: { Accept: ACCEPT_ALL } });
}

/**
 * A successful manifest PUT: 201, Location that serves the exact bytes with the right
 * Content-Type/Length, Docker-Content-Digest equal to `digest` when present (MUST match per spec),
 * and OCI-Subject when the manifest has a subject.
 */
export async function expectManifestCreated(c: Client, res: Res, body: Uint8Array, digest: string, contentType = mediaTypeOf(body)): Promise<void> {
  expectStatus(res, 201);
  const location = res.location();
  expect(location, `manifest PUT must return Location: ${res.describe()}`).not.toBeNull();
  const dcd = res.headers.get("docker-content-digest");
  expect(dcd, `manifest PUT must return Docker-Content-Digest: ${res.describe()}`).not.toBeNull();
  expect(dcd, res.describe()).toBe(digest);
  const doc = JSON.parse(bytes(body).toString("utf8"));
  if (doc.subject && typeof doc.subject.digest === "string") {
    expect(res.headers.get("oci-subject"), `OCI-Subject on a manifest with subject: ${res.describe()}`).toBe(doc.subject.digest);
  }
  const get = await c.get(location!, { headers: { Accept: ACCEPT_ALL } });
  expectStatus(get, 200);
  expect(get.headers.get("content-type"), get.describe()).toBe(contentType);
  expect(get.headers.get("content-length"), get.describe()).toBe(String(body.length));
  expect(get.body.equals(bytes(body)), `manifest at Location differs: ${get.describe()}`).toBe(true);
}

/** GET and HEAD of an existing manifest by tag or digest. */
export async function expectManifest(c: Client, repo: string, reference: string, body: Uint8Array, digest: string, contentType = mediaTypeOf(body)): Promise<void> {
  const head = await getManifest(c, repo, reference, "HEAD");
  expectStatus(head, 200);
  expect(head.body.length, head.describe()).toBe(0);
  expect(head.headers.get("content-type"), head.describe()).toBe(contentType);
  expect(head.headers.get("content-length"), head.describe()).toBe(String(body.length));
  // Docker-Content-Digest: SHOULD in the spec, required by the suite's 1.1+dev profile.
  expect(head.headers.get("docker-content-digest"), head.describe()).toBe(digest);
  const get = await getManifest(c, repo, reference);
  expectStatus(get, 200);
  expect(get.headers.get("content-type"), get.describe()).toBe(contentType);
  expect(get.headers.get("content-length"), get.describe()).toBe(String(body.length));
  expect(get.headers.get("docker-content-digest"), get.describe()).toBe(digest);
  expect(get.body.equals(bytes(body)), `manifest bytes differ: ${get.describe()}`).toBe(true);
}

export async function expectNoManifest(c: Client, repo: string, reference: string): Promise<void> {
  expectError(await getManifest(c, repo, reference, "HEAD"), 404);
  expectError(await getManifest(c, repo, reference), 404, ["MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);
}

/** Serializes a document the way the manifests are stored: exact bytes matter, so keep them. */
export function jsonBytes(doc: unknown, indent?: number | string): Buffer {
  return Buffer.from(JSON.stringify(doc, null, indent), "utf8");
}

export function descriptorOf(mediaType: string, data: Uint8Array, algorithm: Algorithm = "sha256", extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: digestOf(data, algorithm), size: data.length, ...extra };
}

export interface ImageParts {
  config: Buffer;
  configDesc: Descriptor;
  layers: { data: Buffer; desc: Descriptor }[];
  manifest: Buffer;
  digest: string;
  desc: Descriptor;
}

/** A small OCI image (random config author, `layerCount` random layers) in one algorithm. */
export function buildImage(opts: { algorithm?: Algorithm; layerCount?: number; annotations?: Record<string, string>; subject?: Descriptor; artifactType?: string; indent?: boolean; omitMediaType?: boolean } = {}): ImageParts {
  const algorithm = opts.algorithm ?? "sha256";
  const layers = Array.from({ length: opts.layerCount ?? 1 }, () => {
    const data = randomBytes(64 + Math.floor(Math.random() * 200));
    return { data, desc: descriptorOf(MT.ociLayerGzip, data, algorithm) };
  });
  const config = jsonBytes({
    architecture: "amd64",
    os: "linux",
    author: `conformance-${randomId(12)}`,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.desc.digest) },
  });
  const configDesc = descriptorOf(MT.ociConfig, config, algorithm);
  const doc: Record<string, unknown> = { schemaVersion: 2 };
  if (!opts.omitMediaType) doc.mediaType = MT.ociManifest;
  if (opts.artifactType) doc.artifactType = opts.artifactType;
  doc.config = configDesc;
  doc.layers = layers.map((l) => l.desc);
  if (opts.subject) doc.subject = opts.subject;
  if (opts.annotations) doc.annotations = opts.annotations;
  const manifest = jsonBytes(doc, opts.indent ? "\t" : undefined);
  const digest = digestOf(manifest, algorithm);
  return { config, configDesc, layers, manifest, digest, desc: { mediaType: MT.ociManifest, digest, size: manifest.length } };
}

/** Pushes the config and layers of an image (POST+PUT unless told otherwise) into `repo`. */
export async function pushImageBlobs(c: Client, repo: string, image: ImageParts, method: PushMethod = "post-put"): Promise<void> {
  const algorithm = image.configDesc.digest.startsWith("sha512:") ? "sha512" : "sha256";
  await pushBlob(c, repo, image.config, algorithm, method);
  for (const layer of image.layers) await pushBlob(c, repo, layer.data, algorithm, method);
}

/** Pushes blobs then the manifest by `reference` (default: its digest); asserts 201. */
export async function pushImage(c: Client, repo: string, image: ImageParts, reference = image.digest): Promise<Res> {
  await pushImageBlobs(c, repo, image);
  const res = await putManifest(c, repo, reference, image.manifest);
  expectStatus(res, 201);
  return res;
}

/** The repository's tags (GET /tags/list), asserting 200 and the JSON shape. */
export async function listTags(c: Client, repo: string, query: Record<string, string> = {}): Promise<{ res: Res; tags: string[] }> {
  const res = await c.get(`/v2/${repo}/tags/list`, { query });
  expectStatus(res, 200);
  expect(res.headers.get("content-type") ?? "", res.describe()).toMatch(/^application\/json/);
  const doc = res.json<{ name?: unknown; tags?: unknown }>();
  expect(doc.name, res.describe()).toBe(repo);
  expect(Array.isArray(doc.tags), `tags must be an array: ${res.describe()}`).toBe(true);
  return { res, tags: doc.tags as string[] };
}

/** Go's sort.Strings order: byte-wise ("ASCIIbetical"). */
export function asciiSort(list: string[]): string[] {
  return [...list].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Referrers list for `subject`, asserting the index shape the spec requires. */
export async function listReferrers(c: Client, repo: string, subject: string, artifactType?: string): Promise<{ res: Res; manifests: Descriptor[] }> {
  const res = await c.get(`/v2/${repo}/referrers/${subject}`, artifactType === undefined ? {} : { query: { artifactType } });
  expectStatus(res, 200);
  expect(res.headers.get("content-type"), res.describe()).toBe(MT.ociIndex);
  const doc = res.json<{ schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown }>();
  expect(doc.schemaVersion, res.describe()).toBe(2);
  expect(doc.mediaType, res.describe()).toBe(MT.ociIndex);
  expect(Array.isArray(doc.manifests), `manifests must be an array: ${res.describe()}`).toBe(true);
  return { res, manifests: doc.manifests as Descriptor[] };
}

/**
 * Every upload flow with bytes that do not match the announced digest: each must be
 * 400 DIGEST_INVALID and leave nothing visible. Shared by the sha256 and sha512 suites.
 */
export function wrongDigestUploadTests(
  context: () => { c: Client; repo: string; chunkSize: number },
  algorithm: "sha256" | "sha512",
): void {
  const corrupt = (chunkSize: number) => {
    const data = randomBytes(chunkSize * 3 - 5);
    return { digest: digestOf(data, algorithm), sent: Buffer.concat([data, Buffer.from("oh no")]) };
  };
  const flows: [string, (c: Client, repo: string, sent: Uint8Array, digest: string, chunkSize: number) => Promise<Pushed>][] = [
    ["single POST", (c, repo, sent, digest) => postOnly(c, repo, sent, digest)],
    ["POST + PUT", (c, repo, sent, digest) => postPut(c, repo, sent, digest)],
    ["chunked", (c, repo, sent, digest, chunkSize) => chunked(c, repo, sent, digest, { chunkSize })],
    ["chunked with the last chunk in PUT", (c, repo, sent, digest, chunkSize) => chunked(c, repo, sent, digest, { chunkSize, lastInPut: true })],
    ["streamed", (c, repo, sent, digest) => stream(c, repo, sent, digest)],
  ];
  for (const [label, upload] of flows) {
    test(label, async () => {
      const { c, repo, chunkSize } = context();
      const { digest, sent } = corrupt(chunkSize);
      expectError((await upload(c, repo, sent, digest, chunkSize)).res, 400, ["DIGEST_INVALID"]);
      await expectNoBlob(c, repo, digest);
    });
  }
}
