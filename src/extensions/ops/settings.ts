// The operations settings (LOG_LEVEL, METRICS_ADDRESS, METRICS_GROUP), checked at startup: a
// value that cannot be right stops the registry with a message naming the setting.
import { parseLogLevel, type LogLevel } from "./log";

export interface OperationsSettings {
  logLevel: LogLevel;
  /** host and port of a second listener serving only /metrics; null: none. */
  metricsAddress: { host: string; port: number } | null;
  /** Callers in this group may scrape /metrics on the registry's own port. */
  metricsGroup: string;
}

export interface OperationsEnv {
  LOG_LEVEL?: string;
  METRICS_ADDRESS?: string;
  METRICS_GROUP?: string;
}

export function operationsSettings(env: OperationsEnv): OperationsSettings {
  return {
    logLevel: parseLogLevel(env.LOG_LEVEL),
    metricsAddress: parseAddress(env.METRICS_ADDRESS),
    metricsGroup: parseGroup(env.METRICS_GROUP),
  };
}

/** "127.0.0.1:9090", "[::1]:9090", "localhost:9090"; port 0 picks a free one. */
function parseAddress(raw: string | undefined): OperationsSettings["metricsAddress"] {
  if (raw === undefined || raw.trim() === "") return null;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(`METRICS_ADDRESS must be host:port (e.g. 127.0.0.1:9090 or [::1]:9090), got ${JSON.stringify(raw.slice(0, 80))}`);
  }
  return { host: m[1] ?? m[2]!, port };
}

function parseGroup(raw: string | undefined): string {
  if (raw === undefined || raw === "") return "metrics";
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(raw)) throw new Error(`METRICS_GROUP must be a group name (letters, digits, . _ -), got ${JSON.stringify(raw.slice(0, 80))}`);
  return raw;
}
