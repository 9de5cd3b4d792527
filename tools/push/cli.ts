// Command line: `registry-push push <source> <destination>` and `registry-push proxy --upstream <url>`.
//   npm run push -- oci:./layout:v1 registry.example.com/app:v1
//   npm run push-proxy -- --upstream https://registry.example.com --listen 127.0.0.1:5001
import { parseArgs } from "node:util";
import { startPushProxy } from "./proxy.ts";
import { createProgress, mib } from "./progress.ts";
import { pushImage } from "./push.ts";
import { Registry, type Credentials } from "./registry.ts";
import { openSource } from "./sources.ts";
import { SessionStore, defaultStateFile } from "./state.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./upload.ts";

const MiB = 1024 * 1024;

const USAGE = `usage:
  registry-push push [options] <source> <destination>
      <source>       oci:<dir>[:tag] | docker-archive:<file>[:image] | docker-daemon:<image>
                     (a bare directory is an OCI layout, a bare file a docker archive)
      <destination>  [http://|https://]host[:port]/name[:tag]  (http is the default for localhost)
      --jobs N          layers uploaded in parallel (default 3)
      --mount-from R    repository on the same registry to mount existing blobs from
      --state-file F    where unfinished sessions are remembered (default ${defaultStateFile()})
      --quiet           no progress, only errors and the pushed reference
  registry-push proxy --upstream <url> [--listen host:port] [options]
      then: docker push <listen>/name:tag (default listen 127.0.0.1:5001)
  common options:
      --user U[:P]      credentials (or REGISTRY_USER / REGISTRY_PASSWORD); the password may be a JWT
      --chunk-size MiB  upload chunk size, capped by the registry's OCI-Chunk-Max-Length (default 64)
      --retries N       failed attempts in a row per chunk before giving up (default ${DEFAULT_RETRY.attempts})
      --timeout S       seconds without progress before a request counts as failed (default 60)
      --plain-http      use http:// for a destination without a scheme`;

const options = {
  user: { type: "string" },
  "chunk-size": { type: "string" },
  retries: { type: "string" },
  timeout: { type: "string" },
  "plain-http": { type: "boolean" },
  jobs: { type: "string" },
  "mount-from": { type: "string" },
  "state-file": { type: "string" },
  quiet: { type: "boolean", short: "q" },
  upstream: { type: "string" },
  listen: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>["values"];

class UsageError extends Error {}

function numberOption(values: Values, name: keyof Values, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got ${raw}`);
  return n;
}

function credentials(values: Values): Credentials | undefined {
  const user = values.user ?? process.env.REGISTRY_USER;
  if (!user) return undefined;
  const colon = user.indexOf(":");
  if (colon >= 0) return { username: user.slice(0, colon), password: user.slice(colon + 1) };
  const password = process.env.REGISTRY_PASSWORD;
  if (password === undefined) throw new UsageError(`no password for ${user}: use --user ${user}:<password> or REGISTRY_PASSWORD`);
  return { username: user, password };
}

function retryPolicy(values: Values): RetryPolicy {
  return { ...DEFAULT_RETRY, attempts: numberOption(values, "retries", DEFAULT_RETRY.attempts) };
}

/** "host[:port]/name[:tag]" with an optional scheme → registry URL, repository, tag. */
function parseDestination(dest: string, plainHttp: boolean): { base: string; name: string; tag: string | null } {
  const m = /^(?:(https?):\/\/)?([^/]+)\/(.+)$/.exec(dest);
  if (!m) throw new UsageError(`destination must look like host[:port]/name[:tag], got ${dest}`);
  const [, scheme, host, path] = m as unknown as [string, string | undefined, string, string];
  const local = /^(localhost|127\.[\d.]+|\[::1\])(:\d+)?$/.test(host);
  const tagAt = path.lastIndexOf(":");
  const name = tagAt > path.lastIndexOf("/") && tagAt >= 0 ? path.slice(0, tagAt) : path;
  const tag = name === path ? null : path.slice(tagAt + 1);
  return { base: `${scheme ?? (plainHttp || local ? "http" : "https")}://${host}`, name, tag };
}

async function push(values: Values, positionals: string[]): Promise<void> {
  if (positionals.length !== 2) throw new UsageError("push needs <source> and <destination>");
  const [sourceSpec, destSpec] = positionals as [string, string];
  const dest = parseDestination(destSpec, values["plain-http"] ?? false);
  const idleTimeoutMs = numberOption(values, "timeout", 60) * 1000;
  const registry = new Registry(dest.base, { credentials: credentials(values), idleTimeoutMs });
  const source = await openSource(sourceSpec);
  const mode = values.quiet ? "quiet" : process.stderr.isTTY ? "tty" : "lines";
  const progress = createProgress(mode);
  const started = Date.now();
  try {
    const tag = dest.tag ?? source.tag ?? "latest";
    const result = await pushImage(source, { registry, name: dest.name, tag }, {
      chunkSize: numberOption(values, "chunk-size", 64) * MiB,
      jobs: numberOption(values, "jobs", 3),
      retry: retryPolicy(values),
      ...(values["mount-from"] ? { mountFrom: values["mount-from"] } : {}),
      sessions: new SessionStore(values["state-file"] ?? defaultStateFile()),
      events: progress,
    });
    progress.stop();
    const seconds = (Date.now() - started) / 1000;
    const { uploaded, exists, mounted } = result.blobs;
    if (!values.quiet) {
      process.stderr.write(
        `pushed ${source.description} in ${seconds.toFixed(1)} s: ${uploaded} blobs uploaded (${mib(result.bytesUploaded)}, ${mib(result.bytesUploaded / Math.max(seconds, 0.001))}/s)` +
          `${result.resumed ? `, ${result.resumed} resumed` : ""}, ${exists} already there, ${mounted} mounted\n`,
      );
    }
    process.stdout.write(`${new URL(dest.base).host}/${dest.name}:${tag}@${result.digest}\n`);
  } finally {
    progress.stop();
    await source.close();
  }
}

async function proxy(values: Values): Promise<void> {
  if (!values.upstream) throw new UsageError("proxy needs --upstream <registry url>");
  const listen = values.listen ?? "127.0.0.1:5001";
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) throw new UsageError(`--listen must be host:port, got ${listen}`);
  const server = await startPushProxy({
    upstream: values.upstream,
    credentials: credentials(values),
    host: m[1]!,
    port: Number(m[2]),
    chunkSize: numberOption(values, "chunk-size", 64) * MiB,
    retry: retryPolicy(values),
    idleTimeoutMs: numberOption(values, "timeout", 60) * 1000,
    log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
  process.stderr.write(`push proxy listening on ${server.url}, forwarding to ${values.upstream}\n  docker push ${server.host}/<name>:<tag>\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [command, ...rest] = positionals;
  if (values.help || !command) return void process.stdout.write(`${USAGE}\n`);
  if (command === "push") return push(values, rest);
  if (command === "proxy") return proxy(values);
  throw new UsageError(`unknown command ${command}`);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`registry-push: ${err.message}\n${err instanceof UsageError ? `${USAGE}\n` : ""}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
