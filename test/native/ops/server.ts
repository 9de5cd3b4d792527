// Test entry for test/native/ops.test.ts (own tsconfig here: it imports the whole core next to node:): the native registry (createNativeRegistry) behind the
// native HTTP server, wired the way the real entry must wire operations: request log lines to
// stdout (stdoutLog), the metrics listener started by createNativeRegistry (METRICS_ADDRESS).
// Bundled by harness.ts and run on Node, Bun or Deno. Settings come from the environment.
// Prints "metrics <port>" (with METRICS_ADDRESS), then "listening <port>".
import { serve } from "../../../src/runtimes/native/http";
import { stdoutLog } from "../../../src/runtimes/native/ops";
import { createNativeRegistry } from "../../../src/runtimes/native/registry";

const env = process.env as Record<string, string>;
const log = stdoutLog();
const registry = await createNativeRegistry({ dataDir: env.DATA_DIR!, settings: env, log, durable: false });
const server = await serve({ host: env.HOST ?? "127.0.0.1", port: Number(env.PORT ?? 0), handler: registry.handle });
// The metrics line first: the test reads both once it sees "listening".
if (registry.metricsListener) console.log(`metrics ${registry.metricsListener.port}`);
console.log(`listening ${server.port}`);
const stop = async () => {
  await server.close();
  await registry.close();
  log.flush();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
