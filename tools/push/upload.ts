// One blob upload session on a registry, written in chunks within the registry's limits. A chunk
// that fails (dropped connection, 5xx, stall, 416) is not resent blindly: the session is asked
// for its offset (GET) and the chunk continues from there, with bounded exponential backoff.
import type http from "node:http";
import type { Readable } from "node:stream";
import { discard, header, readBody } from "./http.ts";
import { Registry, RegistryError, errorFrom } from "./registry.ts";

export interface RetryPolicy {
  /** Failed attempts in a row (without progress) before giving up. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 500, maxDelayMs: 15_000 };

/** Bytes [start, start + length) of a blob; `open(skip)` gives them from start + skip on. */
export interface ChunkData {
  start: number;
  length: number;
  open(skip: number): Buffer | Readable;
}

export interface ChunkLimits {
  min: number;
  max: number | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function backoff(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}

/** Upload `Range: 0-<last>` → bytes held. "0-0" is read as empty (the common convention). */
export function offsetFromRange(range: string | undefined): number | null {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? "");
  if (!m) return null;
  const last = Number(m[1]);
  return last === 0 ? 0 : last + 1;
}

/** Transient: worth asking the offset and trying again. */
function retryable(err: unknown): boolean {
  if (err instanceof RegistryError) return err.status >= 500 || err.status === 429 || err.status === 408;
  return true; // network errors, timeouts
}

export class UploadGoneError extends Error {}

export class BlobUpload {
  /** Where the registry wants the next request (it may change after every chunk). */
  location: URL;
  /** Bytes the registry holds. */
  offset: number;

  readonly registry: Registry;
  readonly name: string;
  readonly limits: ChunkLimits;
  readonly policy: RetryPolicy;
  /** Told about each failed attempt before the backoff (for logs and progress). */
  onRetry: ((err: Error, attempt: number, delayMs: number) => void) | undefined;

  constructor(registry: Registry, name: string, location: string | URL, offset: number, limits: ChunkLimits, policy: RetryPolicy = DEFAULT_RETRY) {
    this.registry = registry;
    this.name = name;
    this.location = registry.url(location.toString());
    this.offset = offset;
    this.limits = limits;
    this.policy = policy;
  }

  /**
   * Opens a session, or mounts `digest` instead when the registry already has it (`from` names
   * a repository holding it; without it our registry looks for the blob anywhere). Null: mounted.
   */
  static async start(registry: Registry, name: string, options: { mount?: string; from?: string; policy?: RetryPolicy } = {}): Promise<BlobUpload | null> {
    const query = new URLSearchParams();
    if (options.mount) query.set("mount", options.mount);
    if (options.mount && options.from) query.set("from", options.from);
    const suffix = query.size > 0 ? `?${query}` : "";
    const extraScopes = options.from ? [`repository:${options.from}:pull`] : [];
    const { res } = await registry.call("POST", `/v2/${name}/blobs/uploads/${suffix}`, [201, 202], { extraScopes, headers: { "Content-Length": "0" } });
    if (res.statusCode === 201) return null;
    return new BlobUpload(registry, name, requiredLocation(res), 0, chunkLimits(res), options.policy);
  }

  /** Picks up a session opened earlier (e.g. by a killed process); null when it is gone. */
  static async resume(registry: Registry, name: string, location: string, limits: ChunkLimits, policy?: RetryPolicy): Promise<BlobUpload | null> {
    const upload = new BlobUpload(registry, name, location, 0, limits, policy);
    try {
      await upload.refreshOffset();
      return upload;
    } catch (err) {
      if (err instanceof UploadGoneError) return null;
      throw err;
    }
  }

  /** The chunk size to use: what the caller wants, within what the registry advertises. */
  chunkSize(wanted: number): number {
    const max = this.limits.max ?? Number.POSITIVE_INFINITY;
    return Math.max(this.limits.min, Math.min(wanted, max));
  }

  /** GET on the session: the registry's offset. */
  async refreshOffset(): Promise<number> {
    const res = await this.registry.request("GET", this.location);
    if (res.statusCode === 404) {
      await discard(res);
      throw new UploadGoneError(`upload session ${this.location.pathname} is gone`);
    }
    const body = await readBody(res);
    if (res.statusCode !== 204 && res.statusCode !== 200) throw errorFrom("GET", this.location, res, body);
    this.follow(res);
    this.offset = offsetFromRange(header(res, "Range")) ?? 0;
    return this.offset;
  }

  /**
   * Makes the registry hold bytes up to the end of `chunk`. Returns early, with `offset` below the
   * chunk, only if the registry reports fewer bytes than the chunk starts at (the caller rewinds).
   */
  async write(chunk: ChunkData): Promise<void> {
    const end = chunk.start + chunk.length;
    let failures = 0;
    while (this.offset < end) {
      if (this.offset < chunk.start) return;
      try {
        await this.patch(chunk, end);
        failures = 0;
      } catch (err) {
        failures = await this.recover(err, failures);
      }
    }
  }

  /** Closes the session with the digest; `last` (optional) carries the final bytes. */
  async finish(digest: string, last?: ChunkData): Promise<void> {
    if (last && last.length > 0) await this.write(last);
    let failures = 0;
    for (;;) {
      try {
        const url = new URL(this.location);
        url.searchParams.set("digest", digest);
        await this.registry.call("PUT", url, [201], { headers: { "Content-Length": "0" } });
        return;
      } catch (err) {
        // A lost answer to a PUT that worked: the session is gone and the blob is there.
        if (await this.blobExists(digest)) return;
        failures = await this.recover(err, failures);
      }
    }
  }

  async cancel(): Promise<void> {
    try {
      await discard(await this.registry.request("DELETE", this.location));
    } catch {
      // best effort: the registry expires idle sessions
    }
  }

  private async patch(chunk: ChunkData, end: number): Promise<void> {
    const from = this.offset;
    const res = await this.registry.request("PATCH", this.location, {
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `${from}-${end - 1}`, "Content-Length": String(end - from) },
      body: () => chunk.open(from - chunk.start),
    });
    const body = await readBody(res);
    if (res.statusCode === 416) {
      this.follow(res);
      throw errorFrom("PATCH", this.location, res, body); // 4xx, but recover() asks for the offset
    }
    if (res.statusCode !== 202) throw errorFrom("PATCH", this.location, res, body);
    this.follow(res);
    const reported = offsetFromRange(header(res, "Range"));
    // "0-0" after a one-byte chunk at 0 means one byte, not none.
    this.offset = reported === null || (reported === 0 && end === 1) ? end : reported;
  }

  /** After a failed request: give up, or wait and learn the offset. Returns the failure count. */
  private async recover(err: unknown, failures: number): Promise<number> {
    if (err instanceof UploadGoneError) throw err;
    const outOfOrder = err instanceof RegistryError && err.status === 416;
    if (!outOfOrder && !retryable(err)) throw err;
    const attempt = failures + 1;
    if (attempt > this.policy.attempts) throw new Error(`giving up after ${failures} failed attempts: ${(err as Error).message}`);
    const delay = backoff(this.policy, attempt);
    this.onRetry?.(err as Error, attempt, delay);
    await sleep(delay);
    const before = this.offset;
    try {
      await this.refreshOffset();
    } catch (statusErr) {
      if (statusErr instanceof UploadGoneError) throw statusErr;
      return attempt; // the GET failed too: try again after the next backoff
    }
    return this.offset > before ? 0 : attempt;
  }

  private async blobExists(digest: string): Promise<boolean> {
    try {
      const res = await this.registry.request("HEAD", `/v2/${this.name}/blobs/${digest}`);
      await discard(res);
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  private follow(res: http.IncomingMessage): void {
    const location = header(res, "Location");
    if (location) this.location = new URL(location, this.location);
  }
}

function requiredLocation(res: http.IncomingMessage): string {
  const location = header(res, "Location");
  if (!location) throw new Error("registry opened an upload without a Location");
  return location;
}

/** OCI-Chunk-Min-Length / OCI-Chunk-Max-Length from the POST answer. */
export function chunkLimits(res: http.IncomingMessage): ChunkLimits {
  const min = Number(header(res, "OCI-Chunk-Min-Length") ?? 1);
  const max = Number(header(res, "OCI-Chunk-Max-Length") ?? Number.NaN);
  return { min: Number.isFinite(min) && min > 0 ? min : 1, max: Number.isFinite(max) && max > 0 ? max : null };
}
