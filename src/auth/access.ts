// What a caller may do: actions on repositories matched by name patterns, and the scopes of the
// Docker token spec ("repository:<name>:pull,push", "registry:catalog:*") that carry them.

/**
 * "admin" is the operator right (garbage collection, storage usage: src/extensions/gc/); it counts
 * only on a grant for every repository ("*") and is never implied by "*" as an action list.
 */
export type Action = "pull" | "push" | "delete" | "admin";
export const ALL_ACTIONS: readonly Action[] = ["pull", "push", "delete"];
const KNOWN_ACTIONS: readonly Action[] = [...ALL_ACTIONS, "admin"];

/** "pull", "push", "delete", "admin"; "*" means the first three. Unknown words are dropped, never widened. */
export function parseActions(words: Iterable<string>): Action[] {
  const out = new Set<Action>();
  for (const word of words) {
    const w = word.trim();
    if (w === "*") ALL_ACTIONS.forEach((a) => out.add(a));
    else if ((KNOWN_ACTIONS as readonly string[]).includes(w)) out.add(w as Action);
  }
  return KNOWN_ACTIONS.filter((a) => out.has(a));
}

/**
 * A repository pattern: an exact name, or a glob where `*` matches any run of characters,
 * slashes included ("team-a/*" covers "team-a/app" and "team-a/tools/ci"; "*" covers everything).
 */
export class RepositoryPattern {
  private readonly regex: RegExp | null;

  /** `exact`: "*" is taken literally (names from tokens are names, not patterns). */
  constructor(readonly source: string, exact = false) {
    this.regex = !exact && source.includes("*")
      ? new RegExp(`^${source.split("*").map(escapeRegExp).join(".*")}$`)
      : null;
  }

  get matchesEverything(): boolean {
    return this.regex !== null && this.source === "*";
  }

  matches(name: string): boolean {
    return this.regex ? this.regex.test(name) : this.source === name;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

export interface Grant {
  pattern: RepositoryPattern;
  actions: readonly Action[];
}

export function grant(pattern: string, actions: Iterable<string>): Grant {
  return { pattern: new RepositoryPattern(pattern), actions: parseActions(actions) };
}

/** Which repositories a caller sees in /v2/_catalog: none, all, or those a test accepts. */
export type CatalogView = "none" | "all" | ((repository: string) => boolean);

/** Who is calling and what they may do. */
export class Principal {
  constructor(
    /** The user name; "" for anonymous callers. */
    readonly name: string,
    readonly grants: readonly Grant[],
    readonly options: {
      /** Valid credentials (or a token) came with the request; false for a bare anonymous request. */
      authenticated: boolean;
      groups?: readonly string[];
      catalog: CatalogView;
      /** Where the identity came from; a refresh token rebuilds it from the same place. */
      origin?: "user" | "jwt" | "token" | "anonymous";
      /** When the credential behind it stops being valid (ms since epoch), if it says. */
      expiresAt?: number;
    },
  ) {}

  /** Anyone allowed anything: the open mode. */
  static everyone(): Principal {
    return new Principal("", [grant("*", KNOWN_ACTIONS)], { authenticated: true, catalog: "all" });
  }

  get anonymous(): boolean {
    return this.name === "";
  }

  get authenticated(): boolean {
    return this.options.authenticated;
  }

  get groups(): readonly string[] {
    return this.options.groups ?? [];
  }

  get catalog(): CatalogView {
    return this.options.catalog;
  }

  can(repository: string, action: Action): boolean {
    return this.grants.some((g) => g.actions.includes(action) && g.pattern.matches(repository));
  }

  canAll(repository: string, actions: readonly Action[]): boolean {
    return actions.every((a) => this.can(repository, a));
  }

  /** An operator: holds "admin" on a grant for every repository. */
  get isOperator(): boolean {
    return this.grants.some((g) => g.pattern.matchesEverything && g.actions.includes("admin"));
  }

  /** True when every repository is readable: then a mount without `from` may link any stored blob. */
  get canPullEverything(): boolean {
    return this.grants.some((g) => g.pattern.matchesEverything && g.actions.includes("pull"));
  }

  /** The patterns this caller may pull from: what a token carries to filter the catalog later. */
  get pullPatterns(): string[] {
    return this.grants.filter((g) => g.actions.includes("pull")).map((g) => g.pattern.source);
  }
}

// ------------------------------------------------------------------------------------ scopes

export type Scope =
  | { type: "repository"; name: string; actions: Action[] }
  | { type: "registry"; name: "catalog"; actions: ["*"] }
  /** The operator right (src/extensions/gc/) in token mode. */
  | { type: "registry"; name: "admin"; actions: ["*"] };

/** "repository:team/app:pull,push" → scope; names may not contain ':', actions follow the last ':'. */
export function parseScope(text: string): Scope | null {
  const first = text.indexOf(":");
  const last = text.lastIndexOf(":");
  if (first < 0 || last === first) return null;
  const type = text.slice(0, first);
  const name = text.slice(first + 1, last);
  const words = text.slice(last + 1).split(",");
  if (type === "registry" && name === "catalog" && words.includes("*")) {
    return { type: "registry", name: "catalog", actions: ["*"] };
  }
  if (type === "registry" && name === "admin" && words.includes("*")) {
    return { type: "registry", name: "admin", actions: ["*"] };
  }
  // "repository(plugin)" is an old docker variant of the same resource type.
  if (type === "repository" || type === "repository(plugin)") {
    if (!name) return null;
    // "admin" is never a repository's action: the operator right travels as registry:admin:*.
    return { type: "repository", name, actions: parseActions(words).filter((a) => a !== "admin") };
  }
  return null;
}

export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(",")}`;
}

/** The entries of a token's `access` claim, as the token spec writes them. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export function scopeToAccessEntry(scope: Scope): AccessEntry {
  return { type: scope.type, name: scope.name, actions: [...scope.actions] };
}

/** What one request needs. The base check (`GET /v2/`) only needs an authenticated caller. */
export type Requirement =
  | { kind: "base" }
  | { kind: "catalog" }
  /** Operator endpoints (/v2/_registry/…): the "admin" action on "*". */
  | { kind: "operator" }
  | { kind: "repository"; name: string; actions: Action[] };
