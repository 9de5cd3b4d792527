// The one auth layer every /v2/ request goes through: who is calling (identify), may they do
// this (authorize), and the 401 challenge that tells a client how to log in.
import { jwtVerify, type JWTPayload } from "jose";
import { RegistryError } from "../oci/errors";
import { isValidName } from "../oci/names";
import { grant, Principal, RepositoryPattern, type Action, type Grant, type Requirement } from "./access";
import { AuthConfigError, loadAuthSettings, ruleGrants, type AuthEnv, type AuthSettings, type JwtCheck } from "./config";
import { looksLikeJwt, parseAuthorization } from "./credentials";
import { ASYMMETRIC_ALGORITHMS } from "./keys";
import { FailedLogins, MemoryFailureLimiter, type ClientInfo, type FailureLimiter } from "./failure-limiter";
import { verifyPassword, parsePasswordHash, type PasswordHash } from "./passwords";

/** Identities verified recently, so PBKDF2 and signature checks run once per credential, not per request. */
const CACHE_TTL_MS = 60_000;
const CACHE_MAX_ENTRIES = 1000;

// Unknown users still cost one PBKDF2 run, so response time does not tell which names exist.
const DUMMY_PASSWORD: PasswordHash = parsePasswordHash(
  "pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
);

/** How far a token's `iat` may lie in the future: clocks of issuers and this registry differ a little. */
export const CLOCK_SKEW_SECONDS = 60;

/** A token issued in the future (beyond the skew) is refused: its issuer's clock, or the token, is wrong. */
export function assertIssuedInThePast(payload: JWTPayload, message = "invalid token"): void {
  if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS) {
    throw unauthorized(`${message}: issued in the future (iat more than ${CLOCK_SKEW_SECONDS} s ahead)`);
  }
}

function unauthorized(message: string): RegistryError {
  return new RegistryError("UNAUTHORIZED", message);
}

/**
 * Credentials that did not verify. `guess`: they count as a failed attempt (a wrong password, a
 * signature that does not verify); a genuine token that merely expired or names another audience does not.
 */
export class RejectedCredential extends RegistryError {
  constructor(message: string, readonly guess: boolean, headers?: Record<string, string>) {
    super("UNAUTHORIZED", message, { headers });
  }
}

/** jose checks claims only once the signature verified: these failures are about a genuine token. */
export function signatureVerified(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "ERR_JWT_EXPIRED" || code === "ERR_JWT_CLAIM_VALIDATION_FAILED";
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === "string") : [];
}

/** Grants a JWT carries: global `capabilities`, `repositories: {pattern: actions}`, token-spec `access`. */
function claimGrants(payload: JWTPayload): Grant[] {
  const out: Grant[] = [];
  const capabilities = strings(payload.capabilities);
  if (capabilities.length > 0) out.push(grant("*", capabilities));
  const repositories = payload.repositories;
  if (repositories && typeof repositories === "object" && !Array.isArray(repositories)) {
    for (const [pattern, actions] of Object.entries(repositories)) out.push(grant(pattern, strings(actions)));
  }
  for (const entry of Array.isArray(payload.access) ? payload.access : []) {
    if (entry?.type === "repository" && typeof entry.name === "string") out.push(grant(entry.name, strings(entry.actions)));
  }
  return out;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  private readonly logins: FailedLogins;

  private constructor(
    private readonly settings: AuthSettings | null,
    private readonly refusal?: string,
    limiter: FailureLimiter = new MemoryFailureLimiter(),
  ) {
    this.logins = new FailedLogins(limiter, settings?.failures ?? null);
  }

  /** Anyone may do anything: tests and explicitly open registries. */
  static open(): Authenticator {
    return new Authenticator({
      mode: "open", users: new Map(), rules: [], tokenTtlSeconds: 300, refreshTtlSeconds: 3600, failures: null,
    });
  }

  /**
   * Reads the env once. A configuration that cannot work refuses every request, saying why.
   * `limiter` holds the failed-login counts (default: this process's memory).
   */
  static async fromEnv(env: AuthEnv, limiter?: FailureLimiter): Promise<Authenticator> {
    try {
      return new Authenticator(await loadAuthSettings(env), undefined, limiter);
    } catch (err) {
      if (!(err instanceof AuthConfigError)) throw err;
      console.error(`auth configuration: ${err.message}`);
      return new Authenticator(null, err.message);
    }
  }

  get mode(): AuthSettings["mode"] | "refusing" {
    return this.settings?.mode ?? "refusing";
  }

  /** The settings, or the refusal as an error: a misconfigured registry answers nothing else. */
  config(): AuthSettings {
    if (!this.settings) throw new RegistryError("UNAUTHORIZED", `registry refuses all requests: ${this.refusal}`);
    return this.settings;
  }

  /** Token mode: the configured audience of bearer tokens (AUTH_SERVICE), never the request's Host. */
  service(): string {
    return this.config().bearer!.audience;
  }

  /** Identifies and authorizes in one step; returns who is calling. */
  async check(request: Request, need: Requirement, client: ClientInfo = {}): Promise<Principal> {
    const settings = this.config();
    if (settings.mode === "open") return Principal.everyone();
    const principal = await this.identify(request, need, client);
    this.authorize(request, principal, need);
    return principal;
  }

  /** Who sent this request: anonymous without credentials; 401 for credentials that do not verify. */
  async identify(request: Request, need: Requirement, client: ClientInfo = {}): Promise<Principal> {
    const settings = this.config();
    const header = request.headers.get("Authorization");
    let credentials;
    try {
      credentials = parseAuthorization(header);
    } catch (err) {
      throw this.withChallenge(err as RegistryError, request, need, "invalid_request");
    }
    if (credentials.scheme === "none") return this.anonymous(false);

    const cacheKey = await sha256Hex(header!);
    const cached = this.cache.get(cacheKey);
    if (cached && cached.until > Date.now()) return cached.principal;

    let principal: Principal;
    let until = Date.now() + CACHE_TTL_MS;
    try {
      if (credentials.scheme === "basic") {
        principal = await this.verifyPassword(credentials.username, credentials.password, client);
      } else {
        if (settings.mode !== "token") throw unauthorized("bearer tokens are not accepted here: use Basic credentials");
        const token = credentials.token;
        const verified = await this.limited(client, null, () => this.verifyBearer(token));
        principal = verified.principal;
        until = Math.min(until, verified.expiresAt);
      }
    } catch (err) {
      const error = err instanceof RegistryError ? err : unauthorized("invalid credentials");
      throw this.withChallenge(error, request, need, credentials.scheme === "bearer" ? "invalid_token" : undefined);
    }
    this.remember(cacheKey, principal, until);
    return principal;
  }

  /** 401 (with the challenge) for callers who could still log in, 403 DENIED for those who did. */
  authorize(request: Request, principal: Principal, need: Requirement): void {
    const allowed =
      need.kind === "base" ? principal.authenticated
      : need.kind === "catalog" ? principal.catalog !== "none"
      : need.kind === "operator" ? principal.isOperator
      : principal.canAll(need.name, need.actions);
    if (allowed) return;
    if (principal.anonymous) {
      const message = principal.authenticated ? "anonymous access is not allowed here" : "authentication required";
      throw this.withChallenge(unauthorized(message), request, need, principal.authenticated ? "insufficient_scope" : undefined);
    }
    const what = need.kind === "repository" ? `${need.actions.join(",")} on ${need.name}` : need.kind === "operator" ? "operate the registry (admin on *)" : "the catalog";
    throw new RegistryError("DENIED", `requested access to the resource is denied: ${principal.name} may not ${what}`, {
      detail: need.kind === "repository" ? { name: need.name, actions: need.actions } : undefined,
    });
  }

  /**
   * A credential check under the failed-login limit: refused with 429 before it runs when the
   * client (or the user name, from this client) has failed too often; a failure that is a guess is counted.
   */
  async limited<T>(client: ClientInfo, username: string | null, verify: () => Promise<T>): Promise<T> {
    await this.logins.assertMayTry(client, username);
    try {
      return await verify();
    } catch (err) {
      if (err instanceof RejectedCredential && err.guess) await this.logins.failed(client, username);
      throw err;
    }
  }

  /** Basic credentials: a configured user's password, or a JWT signed by the configured key. */
  async verifyPassword(username: string, password: string, client: ClientInfo = {}): Promise<Principal> {
    return this.limited(client, username, async () => {
      const settings = this.config();
      const user = settings.users.get(username);
      if (!user && settings.passwordJwt && looksLikeJwt(password)) {
        return this.verifyPasswordJwt(password, username, settings.passwordJwt);
      }
      const ok = await verifyPassword(password, user?.password ?? DUMMY_PASSWORD);
      if (!user || !ok) throw new RejectedCredential("invalid username or password", true);
      return this.userPrincipal(user.name, user.groups, [grant("*", user.actions)], "user");
    });
  }

  /** A configured user as a principal: own rights plus what the rules grant by name and groups. */
  userPrincipal(name: string, groups: readonly string[], own: Grant[], origin: "user" | "jwt", expiresAt?: number): Principal {
    const grants = [...own.filter((g) => g.actions.length > 0), ...ruleGrants(this.config().rules, { name, groups })];
    const principal: Principal = new Principal(name, grants, {
      authenticated: true,
      groups,
      catalog: (repository) => principal.can(repository, "pull"),
      origin,
      expiresAt,
    });
    return principal;
  }

  /** No credentials: what anonymous rules grant. `authenticated` for an anonymous token. */
  anonymous(authenticated: boolean): Principal {
    const grants = ruleGrants(this.config().rules, null);
    const principal: Principal = new Principal("", grants, {
      authenticated,
      // Token mode lists the catalog only for a token carrying the catalog scope.
      catalog: grants.length > 0 && (authenticated || this.config().mode === "basic") ? (repository) => principal.can(repository, "pull") : "none",
      origin: "anonymous",
    });
    return principal;
  }

  private async verifyPasswordJwt(token: string, username: string, check: JwtCheck): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, check.keys, {
        algorithms: ASYMMETRIC_ALGORITHMS,
        issuer: check.issuer,
        audience: check.audience,
        maxTokenAge: check.maxAgeSeconds,
      }));
    } catch (err) {
      throw new RejectedCredential(`invalid token: ${(err as Error).message}`, !signatureVerified(err));
    }
    assertIssuedInThePast(payload);
    const name = typeof payload.username === "string" ? payload.username : payload.sub ?? username;
    const expiresAt = typeof payload.exp === "number" ? payload.exp * 1000 : undefined;
    return this.userPrincipal(name || username, strings(payload.groups), claimGrants(payload), "jwt", expiresAt);
  }

  /** A bearer token from the token service (ours or a trusted external one). */
  async verifyBearer(token: string): Promise<{ principal: Principal; expiresAt: number }> {
    const bearer = this.config().bearer!;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, bearer.keys, {
        algorithms: ASYMMETRIC_ALGORITHMS,
        issuer: bearer.issuer,
        audience: bearer.audience,
        requiredClaims: ["exp"],
      }));
    } catch (err) {
      throw new RejectedCredential(`invalid token: ${(err as Error).message}`, !signatureVerified(err));
    }
    assertIssuedInThePast(payload);
    if (payload.token_use === "refresh") throw unauthorized("invalid token: a refresh token is not an access token");
    const grants: Grant[] = [];
    let catalog = false;
    for (const entry of Array.isArray(payload.access) ? payload.access : []) {
      if (entry?.type === "repository" && typeof entry.name === "string" && isValidName(entry.name)) {
        grants.push({ pattern: new RepositoryPattern(entry.name, true), actions: grant("", strings(entry.actions)).actions });
      }
      if (entry?.type === "registry" && entry.name === "catalog" && strings(entry.actions).includes("*")) catalog = true;
      if (entry?.type === "registry" && entry.name === "admin" && strings(entry.actions).includes("*")) grants.push(grant("*", ["admin"]));
    }
    // Our token service lists, for the catalog, the patterns the caller may pull; others' tokens are taken whole.
    const patterns = Array.isArray(payload.pull_patterns) ? strings(payload.pull_patterns).map((p) => new RepositoryPattern(p)) : null;
    const principal = new Principal(typeof payload.sub === "string" ? payload.sub : "", grants, {
      authenticated: true,
      catalog: !catalog ? "none" : patterns ? (repository) => patterns.some((p) => p.matches(repository)) : "all",
      origin: "token",
    });
    return { principal, expiresAt: payload.exp! * 1000 };
  }

  /** Where clients get tokens (AUTH_TOKEN_REALM), in token mode; null otherwise or when refusing. */
  tokenRealm(): string | null {
    return this.settings?.mode === "token" ? (this.settings.realm ?? null) : null;
  }

  /** The WWW-Authenticate challenge for this mode, scoped to what the request needs. */
  challenge(request: Request, need: Requirement, error?: string): string {
    const settings = this.config();
    // Basic's realm is only a label for the login prompt: verification never depends on it.
    if (settings.mode !== "token") return `Basic realm=${JSON.stringify(settings.service ?? new URL(request.url).host)}, charset="UTF-8"`;
    const parts = [`realm=${JSON.stringify(settings.realm!)}`, `service=${JSON.stringify(this.service())}`];
    const scope = challengeScope(need);
    if (scope) parts.push(`scope=${JSON.stringify(scope)}`);
    if (error) parts.push(`error=${JSON.stringify(error)}`);
    return `Bearer ${parts.join(",")}`;
  }

  private withChallenge(error: RegistryError, request: Request, need: Requirement, reason?: string): RegistryError {
    if (error.status !== 401) return error;
    return new RegistryError(error.code, error.message, {
      status: 401,
      detail: error.detail,
      headers: { ...error.headers, "WWW-Authenticate": this.challenge(request, need, reason) },
    });
  }

  private remember(key: string, principal: Principal, until: number): void {
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { principal, until });
  }
}

/** The scope a client should ask a token for: pushing also reads (docker asks for "pull,push"). */
function challengeScope(need: Requirement): string | null {
  if (need.kind === "catalog") return "registry:catalog:*";
  if (need.kind === "operator") return "registry:admin:*";
  if (need.kind !== "repository") return null;
  const actions = new Set<Action>(need.actions);
  if (actions.has("push")) actions.add("pull");
  return `repository:${need.name}:${(["pull", "push", "delete"] as const).filter((a) => actions.has(a)).join(",")}`;
}
