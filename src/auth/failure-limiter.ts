// Failed-authentication limiting: how many failed attempts a key (a client address, a user name)
// may make within a window. The rule (FailureWindow) is the same on every runtime; where the
// counts live is the FailureLimiter: process memory (MemoryFailureLimiter, one process) or, on
// Workers, a Durable Object per key (durable/auth-failures.ts) so every isolate sees one count.
import { RegistryError } from "../oci/errors";

export interface FailureRule {
  /** Failed attempts allowed within the window; the next attempt is refused (429). */
  limit: number;
  windowSeconds: number;
}

export interface FailureCount {
  /** Failures of this key still within the window. */
  failures: number;
  /** 0 when the key may try; else seconds until its oldest counted failure leaves the window. */
  retryAfterSeconds: number;
}

export interface FailureLimiter {
  /** The key's count, without counting anything. */
  peek(key: string, rule: FailureRule): Promise<FailureCount>;
  /** Counts one failed attempt of the key; returns the count after it. */
  record(key: string, rule: FailureRule): Promise<FailureCount>;
}

/** The failures of one key within the window (at most `limit` times are kept: older ones cannot matter). */
export class FailureWindow {
  constructor(private times: number[] = []) {}

  /** The kept failure times (ms), e.g. to persist them. */
  get failureTimes(): readonly number[] {
    return this.times;
  }

  /** When the last counted failure leaves the window (ms); nothing to keep after that. */
  expiresAt(rule: FailureRule): number {
    return (this.times.at(-1) ?? 0) + rule.windowSeconds * 1000;
  }

  count(rule: FailureRule, now: number): FailureCount {
    const windowMs = rule.windowSeconds * 1000;
    this.times = this.times.filter((t) => t > now - windowMs);
    if (this.times.length < rule.limit) return { failures: this.times.length, retryAfterSeconds: 0 };
    // Blocked until enough failures leave the window to bring the count below the limit.
    const unblockAt = this.times[this.times.length - rule.limit]! + windowMs;
    return { failures: this.times.length, retryAfterSeconds: Math.max(1, Math.ceil((unblockAt - now) / 1000)) };
  }

  record(rule: FailureRule, now: number): FailureCount {
    this.times.push(now);
    if (this.times.length > rule.limit) this.times.splice(0, this.times.length - rule.limit);
    return this.count(rule, now);
  }
}

/** Counts in this process's memory: for one-process runtimes, and for Workers without the Durable Object binding. */
export class MemoryFailureLimiter implements FailureLimiter {
  private readonly windows = new Map<string, FailureWindow>();

  /** `maxKeys` bounds memory under a flood of distinct addresses or names (oldest keys go first). */
  constructor(
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async peek(key: string, rule: FailureRule): Promise<FailureCount> {
    return this.windows.get(key)?.count(rule, this.now()) ?? { failures: 0, retryAfterSeconds: 0 };
  }

  async record(key: string, rule: FailureRule): Promise<FailureCount> {
    let window = this.windows.get(key);
    if (window) this.windows.delete(key); // re-inserted last: the map stays in order of last failure
    else window = new FailureWindow();
    const count = window.record(rule, this.now());
    this.windows.set(key, window);
    while (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    return count;
  }
}

/** Who is on the other end of a request, as the runtime knows it. */
export interface ClientInfo {
  /** The client's IP address (Workers: CF-Connecting-IP; self-hosted: the socket's peer). */
  address?: string;
}

/**
 * The failed-login rule, applied around every credential check: a client address over the limit is
 * refused before any verification (so a flood costs a lookup, not a PBKDF2 run); a user name over
 * the limit is refused only to addresses that have failed themselves (or are unknown), so its
 * owner, logging in from elsewhere, is not locked out by someone guessing.
 */
export class FailedLogins {
  constructor(
    private readonly limiter: FailureLimiter,
    /** null: no limit (AUTH_FAILURE_LIMIT=0). */
    private readonly rule: FailureRule | null,
  ) {}

  private keys(client: ClientInfo, username: string | null): { address: string | null; user: string | null } {
    return {
      address: client.address ? `address:${client.address}` : null,
      user: username !== null && username !== "" ? `user:${username}` : null,
    };
  }

  /** Throws 429 TOOMANYREQUESTS when this attempt must not even be checked. */
  async assertMayTry(client: ClientInfo, username: string | null): Promise<void> {
    const rule = this.rule;
    if (!rule) return;
    const keys = this.keys(client, username);
    let address: FailureCount | null;
    let user: FailureCount | null;
    try {
      // The address first: a blocked one is answered without looking up the (maybe made-up) name.
      address = keys.address ? await this.limiter.peek(keys.address, rule) : null;
      if (address && address.retryAfterSeconds > 0) throw tooManyFailures(address.retryAfterSeconds);
      user = keys.user ? await this.limiter.peek(keys.user, rule) : null;
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      console.error("failed-login limiter unavailable; not limiting", err); // never lock everyone out
      return;
    }
    if (user && user.retryAfterSeconds > 0 && (!address || address.failures > 0)) throw tooManyFailures(user.retryAfterSeconds);
  }

  /** Counts a failed attempt (a wrong password, a signature that does not verify). */
  async failed(client: ClientInfo, username: string | null): Promise<void> {
    const rule = this.rule;
    if (!rule) return;
    const keys = this.keys(client, username);
    try {
      await Promise.all([keys.address, keys.user].filter((k) => k !== null).map((k) => this.limiter.record(k, rule)));
    } catch (err) {
      console.error("failed-login limiter unavailable; attempt not counted", err);
    }
  }
}

function tooManyFailures(retryAfterSeconds: number): RegistryError {
  return new RegistryError("TOOMANYREQUESTS", `too many failed authentication attempts; try again in ${retryAfterSeconds} s`, {
    headers: { "Retry-After": String(retryAfterSeconds) },
    detail: { retryAfterSeconds },
  });
}
