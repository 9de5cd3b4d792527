// A self-hosted registry process: settings, the registry on its data directory, the HTTP server,
// one startup line, and a clean stop on SIGINT/SIGTERM. Each runtime's entry (src/runtimes/<name>/main.ts)
// calls startNativeRegistry with its name; everything else is the same on Bun, Deno and Node.
import process from "node:process";
import { limitsFromSettings, serve } from "./http";
import { stdoutLog } from "./ops";
import type { RangeReader } from "./fs-store";
import { createNativeRegistry } from "./registry";
import { readProcessSettings } from "./settings";

export interface RuntimeInfo {
  name: "bun" | "deno" | "node";
  version: string;
  /** The runtime's faster way to stream file ranges, where it has one (Bun). */
  readRange?: RangeReader;
}

function fail(message: string): never {
  console.error(`registry: ${message}`);
  process.exit(1);
  throw new Error(message); // not reached; tells the compiler so
}

/**
 * Started by scripts/start.mjs (REGISTRY_LAUNCHER_PID): stop when the launcher is gone, e.g. killed with
 * SIGKILL, which it cannot pass on, so that no orphan keeps serving the port and holding the data directory.
 */
function watchLauncher(stop: () => Promise<void>): void {
  const launcher = Number(process.env.REGISTRY_LAUNCHER_PID);
  if (!Number.isInteger(launcher) || launcher <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid !== launcher) void stop();
  }, 1000);
  timer.unref();
}

export async function startNativeRegistry(runtime: RuntimeInfo): Promise<void> {
  let config: ReturnType<typeof readProcessSettings>;
  let limits: ReturnType<typeof limitsFromSettings>;
  try {
    config = readProcessSettings(process.env, process.cwd());
    limits = limitsFromSettings(config.settings);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const { settings, host, port, dataDir, tls } = config;
  if (config.unknown.length > 0) {
    console.error(`registry: ignoring unknown setting${config.unknown.length > 1 ? "s" : ""} ${config.unknown.join(", ")} (names are listed in the README)`);
  }

  // One JSON line per request on stdout (LOG_LEVEL); the startup line comes before them.
  const log = stdoutLog();
  let registry: Awaited<ReturnType<typeof createNativeRegistry>>;
  try {
    registry = await createNativeRegistry({ dataDir, settings, log, readRange: runtime.readRange });
  } catch (err) {
    fail((err as Error).message);
  }
  if (registry.authMode === "refusing") {
    await registry.close();
    fail("the auth settings cannot work (see the line above); nothing was started");
  }

  let server: Awaited<ReturnType<typeof serve>>;
  try {
    server = await serve({ host, port, ...(tls ? { tls } : {}), limits, handler: (request, client) => registry.handle(request, client) });
  } catch (err) {
    await registry.close();
    fail(`cannot listen on ${host}:${port}: ${(err as Error).message}`);
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await registry.close();
    log.flush();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  watchLauncher(stop);

  const shownHost = host.includes(":") ? `[${host}]` : host;
  const scheme = tls ? "http and https" : "http";
  const limit = settings.MAX_REQUEST_BODY_BYTES ? `${settings.MAX_REQUEST_BODY_BYTES} bytes` : "none";
  const file = config.file ?? "environment only";
  const metrics = registry.metricsListener ? `; metrics on http://${registry.metricsListener.host}:${registry.metricsListener.port}/metrics` : "";
  console.log(
    `registry listening on http://${shownHost}:${server.port} (${scheme}; runtime ${runtime.name} ${runtime.version}; ` +
      `auth ${registry.authMode}; data in ${dataDir}; body limit ${limit}; settings from ${file}${metrics})`,
  );
}
