// serve(): one HTTP/1.1 server on node:net / node:tls, the same on Node, Bun and Deno. With
// `tls`, the same port speaks HTTPS and HTTP (the first byte tells: 0x16 opens a TLS handshake).
import net, { type Socket } from "node:net";
import tls from "node:tls";
import { clearInterval, setInterval } from "node:timers";
import { Connection, type ConnectionHost } from "./connection";
import { CLOSE_GRACE_MS, LINGER_MS, resolveLimits, type HttpLimits } from "./limits";

export interface ServeOptions {
  host: string;
  /** 0 picks a free port (see RunningServer.port). */
  port: number;
  /** PEM certificate chain and key: the port then serves HTTPS as well as HTTP. */
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  limits?: Partial<HttpLimits>;
  handler(request: Request, client: ClientConnection): Promise<Response>;
}

/** Who sent a request, as the server knows it. */
export interface ClientConnection {
  address: string;
  /** Request body bytes received so far (0 without a body): what a request log counts as bytes in. */
  receivedBytes(): number;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  /** Stops accepting, closes idle connections, lets requests in progress finish (at most CLOSE_GRACE_MS). */
  close(): Promise<void>;
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const limits = resolveLimits(options.limits);
  const secureContext = options.tls
    ? tls.createSecureContext({ cert: pem(options.tls.cert), key: pem(options.tls.key) })
    : null;
  const connections = new Set<Connection>();
  let open = true;
  let listenPort = options.port;

  const host: ConnectionHost = {
    limits,
    get open() {
      return open;
    },
    handler: options.handler,
    defaultAuthority(socket) {
      return authority(isWildcard(options.host) ? (socket.localAddress ?? "localhost") : options.host, listenPort);
    },
    forget(connection) {
      connections.delete(connection);
      if (!open && connections.size === 0) allClosed?.();
    },
  };

  const upgrade =
    secureContext === null
      ? null
      : (raw: Socket, first: Buffer): Socket => {
          raw.pause();
          raw.unshift(first);
          return new tls.TLSSocket(raw, { isServer: true, secureContext });
        };

  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    if (!open) return void socket.destroy();
    connections.add(new Connection(socket, host, upgrade));
  });

  // One clock for every deadline of every connection, instead of timers per request.
  const tickMs = Math.max(10, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.bodyIdleTimeoutMs, limits.responseIdleTimeoutMs, limits.keepAliveTimeoutMs, LINGER_MS) / 5)));
  const clock = setInterval(() => {
    const now = Date.now();
    for (const connection of connections) connection.tick(now);
  }, tickMs);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((err) => {
    clearInterval(clock);
    throw err;
  });
  const address = server.address();
  listenPort = typeof address === "object" && address !== null ? address.port : options.port;

  let allClosed: (() => void) | null = null;
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      open = false;
      let grace: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(grace);
        clearInterval(clock);
        resolve();
      };
      server.close();
      for (const connection of connections) connection.shutdown();
      if (connections.size === 0) return finish();
      allClosed = finish;
      grace = setTimeout(() => {
        for (const connection of connections) connection.destroy();
        finish();
      }, CLOSE_GRACE_MS);
    }));

  return { host: options.host, port: listenPort, close };
}

function pem(value: string | Uint8Array): string | Buffer {
  return typeof value === "string" ? value : Buffer.from(value);
}

function isWildcard(host: string): boolean {
  return host === "" || host === "0.0.0.0" || host === "::" || host === "[::]";
}

function authority(host: string, port: number): string {
  const bare = host.startsWith("[") ? host : host.includes(":") ? `[${host}]` : host;
  return `${bare}:${port}`;
}
