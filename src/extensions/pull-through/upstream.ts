// Requests to one upstream registry: anonymous, Basic, a static token, or the Bearer token flow
// (realm, service and scope from the upstream's challenge; each token cached until it expires).
// Every failure leaves as a RegistryError naming the upstream, never its credentials.
import { readAtMost } from "../../bytes";
import { RegistryError } from "../../oci/errors";
import type { Credentials, Upstream } from "./config";

/** What real clients accept, so an upstream answers with the index (multi-arch) and not a converted manifest. */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** Longest wait for an upstream's response head (a body streams as long as it keeps coming). */
const HEAD_TIMEOUT_MS = 30_000;
/** Largest token response read from a realm. */
const MAX_TOKEN_RESPONSE = 64 * 1024;
/** A token is renewed this long before it expires. */
const TOKEN_MARGIN_MS = 5_000;

export type Fetcher = (request: Request) => Promise<Response>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

export class UpstreamClient {
  private readonly tokens = new Map<string, CachedToken>();
  /** Set once the upstream asked for Basic: later requests send it at once. */
  private basic = false;

  constructor(
    readonly upstream: Upstream,
    private readonly fetcher: Fetcher = (request) => fetch(request),
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `GET|HEAD <url>/v2/<remote>/<path>` with whatever authorization the upstream asks for. Resolves
   * with any response the upstream gives (the caller maps statuses); rejects only when it cannot be reached.
   */
  async request(method: "GET" | "HEAD", remote: string, path: string, accept?: string): Promise<Response> {
    const url = `${this.upstream.url}/v2/${remote}/${path}`;
    const scope = `repository:${remote}:pull`;
    const first = await this.send(method, url, accept, this.authorization(scope));
    if (first.status !== 401) return first;
    const challenge = parseChallenge(first.headers.get("WWW-Authenticate"));
    await first.body?.cancel();
    let retry: string | null = null;
    if (challenge?.scheme === "bearer" && !("token" in (this.upstream.credentials ?? {}))) {
      retry = `Bearer ${await this.bearerToken(challenge.params, scope)}`;
    } else if (challenge?.scheme === "basic" && this.upstream.credentials && "username" in this.upstream.credentials) {
      this.basic = true;
      retry = basicHeader(this.upstream.credentials);
    }
    if (retry === null) return new Response(null, { status: 401 });
    return this.send(method, url, accept, retry);
  }

  private authorization(scope: string): string | null {
    const credentials = this.upstream.credentials;
    if (credentials && "token" in credentials) return `Bearer ${credentials.token}`;
    const cached = this.tokens.get(scope);
    if (cached && cached.expiresAt > this.now()) return `Bearer ${cached.token}`;
    if (this.basic && credentials) return basicHeader(credentials);
    return null;
  }

  private async send(method: string, url: string, accept: string | undefined, authorization: string | null): Promise<Response> {
    const headers = new Headers({ "User-Agent": "edge-registry-pull-through" });
    if (accept) headers.set("Accept", accept);
    if (authorization) headers.set("Authorization", authorization);
    // A redirect (blobs on a CDN) is followed; fetch drops Authorization when it leaves the origin.
    return this.withHeadTimeout((signal) => this.fetcher(new Request(url, { method, headers, redirect: "follow", signal })));
  }

  /** Asks the challenge's realm for a pull token (with the configured account, if any) and caches it. */
  private async bearerToken(params: Record<string, string>, fallbackScope: string): Promise<string> {
    const scope = params.scope ?? fallbackScope;
    const cached = this.tokens.get(scope);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    let realm: URL;
    try {
      realm = new URL(params.realm ?? "");
    } catch {
      throw this.error("UNAVAILABLE", "sent a token challenge without a usable realm", 502);
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") throw this.error("UNAVAILABLE", "sent a token realm that is not http(s)", 502);
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", scope);
    const headers = new Headers({ "User-Agent": "edge-registry-pull-through", Accept: "application/json" });
    const credentials = this.upstream.credentials;
    if (credentials && "username" in credentials) headers.set("Authorization", basicHeader(credentials));
    const response = await this.withHeadTimeout((signal) => this.fetcher(new Request(realm, { headers, signal })));
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw this.error("DENIED", `refused the configured credentials at its token service (${response.status})`);
    }
    if (response.status === 429) throw this.rateLimited(response);
    if (!response.ok) {
      await response.body?.cancel();
      throw this.error("UNAVAILABLE", `token service answered ${response.status}`, 502);
    }
    const body = await readSmall(response, MAX_TOKEN_RESPONSE);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown } = {};
    try {
      parsed = JSON.parse(new TextDecoder().decode(body ?? new Uint8Array())) as typeof parsed;
    } catch {
      // handled below
    }
    const token = typeof parsed.token === "string" ? parsed.token : typeof parsed.access_token === "string" ? parsed.access_token : null;
    if (!token) throw this.error("UNAVAILABLE", "token service sent no token", 502);
    // The token spec: expires_in defaults to 60 s.
    const seconds = typeof parsed.expires_in === "number" && parsed.expires_in > 0 ? parsed.expires_in : 60;
    this.tokens.set(scope, { token, expiresAt: this.now() + seconds * 1000 - TOKEN_MARGIN_MS });
    return token;
  }

  private async withHeadTimeout(send: (signal: AbortSignal) => Promise<Response>): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), HEAD_TIMEOUT_MS);
    try {
      return await send(controller.signal);
    } catch {
      throw this.error("UNAVAILABLE", controller.signal.aborted ? `did not answer within ${HEAD_TIMEOUT_MS / 1000} s` : "cannot be reached", 502);
    } finally {
      clearTimeout(timer);
    }
  }

  /** An upstream's refusal of `what` as this registry's answer (a 401 upstream is our 403: the client's credentials are fine). */
  async refusal(response: Response, what: { kind: "manifest" | "blob"; remote: string; reference: string }): Promise<RegistryError> {
    await response.body?.cancel().catch(() => {});
    const subject = `${what.kind} ${what.remote}${what.kind === "blob" || what.reference.includes(":") ? "@" : ":"}${what.reference}`;
    const status = response.status;
    if (status === 404) return this.error(what.kind === "blob" ? "BLOB_UNKNOWN" : "MANIFEST_UNKNOWN", `has no ${subject}`, 404);
    if (status === 401 || status === 403) return this.error("DENIED", `refused access to ${subject} (${status}); check the upstream credentials`);
    if (status === 429) return this.rateLimited(response);
    return this.error("UNAVAILABLE", `answered ${status} for ${subject}`, 502);
  }

  private rateLimited(response: Response): RegistryError {
    const retryAfter = response.headers.get("Retry-After");
    const headers: Record<string, string> = { "Retry-After": retryAfter && /^\d{1,6}$/.test(retryAfter) ? retryAfter : "60" };
    return this.error("TOOMANYREQUESTS", "is rate-limiting this registry (429); retry later", 429, headers);
  }

  error(code: "DENIED" | "UNAVAILABLE" | "BLOB_UNKNOWN" | "MANIFEST_UNKNOWN" | "TOOMANYREQUESTS" | "DIGEST_INVALID", message: string, status?: number, headers?: Record<string, string>): RegistryError {
    return new RegistryError(code, `upstream ${this.upstream.label} ${message}`, {
      ...(status !== undefined ? { status } : {}),
      ...(headers ? { headers } : {}),
      detail: { upstream: this.upstream.label },
    });
  }
}

function basicHeader(credentials: Credentials): string {
  if (!("username" in credentials)) return `Bearer ${credentials.token}`;
  const bytes = new TextEncoder().encode(`${credentials.username}:${credentials.password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/** `Bearer realm="...",service="...",scope="..."` → scheme and parameters (quoted or bare values). */
export function parseChallenge(header: string | null): { scheme: string; params: Record<string, string> } | null {
  if (!header) return null;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header.slice(0, 4096));
  if (!m) return null;
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = pattern.exec(m[2]!); p; p = pattern.exec(m[2]!)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

/** A small body, or null when it is longer than `max` bytes (then cancelled: nothing of it is read past `max`). */
export async function readSmall(response: Response, max: number): Promise<Uint8Array | null> {
  if (!response.body) return new Uint8Array();
  const declared = Number(response.headers.get("Content-Length") ?? Number.NaN);
  if (declared > max) {
    await response.body.cancel();
    return null;
  }
  return readAtMost(response.body, max);
}
