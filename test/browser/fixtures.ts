// Test images pushed over the registry's HTTP API: images of one platform, a multi-arch index,
// artifacts that refer to a manifest (signature, SBOM). Their bytes derive from a seed, so the
// same fixture has the same digests on every run (and the screenshots stay comparable).
import { createHash } from "node:crypto";
import {
  Client,
  EMPTY_JSON,
  EMPTY_JSON_SHA256,
  MT,
  digestOf,
  expectStatus,
  jsonBytes,
  pushBlob,
  putManifest,
  type Descriptor,
  type RequestOptions,
  type Res,
} from "../conformance/oci";

/** A client whose every request carries one Authorization header (Basic works in every auth mode). */
export class AuthorizedClient extends Client {
  constructor(base: string, private readonly authorization?: string) {
    super(base);
  }

  override request(method: string, target: string | URL, opts: RequestOptions = {}): Promise<Res> {
    const headers = this.authorization ? { Authorization: this.authorization, ...opts.headers } : opts.headers;
    return super.request(method, target, { ...opts, headers });
  }
}

export const basicAuth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** `length` bytes that look random and depend only on `seed`. */
export function seededBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0, block = 0; offset < length; block++) {
    offset += createHash("sha256").update(`${seed}/${block}`).digest().copy(out, offset);
  }
  return out;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageSpec {
  /** Derives every byte of the image. */
  seed: string;
  platform?: Platform;
  /** Layer sizes in bytes. */
  layers: number[];
  created: string;
  cmd?: string[];
  env?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  layerAnnotations?: Record<string, string>;
}

export interface PushedImage {
  /** The manifest's descriptor, with the platform (an index entry as is). */
  descriptor: Descriptor;
  /** Config and layers in bytes: the size the page shows. */
  contentSize: number;
}

/** Pushes an image's blobs and manifest (by `tag`, or by digest). */
export async function pushImage(c: Client, repo: string, spec: ImageSpec, tag?: string): Promise<PushedImage> {
  const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const layers: Descriptor[] = [];
  for (const [i, size] of spec.layers.entries()) {
    const data = seededBytes(`${spec.seed}/layer/${i}`, size);
    await pushBlob(c, repo, data);
    layers.push({ mediaType: MT.ociLayerGzip, digest: digestOf(data), size, ...(i === 0 && spec.layerAnnotations ? { annotations: spec.layerAnnotations } : {}) });
  }
  const config = jsonBytes({
    created: spec.created,
    ...platform,
    config: {
      Env: spec.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: spec.cmd ?? ["/bin/sh"],
      WorkingDir: "/",
      ...(spec.labels ? { Labels: spec.labels } : {}),
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    history: spec.layers.map((_, i) => ({ created: spec.created, created_by: `step ${i + 1}` })),
  });
  await pushBlob(c, repo, config);
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: digestOf(config), size: config.length },
    layers,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  });
  expectStatus(await putManifest(c, repo, tag ?? digestOf(manifest), manifest), 201);
  return {
    descriptor: { mediaType: MT.ociManifest, digest: digestOf(manifest), size: manifest.length, platform: { ...platform } },
    contentSize: config.length + spec.layers.reduce((a, b) => a + b, 0),
  };
}

/** Pushes an index of already-pushed images (their descriptors carry the platform). */
export async function pushIndex(c: Client, repo: string, children: Descriptor[], tag: string, annotations?: Record<string, string>): Promise<Descriptor> {
  const index = jsonBytes({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: children, ...(annotations ? { annotations } : {}) });
  expectStatus(await putManifest(c, repo, tag, index), 201);
  return { mediaType: MT.ociIndex, digest: digestOf(index), size: index.length };
}

/** Pushes an OCI 1.1 artifact whose subject is `subject` (listed by GET /v2/<repo>/referrers/<digest>). */
export async function pushReferrer(
  c: Client,
  repo: string,
  subject: Descriptor,
  artifactType: string,
  payload: { mediaType: string; data: Buffer },
  annotations?: Record<string, string>,
): Promise<Descriptor> {
  await pushBlob(c, repo, EMPTY_JSON);
  await pushBlob(c, repo, payload.data);
  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    artifactType,
    config: { mediaType: MT.ociEmpty, digest: EMPTY_JSON_SHA256, size: EMPTY_JSON.length },
    layers: [{ mediaType: payload.mediaType, digest: digestOf(payload.data), size: payload.data.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(annotations ? { annotations } : {}),
  });
  const res = await putManifest(c, repo, digestOf(manifest), manifest);
  expectStatus(res, 201);
  return { mediaType: MT.ociManifest, digest: digestOf(manifest), size: manifest.length, artifactType };
}

/** Strings that run script if a page ever parses registry data as HTML. Each sets window.__pwned. */
export const HOSTILE = {
  img: `<img src=x onerror="window.__pwned='img'">`,
  script: `<script>window.__pwned='script'</script>`,
  svg: `"><svg onload="window.__pwned='svg'"></svg>`,
  link: `javascript:window.__pwned='link'`,
  template: "${window.__pwned='template'}{{constructor.constructor('window.__pwned=1')()}}",
};
