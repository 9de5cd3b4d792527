// The local front of the workerd form (scripts/serve.mjs): the native HTTP server on PORT,
// forwarding each request to workerd. Bodies are paced (workerd's local HTTP server resets
// connections when a few dozen bodies stream in together); bodyless requests have a gate of
// their own, so they never wait behind stalled uploads. A queued request whose client has gone
// is dropped, never forwarded.
import { RegistryError } from "../../src/oci/errors";
import { serve, type HttpLimits, type RunningServer } from "../../src/runtimes/native/http";
import { Gate } from "./gate";
import { Upstream, UpstreamError } from "./upstream";

export interface FrontOptions {
  host: string;
  port: number;
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  limits?: Partial<HttpLimits>;
  /** workerd's HTTP address (loopback). */
  upstream: { host: string; port: number };
  /** Requests with a body in flight to workerd at once. */
  maxBodies: number;
  /** Requests without a body in flight to workerd at once. */
  maxBodyless: number;
}

export interface RunningFront extends RunningServer {
  /** Requests in flight and waiting, per gate (for tests and diagnostics). */
  stats(): { bodies: { inFlight: number; queued: number }; bodyless: { inFlight: number; queued: number } };
}

/** How long a 100-continue request waits for workerd to refuse before its body is sent. */
const CONTINUE_HOLD_MS = 200;

export async function startFront(options: FrontOptions): Promise<RunningFront> {
  const upstream = new Upstream(options.upstream.host, options.upstream.port);
  const bodies = new Gate(options.maxBodies);
  const bodyless = new Gate(options.maxBodyless);

  async function forward(request: Request, client: { address: string }): Promise<Response> {
    const url = new URL(request.url);
    const gate = request.body === null ? bodyless : bodies;
    const release = await gate.enter(request.signal);
    try {
      // Fields the client named in Connection are for this hop only (RFC 9110 7.6.1).
      const hopOnly = new Set((request.headers.get("connection") ?? "").split(",").map((s) => s.trim().toLowerCase()));
      const headers: [string, string][] = [];
      for (const [name, value] of request.headers) {
        // The peer address is the front's to say (rate limits key on it), never the client's.
        if (name !== "cf-connecting-ip" && name !== "host" && !hopOnly.has(name)) headers.push([name, value]);
      }
      headers.push(["Host", url.host], ["CF-Connecting-IP", client.address]);
      const declared = request.headers.get("content-length");
      const exchange = await upstream.send({
        method: request.method,
        path: url.pathname + url.search,
        headers,
        body: request.body,
        length: request.body === null ? 0 : declared === null ? -1 : Number(declared),
        ...(request.headers.get("expect")?.toLowerCase() === "100-continue" ? { holdBodyMs: CONTINUE_HOLD_MS } : {}),
        signal: request.signal,
      });
      void exchange.done.then(release);
      return exchange.response;
    } catch (err) {
      release();
      if (request.signal.aborted) throw err;
      const detail = err instanceof UpstreamError ? err.message : String(err);
      console.error(`front: ${request.method} ${url.pathname}: ${detail}`);
      return new RegistryError("UNSUPPORTED", "registry worker unreachable", { status: 502, detail }).toResponse(request.method);
    }
  }

  const server = await serve({
    host: options.host,
    port: options.port,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    handler: forward,
  });
  return {
    host: server.host,
    port: server.port,
    async close() {
      await server.close();
      upstream.close();
    },
    stats: () => ({
      bodies: { inFlight: bodies.inFlight, queued: bodies.queued },
      bodyless: { inFlight: bodyless.inFlight, queued: bodyless.queued },
    }),
  };
}

export { limitsFromSettings } from "../../src/runtimes/native/http";
// The workerd form reads its settings file by the same rules as the native runtimes.
export { readSettingsFile, unknownSettingNames, withLocalAuthDefaults } from "../../src/runtimes/native/settings";
export { CORE_SETTING_NAMES } from "../../src/settings";
