// Real upstream registries on loopback for the pull-through tests (no internet):
//   - a second instance of this registry (createNativeRegistry + serve) in token mode, shaped like
//     Docker Hub: images under library/, the token realm on another port, anonymous pull allowed
//     for library/* and a private repository that needs the configured account;
//   - Debian's reference registry (/usr/bin/docker-registry), no auth, filesystem storage.
// Each records the requests it gets (method, path) and can be made to fail on purpose.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { hashPassword } from "../../src/auth/passwords";
import { createNativeRegistry, type NativeRegistry } from "../../src/runtimes/native/registry";
import { serve, type RunningServer } from "../../src/runtimes/native/http";
import { freePort } from "../../scripts/lib/free-port.mjs";

export interface Recorded {
  method: string;
  path: string;
  authorization: string | null;
}

/** Makes a request fail on purpose: a Response answers instead of the upstream, "drop" closes it unanswered. */
export type Fault = (request: Request) => Response | "drop" | null;

export interface Upstream {
  /** http://127.0.0.1:PORT (the registry API). */
  readonly url: string;
  readonly host: string;
  readonly requests: Recorded[];
  fault: Fault | null;
  /** Requests matching a method and a path pattern since the last reset. */
  count(method: string, path: RegExp): number;
  /** Stops answering (connections refused) until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export const USER = "mirror-bot";
export const PASSWORD = "upstream-s3cret-Zq9";

export function tempDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `pt-${label}-`));
}

/** Serves `handle` on a loopback port that can be stopped and restarted, recording every request. */
async function recordingServer(handle: (request: Request) => Promise<Response>, port = 0): Promise<Upstream & { port: number }> {
  const requests: Recorded[] = [];
  let server: RunningServer | null = null;
  let boundPort = port;
  const upstream = {
    requests,
    fault: null as Fault | null,
    get url() {
      return `http://127.0.0.1:${boundPort}`;
    },
    get host() {
      return `127.0.0.1:${boundPort}`;
    },
    get port() {
      return boundPort;
    },
    count: (method: string, pattern: RegExp) => requests.filter((r) => r.method === method && pattern.test(r.path)).length,
    async start() {
      server = await serve({
        host: "127.0.0.1",
        port: boundPort,
        handler: async (request) => {
          const url = new URL(request.url);
          // For tests that cannot see this process (workerd): what this upstream was asked, never recorded itself.
          if (url.pathname === "/_test/requests") return Response.json(requests);
          requests.push({ method: request.method, path: url.pathname + url.search, authorization: request.headers.get("Authorization") });
          const injected = upstream.fault?.(request) ?? null;
          if (injected === "drop") throw new Error("fault: dropped");
          if (injected) return injected;
          return handle(request);
        },
      });
      boundPort = server.port;
    },
    async stop() {
      await server?.close();
      server = null;
    },
    async close() {
      await upstream.stop();
    },
  };
  await upstream.start();
  return upstream;
}

/** An instance of this registry (native, in this process) with the given settings. */
export async function startOurs(settings: Record<string, string>, dataDir = tempDir("ours"), port = 0): Promise<Upstream & { registry: NativeRegistry; dataDir: string }> {
  const registry = await createNativeRegistry({ dataDir, settings, durable: false });
  const server = await recordingServer((request) => registry.handle(request, { address: "127.0.0.1" }), port);
  const stop = server.stop.bind(server);
  return Object.assign(server, {
    registry,
    dataDir,
    async close() {
      await stop();
      await registry.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/**
 * Docker-Hub-like: this registry in token mode, its realm on another port (like auth.docker.io
 * beside registry-1.docker.io), anonymous pull of library/* and someuser/*, `private/*` only for USER.
 */
export async function startTokenUpstream(port = 0): Promise<Upstream & { realm: Upstream; push(repo: string, image: PushableImage, tag?: string): Promise<void> }> {
  const realmPort = await freePort();
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: "pt-test", alg: "ES256" };
  const settings = {
    AUTH_MODE: "token",
    AUTH_TOKEN_SIGNING_KEY: JSON.stringify(signingKey),
    AUTH_SERVICE: "registry.upstream.test",
    AUTH_TOKEN_REALM: `http://127.0.0.1:${realmPort}/token`,
    AUTH_USERS: JSON.stringify([{ username: USER, password: await hashPassword(PASSWORD, 1000), actions: ["pull", "push"] }]),
    // Public like Docker Hub's official and user images; private/* only for the account.
    AUTH_RULES: JSON.stringify([
      { repository: "library/*", anonymous: true, actions: ["pull"] },
      { repository: "someuser/*", anonymous: true, actions: ["pull"] },
    ]),
    AUTH_TOKEN_TTL_SECONDS: "300",
  };
  const registry = await startOurs(settings, tempDir("token"), port);
  const realm = await recordingServer((request) => registry.registry.handle(request, { address: "127.0.0.1" }), realmPort);
  const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
  const closeRegistry = registry.close.bind(registry);
  return Object.assign(registry, {
    realm,
    push: (repo: string, image: PushableImage, tag?: string) => pushImage(registry.url, repo, image, tag, basic),
    async close() {
      await realm.close();
      await closeRegistry();
    },
  });
}

/** Debian's reference registry (docker/distribution 2.8) without auth, storage under a temp dir. */
export async function startReferenceUpstream(): Promise<Upstream & { storage: string; blobFile(digest: string): string; push(repo: string, image: PushableImage, tag?: string): Promise<void> }> {
  const dir = tempDir("reference");
  const storage = path.join(dir, "storage");
  const port = await freePort();
  const config = path.join(dir, "config.yml");
  writeFileSync(config, [
    "version: 0.1",
    "log:",
    "  level: warn",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storage}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "",
  ].join("\n"));
  let child: ChildProcess | null = null;
  // A recording proxy in front of it: counts requests, injects faults, can be stopped.
  const proxy = await recordingServer(async (request) => {
    const url = new URL(request.url);
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const headers = new Headers(request.headers);
    headers.delete("host");
    const response = await fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, { method: request.method, headers, body, redirect: "manual" });
    const out = new Headers(response.headers);
    // The reference registry answers with absolute Locations to itself: point them at the proxy.
    const location = out.get("Location");
    if (location) out.set("Location", location.replace(`http://127.0.0.1:${port}`, ""));
    out.delete("content-encoding");
    out.delete("transfer-encoding");
    return new Response(request.method === "HEAD" ? null : response.body, { status: response.status, headers: out });
  });
  const startChild = async () => {
    child = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
    const log: string[] = [];
    child.stderr!.on("data", (c: Buffer) => log.push(c.toString()));
    for (let i = 0; i < 100; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`);
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`docker-registry did not start:\n${log.join("")}`);
  };
  await startChild();
  const stopProxy = proxy.stop.bind(proxy);
  return Object.assign(proxy, {
    storage,
    blobFile: (digest: string) => path.join(storage, "docker/registry/v2/blobs/sha256", digest.slice(7, 9), digest.slice(7), "data"),
    push: (repo: string, image: PushableImage, tag?: string) => pushImage(proxy.url, repo, image, tag),
    async close() {
      await stopProxy();
      child?.kill("SIGTERM");
      await new Promise((r) => (child?.exitCode !== null ? r(null) : child.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

// --- images ------------------------------------------------------------------------------------

export interface PushableImage {
  /** Blobs by digest. */
  blobs: Map<string, Uint8Array>;
  /** Manifests bottom-up (children before an index): bytes and media type; the last is what the tag names. */
  manifests: { bytes: Uint8Array; mediaType: string; digest: string }[];
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** A single-platform image with layers of the given contents. */
export function image(layers: Uint8Array[], platform = { architecture: "amd64", os: "linux" }): PushableImage {
  const config = json({ architecture: platform.architecture, os: platform.os, rootfs: { type: "layers", diff_ids: layers.map(sha256) }, config: {} });
  const blobs = new Map<string, Uint8Array>([[sha256(config), config]]);
  for (const layer of layers) blobs.set(sha256(layer), layer);
  const manifest = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(l), size: l.length })),
  });
  return { blobs, manifests: [{ bytes: manifest, mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha256(manifest) }] };
}

/** An OCI index over single-platform images. */
export function index(images: { image: PushableImage; platform: { architecture: string; os: string } }[]): PushableImage {
  const blobs = new Map<string, Uint8Array>();
  const manifests: PushableImage["manifests"] = [];
  for (const { image: img } of images) {
    for (const [d, b] of img.blobs) blobs.set(d, b);
    manifests.push(...img.manifests);
  }
  const bytes = json({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: images.map(({ image: img, platform }) => {
      const top = img.manifests.at(-1)!;
      return { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length, platform };
    }),
  });
  manifests.push({ bytes, mediaType: "application/vnd.oci.image.index.v1+json", digest: sha256(bytes) });
  return { blobs, manifests };
}

/** Pushes blobs (monolithic POST) and manifests (by digest, the last one also by tag). */
export async function pushImage(base: string, repo: string, img: PushableImage, tag: string | undefined, authorization?: string): Promise<void> {
  const auth: Record<string, string> = authorization ? { Authorization: authorization } : {};
  for (const [digest, bytes] of img.blobs) {
    const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST", headers: auth });
    if (start.status !== 202) throw new Error(`push ${repo}: POST ${start.status} ${await start.text()}`);
    await start.arrayBuffer();
    const location = new URL(start.headers.get("Location")!, base);
    location.searchParams.set("digest", digest);
    const put = await fetch(location, { method: "PUT", headers: { ...auth, "Content-Type": "application/octet-stream" }, body: bytes });
    if (put.status !== 201) throw new Error(`push ${repo}: blob PUT ${put.status} ${await put.text()}`);
    await put.arrayBuffer();
  }
  for (const [i, m] of img.manifests.entries()) {
    const last = i === img.manifests.length - 1;
    for (const ref of last && tag ? [m.digest, tag] : [m.digest]) {
      const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: "PUT", headers: { ...auth, "Content-Type": m.mediaType }, body: m.bytes });
      if (res.status !== 201) throw new Error(`push ${repo}: manifest PUT ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
  }
}
