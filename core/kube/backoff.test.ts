import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exponentialBackoff, PerKeyBackoff, TokenBucket, withJitter } from './backoff.ts';

test('exponential backoff doubles from the base and stops at the cap', () => {
  const delays = Array.from({ length: 8 }, (_, i) => exponentialBackoff(i, 5, 1_000_000));
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 320, 640]);
  // 5 ms * 2^18 = 1310.72 s > 1000 s: capped from there on, also for absurd counts.
  assert.equal(exponentialBackoff(17, 5, 1_000_000), 655_360);
  assert.equal(exponentialBackoff(18, 5, 1_000_000), 1_000_000);
  assert.equal(exponentialBackoff(5000, 5, 1_000_000), 1_000_000);
});

test('exponential backoff rejects nonsense input', () => {
  assert.throws(() => exponentialBackoff(-1, 5, 10), /non-negative integer/);
  assert.throws(() => exponentialBackoff(1.5, 5, 10), /non-negative integer/);
  assert.throws(() => exponentialBackoff(0, 0, 10), /baseMs/);
  assert.throws(() => exponentialBackoff(0, 20, 10), /baseMs/);
});

test('per-key backoff grows per key, independently, and forget resets it', () => {
  const backoff = new PerKeyBackoff(5, 1_000_000);
  assert.deepEqual([backoff.next('a'), backoff.next('a'), backoff.next('a')], [5, 10, 20]);
  assert.equal(backoff.next('b'), 5, 'another key starts from the base');
  assert.equal(backoff.failures('a'), 3);
  backoff.forget('a');
  assert.equal(backoff.failures('a'), 0);
  assert.equal(backoff.next('a'), 5);
  assert.equal(backoff.failures('b'), 1);
});

test('token bucket: burst is free, then one token per 1/rate seconds, refilled over time', () => {
  let now = 0;
  const bucket = new TokenBucket(10, 100, () => now);
  for (let i = 0; i < 100; i++) assert.equal(bucket.reserve(), 0, `token ${i} of the burst`);
  // The 101st waits one refill interval (100 ms at 10/s), the 102nd two.
  assert.equal(Math.round(bucket.reserve()), 100);
  assert.equal(Math.round(bucket.reserve()), 200);
  // 1 s later: 10 tokens refilled, but 2 were owed: 8 free reservations, then waiting again.
  now = 1000;
  for (let i = 0; i < 8; i++) assert.equal(bucket.reserve(), 0);
  assert.equal(Math.round(bucket.reserve()), 100);
  // A long idle period refills only up to the burst.
  now = 1_000_000;
  for (let i = 0; i < 100; i++) assert.equal(bucket.reserve(), 0);
  assert.ok(bucket.reserve() > 0);
});

test('token bucket validates its parameters', () => {
  assert.throws(() => new TokenBucket(0, 1), /ratePerSecond/);
  assert.throws(() => new TokenBucket(1, 0), /burst/);
});

test('jitter stays within [delay, delay * (1 + factor))', () => {
  assert.equal(withJitter(100, 0.5, () => 0), 100);
  assert.ok(Math.abs(withJitter(100, 0.5, () => 0.999) - 149.95) < 1e-9);
  for (let i = 0; i < 100; i++) {
    const d = withJitter(1000, 1.2);
    assert.ok(d >= 1000 && d < 2200, `${d}`);
  }
});
