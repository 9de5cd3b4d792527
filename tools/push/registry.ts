// A registry endpoint as the push client and the proxy see it: requests with authentication
// (Basic; a JWT used as the Basic password; the Docker Bearer token flow), and the registry's
// error envelope turned into readable errors.
import type http from "node:http";
import type { Readable } from "node:stream";
import { discard, header, readBody, send } from "./http.ts";

export interface Credentials {
  username: string;
  password: string;
}

export interface RegistryOptions {
  credentials?: Credentials | undefined;
  idleTimeoutMs?: number | undefined;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A buffer, or a function opening the body again (so it can be resent after a 401). */
  body?: Buffer | (() => Buffer | Readable) | null;
  /** Token scopes to ask for besides the one derived from the path (e.g. the mount source). */
  extraScopes?: string[];
  idleTimeoutMs?: number;
}

/** A failure the caller should not retry (bad credentials, denied, invalid request). */
export class RegistryError extends Error {
  readonly status: number;
  readonly code: string | undefined;

  constructor(message: string, status: number, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

interface Token {
  value: string;
  expiresAt: number;
}

/** `Bearer realm="…",service="…"` → { scheme: "bearer", realm, service } */
export function parseChallenge(value: string): { scheme: string; params: Record<string, string> } {
  const space = value.indexOf(" ");
  const scheme = (space < 0 ? value : value.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of value.slice(space + 1).matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  return { scheme, params };
}

/** The repository a /v2/<name>/… path is about, or null (/v2/, _catalog). */
export function repositoryOf(path: string): string | null {
  const m = /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//.exec(path);
  return m ? m[1]! : null;
}

export class Registry {
  readonly base: URL;
  private readonly credentials: Credentials | undefined;
  private readonly idleTimeoutMs: number;
  /** Learned from the first 401: how this registry wants to be addressed. */
  private challenge: { scheme: string; params: Record<string, string> } | null = null;
  private readonly tokens = new Map<string, Token>();

  constructor(base: string | URL, options: RegistryOptions = {}) {
    this.base = new URL(base);
    this.base.pathname = "/";
    this.credentials = options.credentials;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  url(pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.base);
  }

  /** Sends a request, answering an auth challenge once. The response body is left to the caller. */
  async request(method: string, pathOrUrl: string | URL, options: RequestOptions = {}): Promise<http.IncomingMessage> {
    const url = typeof pathOrUrl === "string" ? this.url(pathOrUrl) : pathOrUrl;
    const scopes = this.scopesFor(url, method, options.extraScopes);
    let sentCredentials = false;
    const attempt = async () => {
      const authorization = await this.authorization(scopes);
      sentCredentials = "Authorization" in authorization;
      return send({
        method,
        url,
        headers: { ...options.headers, ...authorization },
        body: typeof options.body === "function" ? options.body() : (options.body ?? null),
        idleTimeoutMs: options.idleTimeoutMs ?? this.idleTimeoutMs,
      });
    };
    let res = await attempt();
    if (res.statusCode !== 401) return res;
    const challenge = header(res, "WWW-Authenticate");
    await discard(res);
    if (!challenge || !this.learn(challenge, scopes, sentCredentials)) throw await this.unauthorized(challenge);
    res = await attempt();
    if (res.statusCode === 401) {
      await discard(res);
      throw await this.unauthorized(challenge);
    }
    return res;
  }

  /** Like request, but reads the body and throws on statuses outside `ok`. */
  async call(method: string, pathOrUrl: string | URL, ok: number[], options: RequestOptions = {}): Promise<{ res: http.IncomingMessage; body: Buffer }> {
    const res = await this.request(method, pathOrUrl, options);
    const body = method === "HEAD" ? Buffer.alloc(0) : await readBody(res);
    if (!ok.includes(res.statusCode ?? 0)) throw errorFrom(method, pathOrUrl, res, body);
    return { res, body };
  }

  private scopesFor(url: URL, method: string, extra: string[] = []): string[] {
    const repo = repositoryOf(url.pathname);
    const actions = method === "GET" || method === "HEAD" ? "pull" : "pull,push";
    return [...(repo ? [`repository:${repo}:${actions}`] : []), ...extra];
  }

  /**
   * Remembers a challenge; false when there is nothing new to try. Requests run in parallel, so
   * one sent before another learned the challenge still deserves its retry with credentials.
   */
  private learn(value: string, scopes: string[], sentCredentials: boolean): boolean {
    const parsed = parseChallenge(value);
    this.challenge = parsed;
    if (parsed.scheme === "basic") return this.credentials !== undefined && !sentCredentials;
    if (parsed.scheme === "bearer") {
      this.tokens.delete(scopes.join(" ")); // the token we sent (if any) was not enough
      return true;
    }
    return false;
  }

  private async authorization(scopes: string[]): Promise<Record<string, string>> {
    const c = this.challenge;
    if (!c) return {};
    if (c.scheme === "basic" && this.credentials) return { Authorization: `Basic ${basic(this.credentials)}` };
    if (c.scheme === "bearer") return { Authorization: `Bearer ${await this.token(scopes)}` };
    return {};
  }

  /** The token flow: GET realm?service=…&scope=… with Basic credentials (or none: anonymous). */
  private async token(scopes: string[]): Promise<string> {
    const key = scopes.join(" ");
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now() + 10_000) return cached.value;
    const { realm, service } = this.challenge!.params;
    if (!realm) throw new RegistryError("registry asked for a Bearer token but named no realm", 401, "UNAUTHORIZED");
    const url = new URL(realm);
    if (service) url.searchParams.set("service", service);
    for (const s of scopes) url.searchParams.append("scope", s);
    const headers: Record<string, string> = this.credentials ? { Authorization: `Basic ${basic(this.credentials)}` } : {};
    const res = await send({ method: "GET", url, headers, idleTimeoutMs: this.idleTimeoutMs });
    const body = await readBody(res);
    if (res.statusCode !== 200) throw new RegistryError(`token request to ${url.origin}${url.pathname} failed: HTTP ${res.statusCode} ${body.toString().slice(0, 200)}`, 401, "UNAUTHORIZED");
    const answer = JSON.parse(body.toString()) as { token?: string; access_token?: string; expires_in?: number };
    const value = answer.token ?? answer.access_token;
    if (!value) throw new RegistryError("token answer holds no token", 401, "UNAUTHORIZED");
    this.tokens.set(key, { value, expiresAt: Date.now() + (answer.expires_in ?? 60) * 1000 });
    return value;
  }

  private async unauthorized(challenge: string | undefined): Promise<RegistryError> {
    const who = this.credentials ? `as ${this.credentials.username}` : "without credentials (pass --user or REGISTRY_USER/REGISTRY_PASSWORD)";
    return new RegistryError(`${this.base.host} refused the request ${who}${challenge ? ` (challenge: ${challenge})` : ""}`, 401, "UNAUTHORIZED");
  }
}

function basic(c: Credentials): string {
  return Buffer.from(`${c.username}:${c.password}`).toString("base64");
}

/** The spec's error envelope (or whatever came back) as one line. */
export function errorFrom(method: string, target: string | URL, res: http.IncomingMessage, body: Buffer): RegistryError {
  const status = res.statusCode ?? 0;
  let code: string | undefined;
  let detail = body.toString("utf8").slice(0, 300).trim();
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first) {
      code = first.code;
      detail = `${first.code}: ${first.message ?? ""}`;
    }
  } catch {
    // not the envelope: keep the raw text
  }
  const path = typeof target === "string" ? target : target.pathname;
  return new RegistryError(`${method} ${path} -> HTTP ${status}${detail ? ` ${detail}` : ""}`, status, code);
}
