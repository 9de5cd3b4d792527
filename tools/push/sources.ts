// Where images come from: an OCI image layout directory, a `docker save` archive (either its
// OCI layout, written by docker 25+, or the older manifest.json + layer.tar form), or the local
// docker engine (saved to a temporary archive). Blobs are read as they are: digests never change.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";

export const MT = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface ImageSource {
  /** For messages: what was opened. */
  readonly description: string;
  /** The manifest (or index) to push. */
  readonly root: Descriptor;
  /** The tag the source gave the image, if any. */
  readonly tag: string | null;
  /** A small blob (manifest, config) whole. */
  readBlob(digest: string): Promise<Buffer>;
  /** Bytes [start, end) of a blob. */
  openBlob(digest: string, start: number, end: number): Readable;
  close(): Promise<void>;
}

/** Where a blob's bytes are: a file region. */
interface Region {
  file: string;
  offset: number;
  size: number;
}

const REF_NAME = "org.opencontainers.image.ref.name";
const IMAGE_NAME = "io.containerd.image.name";

/** Blobs in files (a layout directory, or entries of a tar), plus blobs made up in memory. */
class RegionSource implements ImageSource {
  readonly description: string;
  readonly root: Descriptor;
  readonly tag: string | null;
  private readonly locate: (digest: string) => Region | null;
  private readonly memory: Map<string, Buffer>;
  private readonly cleanup: () => Promise<void>;

  constructor(init: { description: string; root: Descriptor; tag: string | null; locate: (digest: string) => Region | null; memory?: Map<string, Buffer>; cleanup?: () => Promise<void> }) {
    this.description = init.description;
    this.root = init.root;
    this.tag = init.tag;
    this.locate = init.locate;
    this.memory = init.memory ?? new Map();
    this.cleanup = init.cleanup ?? (async () => {});
  }

  private region(digest: string): Region {
    const found = this.locate(digest);
    if (!found) throw new Error(`${this.description} has no blob ${digest}`);
    return found;
  }

  async readBlob(digest: string): Promise<Buffer> {
    const held = this.memory.get(digest);
    if (held) return held;
    return readRegion(this.region(digest));
  }

  openBlob(digest: string, start: number, end: number): Readable {
    const held = this.memory.get(digest);
    if (held) return Readable.from([held.subarray(start, end)]);
    const r = this.region(digest);
    if (end > r.size) throw new Error(`blob ${digest} has ${r.size} bytes, asked for up to ${end}`);
    if (end === start) return Readable.from([]);
    return createReadStream(r.file, { start: r.offset + start, end: r.offset + end - 1, highWaterMark: 1024 * 1024 });
  }

  close(): Promise<void> {
    return this.cleanup();
  }
}

/** Picks the manifest to push from an OCI index.json by tag (or the only one). */
function pickRoot(index: { manifests?: Descriptor[] }, wanted: string | null, description: string): { root: Descriptor; tag: string | null } {
  const manifests = index.manifests ?? [];
  const tagOf = (d: Descriptor) => d.annotations?.[REF_NAME] ?? null;
  const matches = wanted === null ? manifests : manifests.filter((d) => tagOf(d) === wanted || imageNameMatches(d.annotations?.[IMAGE_NAME], wanted));
  if (matches.length === 1) return { root: matches[0]!, tag: wanted !== null && !wanted.includes(":") && !wanted.includes("/") ? wanted : tagOf(matches[0]!) };
  const names = manifests.map((d) => d.annotations?.[IMAGE_NAME] ?? tagOf(d) ?? d.digest).join(", ");
  if (matches.length === 0) throw new Error(`${description}: no image ${wanted ?? ""} (it holds: ${names || "nothing"})`);
  throw new Error(`${description} holds several images (${names}); name one, e.g. ${description}:<tag>`);
}

/** "docker.io/library/app:v1" matches "app:v1", "library/app:v1" and itself. */
function imageNameMatches(full: string | undefined, wanted: string): boolean {
  if (!full) return false;
  return full === wanted || full.endsWith(`/${wanted}`) || full.endsWith(`/library/${wanted}`);
}

function blobPath(dir: string, digest: string): string {
  const [alg, hex] = digest.split(":");
  if (!alg || !hex || !/^[a-z0-9]+$/.test(alg) || !/^[a-f0-9]+$/.test(hex)) throw new Error(`malformed digest ${digest}`);
  return path.join(dir, "blobs", alg, hex);
}

/** `oci:<dir>[:tag]` */
export async function openOciLayout(dir: string, tag: string | null): Promise<ImageSource> {
  const description = `OCI layout ${dir}`;
  const index = JSON.parse(await readFile(path.join(dir, "index.json"), "utf8"));
  const { root, tag: found } = pickRoot(index, tag, description);
  const sizes = new Map<string, number>();
  const locate = (digest: string): Region | null => {
    const file = blobPath(dir, digest);
    const size = sizes.get(file);
    return size === undefined ? null : { file, offset: 0, size };
  };
  // Sizes are needed synchronously by locate(): stat every blob file once.
  const { readdir } = await import("node:fs/promises");
  for (const alg of await readdir(path.join(dir, "blobs"))) {
    for (const hex of await readdir(path.join(dir, "blobs", alg))) {
      const file = path.join(dir, "blobs", alg, hex);
      sizes.set(file, (await stat(file)).size);
    }
  }
  return new RegionSource({ description, root, tag: found, locate });
}

// ------------------------------------------------------------------ tar (docker save)

interface TarEntry {
  offset: number;
  size: number;
}

/** Names and data regions of the regular files in a tar, without reading their contents. */
export async function indexTar(file: string): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const fh = await open(file, "r");
  const header = Buffer.alloc(512);
  let at = 0;
  let longName: string | null = null;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, 512, at);
      if (bytesRead < 512 || header.every((b) => b === 0)) break;
      const size = tarSize(header.subarray(124, 136));
      const type = String.fromCharCode(header[156]!);
      const data = at + 512;
      let name = longName ?? tarName(header);
      longName = null;
      if (type === "L" || type === "x") {
        const body = Buffer.alloc(size);
        await fh.read(body, 0, size, data);
        if (type === "L") longName = body.toString("utf8").replace(/\0+$/, "");
        else longName = /\d+ path=([^\n]*)\n/.exec(body.toString("utf8"))?.[1] ?? null;
      } else if (type === "0" || type === "\0") {
        name = name.replace(/^\.\//, "");
        entries.set(name, { offset: data, size });
      }
      at = data + Math.ceil(size / 512) * 512;
    }
  } finally {
    await fh.close();
  }
  return entries;
}

function tarName(h: Buffer): string {
  const field = (from: number, to: number) => h.subarray(from, to).toString("utf8").replace(/\0.*$/s, "");
  const name = field(0, 100);
  const prefix = h.subarray(257, 262).toString() === "ustar" ? field(345, 500) : "";
  return prefix ? `${prefix}/${name}` : name;
}

/** Octal, or base-256 (high bit set) for sizes past 8 GiB. */
function tarSize(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  return parseInt(field.toString("ascii").replace(/[\0 ]+/g, "") || "0", 8);
}

async function sha256Region(r: Region): Promise<string> {
  const hash = createHash("sha256");
  if (r.size > 0) for await (const chunk of createReadStream(r.file, { start: r.offset, end: r.offset + r.size - 1, highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

/** First bytes of a layer → its media type (no recompression: gzip and zstd layers stay so). */
async function layerMediaType(r: Region): Promise<string> {
  const fh = await open(r.file, "r");
  try {
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, r.offset);
    if (magic[0] === 0x1f && magic[1] === 0x8b) return "application/vnd.oci.image.layer.v1.tar+gzip";
    if (magic.readUInt32LE(0) === 0xfd2fb528) return "application/vnd.oci.image.layer.v1.tar+zstd";
    return "application/vnd.oci.image.layer.v1.tar";
  } finally {
    await fh.close();
  }
}

/** `docker-archive:<file>[:image]` */
export async function openDockerArchive(
  file: string,
  image: string | null,
  opts: { description?: string; cleanup?: () => Promise<void> } = {},
): Promise<ImageSource> {
  const description = opts.description ?? `docker archive ${file}`;
  const cleanup = opts.cleanup;
  const entries = await indexTar(file);
  const region = (name: string): Region | null => {
    const e = entries.get(name);
    return e ? { file, offset: e.offset, size: e.size } : null;
  };
  if (entries.has("index.json") && entries.has("oci-layout")) {
    const index = JSON.parse((await new RegionSource({ description, root: { mediaType: "", digest: "", size: 0 }, tag: null, locate: () => region("index.json") }).readBlob("index.json")).toString());
    const { root, tag } = pickRoot(index, image, description);
    const locate = (digest: string) => region(path.posix.join("blobs", ...digest.split(":")));
    return new RegionSource({ description, root, tag, locate, ...(cleanup ? { cleanup } : {}) });
  }
  return legacyArchive(file, entries, image, description, cleanup);
}

/** The bytes of one region of a file (a blob inside a layout or an archive). */
async function readRegion(r: Region): Promise<Buffer> {
  const fh = await open(r.file, "r");
  try {
    const buf = Buffer.alloc(r.size);
    await fh.read(buf, 0, r.size, r.offset);
    return buf;
  } finally {
    await fh.close();
  }
}

/** The pre-OCI `docker save` form: manifest.json, <id>.json config, <id>/layer.tar. */
async function legacyArchive(file: string, entries: Map<string, TarEntry>, image: string | null, description: string, cleanup?: () => Promise<void>): Promise<ImageSource> {
  const region = (name: string): Region => {
    const e = entries.get(name);
    if (!e) throw new Error(`${description}: missing ${name}`);
    return { file, offset: e.offset, size: e.size };
  };
  const list = JSON.parse((await readRegion(region("manifest.json"))).toString()) as { Config: string; RepoTags?: string[]; Layers: string[] }[];
  const picked = image === null ? list : list.filter((m) => (m.RepoTags ?? []).some((t) => t === image || imageNameMatches(t, image)));
  if (picked.length !== 1) throw new Error(`${description}: ${picked.length === 0 ? `no image ${image}` : "several images; name one"} (it holds: ${list.map((m) => (m.RepoTags ?? []).join(" ")).join(", ")})`);
  const entry = picked[0]!;
  const regions = new Map<string, Region>();
  const configBytes = await readRegion(region(entry.Config));
  const configDigest = `sha256:${createHash("sha256").update(configBytes).digest("hex")}`;
  const layers: Descriptor[] = [];
  for (const name of entry.Layers) {
    const r = region(name);
    // Layer files are named by id, not digest: hash each once (one read, no copy).
    const digest = await sha256Region(r);
    regions.set(digest, r);
    layers.push({ mediaType: await layerMediaType(r), digest, size: r.size });
  }
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: configDigest, size: configBytes.length }, layers }),
  );
  const manifestDigest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
  const memory = new Map([
    [configDigest, configBytes],
    [manifestDigest, manifest],
  ]);
  const tagged = entry.RepoTags?.[0];
  const tag = tagged && /:([^:/]+)$/.exec(tagged)?.[1];
  return new RegionSource({
    description,
    root: { mediaType: MT.ociManifest, digest: manifestDigest, size: manifest.length },
    tag: tag ?? null,
    locate: (d) => regions.get(d) ?? null,
    memory,
    ...(cleanup ? { cleanup } : {}),
  });
}

/** `docker-daemon:<image>`: `docker save` to a temporary archive, removed on close. */
export async function openDockerEngine(image: string): Promise<ImageSource> {
  const dir = await mkdtemp(path.join(tmpdir(), "registry-push-"));
  const file = path.join(dir, "image.tar");
  try {
    await promisify(execFile)("docker", ["save", "-o", file, image], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`docker save ${image} failed: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`);
  }
  return openDockerArchive(file, image, { description: `docker image ${image}`, cleanup: () => rm(dir, { recursive: true, force: true }) });
}

/** `oci:…`, `docker-archive:…`, `docker-daemon:…`; a bare path is a layout dir or an archive. */
export async function openSource(spec: string): Promise<ImageSource> {
  const [kind, rest] = splitKind(spec);
  if (kind === "docker-daemon") return openDockerEngine(rest);
  const { location, name } = await splitName(rest);
  if (kind === "oci") return openOciLayout(location, name);
  if (kind === "docker-archive") return openDockerArchive(location, name);
  const info = await stat(location).catch(() => null);
  if (!info) throw new Error(`no such source: ${spec} (use oci:<dir>[:tag], docker-archive:<file>[:image] or docker-daemon:<image>)`);
  return info.isDirectory() ? openOciLayout(location, name) : openDockerArchive(location, name);
}

function splitKind(spec: string): [string, string] {
  const m = /^(oci|docker-archive|docker-daemon):(.*)$/.exec(spec);
  return m ? [m[1]!, m[2]!] : ["", spec];
}

/** "<path>[:<tag or image>]": the path is the shortest prefix that exists (image names hold ":" and "/"). */
async function splitName(rest: string): Promise<{ location: string; name: string | null }> {
  for (let colon = rest.indexOf(":"); colon >= 0; colon = rest.indexOf(":", colon + 1)) {
    const location = rest.slice(0, colon);
    if (await stat(location).catch(() => null)) return { location, name: rest.slice(colon + 1) || null };
  }
  return { location: rest, name: null };
}
