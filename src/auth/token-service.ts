// The built-in token service of the Docker token flow, at /token:
//   GET  /token?service=…&scope=…[&offline_token=true]   Basic credentials, or none for anonymous
//   POST /token  grant_type=password | refresh_token      the OAuth2 form docker login uses
// It grants what was asked for, cut down to what the caller may do, in a short-lived signed JWT.
import { importJWK, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { readCapped } from "../http";
import { RegistryError } from "../oci/errors";
import { isValidName } from "../oci/names";
import { grant, parseScope, Principal, scopeToAccessEntry, type AccessEntry, type Scope } from "./access";
import { assertIssuedInThePast, RejectedCredential, signatureVerified, type Authenticator } from "./authenticator";
import type { ClientInfo } from "./failure-limiter";
import type { SigningKey } from "./keys";
import { parseAuthorization } from "./credentials";

const MAX_FORM_BYTES = 64 * 1024;

interface TokenRequest {
  principal: Principal;
  scopes: Scope[];
  /** Issue a refresh token (docker login asks for one, then uses it instead of the password). */
  offline: boolean;
  /** The refresh token that came in, handed back unchanged. */
  refreshToken?: string;
}

function scopesFrom(values: string[]): Scope[] {
  const out: Scope[] = [];
  for (const value of values) {
    for (const text of value.split(" ").filter(Boolean)) {
      const scope = parseScope(text);
      if (scope) out.push(scope);
    }
  }
  return out;
}

/** Each requested scope cut down to the actions the caller holds; scopes left empty are dropped. */
function grantedAccess(principal: Principal, scopes: Scope[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const scope of scopes) {
    if (scope.type === "registry") {
      const allowed = scope.name === "admin" ? principal.isOperator : principal.catalog !== "none";
      if (allowed) out.push(scopeToAccessEntry(scope));
      continue;
    }
    if (!isValidName(scope.name)) continue;
    const actions = scope.actions.filter((a) => principal.can(scope.name, a));
    if (actions.length > 0) out.push({ type: "repository", name: scope.name, actions });
  }
  return out;
}

const publicKeys = new WeakMap<SigningKey, Promise<CryptoKey>>();

function publicKeyOf(signing: SigningKey): Promise<CryptoKey> {
  let key = publicKeys.get(signing);
  if (!key) {
    key = importJWK(signing.publicJwk, signing.alg) as Promise<CryptoKey>;
    publicKeys.set(signing, key);
  }
  return key;
}

const basicChallenge = (realm: string) => ({ "WWW-Authenticate": `Basic realm=${JSON.stringify(realm)}` });

function credentialsError(message: string, realm: string): RegistryError {
  return new RegistryError("UNAUTHORIZED", message, { headers: basicChallenge(realm) });
}

/** A refused login as the token service answers it: 401 with a Basic challenge; other refusals (429) as they are. */
function loginRefused(err: unknown, realm: string): RegistryError {
  if (err instanceof RegistryError && err.status !== 401) return err;
  return credentialsError((err as Error).message, realm);
}

async function fromQuery(request: Request, auth: Authenticator, url: URL, client: ClientInfo): Promise<TokenRequest> {
  const credentials = parseAuthorization(request.headers.get("Authorization"));
  let principal: Principal;
  if (credentials.scheme === "none") principal = auth.anonymous(true);
  else if (credentials.scheme === "basic") {
    principal = await auth.verifyPassword(credentials.username, credentials.password, client).catch((err) => {
      throw loginRefused(err, auth.service());
    });
  } else throw credentialsError("the token service takes Basic credentials", auth.service());
  return {
    principal,
    scopes: scopesFrom(url.searchParams.getAll("scope")),
    offline: url.searchParams.get("offline_token") === "true" && !principal.anonymous,
  };
}

async function fromForm(request: Request, auth: Authenticator, signing: SigningKey, client: ClientInfo): Promise<TokenRequest> {
  const type = request.headers.get("Content-Type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    throw new RegistryError("UNSUPPORTED", "POST /token takes an application/x-www-form-urlencoded form", { status: 400 });
  }
  const form = new URLSearchParams(new TextDecoder().decode(await readCapped(request, MAX_FORM_BYTES)));
  const scopes = scopesFrom(form.getAll("scope"));
  const service = auth.service();
  switch (form.get("grant_type")) {
    case "password": {
      const principal = await auth.verifyPassword(form.get("username") ?? "", form.get("password") ?? "", client).catch((err) => {
        throw loginRefused(err, service);
      });
      return { principal, scopes, offline: form.get("access_type") === "offline" };
    }
    case "refresh_token": {
      const token = form.get("refresh_token") ?? "";
      const principal = await auth.limited(client, null, () => principalFromRefresh(auth, signing, token, service));
      return { principal, scopes, offline: true, refreshToken: token };
    }
    default:
      throw new RegistryError("UNSUPPORTED", 'grant_type must be "password" or "refresh_token"', { status: 400 });
  }
}

/** A refresh token rebuilds the caller: a user from today's configuration, a JWT identity from its grants. */
async function principalFromRefresh(auth: Authenticator, signing: SigningKey, token: string, service: string): Promise<Principal> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, await publicKeyOf(signing), {
      algorithms: [signing.alg],
      issuer: auth.config().bearer!.issuer,
      audience: service,
      requiredClaims: ["exp", "sub"],
    }));
  } catch (err) {
    throw new RejectedCredential(`invalid refresh token: ${(err as Error).message}`, !signatureVerified(err), basicChallenge(service));
  }
  try {
    assertIssuedInThePast(payload, "invalid refresh token");
  } catch (err) {
    throw credentialsError((err as Error).message, service);
  }
  if (payload.token_use !== "refresh") throw credentialsError("invalid refresh token", service);
  const name = payload.sub!;
  if (payload.origin === "user") {
    const user = auth.config().users.get(name);
    if (!user) throw credentialsError("invalid refresh token: the user no longer exists", service);
    return auth.userPrincipal(user.name, user.groups, [grant("*", user.actions)], "user");
  }
  const grants = (Array.isArray(payload.grants) ? payload.grants : [])
    .filter((g): g is { repository: string; actions: string[] } => typeof g?.repository === "string" && Array.isArray(g.actions))
    .map((g) => grant(g.repository, g.actions));
  const groups = Array.isArray(payload.groups) ? payload.groups.filter((g): g is string => typeof g === "string") : [];
  return auth.userPrincipal(name, groups, grants, "jwt", payload.exp! * 1000);
}

async function signRefreshToken(auth: Authenticator, signing: SigningKey, principal: Principal, service: string): Promise<string> {
  const settings = auth.config();
  const now = Math.floor(Date.now() / 1000);
  let exp = now + settings.refreshTtlSeconds;
  // A JWT identity cannot outlive the JWT it came from.
  if (principal.options.expiresAt !== undefined) exp = Math.min(exp, Math.floor(principal.options.expiresAt / 1000));
  const claims: JWTPayload = { token_use: "refresh", origin: principal.options.origin };
  if (principal.options.origin === "jwt") {
    claims.grants = principal.grants.map((g) => ({ repository: g.pattern.source, actions: g.actions }));
    claims.groups = principal.groups;
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: "JWT" })
    .setIssuer(settings.bearer!.issuer)
    .setAudience(service)
    .setSubject(principal.name)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(crypto.randomUUID())
    .sign(signing.key);
}

async function issue(auth: Authenticator, signing: SigningKey, request: Request, req: TokenRequest): Promise<Response> {
  const settings = auth.config();
  const service = auth.service();
  const now = Math.floor(Date.now() / 1000);
  let ttl = settings.tokenTtlSeconds;
  if (req.principal.options.expiresAt !== undefined) ttl = Math.min(ttl, Math.floor(req.principal.options.expiresAt / 1000) - now);
  if (ttl <= 0) throw credentialsError("the credentials have expired", service);

  const access = grantedAccess(req.principal, req.scopes);
  const claims: JWTPayload = { access };
  // Lets the registry filter the catalog by what this caller may pull, without a lookup.
  if (access.some((a) => a.type === "registry")) claims.pull_patterns = req.principal.pullPatterns;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: "JWT" })
    .setIssuer(settings.bearer!.issuer)
    .setAudience(service)
    .setSubject(req.principal.name)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttl)
    .setJti(crypto.randomUUID())
    .sign(signing.key);

  const body: Record<string, unknown> = {
    token,
    access_token: token,
    expires_in: ttl,
    issued_at: new Date(now * 1000).toISOString(),
  };
  if (req.offline && !req.principal.anonymous) {
    body.refresh_token = req.refreshToken ?? (await signRefreshToken(auth, signing, req.principal, service));
  }
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

/** GET or POST /token. 404 when this registry does not issue tokens itself. */
export async function tokenEndpoint(request: Request, auth: Authenticator, client: ClientInfo = {}): Promise<Response> {
  const settings = auth.config();
  const signing = settings.mode === "token" ? settings.signingKey : undefined;
  if (!signing) throw new RegistryError("UNSUPPORTED", "this registry does not issue tokens", { status: 404 });
  const url = new URL(request.url);
  const req = request.method === "POST" ? await fromForm(request, auth, signing, client) : await fromQuery(request, auth, url, client);
  return issue(auth, signing, request, req);
}
