// The operations extension (src/extensions/ops/) on Bun, Deno and Node: request log lines on
// stdout, metrics kept in this process, a readiness probe of the data directory, and the optional
// metrics-only listener (METRICS_ADDRESS).
import * as fs from "node:fs";
import path from "node:path";
import { metricsOnlyHandler, type LogEntry, type LogSink, type Metrics } from "../../extensions/ops";
import { serve, type RunningServer } from "./http";
import type { SessionDatabase } from "./session-db";

/** Log text waiting for a slow reader of stdout beyond this is dropped (and counted), never piled up in memory. */
export const MAX_PENDING_LOG_BYTES = 8 * 1024 * 1024;

/**
 * A LogSink writing one JSON line per entry to stdout. Lines written in one turn of the event loop
 * leave in one write (thousands of small requests a second would otherwise cost a syscall each);
 * whatever is pending is written before the process exits. When the reader of stdout falls behind
 * by more than MAX_PENDING_LOG_BYTES, lines are dropped and a line saying how many follows once it
 * catches up: the log never stalls requests or grows the heap without bound.
 */
export function stdoutLog(out: NodeJS.WritableStream & { writableLength?: number } = process.stdout): LogSink & { flush(): void } {
  let pending: string[] = [];
  let scheduled = false;
  let dropped = 0;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    if ((out.writableLength ?? 0) > MAX_PENDING_LOG_BYTES) {
      dropped += pending.length;
      pending = [];
      return;
    }
    if (dropped > 0) {
      pending.push(JSON.stringify({ time: new Date().toISOString(), level: "error", msg: "log lines dropped: stdout is read too slowly", count: dropped }) + "\n");
      dropped = 0;
    }
    const text = pending.join("");
    pending = [];
    out.write(text);
  };
  process.once("exit", flush);
  const sink = (entry: LogEntry) => {
    pending.push(JSON.stringify(entry) + "\n");
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return Object.assign(sink, { flush });
}

let probes = 0;

/**
 * Readiness on the filesystem: the objects directory is there, the data directory takes a file
 * (not full, not read-only, not removed under us), and the session database answers. Writes no fsync.
 */
export function dataDirProbe(dataDir: string, objectsDir: string, database: SessionDatabase): () => Promise<void> {
  return async () => {
    const objects = await fs.promises.stat(objectsDir);
    if (!objects.isDirectory()) throw new Error(`${objectsDir} is not a directory`);
    const probe = path.join(dataDir, `.ready-probe-${process.pid}-${++probes}`);
    await fs.promises.writeFile(probe, "");
    await fs.promises.unlink(probe);
    database.ping();
  };
}

/** The second listener of METRICS_ADDRESS: /metrics only, without auth (the address is the protection). */
export function startMetricsListener(address: { host: string; port: number }, metrics: Metrics): Promise<RunningServer> {
  return serve({ host: address.host, port: address.port, handler: metricsOnlyHandler(metrics) });
}
