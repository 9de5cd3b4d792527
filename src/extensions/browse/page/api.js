// @ts-check
// The page's only way to the registry: the /v2/ API (and the token service), called from the
// browser with the caller's own credentials, like any other client. What the page shows is what
// those requests return, so it can show nothing the caller could not pull with docker.
//
// Every request is sent with `credentials: "omit"`: no cookies, and the browser never answers a
// 401 Basic challenge with its own login dialog (the Fetch standard prompts only when credentials
// are included). Credentials travel only in the Authorization header this module sets.

export const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

const SESSION_KEY = "edge-registry.browse.session";
const CLIENT_ID = "edge-registry-browse";

/** An answer of the registry that is not a success, with the code and message of its JSON envelope. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @param {Response} response */
async function errorFrom(response) {
  let code = `HTTP ${response.status}`;
  let message = response.statusText || "request failed";
  try {
    const error = (await response.json())?.errors?.[0];
    if (error && typeof error.code === "string") code = error.code;
    if (error && typeof error.message === "string") message = error.message;
  } catch {
    // not the JSON envelope: keep the status line
  }
  return new ApiError(response.status, code, message);
}

/**
 * `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"` as a scheme and its parameters.
 * @param {string | null} header
 * @returns {{ scheme: string, params: Record<string, string> } | null}
 */
export function parseChallenge(header) {
  const match = header ? /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header) : null;
  if (!match) return null;
  /** @type {Record<string, string>} */
  const params = {};
  for (const [, key, quoted, bare] of (match[2] ?? "").matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[(key ?? "").toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : (bare ?? "");
  }
  return { scheme: (match[1] ?? "").toLowerCase(), params };
}

/** Basic credentials of UTF-8 text (btoa alone takes Latin-1 only). @param {string} username @param {string} password */
function basicAuthorization(username, password) {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * The actions a token's `access` claim grants in `scope` (read, not verified: the registry verifies);
 * null for a token that is not a readable JWT.
 * @param {string} token
 * @param {string} scope
 * @returns {string[] | null}
 */
function grantedActions(token, scope) {
  try {
    const part = (token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/");
    const payload = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    const [type, ...rest] = scope.split(":");
    const name = rest.slice(0, -1).join(":");
    /** @type {any[]} */
    const access = Array.isArray(payload.access) ? payload.access : [];
    const entry = access.find((a) => a?.type === type && a?.name === name);
    return Array.isArray(entry?.actions) ? entry.actions.filter((/** @type {unknown} */ a) => typeof a === "string") : [];
  } catch {
    return null;
  }
}

/**
 * One path segment: encoded, and never empty, "." or ".." (those would move the request elsewhere).
 * @param {string} value
 */
function segment(value) {
  if (value === "" || value === "." || value === "..") throw new ApiError(400, "NAME_INVALID", `not a valid path segment: ${value}`);
  return encodeURIComponent(value).replace(/%3A/gi, ":");
}

/** `/v2/<name>/<parts…>` with every segment encoded. @param {string} name @param {string[]} parts */
export function apiPath(name, ...parts) {
  return `/v2/${[...name.split("/"), ...parts].map(segment).join("/")}`;
}

/** The `last` of a Link: <…?n=100&last=x>; rel="next" header, if there is one. @param {string | null} link */
function nextFrom(link) {
  const match = link ? /<([^>]*)>\s*;\s*rel="?next"?/.exec(link) : null;
  return match ? new URL(match[1] ?? "", location.origin).searchParams.get("last") : null;
}

/**
 * @typedef {{ username: string, password?: string, refreshToken?: string }} Session
 * @typedef {{ token: string, expires: number, actions: string[] | null }} Token
 */

export class Registry {
  constructor() {
    /** @type {"open" | "basic" | "token" | "refusing"} */
    this.mode = "open";
    /** Token mode: where tokens come from, and for which service. */
    this.realm = "";
    this.service = "";
    /** @type {ApiError | null} why a misconfigured registry refuses everything */
    this.refusal = null;
    /** @type {Session | null} */
    this.session = null;
    /** @type {Map<string, Token>} tokens by scope */
    this.tokens = new Map();
    /** Called when the registry stops accepting this tab's sign-in. */
    this.onSessionEnd = () => {};
  }

  get username() {
    return this.session?.username ?? null;
  }

  /** Learns the auth mode from the version check's challenge, and restores this tab's sign-in. */
  async connect() {
    const response = await fetch("/v2/", { credentials: "omit", cache: "no-store" });
    const challenge = parseChallenge(response.headers.get("WWW-Authenticate"));
    if (response.ok) this.mode = "open";
    else if (challenge?.scheme === "bearer" && challenge.params.realm) {
      this.mode = "token";
      this.realm = new URL(challenge.params.realm, location.href).href;
      this.service = challenge.params.service ?? "";
    } else if (challenge?.scheme === "basic") this.mode = "basic";
    else {
      this.mode = "refusing";
      this.refusal = await errorFrom(response);
    }
    this.session = this.mode === "basic" || this.mode === "token" ? loadSession(this.mode) : null;
  }

  /**
   * Checks the credentials before keeping them: basic mode asks /v2/ with them, token mode logs
   * in at the token service (the OAuth2 password grant docker login uses) and keeps only the
   * refresh token it returns. Throws the registry's refusal.
   * @param {string} username
   * @param {string} password
   */
  async signIn(username, password) {
    /** @type {Session} */
    let session;
    if (this.mode === "basic") {
      const response = await fetch("/v2/", { credentials: "omit", cache: "no-store", headers: { Authorization: basicAuthorization(username, password) } });
      if (!response.ok) throw await errorFrom(response);
      session = { username, password };
    } else if (this.mode === "token") {
      const form = new URLSearchParams({ grant_type: "password", username, password, service: this.service, client_id: CLIENT_ID, access_type: "offline" });
      const response = await fetch(this.realm, { method: "POST", body: form, credentials: "omit", cache: "no-store" });
      if (!response.ok) throw await errorFrom(response);
      const body = await response.json();
      // A token service that issues no refresh tokens gets the password with each token request.
      session = typeof body.refresh_token === "string" ? { username, refreshToken: body.refresh_token } : { username, password };
    } else return;
    this.session = session;
    this.tokens.clear();
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ mode: this.mode, ...session }));
  }

  signOut() {
    this.session = null;
    this.tokens.clear();
    sessionStorage.removeItem(SESSION_KEY);
  }

  /** The credentials no longer work (password changed, refresh token expired): back to anonymous. */
  endSession() {
    this.signOut();
    this.onSessionEnd();
  }

  /**
   * A bearer token for `scope`, from the cache or the token service: with the refresh token when
   * signed in, anonymous otherwise (the registry's rules decide what anonymous callers get).
   * @param {string} scope
   * @returns {Promise<Token>}
   */
  async token(scope) {
    const cached = this.tokens.get(scope);
    if (cached && cached.expires > Date.now()) return cached;
    let response;
    if (this.session?.refreshToken) {
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: this.session.refreshToken, service: this.service, scope, client_id: CLIENT_ID });
      response = await fetch(this.realm, { method: "POST", body: form, credentials: "omit", cache: "no-store" });
    } else {
      const url = new URL(this.realm);
      url.searchParams.set("service", this.service);
      url.searchParams.set("scope", scope);
      /** @type {Record<string, string>} */
      const headers = this.session?.password !== undefined ? { Authorization: basicAuthorization(this.session.username, this.session.password) } : {};
      response = await fetch(url, { headers, credentials: "omit", cache: "no-store" });
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      if (response.status !== 401 || !this.session) throw error;
      this.endSession();
      throw new ApiError(401, error.code, `your sign-in is no longer valid (${error.message}): sign in again`);
    }
    const body = await response.json();
    const value = typeof body.token === "string" ? body.token : String(body.access_token ?? "");
    const lifetime = Number(body.expires_in) > 0 ? Number(body.expires_in) : 60;
    const token = { token: value, expires: Date.now() + Math.max(lifetime - 10, 5) * 1000, actions: grantedActions(value, scope) };
    this.tokens.set(scope, token);
    return token;
  }

  /**
   * A request with this caller's credentials. In token mode a 401 challenge is answered as docker
   * does: a token for the challenge's scope, then the request once more.
   * @param {string} path
   * @param {{ method?: string, accept?: string, scope: string }} options
   */
  async request(path, { method = "GET", accept, scope }) {
    const headers = new Headers();
    if (accept) headers.set("Accept", accept);
    if (this.mode === "basic" && this.session?.password !== undefined) {
      headers.set("Authorization", basicAuthorization(this.session.username, this.session.password));
    }
    const cached = this.mode === "token" ? this.tokens.get(scope) : undefined;
    if (cached && cached.expires > Date.now()) headers.set("Authorization", `Bearer ${cached.token}`);
    const send = () => fetch(path, { method, headers, credentials: "omit", cache: "no-store" });
    let response = await send();
    const challenge = response.status === 401 ? parseChallenge(response.headers.get("WWW-Authenticate")) : null;
    if (this.mode === "token" && challenge?.scheme === "bearer") {
      const wanted = challenge.params.scope || scope;
      this.tokens.delete(wanted);
      const token = await this.token(wanted);
      if (wanted !== scope) this.tokens.set(scope, token);
      headers.set("Authorization", `Bearer ${token.token}`);
      response = await send();
    }
    // Signed-in callers lacking a right get 403; a 401 means the credentials themselves failed.
    if (response.status === 401 && this.session) this.endSession();
    return response;
  }

  /** @param {string} path @param {{ accept?: string, scope: string }} options */
  async json(path, options) {
    const response = await this.request(path, options);
    if (!response.ok) throw await errorFrom(response);
    return { body: await response.json(), headers: response.headers };
  }

  /** One page of the catalog: the repositories this caller may pull. @param {string | null} last */
  async catalog(last = null) {
    const query = new URLSearchParams({ n: "200" });
    if (last !== null) query.set("last", last);
    const { body, headers } = await this.json(`/v2/_catalog?${query}`, { scope: "registry:catalog:*" });
    const names = Array.isArray(body.repositories) ? body.repositories.filter((/** @type {unknown} */ n) => typeof n === "string") : [];
    return { names, next: nextFrom(headers.get("Link")) };
  }

  /** One page of a repository's tags. @param {string} name @param {string | null} last */
  async tags(name, last = null) {
    const query = new URLSearchParams({ n: "100" });
    if (last !== null) query.set("last", last);
    const { body, headers } = await this.json(`${apiPath(name, "tags", "list")}?${query}`, { scope: pullScope(name) });
    const tags = Array.isArray(body.tags) ? body.tags.filter((/** @type {unknown} */ t) => typeof t === "string") : [];
    return { tags, next: nextFrom(headers.get("Link")) };
  }

  /**
   * A manifest by tag or digest: the parsed document, its digest, media type and size.
   * @param {string} name
   * @param {string} reference
   */
  async manifest(name, reference) {
    const response = await this.request(apiPath(name, "manifests", reference), { accept: MANIFEST_TYPES.join(", "), scope: pullScope(name) });
    if (!response.ok) throw await errorFrom(response);
    const bytes = await response.arrayBuffer();
    let doc;
    try {
      doc = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new ApiError(response.status, "MANIFEST_INVALID", "the manifest is not JSON");
    }
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new ApiError(response.status, "MANIFEST_INVALID", "the manifest is not a JSON object");
    return {
      doc,
      digest: response.headers.get("Docker-Content-Digest") ?? "",
      mediaType: (response.headers.get("Content-Type") ?? doc.mediaType ?? "").split(";")[0].trim(),
      size: bytes.byteLength,
    };
  }

  /** A small JSON blob (an image config). @param {string} name @param {string} digest */
  async blobJson(name, digest) {
    const response = await this.request(apiPath(name, "blobs", digest), { scope: pullScope(name) });
    if (!response.ok) throw await errorFrom(response);
    return JSON.parse(new TextDecoder().decode(await response.arrayBuffer()));
  }

  /** Manifests whose subject is `digest` (signatures, SBOMs, attestations). @param {string} name @param {string} digest */
  async referrers(name, digest) {
    const { body } = await this.json(apiPath(name, "referrers", digest), { scope: pullScope(name) });
    return Array.isArray(body.manifests) ? body.manifests.filter((/** @type {unknown} */ m) => m && typeof m === "object") : [];
  }

  /**
   * Whether this caller may delete in `name`: true or false when the registry can say without
   * trying (open mode; token mode reads what the token service grants), null when only a delete
   * would tell (basic mode).
   * @param {string} name
   */
  async mayDelete(name) {
    if (this.mode === "open") return true;
    if (this.mode !== "token") return null;
    try {
      const { actions } = await this.token(deleteScope(name));
      return actions === null ? null : actions.includes("delete");
    } catch {
      return false;
    }
  }

  /** Deletes a manifest by digest; throws the registry's refusal. @param {string} name @param {string} digest */
  async deleteManifest(name, digest) {
    const response = await this.request(apiPath(name, "manifests", digest), { method: "DELETE", scope: deleteScope(name) });
    if (!response.ok) throw await errorFrom(response);
  }
}

/** @param {string} name */
const pullScope = (name) => `repository:${name}:pull`;
/** @param {string} name */
const deleteScope = (name) => `repository:${name}:delete`;

/** This tab's sign-in, if it was made in the same mode. @param {string} mode @returns {Session | null} */
function loadSession(mode) {
  try {
    const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    if (!stored || stored.mode !== mode || typeof stored.username !== "string") return null;
    if (typeof stored.refreshToken === "string") return { username: stored.username, refreshToken: stored.refreshToken };
    if (typeof stored.password === "string") return { username: stored.username, password: stored.password };
  } catch {
    // unreadable: not signed in
  }
  return null;
}
