// Test data sets in the shape the conformance suite generates them: images with real tar(+gzip)
// layers and configs, indexes (nested, empty), artifacts, referrers (manifests and indexes with a
// subject), descriptor data fields, non-distributable layers, unknown fields, and a sha512 index.
// Each set records what a run must push, tag, find as referrers, and finally delete.
import { randomInt } from "node:crypto";
import { gzipSync } from "node:zlib";
import { MT, digestOf, jsonBytes, randomBytes, randomId, type Algorithm, type Descriptor } from "./oci";

export const EXAMPLE_TYPE_1 = "application/vnd.example.oci.conformance.v1";
export const EXAMPLE_TYPE_2 = "application/vnd.example.oci.conformance.v2";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface GenOptions {
  algorithm?: Algorithm;
  annotations?: Record<string, string>;
  /** Adds one random annotation so otherwise equal artifacts get distinct digests. */
  uniqueAnnotation?: boolean;
  artifactType?: string;
  gzip?: boolean;
  configBytes?: Buffer;
  configMediaType?: string;
  extraField?: boolean;
  layerBytes?: Buffer;
  layerCount?: number;
  layerMediaType?: string;
  platform?: Platform;
  platforms?: Platform[];
  dataField?: boolean;
  subject?: Descriptor;
  tag?: string;
}

export interface StoredManifest {
  digest: string;
  body: Buffer;
  mediaType: string;
}

/** A single-file tar archive (ustar), as layer content. */
export function tarFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512, 0);
  const put = (text: string, offset: number, length: number) => header.write(text, offset, length, "ascii");
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, "0") + "\0";
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put("        ", 148, 8);
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of header) sum += b;
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}

function withExtraField<T extends object>(doc: T): T {
  return { ...doc, [`x-conformance-${randomId(8)}`]: { random: randomId(12), list: [1, 2, 3] } };
}

export class DataSet {
  readonly blobs = new Map<string, Buffer>();
  readonly descs = new Map<string, Descriptor>();
  /** Manifests in push order (children before parents). */
  readonly manifests: StoredManifest[] = [];
  readonly tags = new Map<string, string>();
  /** subject digest -> descriptors the referrers API must list. */
  readonly referrers = new Map<string, Descriptor[]>();
  /** Manifests that must be rejected (400) when pushed by digest, and not pulled. */
  readonly badDigest = new Set<string>();
  /** Manifests pushed by digest with these `?tag=` parameters (spec end-7b) instead of a PUT per tag. */
  readonly tagParams = new Map<string, string[]>();
  /** Blobs and manifests the data set's manifests point at that are never pushed (sparse manifests). */
  readonly absent = new Set<string>();

  constructor(readonly name: string) {}

  manifestBody(digest: string): StoredManifest | undefined {
    return this.manifests.find((m) => m.digest === digest);
  }

  addBlob(data: Buffer, mediaType: string, o: GenOptions = {}): Descriptor {
    const algorithm = o.algorithm ?? "sha256";
    const digest = digestOf(data, algorithm);
    this.blobs.set(digest, data);
    const desc: Descriptor = { mediaType, digest, size: data.length };
    if (o.dataField) desc.data = data.toString("base64");
    this.descs.set(digest, desc);
    return desc;
  }

  /** A tar layer with one text file; returns the pushed (maybe gzipped) descriptor and the diff id. */
  layer(fileNumber: number, o: GenOptions = {}): { desc: Descriptor; diffId: string } {
    const algorithm = o.algorithm ?? "sha256";
    const text = `Conformance test file contents for file number ${fileNumber}.\nTodays lucky number is ${randomInt(2 ** 47)}\n`;
    const tar = tarFile(`./conformance-${fileNumber}.txt`, Buffer.from(text));
    const gzip = o.gzip ?? true;
    const body = gzip ? gzipSync(tar) : tar;
    const desc = this.addBlob(body, gzip ? MT.ociLayerGzip : MT.ociLayer, o);
    return { desc, diffId: digestOf(tar, algorithm) };
  }

  config(platform: Platform, diffIds: string[], o: GenOptions = {}): Descriptor {
    let doc: object = { author: "OCI Conformance Test", ...platform, rootfs: { type: "layers", diff_ids: diffIds } };
    if (o.extraField) doc = withExtraField(doc);
    return this.addBlob(jsonBytes(doc), MT.ociConfig, o);
  }

  private annotationsOf(o: GenOptions): Record<string, string> | undefined {
    if (!o.annotations && !o.uniqueAnnotation) return undefined;
    const out = { ...(o.annotations ?? {}) };
    if (o.uniqueAnnotation) out[`org.example.${randomId(10)}`] = randomId(16);
    return out;
  }

  private record(doc: Record<string, unknown>, mediaType: string, o: GenOptions, listedType: string | undefined): Descriptor {
    const body = jsonBytes(o.extraField ? withExtraField(doc) : doc);
    const digest = digestOf(body, o.algorithm ?? "sha256");
    this.manifests.push({ digest, body, mediaType });
    const desc: Descriptor = { mediaType, digest, size: body.length };
    if (o.dataField) desc.data = body.toString("base64");
    this.descs.set(digest, desc);
    if (o.subject) {
      const entry: Descriptor = { mediaType, digest, size: body.length };
      if (listedType !== undefined) entry.artifactType = listedType;
      const annotations = doc.annotations as Record<string, string> | undefined;
      if (annotations) entry.annotations = annotations;
      const list = this.referrers.get(o.subject.digest) ?? [];
      list.push(entry);
      this.referrers.set(o.subject.digest, list);
    }
    if (o.tag) this.tags.set(o.tag, digest);
    return desc;
  }

  imageManifest(config: Descriptor, layers: Descriptor[], o: GenOptions = {}): Descriptor {
    const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: MT.ociManifest };
    if (o.artifactType) doc.artifactType = o.artifactType;
    doc.config = config;
    doc.layers = layers;
    if (o.subject) doc.subject = o.subject;
    const annotations = this.annotationsOf(o);
    if (annotations) doc.annotations = annotations;
    // a referrer's listed artifactType: the manifest's own, else its config media type
    return this.record(doc, MT.ociManifest, o, o.artifactType || config.mediaType);
  }

  index(children: { desc: Descriptor; platform?: Platform }[], o: GenOptions = {}): Descriptor {
    const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: MT.ociIndex };
    if (o.artifactType) doc.artifactType = o.artifactType;
    doc.manifests = children.map(({ desc, platform }) => (platform ? { ...desc, platform } : { ...desc }));
    if (o.subject) doc.subject = o.subject;
    const annotations = this.annotationsOf(o);
    if (annotations) doc.annotations = annotations;
    return this.record(doc, MT.ociIndex, o, o.artifactType || undefined);
  }

  /** A whole image: layers (tar+gzip by default, or artifact blobs), config, manifest. */
  image(o: GenOptions = {}): Descriptor {
    const platform = o.platform ?? { os: "linux", architecture: "amd64" };
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (let i = 0; i < (o.layerCount ?? 2); i++) {
      if (!o.layerMediaType || o.layerMediaType.startsWith("application/vnd.oci.image.layer.v1.")) {
        const { desc, diffId } = this.layer(i, o);
        layers.push(desc);
        diffIds.push(diffId);
      } else {
        layers.push(this.addBlob(o.layerBytes ?? randomBytes(2048), o.layerMediaType, o));
      }
    }
    const config =
      !o.configMediaType || o.configMediaType === MT.ociConfig
        ? this.config(platform, diffIds, o)
        : this.addBlob(o.configBytes ?? Buffer.from("{}"), o.configMediaType, o);
    return this.imageManifest(config, layers, o);
  }

  /** An index of one image per platform. */
  multiPlatform(o: GenOptions = {}): Descriptor {
    const platforms = o.platforms ?? [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ];
    const children = platforms.map((platform) => ({ desc: this.image({ ...o, platform }), platform }));
    return this.index(children, o);
  }
}

/** The data sets of the conformance suite's default (v1.1) configuration, in its order. */
export function conformanceDataSets(): DataSet[] {
  const sets: DataSet[] = [];
  const add = (name: string, build: (d: DataSet) => void) => {
    const d = new DataSet(name);
    build(d);
    sets.push(d);
  };

  add("image", (d) => d.image({ tag: "image" }));
  add("image-uncompressed", (d) => d.image({ tag: "image-uncompressed", gzip: false }));
  add("large-manifest", (d) => {
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 390; i++) annotations[`large-annotation-${i}`] = "A".repeat(10000);
    d.image({ tag: "large-manifest", annotations });
  });
  add("index", (d) => d.multiPlatform({ tag: "index" }));
  add("nested-index", (d) => {
    const a = d.multiPlatform();
    const b = d.multiPlatform();
    d.index([{ desc: a }, { desc: b }], { tag: "index-of-index" });
  });
  add("empty-index", (d) => d.multiPlatform({ tag: "index", platforms: [] }));
  const artifact: GenOptions = {
    artifactType: EXAMPLE_TYPE_1,
    configMediaType: MT.ociEmpty,
    configBytes: Buffer.from("{}"),
    layerCount: 1,
    layerMediaType: EXAMPLE_TYPE_1,
  };
  add("artifact", (d) => d.image({ ...artifact, tag: "artifact" }));
  add("artifact-index", (d) => d.multiPlatform({ ...artifact, tag: "artifact-index" }));
  add("artifact-without-layers", (d) =>
    d.image({ ...artifact, tag: "artifact-without-layers", layerBytes: Buffer.from("{}"), layerMediaType: MT.ociEmpty }),
  );
  add("artifacts-with-subject", (d) => {
    const subject = d.image({ tag: "image" });
    d.image({ subject });
    const note = { "org.opencontainers.conformance": "hello conformance test" };
    d.image({ ...artifact, annotations: note, uniqueAnnotation: true, subject, tag: "tagged-artifact1" });
    d.image({
      ...artifact,
      artifactType: EXAMPLE_TYPE_2,
      layerMediaType: MT.octet,
      annotations: note,
      uniqueAnnotation: true,
      subject,
      tag: "tagged-artifact2",
    });
  });
  add("index-with-subject", (d) => {
    const subject = d.multiPlatform({ tag: "index" });
    d.multiPlatform({
      ...artifact,
      annotations: { "org.opencontainers.conformance": "hello conformance test" },
      uniqueAnnotation: true,
      subject,
      tag: "tagged-artifact",
    });
  });
  add("missing-subject", (d) => {
    const subject: Descriptor = { mediaType: MT.ociManifest, size: 123, digest: digestOf("missing content") };
    d.image({
      ...artifact,
      annotations: { "org.opencontainers.conformance": "hello conformance test" },
      uniqueAnnotation: true,
      subject,
      tag: "tagged-artifact",
    });
  });
  add("data-field", (d) => d.image({ tag: "data-field", dataField: true }));
  add("non-distributable-layers", (d) => {
    const foreign = (mediaType: string, size: number) => {
      const dig = digestOf(randomBytes(256));
      return { mediaType, digest: dig, size, urls: [`https://store.example.com/blobs/sha256/${dig.slice(7)}`] };
    };
    const l0 = foreign(MT.ociLayerNondistGzip, 123456);
    const l1 = foreign(MT.ociLayerNondist, 12345);
    const normal = d.layer(1);
    const config = d.config({ os: "linux", architecture: "amd64" }, [digestOf(randomBytes(256)), l1.digest, normal.diffId]);
    d.imageManifest(config, [l0, l1, normal.desc], { tag: "non-distributable-image" });
  });
  add("custom-fields", (d) => d.multiPlatform({ tag: "custom-fields", extraField: true }));
  add("no-layers", (d) => d.image({ tag: "no-layers", layerCount: 0 }));
  add("sha512", (d) => d.multiPlatform({ algorithm: "sha512" }));
  // Tags on push: every manifest of an index pushed by digest with ?tag=, the index with two tags.
  for (const algorithm of ["sha256", "sha512"] as const) {
    const name = `tag-param-${algorithm}`;
    add(name, (d) => {
      d.multiPlatform({ algorithm, tag: name });
      d.manifests.forEach((m, i) => d.tags.set(`${name}-${i}`, m.digest));
      for (const [tag, digest] of d.tags) d.tagParams.set(digest, [...(d.tagParams.get(digest) ?? []), tag]);
    });
  }
  add("bad-digest-image", (d) => {
    const desc = d.image();
    const m = d.manifestBody(desc.digest)!;
    m.body = Buffer.concat([m.body, Buffer.from("  ")]); // no longer matches its digest
    d.badDigest.add(desc.digest);
  });
  return sets;
}

/**
 * The suite's "sparse" data set (its Data.Sparse toggle): an image one of whose layers is never
 * pushed, and an index of one pushed image and one child that does not exist. Only a registry that
 * accepts sparse manifests (ACCEPT_SPARSE_MANIFESTS=true) takes them.
 */
export function sparseDataSet(): DataSet {
  const d = new DataSet("sparse");
  d.image({ tag: "sparse-image" });
  const missingLayer = [...d.blobs.keys()].find((digest) => d.descs.get(digest)!.mediaType.startsWith("application/vnd.oci.image.layer.v1."))!;
  d.blobs.delete(missingLayer);
  d.absent.add(missingLayer);
  const amd64 = { os: "linux", architecture: "amd64" };
  const pushed = d.image({ platform: amd64 });
  const missingChild: Descriptor = { mediaType: MT.ociManifest, digest: digestOf(randomBytes(1024)), size: 1024 };
  d.absent.add(missingChild.digest);
  d.index([{ desc: pushed, platform: amd64 }, { desc: missingChild, platform: { os: "linux", architecture: "arm64" } }], { tag: "sparse-index" });
  return d;
}
