// The metrics registry of src/extensions/ops/metrics.ts: the Prometheus text it writes (cumulative
// buckets, escaped labels), the counter API extensions call, and the names it refuses.
import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/extensions/ops/metrics";

const sample = (route: string, durationMs: number, status = 200) => ({ method: "GET", route, status, durationMs, bytesIn: 0, bytesOut: 10, authFailure: null });

describe("Metrics", () => {
  it("writes cumulative histogram buckets ending in +Inf = count", () => {
    const metrics = new Metrics();
    for (const ms of [0.5, 3, 3, 2000, 120_000]) metrics.request(sample("/v2", ms));
    const text = metrics.render();
    const bucket = (le: string) => Number(new RegExp(`registry_request_duration_seconds_bucket\\{route="/v2",le="${le.replace(/[.+]/g, "\\$&")}"\\} (\\d+)`).exec(text)![1]);
    expect(bucket("0.001")).toBe(1);
    expect(bucket("0.0025")).toBe(1);
    expect(bucket("0.005")).toBe(3);
    expect(bucket("2.5")).toBe(4);
    expect(bucket("60")).toBe(4);
    expect(bucket("+Inf")).toBe(5);
    expect(text).toContain('registry_request_duration_seconds_count{route="/v2"} 5');
    expect(text).toContain('registry_requests_total{method="GET",route="/v2",status="200"} 5');
    expect(text).toContain('registry_sent_bytes_total{route="/v2"} 50');
    expect(text).toContain("# TYPE registry_request_duration_seconds histogram");
  });

  it("counts by name for extensions; declared counters show at 0", () => {
    const metrics = new Metrics();
    expect(metrics.render()).toContain("registry_pull_through_hits_total 0");
    metrics.count("pull_through_hits");
    metrics.count("pull_through_hits", 2);
    metrics.count("gc_blobs_removed", 7);
    const text = metrics.render();
    expect(text).toContain("registry_pull_through_hits_total 3");
    expect(text).toContain("# TYPE registry_gc_blobs_removed_total counter");
    expect(text).toContain("registry_gc_blobs_removed_total 7");
  });

  it("refuses names that would break the format and counts that go down", () => {
    const metrics = new Metrics();
    for (const name of ["", "Pull", "a b", 'x"y', "x\ny", "9lives", "a".repeat(64)]) expect(() => metrics.count(name)).toThrow(/metric name/);
    expect(() => metrics.count("ok", -1)).toThrow(/only grows/);
    expect(() => metrics.count("ok", Number.NaN)).toThrow(/only grows/);
  });

  it("escapes label values and folds unknown methods into OTHER", () => {
    const metrics = new Metrics();
    metrics.request({ ...sample('we"ird\\route\n', 1), method: "BREW" });
    const text = metrics.render();
    expect(text).toContain('registry_requests_total{method="OTHER",route="we\\"ird\\\\route\\n",status="200"} 1');
    for (const line of text.split("\n")) expect(line).not.toMatch(/^[^#].*\r/);
  });

  it("leaves out a gauge that cannot be read instead of reporting it wrong", () => {
    const metrics = new Metrics();
    metrics.gauge("ok_gauge", "fine", () => 4);
    metrics.gauge("broken_gauge", "fails", () => {
      throw new Error("database closed");
    });
    const text = metrics.render();
    expect(text).toContain("registry_ok_gauge 4");
    expect(text).not.toContain("registry_broken_gauge");
  });
});
