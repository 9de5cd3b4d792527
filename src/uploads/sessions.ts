// How the router reaches upload sessions: by id, through any UploadSessionApi implementation
// (a Durable Object stub on Workers). Failures become RegistryErrors with resumable headers.
import { RegistryError } from "../oci/errors";
import type { SessionResult, UploadSessionApi } from "./protocol";

export interface UploadSessions {
  /** A fresh, unguessable session id. */
  newId(): string;
  /** The session with that id; null when the id cannot name a session. */
  get(id: string): UploadSessionApi | null;
}

export function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

/** `Range` as docker expects it: inclusive end, "0-0" for an empty upload. */
export function uploadRange(offset: number): string {
  return `0-${Math.max(offset - 1, 0)}`;
}

export function uploadHeaders(name: string, id: string, offset: number): Record<string, string> {
  return {
    Location: uploadLocation(name, id),
    Range: uploadRange(offset),
    "Docker-Upload-UUID": id,
  };
}

export function unwrap<T>(result: SessionResult<T>, name: string, id: string): T {
  if (result.ok) return result.value;
  const { code, message, status, detail, offset } = result.error;
  const headers = offset !== undefined ? uploadHeaders(name, id, offset) : {};
  throw new RegistryError(code, message, { status, detail, headers });
}

/** Upload sessions as Durable Objects: the upload id is the object's id. */
export function durableUploadSessions<T extends UploadSessionApi & Rpc.DurableObjectBranded>(
  namespace: DurableObjectNamespace<T>,
): UploadSessions {
  return {
    newId: () => namespace.newUniqueId().toString(),
    get(id) {
      if (!/^[0-9a-f]{64}$/.test(id)) return null;
      try {
        return namespace.get(namespace.idFromString(id)) as unknown as UploadSessionApi;
      } catch {
        return null; // not an id this namespace issued
      }
    },
  };
}
