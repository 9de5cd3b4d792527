// Auth tests build a registry per configuration (real local R2 and Durable Objects, as the
// worker would run with those vars) and talk to it with chosen credentials.
import { env } from "cloudflare:test";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { expect } from "vitest";
import { registryFor } from "../../src/runtimes/workers/index";
import type { Env } from "../../src/runtimes/workers/env";
import { hashPassword } from "../../src/auth/passwords";
import { BASE, MT, descriptor, digestOf, randomBytes, utf8 } from "./helpers";

export type Fetch = (request: Request, client?: { address?: string }) => Promise<Response>;

/** The worker's registry with these vars on top of wrangler.local.toml's (AUTH_MODE there is "open"). */
export async function registryWith(vars: Partial<Env> & Record<string, unknown>): Promise<Fetch> {
  const { AUTH_MODE: _open, ...bindings } = env as unknown as Env;
  return registryFor({ ...bindings, ...vars } as Env);
}

export const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;
export const bearer = (token: string) => `Bearer ${token}`;

/** Low iteration count: the tests check the scheme, not its cost. */
export function userEntry(username: string, password: string, actions: string[], groups?: string[]) {
  return hashPassword(password, 1000).then((hash) => ({ username, password: hash, actions, ...(groups ? { groups } : {}) }));
}

export interface KeyPair {
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
  publicPem: string;
}

export async function keyPair(alg: "ES256" | "RS256" | "EdDSA" = "ES256"): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    alg,
    privateKey,
    publicJwk: await exportJWK(publicKey),
    privateJwk: await exportJWK(privateKey),
    publicPem: await exportSPKI(publicKey),
  };
}

export async function mint(key: KeyPair, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, ...header }).sign(key.privateKey);
}

/** A JWT signed with HMAC-SHA256 using `secret` (e.g. a public key's text) — must never verify. */
export function hmacToken(claims: JWTPayload, secret: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(utf8(secret));
}

/** An unsigned ("alg": "none") token, with a junk signature part so it has the three-part shape. */
export function unsignedToken(claims: JWTPayload): string {
  return `${new UnsecuredJWT(claims).encode()}AAAA`;
}

export function decodePayload(token: string): Record<string, unknown> {
  const part = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
}

export const now = () => Math.floor(Date.now() / 1000);

/** A caller of one registry with one Authorization header (or none), from one address (or an unknown one). */
export class Client {
  constructor(
    readonly registry: Fetch,
    readonly authorization?: string,
    readonly address?: string,
  ) {}

  as(authorization?: string): Client {
    return new Client(this.registry, authorization, this.address);
  }

  /** The same caller from this client address (what the runtime passes to the registry). */
  from(address: string): Client {
    return new Client(this.registry, this.authorization, address);
  }

  call(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.authorization && !headers.has("Authorization")) headers.set("Authorization", this.authorization);
    const request = new Request(path.startsWith("http") ? path : BASE + path, { ...init, method, headers });
    return this.registry(request, this.address !== undefined ? { address: this.address } : undefined);
  }

  /** Monolithic upload of one blob; returns the response (201 expected when allowed). */
  async putBlob(repo: string, bytes: Uint8Array): Promise<{ res: Response; digest: string }> {
    const digest = await digestOf(bytes);
    const res = await this.call("POST", `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      body: bytes,
      headers: { "Content-Type": "application/octet-stream" },
    });
    await res.arrayBuffer();
    return { res, digest };
  }

  /** Pushes a one-layer image; throws unless every step succeeds. */
  async pushImage(repo: string, tag: string): Promise<{ layerDigest: string; manifestDigest: string }> {
    const layer = randomBytes(2048);
    const config = utf8(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
    for (const bytes of [layer, config]) {
      const { res } = await this.putBlob(repo, bytes);
      expect(res.status, `blob upload to ${repo}`).toBe(201);
    }
    const manifest = utf8(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: descriptor(MT.ociConfig, config, await digestOf(config)),
      layers: [descriptor(MT.ociLayer, layer, await digestOf(layer))],
    }));
    const res = await this.call("PUT", `/v2/${repo}/manifests/${tag}`, { body: manifest, headers: { "Content-Type": MT.ociManifest } });
    expect(res.status, `manifest push to ${repo}:${tag}`).toBe(201);
    return { layerDigest: await digestOf(layer), manifestDigest: await digestOf(manifest) };
  }

  async status(method: string, path: string, init?: RequestInit): Promise<number> {
    const res = await this.call(method, path, init);
    await res.arrayBuffer();
    return res.status;
  }
}

/** A 401 in the spec's envelope with a challenge of the expected scheme; returns the challenge. */
export async function expectChallenge(res: Response, scheme: "Basic" | "Bearer"): Promise<string> {
  expect(res.status).toBe(401);
  const challenge = res.headers.get("WWW-Authenticate") ?? "";
  expect(challenge.startsWith(`${scheme} `), `challenge: ${challenge}`).toBe(true);
  if (res.headers.get("Content-Type")?.includes("json")) {
    const body = (await res.json()) as { errors: { code: string }[] };
    expect(body.errors[0]!.code).toBe("UNAUTHORIZED");
  } else await res.arrayBuffer();
  return challenge;
}

export async function expectDenied(res: Response): Promise<void> {
  expect(res.status).toBe(403);
  const body = (await res.json()) as { errors: { code: string; message: string }[] };
  expect(body.errors[0]!.code).toBe("DENIED");
}
