// Repository name and tag grammar from the distribution-spec; the only place these rules live.
import { RegistryError } from "./errors";

const nameComponent = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const namePattern = new RegExp(`^${nameComponent}(?:/${nameComponent})*$`);
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Longest repository name we accept: keeps every storage key well under R2's 1,024-byte limit. */
export const MAX_NAME_LENGTH = 255;

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && namePattern.test(name);
}

export function assertName(name: string): string {
  if (!isValidName(name)) {
    throw new RegistryError("NAME_INVALID", "invalid repository name", { detail: { name } });
  }
  return name;
}

export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}
