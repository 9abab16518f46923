// Retry timing shared by the work queue and the informer supervisor. Pure math plus one small
// stateful limiter; the clock is injected so tests do not have to sleep.

/** Milliseconds since an arbitrary origin; only differences matter. */
export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();

/**
 * Delay before retry number `failures` (0 = first retry): base * 2^failures, capped at max.
 * client-go's ItemExponentialFailureRateLimiter uses base 5 ms and max 1000 s.
 */
export function exponentialBackoff(failures: number, baseMs: number, maxMs: number): number {
  if (!Number.isInteger(failures) || failures < 0) {
    throw new RangeError(`failures must be a non-negative integer, got ${failures}`);
  }
  if (!(baseMs > 0) || !(maxMs >= baseMs)) {
    throw new RangeError(`need 0 < baseMs <= maxMs, got baseMs=${baseMs} maxMs=${maxMs}`);
  }
  // 2^failures overflows to Infinity for large counts, which Math.min then caps: no special case.
  return Math.min(baseMs * 2 ** failures, maxMs);
}

/** Spread a delay over [delay, delay * (1 + factor)) so that many retries do not fire in lockstep. */
export function withJitter(delayMs: number, factor: number, random: () => number = Math.random): number {
  return delayMs * (1 + factor * random());
}

/** Per-key exponential backoff: each failure doubles that key's next delay; `forget` resets it. */
export class PerKeyBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly #failures = new Map<string, number>();

  constructor(baseMs = 5, maxMs = 1_000_000) {
    exponentialBackoff(0, baseMs, maxMs); // validates the bounds once, up front
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  next(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    return exponentialBackoff(failures, this.baseMs, this.maxMs);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }
}

/**
 * Token bucket like golang.org/x/time/rate's Reserve: `burst` tokens up front, refilled at `ratePerSecond`.
 * `reserve()` always takes a token and returns how long the caller must wait for it to be its turn
 * (0 while tokens remain); the balance may go negative, so waiting callers queue up fairly.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(ratePerSecond = 10, burst = 100, clock: Clock = monotonicClock) {
    if (!(ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${ratePerSecond}`);
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`burst must be an integer >= 1, got ${burst}`);
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#updatedAt = clock();
  }

  reserve(): number {
    const now = this.#clock();
    const refill = ((now - this.#updatedAt) / 1000) * this.ratePerSecond;
    this.#tokens = Math.min(this.burst, this.#tokens + refill);
    this.#updatedAt = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.ratePerSecond) * 1000;
  }
}
