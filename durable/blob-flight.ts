// One Durable Object per blob digest (BLOB_FLIGHTS): a blob missing from the bucket is fetched from
// its upstream once, however many isolates ask at the same moment. The first caller gets the bytes
// as they are stored; the others wait here until the blob is stored, then read it from R2.
import { DurableObject } from "cloudflare:workers";
import type { PulledBlob } from "../src/context";
import type { BlobFlights, PullThroughCache } from "../src/extensions/pull-through";
import { parseDigest, formatDigest, type Digest } from "../src/oci/digest";
import { RegistryError, type ErrorCode } from "../src/oci/errors";
import type { Env } from "../src/runtimes/workers/env";
import { flightStore, workersPullThrough } from "../src/runtimes/workers/pull-through";

/** A flight's outcome as it crosses the RPC boundary: RegistryErrors as plain data, so the code and status survive. */
export type FlightResult =
  | { ok: true; size: number; body?: ReadableStream<Uint8Array> }
  | { ok: false; error: { code: ErrorCode; message: string; status: number; detail: unknown; headers: Record<string, string> } };

export class BlobFlight extends DurableObject<Env> {
  private cache: PullThroughCache | undefined;

  async pull(name: string, digest: string, want: "body" | "stored"): Promise<FlightResult> {
    try {
      this.cache ??= workersPullThrough(this.env, flightStore(this.env));
      if (!this.cache) throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry");
      const pulled = await this.cache.localFlights.pull(name, parseDigest(digest), want);
      return { ok: true, size: pulled.size, ...(pulled.body ? { body: pulled.body } : {}) };
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      return { ok: false, error: { code: err.code, message: err.message, status: err.status, detail: err.detail, headers: err.headers } };
    }
  }
}

/** Flights through the digest's BlobFlight object. */
export function durableBlobFlights(namespace: DurableObjectNamespace<BlobFlight>): BlobFlights {
  return {
    async pull(name: string, digest: Digest, want: "body" | "stored"): Promise<PulledBlob> {
      const stub = namespace.get(namespace.idFromName(formatDigest(digest)));
      const result = (await stub.pull(name, formatDigest(digest), want)) as FlightResult;
      if (!result.ok) {
        const { code, message, status, detail, headers } = result.error;
        throw new RegistryError(code, message, { status, detail, headers });
      }
      return result.body ? { size: result.size, body: result.body } : { size: result.size };
    },
  };
}
