// Trivial servers for scripts/bench-http.mjs: SERVER=native runs src/runtimes/native/http; SERVER=builtin
// runs the runtime's own (node:http, Bun.serve, Deno.serve). Prints "listening <port>".
//   GET /    -> "ok"      GET /1m -> a 1 MiB body      PUT /sink -> reads the body, "ok"
import http from "node:http";
import { serve } from "../../src/runtimes/native/http";

const MIB = new Uint8Array(1024 * 1024).fill(97);
const host = process.env.HOST ?? "127.0.0.1";
type Handler = (request: Request) => Promise<Response>;
const handler: Handler = async (request) => {
  if (request.body !== null) {
    const reader = request.body.getReader();
    while (!(await reader.read()).done);
  }
  return request.url.endsWith("/1m") ? new Response(MIB) : new Response("ok");
};

declare const Bun: { serve(options: { hostname: string; port: number; fetch: Handler }): { port: number } } | undefined;
declare const Deno: { serve(options: { hostname: string; port: number; onListen(addr: { port: number }): void }, handler: Handler): unknown } | undefined;

if (process.env.SERVER === "builtin") {
  if (typeof Bun !== "undefined") {
    console.log(`listening ${Bun.serve({ hostname: host, port: 0, fetch: handler }).port}`);
  } else if (typeof Deno !== "undefined") {
    Deno.serve({ hostname: host, port: 0, onListen: ({ port }) => console.log(`listening ${port}`) }, handler);
  } else {
    const buffer = Buffer.from(MIB);
    const server = http.createServer((req, res) => {
      req.on("data", () => {});
      req.on("end", () => res.end(req.url === "/1m" ? buffer : "ok"));
    });
    server.listen(0, host, () => console.log(`listening ${(server.address() as { port: number }).port}`));
  }
} else {
  const server = await serve({ host, port: 0, handler });
  console.log(`listening ${server.port}`);
}

process.on("SIGINT", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
