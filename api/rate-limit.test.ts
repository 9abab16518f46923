import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from './app.ts';
import { TokenBucketLimiter } from './rate-limit.ts';
import { ManualClock, memoryWorld, testKey } from './testing.ts';

test('a bucket allows its burst, then refills at its rate', () => {
  const clock = new ManualClock();
  const limiter = new TokenBucketLimiter({ capacity: 3, refillPerSecond: 2, clock });
  assert.deepEqual([1, 2, 3].map(() => limiter.take('a').allowed), [true, true, true]);
  const denied = limiter.take('a');
  assert.equal(denied.allowed, false);
  assert.equal(denied.remaining, 0);
  assert.equal(denied.retryAfterSeconds, 1); // one token at 2/s: 0.5 s, rounded up
  clock.advance(500);
  assert.equal(limiter.take('a').allowed, true);
  assert.equal(limiter.take('a').allowed, false);
  clock.advance(10_000); // long idle: never more than the capacity
  assert.equal(limiter.peek('a'), 3);
  assert.equal(limiter.take('b').remaining, 2, 'keys are independent');
});

test('a bucket forgets the least recently used keys beyond maxKeys', () => {
  const limiter = new TokenBucketLimiter({ capacity: 1, refillPerSecond: 1, maxKeys: 2, clock: new ManualClock() });
  limiter.take('a');
  limiter.take('b');
  limiter.take('a');
  limiter.take('c');
  assert.equal(limiter.size, 2);
  assert.equal(limiter.peek('b'), 1, 'b was evicted, so it starts full again');
  assert.equal(limiter.peek('a'), 0);
});

test('invalid limits are refused', () => {
  assert.throws(() => new TokenBucketLimiter({ capacity: 0, refillPerSecond: 1 }), /capacity/);
  assert.throws(() => new TokenBucketLimiter({ capacity: 1, refillPerSecond: 0 }), /refill/);
});

test('the API limits each account separately and says when to retry', async () => {
  const world = memoryWorld({ rateLimit: { capacity: 3, refillPerSecond: 1 } });
  world.auth.add(testKey('alice'), { account: 'alice', scopes: ['read'], groups: [] });
  world.auth.add(testKey('bob'), { account: 'bob', scopes: ['read'], groups: [] });
  const app = await buildApp(world.deps);
  const get = (who: string) => app.inject({ method: 'GET', url: '/v1/clusters', headers: { authorization: `Bearer ${testKey(who)}` } });

  const first = await get('alice');
  assert.equal(first.statusCode, 200);
  assert.equal(first.headers['ratelimit-limit'], '3');
  assert.equal(first.headers['ratelimit-remaining'], '2');
  await get('alice');
  await get('alice');
  const limited = await get('alice');
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(limited.headers['retry-after'], '1');
  assert.match(limited.json().detail, /account alice exceeded 3 requests/);

  assert.equal((await get('bob')).statusCode, 200, "another account is not affected by alice's burst");
  world.clock.advance(1000);
  assert.equal((await get('alice')).statusCode, 200, 'a second later alice has a token again');
});

test('public endpoints are not rate limited', async () => {
  const world = memoryWorld({ rateLimit: { capacity: 1, refillPerSecond: 1 } });
  const app = await buildApp(world.deps);
  for (let i = 0; i < 5; i++) assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});
