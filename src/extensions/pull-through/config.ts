// Upstream settings: UPSTREAMS (this registry's form) and REGISTRIES_JSON (the older Workers
// registry's form, accepted unchanged). Read and checked here, once, at startup.

/** One upstream registry and the local repositories it serves. */
export interface Upstream {
  /** Local repository prefix it serves ("dockerhub/"), or "" for every repository. */
  prefix: string;
  /** Origin (and optional path) of the upstream registry, without a trailing slash. */
  url: string;
  /** The upstream's host, the name errors and logs use (never its credentials). */
  label: string;
  /** Single-component names are `library/<name>` upstream (Docker Hub's official images). */
  library: boolean;
  /** How long a cached tag is served before it is revalidated upstream, in ms. */
  tagTtlMs: number;
  /** Whether clients may push into the repositories this upstream serves (default: refused). */
  push: boolean;
  credentials: Credentials | null;
}

export type Credentials = { username: string; password: string } | { token: string };

/** Settings as read by name (Workers env, the process environment, a settings file). */
export type SettingsByName = Record<string, unknown>;

const DEFAULT_TAG_TTL_SECONDS = 300;
const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
/** Docker Hub's registry API host: the others names only redirect or serve the web site. */
const DOCKER_HUB_URL = "https://registry-1.docker.io";
const PREFIX_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const UPSTREAM_FIELDS = new Set(["prefix", "url", "username", "passwordSetting", "tokenSetting", "library", "tagCacheSeconds", "push"]);
const OLDER_FIELDS = new Set(["registry", "username", "password_env"]);

const fail = (setting: string, message: string) => new Error(`${setting}: ${message}`);

/** The configured upstreams, longest prefix first (the first match wins); [] when none is set. */
export function upstreamsFromSettings(settings: SettingsByName): Upstream[] {
  const upstreams = [
    ...entries(settings, "UPSTREAMS").map((entry, i) => fromUpstreamEntry(settings, entry, `UPSTREAMS[${i}]`)),
    ...entries(settings, "REGISTRIES_JSON").map((entry, i) => fromOlderEntry(settings, entry, `REGISTRIES_JSON[${i}]`)),
  ];
  const seen = new Set<string>();
  for (const upstream of upstreams) {
    if (seen.has(upstream.prefix)) throw fail("UPSTREAMS", `two upstreams serve the prefix "${upstream.prefix}"`);
    seen.add(upstream.prefix);
  }
  return upstreams.sort((a, b) => b.prefix.length - a.prefix.length);
}

/**
 * The settings UPSTREAMS / REGISTRIES_JSON name as holding secrets (passwordSetting, tokenSetting,
 * password_env): known names, not typos. Nothing for settings that do not parse (startup says why).
 */
export function referencedSettingNames(settings: SettingsByName): string[] {
  const names: string[] = [];
  for (const setting of ["UPSTREAMS", "REGISTRIES_JSON"]) {
    let list: Record<string, unknown>[];
    try {
      list = entries(settings, setting);
    } catch {
      continue;
    }
    for (const entry of list) {
      for (const field of ["passwordSetting", "tokenSetting", "password_env"]) {
        if (typeof entry[field] === "string") names.push(entry[field]);
      }
    }
  }
  return names;
}

function entries(settings: SettingsByName, setting: string): Record<string, unknown>[] {
  const raw = settings[setting];
  if (raw === undefined || raw === "") return [];
  if (typeof raw !== "string") throw fail(setting, "must be a JSON list");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw fail(setting, "is not valid JSON");
  }
  if (!Array.isArray(parsed)) throw fail(setting, "must be a JSON list of upstreams");
  return parsed.map((entry, i) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw fail(`${setting}[${i}]`, "must be an object");
    return entry as Record<string, unknown>;
  });
}

function fromUpstreamEntry(settings: SettingsByName, entry: Record<string, unknown>, where: string): Upstream {
  for (const key of Object.keys(entry)) if (!UPSTREAM_FIELDS.has(key)) throw fail(where, `unknown field "${key}"`);
  const prefix = optionalString(entry, "prefix", where) ?? "";
  if (prefix !== "" && (!prefix.endsWith("/") || !prefix.slice(0, -1).split("/").every((c) => PREFIX_COMPONENT.test(c)))) {
    throw fail(where, `prefix must be "" or repository name components ending in "/", like "dockerhub/"; got "${prefix}"`);
  }
  const { url, label, dockerHub } = upstreamUrl(requiredString(entry, "url", where), where);
  const ttl = entry.tagCacheSeconds ?? DEFAULT_TAG_TTL_SECONDS;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0) throw fail(where, "tagCacheSeconds must be a non-negative integer");
  const library = entry.library ?? dockerHub;
  if (typeof library !== "boolean") throw fail(where, "library must be true or false");
  const push = entry.push ?? false;
  if (typeof push !== "boolean") throw fail(where, "push must be true or false");
  const credentials = credentialsOf(settings, where, {
    username: optionalString(entry, "username", where),
    passwordSetting: optionalString(entry, "passwordSetting", where),
    tokenSetting: optionalString(entry, "tokenSetting", where),
  });
  return { prefix, url, label, library, tagTtlMs: ttl * 1000, push, credentials };
}

/** `{ "registry": ..., "username": ..., "password_env": ... }`: serves every repository. */
function fromOlderEntry(settings: SettingsByName, entry: Record<string, unknown>, where: string): Upstream {
  for (const key of Object.keys(entry)) if (!OLDER_FIELDS.has(key)) throw fail(where, `unknown field "${key}"`);
  const { url, label, dockerHub } = upstreamUrl(requiredString(entry, "registry", where), where);
  const credentials = credentialsOf(settings, where, {
    username: optionalString(entry, "username", where),
    passwordSetting: optionalString(entry, "password_env", where),
  });
  return { prefix: "", url, label, library: dockerHub, tagTtlMs: DEFAULT_TAG_TTL_SECONDS * 1000, push: false, credentials };
}

function upstreamUrl(raw: string, where: string): { url: string; label: string; dockerHub: boolean } {
  let parsed: URL;
  try {
    parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
  } catch {
    throw fail(where, `not a URL: ${raw.slice(0, 200)}`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw fail(where, "the upstream URL must be http or https");
  // Credentials belong in settings, where they are never echoed; a URL is printed in errors.
  if (parsed.username || parsed.password) throw fail(where, "the upstream URL must not contain credentials");
  if (parsed.search || parsed.hash) throw fail(where, "the upstream URL must not have a query or fragment");
  if (DOCKER_HUB_HOSTS.has(parsed.hostname)) return { url: DOCKER_HUB_URL, label: "registry-1.docker.io", dockerHub: true };
  const path = parsed.pathname.replace(/\/+$/, "").replace(/\/v2$/, "");
  return { url: `${parsed.origin}${path}`, label: parsed.host, dockerHub: false };
}

function credentialsOf(
  settings: SettingsByName,
  where: string,
  given: { username?: string; passwordSetting?: string; tokenSetting?: string },
): Credentials | null {
  const secret = (name: string) => {
    const value = settings[name];
    if (typeof value !== "string" || value === "") throw fail(where, `the setting ${name} it names is not set`);
    return value;
  };
  if (given.tokenSetting !== undefined) {
    if (given.username !== undefined || given.passwordSetting !== undefined) throw fail(where, "give a username and password setting, or a token setting, not both");
    return { token: secret(given.tokenSetting) };
  }
  if (given.username === undefined && given.passwordSetting === undefined) return null;
  if (given.username === undefined || given.passwordSetting === undefined) throw fail(where, "a username needs a password setting, and the other way round");
  return { username: given.username, password: secret(given.passwordSetting) };
}

function requiredString(entry: Record<string, unknown>, key: string, where: string): string {
  const value = optionalString(entry, key, where);
  if (value === undefined || value === "") throw fail(where, `${key} is required`);
  return value;
}

function optionalString(entry: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw fail(where, `${key} must be a string`);
  return value;
}
