// The request id: a caller's (or a proxy's) X-Request-Id is kept when it is safe to log and echo,
// anything else is replaced by a fresh one, so that a log line can always be found from a response.

export const REQUEST_ID_HEADER = "X-Request-Id";
/** Longest id taken from a request; longer ones are replaced, never cut (a cut id would match nothing). */
export const MAX_REQUEST_ID_LENGTH = 128;
const SAFE_ID = /^[A-Za-z0-9._:-]+$/;

/** The incoming id when well-formed (1 to 128 of A-Z a-z 0-9 . _ : -), else a new UUID. */
export function requestIdOf(headers: Headers): string {
  const given = headers.get(REQUEST_ID_HEADER);
  if (given !== null && given.length <= MAX_REQUEST_ID_LENGTH && SAFE_ID.test(given)) return given;
  return crypto.randomUUID();
}
