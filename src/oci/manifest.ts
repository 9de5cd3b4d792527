// Manifest media types and the structural checks a manifest must pass before it is stored.
import { parseDigest, type Digest } from "./digest";
import { RegistryError } from "./errors";

export const MediaType = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
} as const;

const imageManifestTypes = new Set<string>([MediaType.dockerManifest, MediaType.ociManifest]);
const indexTypes = new Set<string>([MediaType.dockerManifestList, MediaType.ociIndex]);

export interface ParsedManifest {
  mediaType: string;
  /** Blobs (config, layers) that must be in the repository. */
  blobs: Digest[];
  /** Child manifests (index entries) that must be in the repository. */
  manifests: Digest[];
  subject?: Digest;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface RawDescriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  urls?: unknown;
}

const invalid = (message: string, detail?: unknown) => new RegistryError("MANIFEST_INVALID", message, { detail });

function descriptorDigest(value: unknown, where: string): Digest {
  if (typeof value !== "object" || value === null) throw invalid(`${where} is not a descriptor`);
  const d = value as RawDescriptor;
  if (typeof d.digest !== "string") throw invalid(`${where} has no digest`);
  if (typeof d.size !== "number" || !Number.isInteger(d.size) || d.size < 0) throw invalid(`${where} has no valid size`);
  if (typeof d.mediaType !== "string" || d.mediaType === "") throw invalid(`${where} has no mediaType`);
  try {
    return parseDigest(d.digest);
  } catch {
    throw invalid(`${where} has an invalid digest`, { digest: d.digest });
  }
}

/** Layers the registry does not have to hold: non-distributable ("foreign") layers. */
function isNonDistributable(layer: RawDescriptor): boolean {
  return typeof layer.mediaType === "string" && /nondistributable|foreign/.test(layer.mediaType);
}

/** Strips parameters: "application/json; charset=utf-8" -> "application/json". */
export function baseMediaType(contentType: string | null): string | null {
  if (!contentType) return null;
  return contentType.split(";")[0]!.trim() || null;
}

/**
 * Parses the exact pushed bytes. The media type comes from Content-Type, else from the
 * manifest's own mediaType field, else from its shape (OCI manifests may omit the field).
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    doc = parsed as Record<string, unknown>;
  } catch {
    throw invalid("manifest is not a JSON object");
  }
  const declared = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  const header = baseMediaType(contentType);
  if (header && declared && header !== declared) {
    throw invalid("Content-Type does not match the manifest's mediaType", { contentType: header, mediaType: declared });
  }
  const mediaType = header ?? declared ?? (Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
  if (doc.schemaVersion !== 2) throw invalid("schemaVersion must be 2");

  const result: ParsedManifest = { mediaType, blobs: [], manifests: [] };
  if (imageManifestTypes.has(mediaType)) {
    result.blobs.push(descriptorDigest(doc.config, "config"));
    if (!Array.isArray(doc.layers)) throw invalid("layers must be an array");
    doc.layers.forEach((layer: unknown, i: number) => {
      const digest = descriptorDigest(layer, `layers[${i}]`);
      if (!isNonDistributable(layer as RawDescriptor)) result.blobs.push(digest);
    });
    const config = doc.config as RawDescriptor;
    result.artifactType = typeof doc.artifactType === "string" ? doc.artifactType : (config.mediaType as string);
  } else if (indexTypes.has(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid("manifests must be an array");
    doc.manifests.forEach((m: unknown, i: number) => result.manifests.push(descriptorDigest(m, `manifests[${i}]`)));
    if (typeof doc.artifactType === "string") result.artifactType = doc.artifactType;
  } else {
    throw invalid(`unsupported manifest media type ${mediaType}`);
  }

  if (doc.subject !== undefined) result.subject = descriptorDigest(doc.subject, "subject");
  if (typeof doc.annotations === "object" && doc.annotations !== null && !Array.isArray(doc.annotations)) {
    result.annotations = doc.annotations as Record<string, string>;
  }
  return result;
}
