/** A free port on 127.0.0.1 that fetch() can connect to (never one of the Fetch standard's bad ports). */
export function freePort(): Promise<number>;
