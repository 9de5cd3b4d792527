// Failed-login counts on Workers: one Durable Object per key (a client address or a user name),
// so every isolate, everywhere, counts against the same number. The object applies the core's
// FailureWindow (the same rule as MemoryFailureLimiter) and forgets the key once it has expired.
import { DurableObject } from "cloudflare:workers";
import { FailureWindow, type FailureCount, type FailureLimiter, type FailureRule } from "../src/auth/failure-limiter";
import type { Env } from "../src/runtimes/workers/env";

const TIMES_KEY = "failures";

export class AuthFailureCounter extends DurableObject<Env> {
  private window: FailureWindow | undefined;

  private async load(): Promise<FailureWindow> {
    this.window ??= new FailureWindow((await this.ctx.storage.get<number[]>(TIMES_KEY)) ?? []);
    return this.window;
  }

  async peek(rule: FailureRule): Promise<FailureCount> {
    return (await this.load()).count(rule, Date.now());
  }

  async record(rule: FailureRule): Promise<FailureCount> {
    const window = await this.load();
    const count = window.record(rule, Date.now());
    await this.ctx.storage.put(TIMES_KEY, window.failureTimes);
    await this.ctx.storage.setAlarm(window.expiresAt(rule));
    return count;
  }

  /** Nothing counted is left once the last failure is out of the window. */
  override async alarm(): Promise<void> {
    this.window = undefined;
    await this.ctx.storage.deleteAll();
  }
}

/** Bounds the isolate's memory of blocked keys. */
const MAX_REMEMBERED = 10_000;

/**
 * FailureLimiter over AuthFailureCounter objects. Keys known to be blocked are answered from this
 * isolate's memory until they unblock, so a flood from a blocked address costs no call at all.
 */
export class DurableFailureLimiter implements FailureLimiter {
  private readonly blockedUntil = new Map<string, number>();

  constructor(private readonly namespace: DurableObjectNamespace<AuthFailureCounter>) {}

  async peek(key: string, rule: FailureRule): Promise<FailureCount> {
    const until = this.blockedUntil.get(key) ?? 0;
    const now = Date.now();
    if (until > now) return { failures: rule.limit, retryAfterSeconds: Math.ceil((until - now) / 1000) };
    return this.remember(key, await this.stub(key).peek(rule));
  }

  async record(key: string, rule: FailureRule): Promise<FailureCount> {
    return this.remember(key, await this.stub(key).record(rule));
  }

  private stub(key: string) {
    return this.namespace.get(this.namespace.idFromName(key));
  }

  private remember(key: string, count: FailureCount): FailureCount {
    this.blockedUntil.delete(key);
    if (count.retryAfterSeconds > 0) {
      this.blockedUntil.set(key, Date.now() + count.retryAfterSeconds * 1000);
      if (this.blockedUntil.size > MAX_REMEMBERED) this.blockedUntil.delete(this.blockedUntil.keys().next().value!);
    }
    return count;
  }
}
