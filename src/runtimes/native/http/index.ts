// The native runtimes' HTTP/1.1 server (Node, Bun, Deno): see server.ts.
export { serve, type ClientConnection, type RunningServer, type ServeOptions } from "./server";
export { DEFAULT_LIMITS, LIMIT_SETTINGS, limitsFromSettings, type HttpLimits } from "./limits";
