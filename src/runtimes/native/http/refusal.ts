// Errors the HTTP layer answers itself, in the registry's envelope (src/oci/errors.ts).
import { RegistryError } from "../../../oci/errors";

/** A request the server refuses before (or instead of) the handler: status, message, extra headers. */
export function refusal(status: number, message: string, headers?: Record<string, string>): RegistryError {
  return new RegistryError("UNSUPPORTED", message, headers ? { status, headers } : { status });
}

export function isRegistryError(err: unknown): err is RegistryError {
  return err instanceof RegistryError;
}
