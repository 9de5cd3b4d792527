// A fault injector between a push client (or the push proxy) and the registry: it forwards HTTP
// requests, but a share of the requests that carry upload bytes (PATCH, and PUT with a body) are
// broken on purpose: answered 500 without being forwarded, cut off halfway (connection dropped
// on both sides), or stalled halfway (never answered, until the client gives up). The rest pass through untouched.
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Fault = "error" | "drop" | "stall";

export interface FaultInjector {
  readonly url: string;
  readonly host: string;
  readonly injected: Record<Fault, number>;
  /** Upload requests seen (faulty or not). */
  uploads: number;
  close(): Promise<void>;
}

export interface FaultOptions {
  upstream: string;
  /** Every `period`-th upload request (1st, period+1-th, …) is broken. */
  period: number;
  faults: Fault[];
}

function carriesUploadBytes(req: http.IncomingMessage): boolean {
  if (!/\/blobs\/uploads\//.test(req.url ?? "")) return false;
  if (req.method === "PATCH") return true;
  return req.method === "PUT" && Number(req.headers["content-length"] ?? 0) > 0;
}

export async function startFaultInjector(opts: FaultOptions): Promise<FaultInjector> {
  const upstream = new URL(opts.upstream);
  const injected: Record<Fault, number> = { error: 0, drop: 0, stall: 0 };
  const state = { uploads: 0 };
  const stalled = new Set<http.ServerResponse>();

  const server = http.createServer((req, res) => {
    let fault: Fault | null = null;
    if (carriesUploadBytes(req)) {
      const n = state.uploads++;
      if (n % opts.period === 0) fault = opts.faults[Math.floor(n / opts.period) % opts.faults.length]!;
    }
    if (fault) injected[fault]++;
    if (fault === "error") {
      req.resume();
      req.on("end", () => {
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ errors: [{ code: "UNKNOWN", message: "injected fault" }] }));
      });
      return;
    }
    const headers = { ...req.headers, host: upstream.host };
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    out.on("error", () => res.destroy());
    res.on("close", () => out.destroy());
    if (!fault) return void req.pipe(out);

    // drop / stall: forward about half of the body, then break.
    const half = Math.floor(Number(req.headers["content-length"] ?? 2 * 1024 * 1024) / 2);
    let sent = 0;
    req.on("data", (piece: Buffer) => {
      if (sent >= half) return;
      const take = piece.subarray(0, half - sent);
      sent += take.length;
      out.write(take);
      if (sent < half) return;
      if (fault === "drop") {
        out.destroy();
        req.socket.destroy();
      } else {
        // Stall: forward nothing more and never answer. The rest of the body is still read (and
        // dropped) so that the client giving up is noticed and the registry's request ends too.
        stalled.add(res);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    injected,
    get uploads() {
      return state.uploads;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of stalled) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
