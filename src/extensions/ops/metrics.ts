// Counts kept in this process and written in the Prometheus text format (version 0.0.4) on native
// runtimes; on Workers the same samples go to Workers Analytics Engine instead (analytics.ts).
// Labels are bounded: route patterns, known methods, status codes, fixed reasons; never a
// repository name, reference or user.

/** One answered request, as metrics see it. */
export interface RequestSample {
  method: string;
  route: string;
  status: number;
  durationMs: number;
  bytesIn: number | null;
  bytesOut: number | null;
  /** Set when the request was refused by the auth layer. */
  authFailure: AuthFailureReason | null;
}

/** 401 with credentials that did not verify; 401 asking for credentials; 403; 429 (failed-login limit). */
export type AuthFailureReason = "invalid_credentials" | "credentials_required" | "denied" | "rate_limited";

/** What the request observer and extensions report to; implemented here and by the Analytics Engine writer. */
export interface MetricsRecorder {
  request(sample: RequestSample): void;
  /** Adds `n` to a named counter (exposed as registry_<name>_total), e.g. count("pull_through_hits"). */
  count(name: string, n?: number): void;
}

/** Upper bounds of the latency histogram, in seconds. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const COUNTER_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** Counters other parts call by name, declared so that they show (at 0) before the first count. */
const DECLARED_COUNTERS: Record<string, string> = {
  pull_through_hits: "Pull-through cache: requests answered from the local copy.",
  pull_through_misses: "Pull-through cache: requests fetched from the upstream registry.",
};

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export class Metrics implements MetricsRecorder {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private readonly bytesIn = new Map<string, number>();
  private readonly bytesOut = new Map<string, number>();
  private readonly authFailures = new Map<AuthFailureReason, number>();
  private readonly counters = new Map<string, { help: string; value: number }>();
  private readonly gauges: { name: string; help: string; read: () => number }[] = [];

  constructor() {
    for (const [name, help] of Object.entries(DECLARED_COUNTERS)) this.counters.set(name, { help, value: 0 });
  }

  request(sample: RequestSample): void {
    const method = KNOWN_METHODS.has(sample.method) ? sample.method : "OTHER";
    // Route last: method and status hold no space, so the key splits back exactly whatever the route holds.
    const key = `${method} ${sample.status} ${sample.route}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let histogram = this.durations.get(sample.route);
    if (histogram === undefined) {
      histogram = { buckets: new Array<number>(DURATION_BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.durations.set(sample.route, histogram);
    }
    const seconds = sample.durationMs / 1000;
    // Each observation lands in its own bucket; render() sums them into cumulative counts.
    const bucket = DURATION_BUCKETS.findIndex((le) => seconds <= le);
    if (bucket !== -1) histogram.buckets[bucket]! += 1;
    histogram.sum += seconds;
    histogram.count += 1;
    if (sample.bytesIn) this.bytesIn.set(sample.route, (this.bytesIn.get(sample.route) ?? 0) + sample.bytesIn);
    if (sample.bytesOut) this.bytesOut.set(sample.route, (this.bytesOut.get(sample.route) ?? 0) + sample.bytesOut);
    if (sample.authFailure) this.authFailures.set(sample.authFailure, (this.authFailures.get(sample.authFailure) ?? 0) + 1);
  }

  count(name: string, n = 1): void {
    if (!COUNTER_NAME.test(name)) throw new Error(`metric name must match ${COUNTER_NAME}, got ${JSON.stringify(name)}`);
    if (!(Number.isFinite(n) && n >= 0)) throw new Error(`a counter only grows: got ${n} for ${name}`);
    const counter = this.counters.get(name);
    if (counter) counter.value += n;
    else this.counters.set(name, { help: `Counted by an extension (${name}).`, value: n });
  }

  /** A value read at each scrape (e.g. open upload sessions). */
  gauge(name: string, help: string, read: () => number): void {
    if (!COUNTER_NAME.test(name)) throw new Error(`metric name must match ${COUNTER_NAME}, got ${JSON.stringify(name)}`);
    this.gauges.push({ name: `registry_${name}`, help, read });
  }

  /** The Prometheus text exposition of everything counted so far. */
  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family("registry_requests_total", "counter", "Requests answered, by method, route pattern and status.");
    for (const [key, value] of this.requests) {
      const first = key.indexOf(" ");
      const second = key.indexOf(" ", first + 1);
      const [method, status, route] = [key.slice(0, first), key.slice(first + 1, second), key.slice(second + 1)];
      out.push(`registry_requests_total{method="${method}",route="${label(route)}",status="${status}"} ${value}`);
    }

    family("registry_request_duration_seconds", "histogram", "Time until the response head was ready, by route pattern.");
    for (const [route, h] of this.durations) {
      const r = label(route);
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += h.buckets[i]!;
        out.push(`registry_request_duration_seconds_bucket{route="${r}",le="${le}"} ${cumulative}`);
      });
      out.push(`registry_request_duration_seconds_bucket{route="${r}",le="+Inf"} ${h.count}`);
      out.push(`registry_request_duration_seconds_sum{route="${r}"} ${h.sum}`);
      out.push(`registry_request_duration_seconds_count{route="${r}"} ${h.count}`);
    }

    family("registry_received_bytes_total", "counter", "Request body bytes received, by route pattern.");
    for (const [route, value] of this.bytesIn) out.push(`registry_received_bytes_total{route="${label(route)}"} ${value}`);
    family("registry_sent_bytes_total", "counter", "Response body bytes (by Content-Length), by route pattern.");
    for (const [route, value] of this.bytesOut) out.push(`registry_sent_bytes_total{route="${label(route)}"} ${value}`);

    family("registry_auth_failures_total", "counter", "Requests refused by the auth layer, by reason.");
    for (const [reason, value] of this.authFailures) out.push(`registry_auth_failures_total{reason="${reason}"} ${value}`);

    for (const [name, { help, value }] of this.counters) {
      family(`registry_${name}_total`, "counter", help);
      out.push(`registry_${name}_total ${value}`);
    }
    for (const gauge of this.gauges) {
      let value: number;
      try {
        value = gauge.read();
      } catch {
        continue; // a gauge that cannot be read now is left out rather than reported wrong
      }
      family(gauge.name, "gauge", gauge.help);
      out.push(`${gauge.name} ${value}`);
    }
    return out.join("\n") + "\n";
  }
}

/** A label value as the text format wants it: backslash, quote and newline escaped. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
