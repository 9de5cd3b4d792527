// Command-line flags of the load test: parsing, defaults and --help.

export const SCENARIOS = [
  "push-stream",
  "push-chunked",
  "pull",
  "pull-range",
  "small",
  "concurrent-push",
  "manifest-get",
  "manifest-head",
  "blob-head",
  "tags-list",
  "catalog",
  "mixed",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Names that stand for several scenarios. */
const GROUPS: Record<string, ScenarioName[]> = {
  all: [...SCENARIOS],
  large: ["push-stream", "push-chunked", "pull", "pull-range"],
  rates: ["manifest-get", "manifest-head", "blob-head", "tags-list", "catalog"],
};

export interface Options {
  url: string;
  compare: string | null;
  user: string | null;
  password: string | null;
  token: string | null;
  scenarios: ScenarioName[];
  /** Overrides of each scenario's own default (null: keep the default). */
  concurrency: number | null;
  count: number | null;
  size: number | null;
  chunkSize: number;
  rangeSize: number;
  smallSizes: number[];
  duration: number;
  rounds: number;
  repo: string;
  json: string | null;
  pid: number[] | null;
  comparePid: number[] | null;
  progress: boolean;
  keepAlive: boolean;
  help: boolean;
}

export const HELP = `Load test for an OCI / Docker registry over its HTTP API (no docker needed).

  npm run load-test -- --url http://127.0.0.1:5000 [--compare http://127.0.0.1:5001] [flags]

Target
  --url URL              registry to measure (required)
  --compare URL          a second registry: the same workload runs on both in alternation,
                         and the report gives each figure and the ratio url/compare
  --user NAME:PASSWORD   credentials: sent as Basic, or traded for a token when the registry
                         answers 401 with a Bearer challenge (Docker token flow)
  --token TOKEN          a bearer token to send as is
  --no-keep-alive        a new connection for every request (default: reuse them, as clients do)

Workload
  --scenarios LIST       comma-separated, default all; groups: all, large, rates
                           push-stream     push one large random layer in one streaming PATCH
                           push-chunked    the same in PATCHes of --chunk-size
                           pull            pull the large layer back whole, verifying the digest
                           pull-range      pull it in Range pieces of --range-size at
                                           concurrency c (c=4), verifying the digest
                           small           blobs of each --small-sizes pushed with a manifest,
                                           then pulled, at concurrency c (default c=8, count=16)
                           concurrent-push c pushes of distinct layers at once (c=32, count=32,
                                           size 64MiB)
                           manifest-get, manifest-head, blob-head, tags-list, catalog
                                           requests/s at concurrency c for --duration (c=16)
                           mixed           manifest GET/HEAD, blob HEAD, 1 MiB blob GET and small
                                           pushes in one stream, at concurrency c (c=16)
  --size BYTES           size of the large layer (default 1GiB) and of concurrent-push layers
  --chunk-size BYTES     PATCH size for push-chunked (default 64MiB)
  --range-size BYTES     piece size for pull-range (default 64MiB)
  --small-sizes LIST     blob sizes of the small scenario (default 1MiB,10MiB)
  --concurrency N        override every scenario's concurrency
  --count N              override every scenario's count (ops for small / concurrent-push)
  --duration SECONDS     length of each request-rate scenario (default 10)
  --rounds N             run each scenario N times per registry, alternating (default 1)
  --repo PREFIX          repository prefix (default loadtest); each run adds a unique suffix

Output
  --json FILE            also write every figure as JSON
  --pid PID[,PID]        registry process(es) whose resident memory (with children) is
                         sampled; found automatically when --url is a loopback address
  --compare-pid PID      the same for --compare
  --no-progress          no live progress line
  --help

Sizes take KiB/MiB/GiB suffixes (or KB/MB/GB). Errors are counted and reported per scenario;
the exit status is 2 when any request failed.`;

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`not a size: ${text}`);
  return Math.round(Number(m[1]) * unit);
}

export class UsageError extends Error {}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} needs a positive integer, got ${text}`);
  return n;
}

function pids(flag: string, text: string): number[] {
  return text.split(",").map((p) => positiveInt(flag, p));
}

function scenarioList(text: string): ScenarioName[] {
  const out = new Set<ScenarioName>();
  for (const name of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const group = GROUPS[name];
    if (group) group.forEach((s) => out.add(s));
    else if ((SCENARIOS as readonly string[]).includes(name)) out.add(name as ScenarioName);
    else throw new UsageError(`unknown scenario ${name} (known: ${SCENARIOS.join(", ")}, ${Object.keys(GROUPS).join(", ")})`);
  }
  if (out.size === 0) throw new UsageError("--scenarios is empty");
  // Run in the canonical order: pulls need the layer the pushes leave behind.
  return SCENARIOS.filter((s) => out.has(s));
}

function registryUrl(flag: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag} is not a URL: ${text}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`${flag} must be http(s): ${text}`);
  return url.origin + url.pathname.replace(/\/+$/, "").replace(/\/v2$/, "");
}

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    url: "",
    compare: null,
    user: null,
    password: null,
    token: null,
    scenarios: [...SCENARIOS],
    concurrency: null,
    count: null,
    size: null,
    chunkSize: 64 * 1024 ** 2,
    rangeSize: 64 * 1024 ** 2,
    smallSizes: [1024 ** 2, 10 * 1024 ** 2],
    duration: 10,
    rounds: 1,
    repo: "loadtest",
    json: null,
    pid: null,
    comparePid: null,
    progress: true,
    keepAlive: true,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--url": o.url = registryUrl(flag, value()); break;
      case "--compare": o.compare = registryUrl(flag, value()); break;
      case "--user": {
        const v = value();
        const colon = v.indexOf(":");
        if (colon < 1) throw new UsageError("--user needs NAME:PASSWORD");
        o.user = v.slice(0, colon);
        o.password = v.slice(colon + 1);
        break;
      }
      case "--token": o.token = value(); break;
      case "--scenarios": case "--scenario": o.scenarios = scenarioList(value()); break;
      case "--concurrency": case "-c": o.concurrency = positiveInt(flag, value()); break;
      case "--count": case "-n": o.count = positiveInt(flag, value()); break;
      case "--size": o.size = parseSize(value()); break;
      case "--chunk-size": o.chunkSize = parseSize(value()); break;
      case "--range-size": o.rangeSize = parseSize(value()); break;
      case "--small-sizes": o.smallSizes = value().split(",").map(parseSize); break;
      case "--duration": {
        const d = Number(value());
        if (!(d > 0)) throw new UsageError("--duration needs a positive number of seconds");
        o.duration = d;
        break;
      }
      case "--rounds": o.rounds = positiveInt(flag, value()); break;
      case "--repo": o.repo = value().replace(/\/+$/, ""); break;
      case "--json": o.json = value(); break;
      case "--pid": o.pid = pids(flag, value()); break;
      case "--compare-pid": o.comparePid = pids(flag, value()); break;
      case "--no-progress": o.progress = false; break;
      case "--no-keep-alive": o.keepAlive = false; break;
      case "--help": case "-h": o.help = true; break;
      default: throw new UsageError(`unknown flag ${arg} (see --help)`);
    }
  }
  if (!o.help && !o.url) throw new UsageError("--url is required (see --help)");
  if (o.chunkSize < 1 || o.rangeSize < 1 || o.smallSizes.some((s) => s < 1)) throw new UsageError("sizes must be positive");
  if (o.size !== null && o.size < 1) throw new UsageError("--size must be positive");
  return o;
}
