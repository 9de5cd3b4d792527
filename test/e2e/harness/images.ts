// Test images built from scratch, no internet: layers are tars written by tar.ts, laid out
// as an OCI image layout (for skopeo/podman/buildah/ctr) or a docker-archive (for docker load).
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { END_OF_ARCHIVE, buildTar, padding, readTar, sha256, tarHeader, type TarEntry } from "./tar";

export const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface BuiltLayer {
  /** Digest/size/mediaType of the blob as stored (compressed when gzip). */
  descriptor: Descriptor;
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar (what goes in rootfs.diff_ids). */
  diffId: string;
  /** The uncompressed tar and the stored blob; absent for streamed (large) layers. */
  tar?: Buffer;
  blob?: Buffer;
  /** Where a streamed layer lives on disk. */
  file?: string;
  /** Regular files in the layer: path → content (small layers only). */
  files: Map<string, Buffer>;
}

export interface BuiltImage {
  platform: Platform;
  layers: BuiltLayer[];
  config: Record<string, unknown>;
  configBytes: Buffer;
  configDigest: string;
  manifestBytes: Buffer;
  manifestDigest: string;
  /** Descriptor of the manifest (with platform), as an index would list it. */
  descriptor: Descriptor;
  /** All blobs (config + layers) keyed by digest, as stored. */
  blobs: Map<string, Buffer>;
}

export interface BuiltIndex {
  images: BuiltImage[];
  indexBytes: Buffer;
  indexDigest: string;
  descriptor: Descriptor;
}

export function hostPlatform(): Platform {
  const arch = { x64: "amd64", arm64: "arm64", arm: "arm", s390x: "s390x", ppc64: "ppc64le", riscv64: "riscv64" }[process.arch as string];
  return { architecture: arch ?? process.arch, os: "linux" };
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v), "utf8");

export interface ImageSpec {
  /** Files of each layer, bottom first. A random salt file is added to the first layer unless salt === false. */
  layers: TarEntry[][];
  platform?: Platform;
  /** gzip layers (default true). docker-archives always carry uncompressed tars. */
  gzip?: boolean;
  labels?: Record<string, string>;
  /** Make blobs unique to this run (default: random). */
  salt?: string | false;
}

/** A small multi-layer image entirely in memory. */
export function buildImage(spec: ImageSpec): BuiltImage {
  const platform = spec.platform ?? hostPlatform();
  const gzip = spec.gzip ?? true;
  const salt = spec.salt === false ? null : (spec.salt ?? randomBytes(8).toString("hex"));
  const layers: BuiltLayer[] = spec.layers.map((files, i) => {
    const entries = i === 0 && salt !== null ? [...files, { name: "etc/e2e-salt", content: `${salt}\n` }] : files;
    const tar = buildTar(entries);
    const blob = gzip ? gzipSync(tar, { level: 6 }) : tar;
    const digest = sha256(blob);
    const fileMap = new Map<string, Buffer>();
    for (const e of entries) {
      if ((e.type ?? "file") === "file") fileMap.set(e.name, Buffer.from(e.content ?? ""));
    }
    return {
      descriptor: { mediaType: gzip ? MT.ociLayerGzip : MT.ociLayer, digest, size: blob.length },
      digest,
      size: blob.length,
      diffId: sha256(tar),
      tar,
      blob,
      files: fileMap,
    };
  });
  return assembleImage(platform, layers, spec.labels ?? {});
}

/** Config + manifest around already-built layers. */
export function assembleImage(platform: Platform, layers: BuiltLayer[], labels: Record<string, string>): BuiltImage {
  const config = {
    created: "2024-01-01T00:00:00Z",
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/true"],
      Labels: { "org.example.e2e": "true", ...labels },
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: "2024-01-01T00:00:00Z", created_by: `e2e layer ${i}` })),
  };
  const configBytes = json(config);
  const configDigest = sha256(configBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => l.descriptor),
  };
  const manifestBytes = json(manifest);
  const manifestDigest = sha256(manifestBytes);
  const blobs = new Map<string, Buffer>([[configDigest, configBytes]]);
  for (const l of layers) if (l.blob) blobs.set(l.digest, l.blob);
  return {
    platform,
    layers,
    config,
    configBytes,
    configDigest,
    manifestBytes,
    manifestDigest,
    descriptor: { mediaType: MT.ociManifest, digest: manifestDigest, size: manifestBytes.length, platform },
    blobs,
  };
}

/** An OCI image index over several single-platform images. */
export function buildIndex(images: BuiltImage[]): BuiltIndex {
  const index = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: images.map((i) => i.descriptor) };
  const indexBytes = json(index);
  const indexDigest = sha256(indexBytes);
  return { images, indexBytes, indexDigest, descriptor: { mediaType: MT.ociIndex, digest: indexDigest, size: indexBytes.length } };
}

/** A typical small multi-layer image: three layers with a directory tree, text and binary files. */
export function sampleImage(name: string, platform?: Platform, opts: { gzip?: boolean } = {}): BuiltImage {
  return buildImage({
    platform,
    gzip: opts.gzip,
    labels: { "org.example.e2e.name": name },
    layers: [
      [
        { name: "etc", type: "dir" },
        { name: "etc/os-release", content: `NAME="e2e ${name}"\nID=e2e\n` },
        { name: "bin", type: "dir" },
      ],
      [
        { name: "app", type: "dir" },
        { name: "app/hello.txt", content: `hello from ${name} (${platform?.architecture ?? hostPlatform().architecture})\n` },
        { name: "app/data.bin", content: randomBytes(256 * 1024) },
        { name: "app/link", type: "symlink", linkname: "hello.txt" },
      ],
      [{ name: "app/version", content: `${name}-1\n` }],
    ],
  });
}

export interface LayoutEntry {
  /** org.opencontainers.image.ref.name, i.e. the `tag` in `oci:<dir>:<tag>`. */
  ref: string;
  image?: BuiltImage;
  index?: BuiltIndex;
}

async function writeBlob(dir: string, digest: string, data: Buffer): Promise<void> {
  const [alg, hex] = digest.split(":");
  await mkdir(path.join(dir, "blobs", alg!), { recursive: true });
  await writeFile(path.join(dir, "blobs", alg!, hex!), data);
}

async function writeImageBlobs(dir: string, image: BuiltImage): Promise<void> {
  for (const [d, b] of image.blobs) await writeBlob(dir, d, b);
  await writeBlob(dir, image.manifestDigest, image.manifestBytes);
}

/** Writes an OCI image layout (oci-layout, index.json, blobs/) holding the given images/indexes. */
export async function writeOciLayout(dir: string, entries: LayoutEntry[]): Promise<void> {
  await mkdir(path.join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(path.join(dir, "oci-layout"), json({ imageLayoutVersion: "1.0.0" }));
  const manifests: Descriptor[] = [];
  for (const e of entries) {
    if (e.image) {
      await writeImageBlobs(dir, e.image);
      manifests.push({ ...e.image.descriptor, annotations: { "org.opencontainers.image.ref.name": e.ref } });
    } else if (e.index) {
      for (const img of e.index.images) await writeImageBlobs(dir, img);
      await writeBlob(dir, e.index.indexDigest, e.index.indexBytes);
      manifests.push({ ...e.index.descriptor, annotations: { "org.opencontainers.image.ref.name": e.ref } });
    }
  }
  await writeFile(path.join(dir, "index.json"), json({ schemaVersion: 2, mediaType: MT.ociIndex, manifests }));
}

/**
 * A docker-archive (the `docker save` format) for `docker load`: uncompressed layer tars,
 * config named by its digest, so the loaded image ID is image.configDigest. Written as a
 * stream, so layers on disk (BuiltLayer.file, e.g. the 1 GiB one) are never held in memory.
 * The layers must be uncompressed (diff_id == layer digest).
 */
export async function writeDockerArchive(file: string, image: BuiltImage, repoTags: string[]): Promise<void> {
  const fh = await open(file, "w");
  try {
    const put = async (entry: TarEntry, body?: Buffer) => {
      await fh.write(tarHeader(entry));
      if (body) await fh.write(body);
      await fh.write(padding(entry.size ?? body?.length ?? 0));
    };
    const layerPaths: string[] = [];
    for (const l of image.layers) {
      if (l.diffId !== l.digest) throw new Error("docker archives need uncompressed layers");
      const hex = l.diffId.slice("sha256:".length);
      await put({ name: hex, type: "dir" });
      await put({ name: `${hex}/VERSION`, size: 3 }, Buffer.from("1.0"));
      if (l.tar) await put({ name: `${hex}/layer.tar`, size: l.tar.length }, l.tar);
      else if (l.file) {
        await fh.write(tarHeader({ name: `${hex}/layer.tar`, size: l.size }));
        let copied = 0;
        for await (const chunk of createReadStream(l.file, { highWaterMark: 8 * 1024 * 1024 })) {
          await fh.write(chunk as Buffer);
          copied += (chunk as Buffer).length;
        }
        if (copied !== l.size) throw new Error(`${l.file}: copied ${copied} bytes, expected ${l.size}`);
        await fh.write(padding(l.size));
      } else throw new Error("layer has neither tar nor file");
      layerPaths.push(`${hex}/layer.tar`);
    }
    const configName = `${image.configDigest.slice("sha256:".length)}.json`;
    await put({ name: configName, size: image.configBytes.length }, image.configBytes);
    const manifest = json([{ Config: configName, RepoTags: repoTags, Layers: layerPaths }]);
    await put({ name: "manifest.json", size: manifest.length }, manifest);
    await fh.write(END_OF_ARCHIVE);
  } finally {
    await fh.close();
  }
}

/** Uncompresses a layer blob if it is gzip (magic 1f 8b). */
export function layerTar(blob: Buffer): Buffer {
  return blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
}

/** path → content of the regular files in a layer blob (gzip or not). */
export function layerFiles(blob: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readTar(layerTar(blob))) if (e.type === "0") out.set(e.name.replace(/^\.?\//, ""), e.content);
  return out;
}

/** sha256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

/**
 * An OCI layout holding one image whose single layer is an uncompressed tar with one file of
 * `bytes` random bytes. Streamed to disk (never held in memory); sha256 computed while writing.
 */
export async function writeLargeLayerLayout(dir: string, ref: string, bytes: number): Promise<{ image: BuiltImage; layer: BuiltLayer; writeMs: number }> {
  const started = Date.now();
  const tmp = path.join(dir, "blobs", "sha256", ".layer.tmp");
  await mkdir(path.dirname(tmp), { recursive: true });
  const fh = await open(tmp, "w");
  const hash = createHash("sha256");
  let total = 0;
  const put = async (buf: Buffer) => {
    hash.update(buf);
    await fh.write(buf);
    total += buf.length;
  };
  try {
    await put(tarHeader({ name: "big/random.bin", size: bytes }));
    const chunk = Buffer.allocUnsafe(8 * 1024 * 1024);
    for (let left = bytes; left > 0; ) {
      const n = Math.min(left, chunk.length);
      const view = chunk.subarray(0, n);
      randomFillSync(view);
      await put(view);
      left -= n;
    }
    await put(padding(bytes));
    await put(END_OF_ARCHIVE);
  } finally {
    await fh.close();
  }
  const digest = `sha256:${hash.digest("hex")}`;
  const file = path.join(dir, "blobs", "sha256", digest.slice(7));
  await rename(tmp, file);
  const layer: BuiltLayer = {
    descriptor: { mediaType: MT.ociLayer, digest, size: total },
    digest,
    size: total,
    diffId: digest,
    file,
    files: new Map(),
  };
  const image = assembleImage(hostPlatform(), [layer], { "org.example.e2e.name": "large" });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "oci-layout"), json({ imageLayoutVersion: "1.0.0" }));
  await writeImageBlobs(dir, image);
  await writeFile(
    path.join(dir, "index.json"),
    json({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ ...image.descriptor, annotations: { "org.opencontainers.image.ref.name": ref } }] }),
  );
  return { image, layer, writeMs: Date.now() - started };
}
