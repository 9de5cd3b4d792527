// The failed-login rule (FailureWindow) and the in-memory limiter, on a clock the test moves.
import { describe, expect, it } from "vitest";
import { FailureWindow, MemoryFailureLimiter } from "../../src/auth/failure-limiter";

const rule = { limit: 3, windowSeconds: 60 };

describe("FailureWindow", () => {
  it("counts failures within the window; at the limit the key waits until the oldest counted one leaves it", () => {
    const w = new FailureWindow();
    expect(w.record(rule, 0)).toEqual({ failures: 1, retryAfterSeconds: 0 });
    expect(w.record(rule, 10_000)).toEqual({ failures: 2, retryAfterSeconds: 0 });
    expect(w.record(rule, 20_000)).toEqual({ failures: 3, retryAfterSeconds: 40 });
    expect(w.count(rule, 59_000)).toEqual({ failures: 3, retryAfterSeconds: 1 });
    expect(w.count(rule, 60_001)).toEqual({ failures: 2, retryAfterSeconds: 0 });
    expect(w.count(rule, 80_001)).toEqual({ failures: 0, retryAfterSeconds: 0 });
  });

  it("keeps at most `limit` times: a burst cannot grow it, and the block ends a window after the last `limit` failures", () => {
    const w = new FailureWindow();
    for (let t = 0; t < 100; t++) w.record(rule, t * 100);
    expect(w.failureTimes.length).toBe(3);
    expect(w.count(rule, 9_900)).toEqual({ failures: 3, retryAfterSeconds: 60 });
    expect(w.expiresAt(rule)).toBe(9_900 + 60_000);
  });
});

describe("MemoryFailureLimiter", () => {
  it("keys are independent; peek counts nothing", async () => {
    let now = 0;
    const limiter = new MemoryFailureLimiter(100, () => now);
    for (let i = 0; i < 3; i++) await limiter.record("address:a", rule);
    expect((await limiter.peek("address:a", rule)).retryAfterSeconds).toBe(60);
    for (let i = 0; i < 10; i++) await limiter.peek("address:b", rule);
    expect(await limiter.peek("address:b", rule)).toEqual({ failures: 0, retryAfterSeconds: 0 });
    now = 61_000;
    expect(await limiter.peek("address:a", rule)).toEqual({ failures: 0, retryAfterSeconds: 0 });
  });

  it("holds at most maxKeys keys, dropping the one whose last failure is oldest", async () => {
    const limiter = new MemoryFailureLimiter(2, () => 0);
    await limiter.record("k1", rule);
    await limiter.record("k2", rule);
    await limiter.record("k1", rule);
    await limiter.record("k3", rule);
    expect((await limiter.peek("k2", rule)).failures).toBe(0);
    expect((await limiter.peek("k1", rule)).failures).toBe(2);
    expect((await limiter.peek("k3", rule)).failures).toBe(1);
  });
});
