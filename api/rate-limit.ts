// Per-account rate limits: one token bucket per key, refilled continuously. In memory, per API
// process: with N replicas an account gets up to N times the rate, which is acceptable for fairness
// between accounts (what this is for); a hard global quota would need a shared store.
import type { FastifyInstance } from 'fastify';
import { problems } from './problems.ts';
import { systemClock, type Clock } from './types.ts';

export interface BucketOptions {
  /** Burst size: tokens a full bucket holds. */
  capacity: number;
  /** Steady rate: tokens added per second. */
  refillPerSecond: number;
  clock?: Clock;
  /** Buckets kept at most; full (idle) buckets are dropped first since they equal a fresh one. */
  maxKeys?: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until a token is available again (0 when allowed). */
  retryAfterSeconds: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class TokenBucketLimiter {
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly #clock: Clock;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: BucketOptions) {
    if (!(options.capacity >= 1) || !(options.refillPerSecond > 0)) {
      throw new Error(`invalid rate limit: capacity ${options.capacity} must be >= 1 and refill ${options.refillPerSecond}/s > 0`);
    }
    this.capacity = options.capacity;
    this.refillPerSecond = options.refillPerSecond;
    this.#clock = options.clock ?? systemClock;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  #refilled(key: string): Bucket {
    const now = this.#clock.now().getTime();
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return { tokens: this.capacity, updatedAt: now };
    const elapsed = Math.max(0, now - bucket.updatedAt) / 1000;
    return { tokens: Math.min(this.capacity, bucket.tokens + elapsed * this.refillPerSecond), updatedAt: now };
  }

  /** Tokens available now, without taking one. */
  peek(key: string): number {
    return this.#refilled(key).tokens;
  }

  retryAfterSeconds(key: string, cost = 1): number {
    const missing = cost - this.#refilled(key).tokens;
    return missing <= 0 ? 0 : Math.ceil(missing / this.refillPerSecond);
  }

  take(key: string, cost = 1): TakeResult {
    const bucket = this.#refilled(key);
    const allowed = bucket.tokens >= cost;
    if (allowed) bucket.tokens -= cost;
    this.#store(key, bucket);
    const missing = cost - bucket.tokens;
    return {
      allowed,
      remaining: Math.floor(bucket.tokens),
      retryAfterSeconds: allowed ? 0 : Math.ceil(missing / this.refillPerSecond),
      resetSeconds: Math.ceil((this.capacity - bucket.tokens) / this.refillPerSecond),
    };
  }

  get size(): number {
    return this.#buckets.size;
  }

  #store(key: string, bucket: Bucket): void {
    this.#buckets.delete(key); // re-insert: Map order becomes least-recently-used first
    this.#buckets.set(key, bucket);
    if (this.#buckets.size <= this.#maxKeys) return;
    for (const [oldKey] of this.#buckets) {
      if (this.#buckets.size <= this.#maxKeys) break;
      this.#buckets.delete(oldKey); // oldest-touched first: mostly refilled by now
    }
  }
}

/**
 * onRequest hook (register after auth): charges the account's bucket, sets RateLimit-* headers on
 * every authenticated response and answers 429 with Retry-After when the bucket is empty.
 */
export function registerAccountRateLimit(app: FastifyInstance, limiter: TokenBucketLimiter): void {
  app.addHook('onRequest', async (request, reply) => {
    const principal = request.principal;
    if (principal === null) return;
    const result = limiter.take(principal.account);
    reply.header('ratelimit-limit', String(limiter.capacity));
    reply.header('ratelimit-remaining', String(result.remaining));
    reply.header('ratelimit-reset', String(result.resetSeconds));
    if (!result.allowed) {
      throw problems.tooManyRequests(
        `account ${principal.account} exceeded ${limiter.capacity} requests (refilling ${limiter.refillPerSecond}/s); retry in ${result.retryAfterSeconds} s`,
        result.retryAfterSeconds,
      );
    }
  });
}
