// Auth settings from the deployment's vars and secrets, read and checked in one place.
// Every setting is documented in the README ("Authentication").
import { parseActions, RepositoryPattern, type Action, type Grant } from "./access";
import { keyResolver, parsePublicKeys, parseSigningKey, type ConfigValue, type SigningKey } from "./keys";
import { parsePasswordHash, type PasswordHash } from "./passwords";
import type { FailureRule } from "./failure-limiter";
import type { JWTVerifyGetKey } from "jose";

export interface AuthEnv {
  /** open | basic | token. Unset: inferred from the other settings; nothing configured refuses all. */
  AUTH_MODE?: string;
  /** JSON list of { username, password: "pbkdf2-sha256$…", actions?: [...], groups?: [...] }. */
  AUTH_USERS?: ConfigValue;
  /** JSON list of { repository: "team-a/*", actions: [...], users?: [...], groups?: [...], anonymous?: true }. */
  AUTH_RULES?: ConfigValue;
  /** JWT as the Basic password: the public key(s) that verify it. */
  AUTH_JWT_PUBLIC_KEY?: ConfigValue;
  /** The name older Workers registries used for the same base64 JWK. */
  JWT_REGISTRY_TOKENS_PUBLIC_KEY?: ConfigValue;
  AUTH_JWT_JWKS_URL?: string;
  AUTH_JWT_ISSUER?: string;
  AUTH_JWT_AUDIENCE?: string;
  /** Refuse JWT passwords whose `iat` is older than this. */
  AUTH_JWT_MAX_AGE_SECONDS?: string;
  /** Built-in token service: its private signing key (JWK, base64 JWK, or PKCS#8 PEM). */
  AUTH_TOKEN_SIGNING_KEY?: ConfigValue;
  /** External token service: the keys or certificates (its "rootcertbundle") that sign its tokens. */
  AUTH_TOKEN_TRUSTED_KEYS?: ConfigValue;
  AUTH_TOKEN_JWKS_URL?: string;
  /** Token endpoint clients are sent to (required in token mode), e.g. https://registry.example.com/token. */
  AUTH_TOKEN_REALM?: string;
  /** `iss` of bearer tokens, issued and accepted; default "edge-registry". */
  AUTH_TOKEN_ISSUER?: string;
  /** `service` in challenges and the `aud` bearer tokens must carry (required in token mode). Never the request's Host. */
  AUTH_SERVICE?: string;
  AUTH_TOKEN_TTL_SECONDS?: string;
  AUTH_REFRESH_TOKEN_TTL_SECONDS?: string;
  /** Failed authentication attempts allowed per client address and per user name within the window; default 10, 0: no limit. */
  AUTH_FAILURE_LIMIT?: string;
  /** The window those failures are counted over, in seconds; default 300. */
  AUTH_FAILURE_WINDOW_SECONDS?: string;
}

export type AuthMode = "open" | "basic" | "token";

export interface User {
  name: string;
  password: PasswordHash;
  actions: Action[];
  groups: string[];
}

export interface AccessRule {
  pattern: RepositoryPattern;
  actions: Action[];
  users: string[];
  groups: string[];
  anonymous: boolean;
}

export interface JwtCheck {
  keys: JWTVerifyGetKey;
  issuer?: string;
  audience?: string;
  maxAgeSeconds?: number;
}

export interface AuthSettings {
  mode: AuthMode;
  users: Map<string, User>;
  rules: AccessRule[];
  /** JWT accepted as the Basic password. */
  passwordJwt?: JwtCheck;
  /** Bearer tokens (token mode): verified against the signing key's public half and trusted keys. */
  bearer?: JwtCheck & { issuer: string; audience: string };
  /** Present when this registry issues tokens itself at /token. */
  signingKey?: SigningKey;
  /** Token mode: where clients get tokens (AUTH_TOKEN_REALM). */
  realm?: string;
  /** Token mode: the audience of bearer tokens (AUTH_SERVICE); in basic mode only the challenge's realm text. */
  service?: string;
  tokenTtlSeconds: number;
  refreshTtlSeconds: number;
  /** Failed-login limit (AUTH_FAILURE_LIMIT per AUTH_FAILURE_WINDOW_SECONDS); null: none. */
  failures: FailureRule | null;
}

/** Configuration that cannot work: every request is refused with this message, nothing is guessed. */
export class AuthConfigError extends Error {}

function list(value: ConfigValue, what: string): Record<string, unknown>[] {
  if (value === undefined || value === "") return [];
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new AuthConfigError(`${what} is not valid JSON`);
    }
  }
  if (!Array.isArray(parsed) || parsed.some((x) => typeof x !== "object" || x === null)) {
    throw new AuthConfigError(`${what} must be a JSON list of objects`);
  }
  return parsed as Record<string, unknown>[];
}

function strings(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((x) => typeof x !== "string")) throw new AuthConfigError(`${what} must be a list of strings`);
  return value as string[];
}

function actionsOf(value: unknown, what: string): Action[] {
  const words = strings(value, what);
  const actions = parseActions(words);
  if (actions.length < new Set(words.filter((w) => w !== "*")).size) {
    throw new AuthConfigError(`${what} may only hold "pull", "push", "delete" or "*"`);
  }
  return actions;
}

function parseUsers(value: ConfigValue): Map<string, User> {
  const users = new Map<string, User>();
  for (const [i, entry] of list(value, "AUTH_USERS").entries()) {
    const name = entry.username;
    if (typeof name !== "string" || !name || name.includes(":")) {
      throw new AuthConfigError(`AUTH_USERS[${i}].username must be a non-empty string without ':'`);
    }
    if (typeof entry.password !== "string") throw new AuthConfigError(`AUTH_USERS[${i}].password must be a password hash`);
    let password: PasswordHash;
    try {
      password = parsePasswordHash(entry.password);
    } catch (err) {
      throw new AuthConfigError(`AUTH_USERS[${i}].password: ${(err as Error).message}`);
    }
    if (users.has(name)) throw new AuthConfigError(`AUTH_USERS names ${name} twice`);
    users.set(name, {
      name,
      password,
      actions: actionsOf(entry.actions, `AUTH_USERS[${i}].actions`),
      groups: strings(entry.groups, `AUTH_USERS[${i}].groups`),
    });
  }
  return users;
}

function parseRules(value: ConfigValue): AccessRule[] {
  return list(value, "AUTH_RULES").map((entry, i) => {
    if (typeof entry.repository !== "string" || !entry.repository) {
      throw new AuthConfigError(`AUTH_RULES[${i}].repository must be a name or pattern such as "team-a/*"`);
    }
    return {
      pattern: new RepositoryPattern(entry.repository),
      actions: actionsOf(entry.actions, `AUTH_RULES[${i}].actions`),
      users: strings(entry.users, `AUTH_RULES[${i}].users`),
      groups: strings(entry.groups, `AUTH_RULES[${i}].groups`),
      anonymous: entry.anonymous === true,
    };
  });
}

function seconds(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new AuthConfigError(`${what} must be a positive whole number of seconds`);
  return n;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

function failureRule(env: AuthEnv): FailureRule | null {
  const raw = env.AUTH_FAILURE_LIMIT;
  const limit = raw === undefined || raw === "" ? 10 : Number(raw);
  if (!Number.isInteger(limit) || limit < 0) throw new AuthConfigError("AUTH_FAILURE_LIMIT must be a whole number of attempts (0: no limit)");
  const windowSeconds = seconds(env.AUTH_FAILURE_WINDOW_SECONDS, 300, "AUTH_FAILURE_WINDOW_SECONDS");
  return limit === 0 ? null : { limit, windowSeconds };
}

function present(value: ConfigValue): value is string | object {
  return value !== undefined && value !== "";
}

async function keysFrom(value: ConfigValue, what: string) {
  if (!present(value)) return [];
  try {
    return await parsePublicKeys(value, what);
  } catch (err) {
    throw new AuthConfigError((err as Error).message);
  }
}

function inferMode(env: AuthEnv): AuthMode {
  if (env.AUTH_MODE) {
    if (env.AUTH_MODE === "open" || env.AUTH_MODE === "basic" || env.AUTH_MODE === "token") return env.AUTH_MODE;
    throw new AuthConfigError(`AUTH_MODE must be open, basic or token, not ${env.AUTH_MODE}`);
  }
  if (present(env.AUTH_TOKEN_SIGNING_KEY) || env.AUTH_TOKEN_REALM) return "token";
  if (present(env.AUTH_USERS) || present(env.AUTH_JWT_PUBLIC_KEY) || present(env.JWT_REGISTRY_TOKENS_PUBLIC_KEY) || env.AUTH_JWT_JWKS_URL) {
    return "basic";
  }
  throw new AuthConfigError(
    "authentication is not configured: set AUTH_MODE=open for a public registry, or configure users, a JWT key or a token service (see the README)",
  );
}

export async function loadAuthSettings(env: AuthEnv): Promise<AuthSettings> {
  const mode = inferMode(env);
  const settings: AuthSettings = {
    mode,
    users: parseUsers(env.AUTH_USERS),
    rules: parseRules(env.AUTH_RULES),
    realm: env.AUTH_TOKEN_REALM || undefined,
    service: env.AUTH_SERVICE || undefined,
    tokenTtlSeconds: seconds(env.AUTH_TOKEN_TTL_SECONDS, 300, "AUTH_TOKEN_TTL_SECONDS"),
    refreshTtlSeconds: seconds(env.AUTH_REFRESH_TOKEN_TTL_SECONDS, 30 * 24 * 3600, "AUTH_REFRESH_TOKEN_TTL_SECONDS"),
    failures: failureRule(env),
  };
  if (mode === "open") return settings;

  const jwtKeys = await keysFrom(env.AUTH_JWT_PUBLIC_KEY ?? env.JWT_REGISTRY_TOKENS_PUBLIC_KEY, "AUTH_JWT_PUBLIC_KEY");
  if (jwtKeys.length > 0 || env.AUTH_JWT_JWKS_URL) {
    settings.passwordJwt = {
      keys: keyResolver(jwtKeys, env.AUTH_JWT_JWKS_URL || undefined),
      issuer: env.AUTH_JWT_ISSUER || undefined,
      audience: env.AUTH_JWT_AUDIENCE || undefined,
      maxAgeSeconds: env.AUTH_JWT_MAX_AGE_SECONDS ? seconds(env.AUTH_JWT_MAX_AGE_SECONDS, 0, "AUTH_JWT_MAX_AGE_SECONDS") : undefined,
    };
  }

  if (mode === "token") {
    if (present(env.AUTH_TOKEN_SIGNING_KEY)) {
      try {
        settings.signingKey = await parseSigningKey(env.AUTH_TOKEN_SIGNING_KEY, "AUTH_TOKEN_SIGNING_KEY");
      } catch (err) {
        throw new AuthConfigError((err as Error).message);
      }
    }
    const trusted = await keysFrom(env.AUTH_TOKEN_TRUSTED_KEYS, "AUTH_TOKEN_TRUSTED_KEYS");
    if (settings.signingKey) trusted.unshift(settings.signingKey.publicJwk);
    if (trusted.length === 0 && !env.AUTH_TOKEN_JWKS_URL) {
      throw new AuthConfigError("AUTH_MODE=token needs AUTH_TOKEN_SIGNING_KEY (built-in token service) or AUTH_TOKEN_TRUSTED_KEYS / AUTH_TOKEN_JWKS_URL (external one)");
    }
    // Both are configuration: taken from a request, a token for any audience would pass with the matching Host.
    const missing = [settings.service ? null : "AUTH_SERVICE", settings.realm ? null : "AUTH_TOKEN_REALM"].filter((x) => x !== null);
    if (missing.length > 0) {
      throw new AuthConfigError(
        `AUTH_MODE=token needs ${missing.join(" and ")}: AUTH_SERVICE is the audience (aud) bearer tokens carry, e.g. registry.example.com; ` +
          "AUTH_TOKEN_REALM is the URL clients get tokens from, e.g. https://registry.example.com/token",
      );
    }
    if (!isHttpUrl(settings.realm!)) throw new AuthConfigError(`AUTH_TOKEN_REALM must be an http(s) URL, not ${settings.realm}`);
    settings.bearer = {
      keys: keyResolver(trusted, env.AUTH_TOKEN_JWKS_URL || undefined),
      issuer: env.AUTH_TOKEN_ISSUER || "edge-registry",
      audience: settings.service!,
    };
  }

  if (settings.users.size === 0 && !settings.passwordJwt && !settings.rules.some((r) => r.anonymous) && !settings.bearer) {
    throw new AuthConfigError(`AUTH_MODE=${mode} has no users, JWT key or public rules: nobody could use this registry`);
  }
  return settings;
}

/** What the access rules grant a caller, by name and groups (anonymous callers match only anonymous rules). */
export function ruleGrants(rules: AccessRule[], caller: { name: string; groups: readonly string[] } | null): Grant[] {
  const out: Grant[] = [];
  for (const rule of rules) {
    const applies = caller === null
      ? rule.anonymous
      : rule.anonymous || rule.users.includes(caller.name) || rule.users.includes("*") || rule.groups.some((g) => caller.groups.includes(g));
    if (applies) out.push({ pattern: rule.pattern, actions: rule.actions });
  }
  return out;
}
