// Manifest media types and the structural checks a manifest must pass before it is stored.
import { formatDigest, parseDigest, type Digest } from "./digest";
import { RegistryError } from "./errors";

export const MediaType = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
} as const;

/**
 * Deepest nesting of arrays and objects accepted anywhere in a manifest. Real manifests nest about
 * five levels (index > manifests > descriptor > platform > features); the bound keeps every later
 * step (parsing, re-serializing a referrer descriptor) far from any recursion limit.
 */
export const MAX_MANIFEST_DEPTH = 64;

/**
 * Most descriptors (config, layers, index entries) one manifest may list. Each one is a storage
 * lookup when the manifest is pushed; images have at most a few hundred layers, indexes a few
 * hundred platforms and attestations.
 */
export const MAX_MANIFEST_DESCRIPTORS = 1000;

const imageManifestTypes = new Set<string>([MediaType.dockerManifest, MediaType.ociManifest]);
const indexTypes = new Set<string>([MediaType.dockerManifestList, MediaType.ociIndex]);

export interface ParsedManifest {
  mediaType: string;
  /** Blobs (config, layers) that must be in the repository, each digest once. */
  blobs: Digest[];
  /** Child manifests (index entries) that must be in the repository, each digest once. */
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
 * The depth of the deepest array or object in JSON text, scanning the bytes once (strings and
 * their escapes skipped), so nesting is refused before anything parses or recurses over it.
 * Stops as soon as `limit` is passed.
 */
export function jsonDepthExceeds(bytes: Uint8Array, limit: number): boolean {
  const QUOTE = 0x22, BACKSLASH = 0x5c, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d, OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) depth--;
  }
  return false;
}

/** Digests in first-seen order, each once: a manifest listing one blob many times costs one lookup. */
function unique(digests: Digest[]): Digest[] {
  const seen = new Set<string>();
  return digests.filter((d) => {
    const key = formatDigest(d);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `annotations` (image-spec): a map of strings to strings. */
function annotationsOf(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(`${where} must be an object`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") throw invalid(`${where} values must be strings`, { annotation: key.slice(0, 200) });
  }
  return value as Record<string, string>;
}

function descriptorList(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be an array`);
  if (value.length > MAX_MANIFEST_DESCRIPTORS) {
    throw invalid(`${field} lists ${value.length} descriptors; this registry accepts at most ${MAX_MANIFEST_DESCRIPTORS} per manifest`, {
      limit: MAX_MANIFEST_DESCRIPTORS,
      descriptors: value.length,
    });
  }
  return value;
}

/**
 * Parses the exact pushed bytes. The media type comes from Content-Type, else from the
 * manifest's own mediaType field, else from its shape (OCI manifests may omit the field).
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest {
  if (jsonDepthExceeds(bytes, MAX_MANIFEST_DEPTH)) {
    throw invalid(`manifest JSON is nested deeper than ${MAX_MANIFEST_DEPTH} levels`, { limit: MAX_MANIFEST_DEPTH });
  }
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
    descriptorList(doc.layers, "layers").forEach((layer: unknown, i: number) => {
      const digest = descriptorDigest(layer, `layers[${i}]`);
      if (!isNonDistributable(layer as RawDescriptor)) result.blobs.push(digest);
    });
    const config = doc.config as RawDescriptor;
    result.artifactType = typeof doc.artifactType === "string" ? doc.artifactType : (config.mediaType as string);
  } else if (indexTypes.has(mediaType)) {
    descriptorList(doc.manifests, "manifests").forEach((m: unknown, i: number) => result.manifests.push(descriptorDigest(m, `manifests[${i}]`)));
    if (typeof doc.artifactType === "string") result.artifactType = doc.artifactType;
  } else {
    throw invalid(`unsupported manifest media type ${mediaType}`);
  }

  if (doc.subject !== undefined) result.subject = descriptorDigest(doc.subject, "subject");
  const annotations = annotationsOf(doc.annotations, "annotations");
  if (annotations) result.annotations = annotations;
  result.blobs = unique(result.blobs);
  result.manifests = unique(result.manifests);
  return result;
}
