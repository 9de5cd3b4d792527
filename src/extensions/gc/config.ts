// Storage lifecycle settings (README "Storage lifecycle"), read and checked in one place. A setting
// that cannot work is an error at start, naming the setting, never a silent default.
import { RepositoryPattern } from "../../auth/access";

export interface GcSettings {
  /** Nothing written or linked within this many seconds is collected; default 86400 (24 h). */
  GC_GRACE_SECONDS?: string;
  /** Native runtimes: run the collector every this many seconds; 0 = never; default 3600. */
  GC_INTERVAL_SECONDS?: string;
  /** JSON list of retention rules: [{ repository, tagPattern?, keepTags?, untaggedAfterSeconds? }]. */
  RETENTION_JSON?: string;
  /** Comma-separated tag patterns (`*` = any characters) whose tags never move and are never deleted. */
  IMMUTABLE_TAGS?: string;
  /**
   * Store operations one collection invocation may spend before it stops and hands over to the
   * next (a cursor in the store). Workers default 900 (subrequest limits); native default: no limit.
   */
  GC_OPERATIONS_PER_RUN?: string;
}

/** Glob over tag names: `*` matches any run of characters. */
export class TagPattern {
  private readonly regex: RegExp;
  constructor(readonly source: string) {
    this.regex = new RegExp(`^${source.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&")).join(".*")}$`);
  }
  matches(tag: string): boolean {
    return this.regex.test(tag);
  }
}

export interface RetentionRule {
  /** Repositories the rule applies to (the first matching rule wins). */
  repository: RepositoryPattern;
  /** Tags the `keepTags` count applies to; default every tag. */
  tagPattern: TagPattern;
  /** Keep this many of the most recently written matching tags; the older ones go. Absent: all stay. */
  keepTags?: number;
  /** Manifests no tag reaches (through index children or subjects) go once older than this. Absent: they stay. */
  untaggedAfterMs?: number;
}

export interface GcConfig {
  graceMs: number;
  intervalMs: number;
  retention: RetentionRule[];
  immutableTags: TagPattern[];
  /** Absent: a run does everything at once. */
  operationsPerRun?: number;
}

const DAY_SECONDS = 86_400;
const MAX_RULES = 100;
const MAX_PATTERN_LENGTH = 256;

function seconds(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) throw new Error(`${name} must be a whole number, got ${raw.slice(0, 100)}`);
  return value;
}

/** Timers take at most 2^31 - 1 ms (about 24.8 days). */
const MAX_INTERVAL_SECONDS = 2_147_483;

function interval(raw: string | undefined): number {
  const value = seconds(raw, "GC_INTERVAL_SECONDS", 3600);
  if (value > MAX_INTERVAL_SECONDS) throw new Error(`GC_INTERVAL_SECONDS must be at most ${MAX_INTERVAL_SECONDS} (0 turns the timer off), got ${raw}`);
  return value * 1000;
}

/** `runtimeDefaults.operationsPerRun`: what the runtime's limits allow when the setting is unset. */
export function gcConfig(settings: GcSettings, runtimeDefaults: { operationsPerRun?: number } = {}): GcConfig {
  const raw = settings.GC_OPERATIONS_PER_RUN;
  let operationsPerRun = runtimeDefaults.operationsPerRun;
  if (raw !== undefined && raw !== "") {
    operationsPerRun = seconds(raw, "GC_OPERATIONS_PER_RUN", 0);
    if (operationsPerRun < 50) throw new Error(`GC_OPERATIONS_PER_RUN must be at least 50, got ${raw}`);
  }
  return {
    ...(operationsPerRun !== undefined ? { operationsPerRun } : {}),
    graceMs: seconds(settings.GC_GRACE_SECONDS, "GC_GRACE_SECONDS", DAY_SECONDS) * 1000,
    intervalMs: interval(settings.GC_INTERVAL_SECONDS),
    retention: retentionRules(settings.RETENTION_JSON),
    immutableTags: immutableTags(settings.IMMUTABLE_TAGS),
  };
}

export function immutableTags(raw: string | undefined): TagPattern[] {
  if (raw === undefined || raw.trim() === "") return [];
  return raw.split(",").map((p) => p.trim()).filter((p) => p !== "").map((p) => {
    if (p.length > MAX_PATTERN_LENGTH) throw new Error(`IMMUTABLE_TAGS: a pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
    if (!/^[\w.*-]+$/.test(p)) throw new Error(`IMMUTABLE_TAGS: ${JSON.stringify(p.slice(0, 100))} is not a tag pattern (tag characters and *)`);
    return new TagPattern(p);
  });
}

export function retentionRules(raw: string | undefined): RetentionRule[] {
  if (raw === undefined || raw.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`RETENTION_JSON is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new Error("RETENTION_JSON must be a JSON list of rules");
  if (parsed.length > MAX_RULES) throw new Error(`RETENTION_JSON: at most ${MAX_RULES} rules`);
  return parsed.map((entry, i) => {
    const where = `RETENTION_JSON[${i}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new Error(`${where} must be an object`);
    const e = entry as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (!["repository", "tagPattern", "keepTags", "untaggedAfterSeconds"].includes(k)) throw new Error(`${where}: unknown field ${JSON.stringify(k.slice(0, 50))}`);
    }
    const pattern = (value: unknown, field: string, fallback?: string): string => {
      if (value === undefined && fallback !== undefined) return fallback;
      if (typeof value !== "string" || value === "" || value.length > MAX_PATTERN_LENGTH) throw new Error(`${where}.${field} must be a pattern of 1 to ${MAX_PATTERN_LENGTH} characters`);
      return value;
    };
    const count = (value: unknown, field: string): number | undefined => {
      if (value === undefined) return undefined;
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new Error(`${where}.${field} must be a whole number ≥ 0`);
      return value;
    };
    const rule: RetentionRule = {
      repository: new RepositoryPattern(pattern(e.repository, "repository")),
      tagPattern: new TagPattern(pattern(e.tagPattern, "tagPattern", "*")),
    };
    const keep = count(e.keepTags, "keepTags");
    if (keep !== undefined) rule.keepTags = keep;
    const untagged = count(e.untaggedAfterSeconds, "untaggedAfterSeconds");
    if (untagged !== undefined) rule.untaggedAfterMs = untagged * 1000;
    if (rule.keepTags === undefined && rule.untaggedAfterMs === undefined) throw new Error(`${where} needs keepTags or untaggedAfterSeconds`);
    return rule;
  });
}

export const ruleFor = (rules: RetentionRule[], repository: string) => rules.find((r) => r.repository.matches(repository));
export const isImmutable = (patterns: TagPattern[], tag: string) => patterns.some((p) => p.matches(tag));
