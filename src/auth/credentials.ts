// The Authorization header, parsed strictly: Basic or Bearer, bounded in length.
import { RegistryError } from "../oci/errors";

/** Far above any real token (an RS4096 JWT with many scopes is a few KiB), far below header limits. */
export const MAX_AUTHORIZATION_LENGTH = 16 * 1024;
const MAX_USERNAME_LENGTH = 256;

export type Credentials =
  | { scheme: "none" }
  | { scheme: "basic"; username: string; password: string }
  | { scheme: "bearer"; token: string };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function looksLikeJwt(text: string): boolean {
  return JWT_SHAPE.test(text);
}

function malformed(message: string): RegistryError {
  return new RegistryError("UNAUTHORIZED", message);
}

function decodeBasic(encoded: string): { username: string; password: string } {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw malformed("malformed Basic credentials: not base64");
  let text: string;
  try {
    const binary = atob(encoded);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw malformed("malformed Basic credentials: not base64 of UTF-8 text");
  }
  const colon = text.indexOf(":");
  if (colon < 0) throw malformed("malformed Basic credentials: expected username:password");
  const username = text.slice(0, colon);
  if (username.length > MAX_USERNAME_LENGTH) throw malformed("malformed Basic credentials: username too long");
  return { username, password: text.slice(colon + 1) };
}

export function parseAuthorization(header: string | null): Credentials {
  if (header === null) return { scheme: "none" };
  if (header.length > MAX_AUTHORIZATION_LENGTH) throw malformed("Authorization header too long");
  const match = /^([A-Za-z]+) +(\S+)$/.exec(header.trim());
  if (!match) throw malformed("malformed Authorization header");
  const scheme = match[1]!.toLowerCase();
  if (scheme === "basic") {
    const basic = decodeBasic(match[2]!);
    // containers/image (skopeo, podman) sends an empty "Basic :" when it has no credentials.
    if (basic.username === "" && basic.password === "") return { scheme: "none" };
    return { scheme: "basic", ...basic };
  }
  if (scheme === "bearer") {
    if (!looksLikeJwt(match[2]!)) throw malformed("malformed bearer token");
    return { scheme: "bearer", token: match[2]! };
  }
  throw malformed(`unsupported Authorization scheme ${match[1]}`);
}
