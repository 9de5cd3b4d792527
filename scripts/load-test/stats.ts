// What one scenario measured on one registry: operations, errors, bytes, latencies.

export interface Row {
  scenario: string;
  /** Which registry: "url" or "compare". */
  target: string;
  ops: number;
  errors: number;
  /** First few distinct error messages, so failures are visible, not just counted. */
  errorSamples: string[];
  bytes: number;
  seconds: number;
  mbPerSecond: number | null;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
  peakRssMiB: number | null;
  /** Peak minus the RSS when the scenario started: what the scenario itself made the registry hold. */
  rssGrowthMiB: number | null;
}

const MAX_SAMPLES = 5;

export class Recorder {
  ops = 0;
  errors = 0;
  bytes = 0;
  readonly errorSamples: string[] = [];
  private readonly latencies: number[] = [];
  /** Seconds measured in finished runs (a scenario may run in several rounds). */
  private measured = 0;
  private started: number | null = null;
  /** Whether throughput in MB/s means something here (bytes moved are the point). */
  readonly measuresBytes: boolean;

  constructor(measuresBytes: boolean) {
    this.measuresBytes = measuresBytes;
  }

  /** Starts the clock: only the time between begin() and end() counts. */
  begin(): void {
    this.started = performance.now();
  }

  end(): void {
    if (this.started !== null) this.measured += (performance.now() - this.started) / 1000;
    this.started = null;
  }

  /** Times one operation; a thrown error counts as a failed operation and is not rethrown. */
  async time(work: () => Promise<number>): Promise<boolean> {
    const t0 = performance.now();
    try {
      const bytes = await work();
      this.latencies.push(performance.now() - t0);
      this.ops += 1;
      this.bytes += bytes;
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  fail(err: unknown): void {
    this.errors += 1;
    const message = err instanceof Error ? err.message : String(err);
    if (this.errorSamples.length < MAX_SAMPLES && !this.errorSamples.includes(message)) this.errorSamples.push(message);
  }

  elapsedSeconds(): number {
    return this.measured + (this.started === null ? 0 : (performance.now() - this.started) / 1000);
  }

  row(scenario: string, target: string, rss: { peak: number; growth: number } | null): Row {
    const seconds = this.elapsedSeconds();
    return {
      scenario,
      target,
      ops: this.ops,
      errors: this.errors,
      errorSamples: this.errorSamples,
      bytes: this.bytes,
      seconds: round(seconds, 3),
      mbPerSecond: this.measuresBytes && seconds > 0 ? round(this.bytes / 1e6 / seconds, 1) : null,
      requestsPerSecond: seconds > 0 ? round(this.ops / seconds, 1) : 0,
      latencyMs: latencySummary(this.latencies),
      peakRssMiB: rss === null ? null : round(rss.peak / 1024 ** 2, 1),
      rssGrowthMiB: rss === null ? null : round(rss.growth / 1024 ** 2, 1),
    };
  }
}

function latencySummary(values: number[]): Row["latencyMs"] {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!, 2);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(sorted[sorted.length - 1]!, 2) };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs `work` on `concurrency` workers until `count` operations have been started. */
export async function runCount(concurrency: number, count: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Runs `work` on `concurrency` workers until `seconds` have passed. */
export async function runFor(concurrency: number, seconds: number, work: (i: number) => Promise<void>): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline) await work(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
