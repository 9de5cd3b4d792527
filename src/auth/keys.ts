// Key material from configuration, all through jose: public keys that verify tokens (a JWK, a
// JWKS, a base64-encoded JWK, PEM public keys or X.509 certificates, a JWKS URL) and the private
// key the built-in token service signs with.
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  importJWK,
  importPKCS8,
  importSPKI,
  importX509,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";

/** Asymmetric algorithms only: "none" and HMAC (which would take a public key as a secret) never verify. */
export const ASYMMETRIC_ALGORITHMS = [
  "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA", "Ed25519",
];

// Tried in order when a PEM key does not say which algorithm it is for.
const PEM_ALGORITHM_GUESSES = ["ES256", "ES384", "ES512", "RS256", "EdDSA"];

const PRIVATE_JWK_FIELDS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** Wrangler vars may arrive as parsed JSON objects; secrets always arrive as strings. */
export type ConfigValue = string | object | undefined;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** JSON text, base64 of JSON text (the form older Workers registries took), or an object. */
function jsonValue(value: string | object): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  if (text.startsWith("{") || text.startsWith("[")) return parseJson(text);
  try {
    return parseJson(atob(text.replace(/\s+/g, "")));
  } catch {
    return undefined;
  }
}

function pemBlocks(text: string): { label: string; pem: string }[] {
  const out: { label: string; pem: string }[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;
  for (const m of text.matchAll(re)) out.push({ label: m[1]!, pem: m[0] });
  return out;
}

async function importPemGuessing(
  pem: string,
  importer: (pem: string, alg: string, opts: { extractable: boolean }) => Promise<CryptoKey>,
): Promise<{ key: CryptoKey; alg: string }> {
  for (const alg of PEM_ALGORITHM_GUESSES) {
    try {
      return { key: await importer(pem, alg, { extractable: true }), alg };
    } catch {
      // not this algorithm; try the next
    }
  }
  throw new Error("unsupported PEM key: expected an EC (P-256/384/521), RSA or Ed25519 key");
}

function publicOnly(jwk: JWK): JWK {
  const out: Record<string, unknown> = { ...jwk };
  for (const f of PRIVATE_JWK_FIELDS) delete out[f];
  return out as JWK;
}

/** Every public key found in `value`, as JWKs. `what` names the setting in error messages. */
export async function parsePublicKeys(value: string | object, what: string): Promise<JWK[]> {
  if (typeof value === "string" && value.includes("-----BEGIN")) {
    const keys: JWK[] = [];
    for (const { label, pem } of pemBlocks(value)) {
      const importer = label === "CERTIFICATE" ? importX509 : label === "PUBLIC KEY" ? importSPKI : null;
      if (!importer) throw new Error(`${what}: PEM blocks must be PUBLIC KEY or CERTIFICATE, not ${label}`);
      keys.push(await exportJWK((await importPemGuessing(pem, importer)).key));
    }
    if (keys.length === 0) throw new Error(`${what}: no PEM block found`);
    return keys;
  }
  const json = jsonValue(value) as { keys?: unknown; kty?: unknown } | undefined;
  const keys = Array.isArray(json?.keys) ? (json!.keys as JWK[]) : json?.kty ? [json as JWK] : null;
  if (!keys) throw new Error(`${what}: expected a JWK, a JWKS, base64 of either, or PEM public keys/certificates`);
  for (const k of keys) {
    if (k.kty === "oct") throw new Error(`${what}: symmetric (oct) keys are not accepted`);
  }
  return keys.map(publicOnly);
}

/** A key lookup for jwtVerify over local keys and, optionally, a JWKS URL (fetched and cached by jose). */
export function keyResolver(localKeys: JWK[], jwksUrl?: string): JWTVerifyGetKey {
  const local = localKeys.length > 0 ? createLocalJWKSet({ keys: localKeys }) : null;
  const remote = jwksUrl ? createRemoteJWKSet(new URL(jwksUrl)) : null;
  return async (header, token) => {
    if (local) {
      try {
        return await local(header, token);
      } catch (err) {
        if (!remote) throw err;
      }
    }
    if (remote) return remote(header, token);
    throw new Error("no verification key configured");
  };
}

export interface SigningKey {
  key: CryptoKey;
  alg: string;
  kid: string;
  publicJwk: JWK;
}

function algorithmForJwk(jwk: JWK): string {
  if (jwk.alg) return jwk.alg;
  if (jwk.kty === "EC") return { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" }[jwk.crv ?? ""] ?? "ES256";
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  throw new Error(`unsupported signing key type ${jwk.kty}`);
}

/** The token service's private key: a private JWK (JSON or base64) or a PKCS#8 PEM. */
export async function parseSigningKey(value: string | object, what: string): Promise<SigningKey> {
  let jwk: JWK;
  let alg: string;
  if (typeof value === "string" && value.includes("-----BEGIN")) {
    const block = pemBlocks(value).find((b) => b.label === "PRIVATE KEY");
    if (!block) throw new Error(`${what}: expected a "PRIVATE KEY" (PKCS#8) PEM block`);
    const imported = await importPemGuessing(block.pem, importPKCS8);
    jwk = await exportJWK(imported.key);
    alg = imported.alg;
  } else {
    const json = jsonValue(value) as JWK | undefined;
    if (!json?.kty || !json.d) throw new Error(`${what}: expected a private JWK (with "d"), base64 of one, or a PKCS#8 PEM`);
    jwk = json;
    alg = algorithmForJwk(jwk);
  }
  if (!ASYMMETRIC_ALGORITHMS.includes(alg)) throw new Error(`${what}: algorithm ${alg} is not accepted`);
  const key = (await importJWK({ ...jwk, alg }, alg)) as CryptoKey;
  const publicJwk = publicOnly(jwk);
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  return { key, alg, kid, publicJwk: { ...publicJwk, kid } };
}
