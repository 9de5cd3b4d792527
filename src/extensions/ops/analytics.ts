// Metrics on Workers: each isolate is short-lived and one of many, so counts kept in memory mean
// nothing; each request becomes one Workers Analytics Engine data point instead (optional binding
// OPS_ANALYTICS), queried with SQL. Layout of a request point:
//   index1 = route pattern; blob1 = route, blob2 = method, blob3 = status, blob4 = auth failure reason or ""
//   double1 = duration ms, double2 = bytes in, double3 = bytes out (0 when unknown)
// A named counter (count("pull_through_hits")): index1 = name, blob1 = "counter", blob2 = name, double1 = n.
import type { MetricsRecorder, RequestSample } from "./metrics";

/** The part of an Analytics Engine dataset binding used here. */
export interface AnalyticsDataset {
  writeDataPoint(point: { indexes?: string[]; blobs?: string[]; doubles?: number[] }): void;
}

export function analyticsRecorder(dataset: AnalyticsDataset): MetricsRecorder {
  return {
    request(sample: RequestSample) {
      dataset.writeDataPoint({
        indexes: [sample.route],
        blobs: [sample.route, sample.method, String(sample.status), sample.authFailure ?? ""],
        doubles: [sample.durationMs, sample.bytesIn ?? 0, sample.bytesOut ?? 0],
      });
    },
    count(name: string, n = 1) {
      dataset.writeDataPoint({ indexes: [name], blobs: ["counter", name], doubles: [n] });
    },
  };
}
