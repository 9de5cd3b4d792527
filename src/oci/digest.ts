// Digest parsing: the only place that decides what a digest string may look like.
import { RegistryError } from "./errors";
import type { HashAlgorithm } from "../hash/resumable-hash";

export interface Digest {
  algorithm: HashAlgorithm;
  hex: string;
}

const hexLength: Record<HashAlgorithm, number> = { sha256: 64, sha512: 128 };
// Generic grammar from the image-spec; used to tell "malformed" from "well-formed but unsupported".
const digestGrammar = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isSupportedAlgorithm(algorithm: string): algorithm is HashAlgorithm {
  return algorithm === "sha256" || algorithm === "sha512";
}

/** Parses `sha256:<64 hex>` or `sha512:<128 hex>`; anything else throws DIGEST_INVALID (400). */
export function parseDigest(value: string): Digest {
  const invalid = (why: string) =>
    new RegistryError("DIGEST_INVALID", why, { detail: { digest: value.slice(0, 200) } });
  if (!digestGrammar.test(value)) throw invalid("malformed digest");
  const colon = value.indexOf(":");
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (!isSupportedAlgorithm(algorithm)) throw invalid(`unsupported digest algorithm ${algorithm}`);
  if (hex.length !== hexLength[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw invalid(`malformed ${algorithm} digest`);
  }
  return { algorithm, hex };
}

/** Like parseDigest, but null instead of an error. */
export function tryParseDigest(value: string): Digest | null {
  try {
    return parseDigest(value);
  } catch {
    return null;
  }
}

export function formatDigest(digest: Digest): string {
  return `${digest.algorithm}:${digest.hex}`;
}

/** Hashes bytes already in memory (manifests); blobs stream through the resumable hashers instead. */
export async function digestBytes(algorithm: HashAlgorithm, bytes: Uint8Array): Promise<Digest> {
  const name = algorithm === "sha256" ? "SHA-256" : "SHA-512";
  const hash = new Uint8Array(await crypto.subtle.digest(name, bytes));
  let hex = "";
  for (const b of hash) hex += b.toString(16).padStart(2, "0");
  return { algorithm, hex };
}
