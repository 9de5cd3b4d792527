// How the router reaches upload sessions: by id, through any UploadSessionApi implementation
// (on Workers a Durable Object stub: durable/upload-session.ts). Failures become RegistryErrors
// carrying the headers a client needs to resume.
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
