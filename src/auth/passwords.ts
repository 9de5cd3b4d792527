// Password hashes for Basic users: PBKDF2-HMAC-SHA256 from WebCrypto with a random salt.
// Stored form: "pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>".
// Workers caps PBKDF2 at 100,000 iterations, so that is both the default and the ceiling.

export const PBKDF2_MAX_ITERATIONS = 100_000;
const HASH_BYTES = 32;

export interface PasswordHash {
  iterations: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

export function parsePasswordHash(text: string): PasswordHash {
  const parts = text.split("$");
  if (parts.length !== 4 || parts[0] !== "pbkdf2-sha256") {
    throw new Error('password hashes look like "pbkdf2-sha256$<iterations>$<salt>$<hash>" (scripts/auth.mjs hash-password)');
  }
  const iterations = Number(parts[1]);
  if (!Number.isInteger(iterations) || iterations < 1000 || iterations > PBKDF2_MAX_ITERATIONS) {
    throw new Error(`PBKDF2 iterations must be between 1000 and ${PBKDF2_MAX_ITERATIONS}`);
  }
  const salt = fromBase64(parts[2]!);
  const hash = fromBase64(parts[3]!);
  if (salt.length < 16 || hash.length !== HASH_BYTES) throw new Error("password hash has a short salt or a wrong length");
  return { iterations, salt, hash };
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BYTES * 8);
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations = PBKDF2_MAX_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  return timingSafeEqual(await derive(password, stored.salt, stored.iterations), stored.hash);
}

/** Compares every byte whatever the first difference, so timing says nothing about where it is. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
