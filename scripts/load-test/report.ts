// What the user reads: a live progress line while scenarios run, then a table per registry and,
// with --compare, the ratios.
import type { Live } from "./scenarios.ts";
import type { Row } from "./stats.ts";

export function formatBytes(n: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= size && n % (size / 1024) === 0) return `${+(n / size).toFixed(2)}${unit}`;
  }
  return `${n}B`;
}

const fixed = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? "-" : v.toFixed(digits));

/** A plain-text table with right-aligned numbers; the first column is left-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function resultTable(rows: Row[]): string {
  return table(
    ["scenario", "ops", "errors", "MB/s", "req/s", "p50 ms", "p90 ms", "p99 ms", "time s", "peak RSS MiB", "RSS growth MiB"],
    rows.map((r) => [
      r.scenario,
      String(r.ops),
      String(r.errors),
      fixed(r.mbPerSecond),
      fixed(r.requestsPerSecond),
      fixed(r.latencyMs?.p50, 2),
      fixed(r.latencyMs?.p90, 2),
      fixed(r.latencyMs?.p99, 2),
      fixed(r.seconds, 2),
      fixed(r.peakRssMiB),
      fixed(r.rssGrowthMiB),
    ]),
  );
}

export interface Ratio {
  scenario: string;
  metric: string;
  url: number;
  compare: number;
  /** url / compare: above 1 means --url is faster (more MB/s or req/s, or less time). */
  ratio: number;
}

/** For each row run on both registries: its headline figure on each side and their ratio. */
export function ratios(rows: Row[]): Ratio[] {
  const out: Ratio[] = [];
  for (const a of rows.filter((r) => r.target === "url")) {
    const b = rows.find((r) => r.target === "compare" && r.scenario === a.scenario);
    if (!b) continue;
    const bytes = a.mbPerSecond !== null && b.mbPerSecond !== null;
    const [metric, x, y] = bytes ? ["MB/s", a.mbPerSecond!, b.mbPerSecond!] : ["req/s", a.requestsPerSecond, b.requestsPerSecond];
    out.push({ scenario: a.scenario, metric, url: x, compare: y, ratio: y > 0 ? Math.round((x / y) * 100) / 100 : NaN });
    if (a.peakRssMiB !== null && b.peakRssMiB !== null) {
      // Memory: lower is better, so the ratio is inverted to keep "above 1 = --url better".
      out.push({ scenario: a.scenario, metric: "peak RSS MiB", url: a.peakRssMiB, compare: b.peakRssMiB, ratio: Math.round((b.peakRssMiB / a.peakRssMiB) * 100) / 100 });
    }
  }
  return out;
}

export function ratioTable(list: Ratio[]): string {
  return table(
    ["scenario", "metric", "url", "compare", "url vs compare"],
    list.map((r) => [r.scenario, r.metric, fixed(r.url), fixed(r.compare), Number.isNaN(r.ratio) ? "-" : `${r.ratio.toFixed(2)}x`]),
  );
}

export function errorReport(rows: Row[]): string {
  const failing = rows.filter((r) => r.errors > 0);
  if (failing.length === 0) return "errors: none";
  return [
    `errors: ${failing.reduce((n, r) => n + r.errors, 0)} in ${failing.length} scenario(s)`,
    ...failing.flatMap((r) => [`  ${r.target} ${r.scenario}: ${r.errors}`, ...r.errorSamples.map((m) => `    - ${m}`)]),
  ].join("\n");
}

/**
 * One status line on stderr: redrawn in place on a terminal, otherwise printed every 10 s
 * so logs of long runs still show that something moves.
 */
export class Progress {
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly enabled: boolean;
  private timer: NodeJS.Timeout | null = null;
  private live: Live | null = null;
  private target = "";
  private startedAt = 0;
  private lastPlain = 0;

  constructor(enabled: boolean) {
    this.enabled = enabled;
  }

  watch(target: string, live: Live): void {
    this.target = target;
    this.live = live;
    this.startedAt = performance.now();
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => this.draw(), this.tty ? 250 : 1000);
    this.timer.unref();
  }

  /** Prints a line above the status line. */
  print(text: string): void {
    if (this.tty && this.enabled) process.stderr.write("\r\x1b[2K");
    console.log(text);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty && this.enabled) process.stderr.write("\r\x1b[2K");
  }

  private draw(): void {
    const live = this.live;
    if (!live) return;
    const seconds = (performance.now() - this.startedAt) / 1000;
    const rec = live.recorder;
    const parts = [`[${this.target}] ${live.label}`];
    if (rec) parts.push(`ops ${rec.ops}${live.totalOps ? `/${live.totalOps}` : ""}`, `errors ${rec.errors}`);
    if (live.moved > 0) parts.push(`${(live.moved / 1e6).toFixed(0)} MB, ${(live.moved / 1e6 / seconds).toFixed(1)} MB/s`);
    parts.push(`${seconds.toFixed(0)} s`);
    const line = parts.join(" | ");
    if (this.tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else if (performance.now() - this.lastPlain >= 10_000) {
      this.lastPlain = performance.now();
      process.stderr.write(`${line}\n`);
    }
  }
}
