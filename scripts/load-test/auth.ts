// Client side of registry authentication: a static bearer token, Basic credentials, and the
// Docker token flow (401 + `WWW-Authenticate: Bearer realm=...,service=...,scope=...` → ask the
// realm for a token with the Basic credentials → retry with `Authorization: Bearer <token>`).

export interface Credentials {
  user: string | null;
  password: string | null;
  token: string | null;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses the first challenge of a WWW-Authenticate header (enough for registries, which send one). */
export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (!m) return null;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

/** Which token a request needs: tokens are per repository (or for the catalog). */
export function scopeKey(path: string): string {
  const m = /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//.exec(path);
  if (m) return `repository:${m[1]}`;
  if (path.startsWith("/v2/_catalog")) return "registry:catalog";
  return "base";
}

interface Token {
  header: string;
  expiresAt: number;
}

export class Authenticator {
  private readonly creds: Credentials;
  private readonly tokens = new Map<string, Token>();
  /** Token requests in flight per scope: concurrent workers challenged together share one. */
  private readonly fetching = new Map<string, Promise<Token>>();
  private basicOnly = false;
  /** Token requests made, for the report (a flow that asks on every request is a finding). */
  tokenRequests = 0;

  constructor(creds: Credentials) {
    this.creds = creds;
  }

  private basic(): string | null {
    if (this.creds.user === null) return null;
    return `Basic ${Buffer.from(`${this.creds.user}:${this.creds.password ?? ""}`).toString("base64")}`;
  }

  /** The Authorization header to send up front, if any is known for this path. */
  headerFor(path: string): string | null {
    if (this.creds.token !== null) return `Bearer ${this.creds.token}`;
    const token = this.tokens.get(scopeKey(path));
    if (token && token.expiresAt > Date.now()) return token.header;
    if (this.basicOnly) return this.basic();
    return null;
  }

  /**
   * Handles a 401. Returns true when a retry with new credentials makes sense; false when there is
   * nothing more to try (the 401 then counts as an error).
   */
  async onUnauthorized(path: string, wwwAuthenticate: string | null, sent: string | null): Promise<boolean> {
    if (this.creds.token !== null || !wwwAuthenticate) return false;
    const challenge = parseChallenge(wwwAuthenticate);
    if (!challenge) return false;
    if (challenge.scheme === "basic") {
      const basic = this.basic();
      if (!basic || sent === basic) return false;
      this.basicOnly = true;
      return true;
    }
    if (challenge.scheme !== "bearer" || !challenge.params.realm) return false;
    const key = scopeKey(path);
    const known = this.tokens.get(key);
    // Another worker may have fetched a token since this request went out: use that one.
    if (known && known.header !== sent && known.expiresAt > Date.now()) return true;
    let pending = this.fetching.get(key);
    if (!pending) {
      pending = this.fetchToken(challenge.params).finally(() => this.fetching.delete(key));
      this.fetching.set(key, pending);
    }
    const token = await pending;
    if (token.header === sent) return false;
    this.tokens.set(key, token);
    return true;
  }

  private async fetchToken(params: Record<string, string>): Promise<Token> {
    const realm = new URL(params.realm!);
    if (params.service) realm.searchParams.set("service", params.service);
    // The challenge may name several scopes separated by spaces; the spec sends each as its own parameter.
    for (const scope of (params.scope ?? "").split(" ").filter(Boolean)) realm.searchParams.append("scope", scope);
    const headers: Record<string, string> = { Accept: "application/json" };
    const basic = this.basic();
    if (basic) headers.Authorization = basic;
    this.tokenRequests += 1;
    const res = await fetch(realm, { headers });
    const text = await res.text();
    if (!res.ok) throw new Error(`token request to ${realm.origin}${realm.pathname} failed: ${res.status} ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error("token response has neither token nor access_token");
    const lifetime = (body.expires_in ?? 60) * 1000;
    // Renew a little early so a long run never sends an expired token.
    return { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(lifetime - 5000, lifetime / 2) };
  }
}
