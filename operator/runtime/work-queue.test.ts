import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PerKeyBackoff, TokenBucket } from '../../core/index.ts';
import { WorkQueue, type ProcessedInfo } from './work-queue.ts';

/** Resolves when `check` is true, polling; fails after `timeoutMs`. */
async function eventually(check: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

test('a key added while queued is stored once', async () => {
  const queue = new WorkQueue();
  queue.add('a');
  queue.add('b');
  queue.add('a');
  queue.add('a');
  assert.equal(queue.length, 2);
  assert.equal(await queue.get(), 'a');
  assert.equal(await queue.get(), 'b');
  assert.equal(queue.length, 0);
  assert.equal(queue.processingCount, 2);
  queue.done('a');
  queue.done('b');
  assert.equal(queue.processingCount, 0);
  await queue.shutDown();
});

test('a key re-added while processing is held back and queued again when done', async () => {
  const queue = new WorkQueue();
  queue.add('a');
  const key = await queue.get();
  assert.equal(key, 'a');
  queue.add('a');
  queue.add('a');
  assert.equal(queue.length, 0, 'not handed out while being processed');
  const second = queue.get();
  let handedOut = false;
  void second.then(() => (handedOut = true));
  await sleep(10);
  assert.equal(handedOut, false, 'a second worker must not get the key being processed');
  queue.done('a');
  assert.equal(await second, 'a', 'processed again after done');
  queue.done('a');
  assert.equal(queue.length, 0, 'the two re-adds collapsed into one');
  await queue.shutDown();
});

test('workers never run one key concurrently, and every add during a run leads to one more run', async () => {
  const queue = new WorkQueue();
  const active = new Map<string, number>();
  let maxSameKey = 0;
  let maxParallel = 0;
  let running = 0;
  const runs = new Map<string, number>();
  const done = queue.run(
    async (key) => {
      active.set(key, (active.get(key) ?? 0) + 1);
      running += 1;
      maxSameKey = Math.max(maxSameKey, active.get(key)!);
      maxParallel = Math.max(maxParallel, running);
      runs.set(key, (runs.get(key) ?? 0) + 1);
      await sleep(20);
      active.set(key, active.get(key)! - 1);
      running -= 1;
    },
    { concurrency: 4 },
  );
  for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
  await sleep(5);
  // All four are running; hammer 'a' while it runs.
  for (let i = 0; i < 10; i++) queue.add('a');
  await eventually(() => runs.get('a') === 2 && queue.processingCount === 0, 2000, 'second run of a');
  await sleep(30);
  assert.equal(maxSameKey, 1, 'one key never processed by two workers at once');
  assert.equal(maxParallel, 4, 'different keys are processed in parallel');
  assert.deepEqual(Object.fromEntries(runs), { a: 2, b: 1, c: 1, d: 1 });
  await queue.shutDown();
  await done;
});

test('failures are retried with growing per-key backoff; success forgets the count', async () => {
  const queue = new WorkQueue({ backoff: new PerKeyBackoff(20, 10_000) });
  const attempts: number[] = [];
  const infos: ProcessedInfo[] = [];
  const done = queue.run(
    async () => {
      attempts.push(performance.now());
      if (attempts.length <= 3) throw new Error(`attempt ${attempts.length} fails`);
    },
    { concurrency: 2, onProcessed: (info) => infos.push(info) },
  );
  queue.add('x');
  await eventually(() => attempts.length === 4 && queue.processingCount === 0, 3000, 'four attempts');
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
  // Retry delays 20, 40, 80 ms: each gap at least its backoff (timers never fire early).
  assert.ok(gaps[0]! >= 19, `first retry after ${gaps[0]} ms`);
  assert.ok(gaps[1]! >= 39, `second retry after ${gaps[1]} ms`);
  assert.ok(gaps[2]! >= 79, `third retry after ${gaps[2]} ms`);
  assert.deepEqual(infos.map((i) => i.retryInMs), [20, 40, 80, undefined]);
  assert.equal(infos.filter((i) => i.error instanceof Error).length, 3);
  assert.equal(queue.numRequeues('x'), 0, 'success forgets the failures');
  assert.equal(queue.retries, 3);
  await queue.shutDown();
  await done;
});

test('addRateLimited takes the larger of the key backoff and the overall token bucket', async () => {
  let now = 0;
  const queue = new WorkQueue({ backoff: new PerKeyBackoff(5, 1_000_000), bucket: new TokenBucket(10, 2, () => now) });
  assert.equal(queue.addRateLimited('a'), 5); // bucket token 1 free
  assert.equal(queue.addRateLimited('b'), 5); // bucket token 2 free
  assert.equal(Math.round(queue.addRateLimited('c')), 100, 'bucket empty: waits 100 ms although c backs off only 5 ms');
  now = 10_000;
  assert.equal(queue.addRateLimited('a'), 10, 'a second failure of a doubles its own backoff');
  assert.equal(queue.numRequeues('a'), 2);
  queue.forget('a');
  assert.equal(queue.numRequeues('a'), 0);
  await queue.shutDown();
});

test('addAfter delivers after the delay, and the earliest pending time wins', async () => {
  const queue = new WorkQueue();
  queue.addAfter('late-then-early', 5000);
  queue.addAfter('late-then-early', 30);
  queue.addAfter('early-then-late', 30);
  queue.addAfter('early-then-late', 5000);
  assert.equal(queue.length, 0);
  assert.equal(queue.delayedCount, 2);
  const started = performance.now();
  const first = await queue.get();
  const second = await queue.get();
  const waited = performance.now() - started;
  assert.deepEqual(new Set([first, second]), new Set(['late-then-early', 'early-then-late']));
  assert.ok(waited >= 29 && waited < 2000, `delivered after ${waited} ms`);
  assert.equal(queue.delayedCount, 0, 'the later duplicates were not kept');
  queue.done(first!);
  queue.done(second!);
  queue.addAfter('now', 0);
  assert.equal(queue.length, 1, 'a zero delay adds immediately');
  assert.throws(() => queue.addAfter('x', Number.NaN), /finite/);
  assert.throws(() => queue.add(''), /non-empty/);
  await queue.shutDown();
});

test('requeueAfterMs from a reconcile schedules the key again', async () => {
  const queue = new WorkQueue();
  const times: number[] = [];
  const done = queue.run(async () => {
    times.push(performance.now());
    return times.length < 3 ? { requeueAfterMs: 25 } : undefined;
  });
  queue.add('k');
  await eventually(() => times.length === 3, 2000, 'three runs');
  assert.ok(times[1]! - times[0]! >= 24 && times[2]! - times[1]! >= 24);
  await sleep(60);
  assert.equal(times.length, 3, 'no further run without a requeue');
  await queue.shutDown();
  await done;
});

test('shutDown with drain processes everything queued, then stops; later adds are ignored', async () => {
  const queue = new WorkQueue();
  const processed: string[] = [];
  let aborted = false;
  const done = queue.run(
    async (key, signal) => {
      await sleep(10);
      aborted ||= signal.aborted;
      processed.push(key);
    },
    { concurrency: 1 },
  );
  for (const key of ['1', '2', '3', '4', '5']) queue.add(key);
  queue.addAfter('delayed', 10_000);
  await sleep(2);
  await queue.shutDown({ drain: true });
  assert.deepEqual(processed, ['1', '2', '3', '4', '5']);
  assert.equal(aborted, false);
  assert.equal(queue.delayedCount, 0, 'delayed keys are cancelled');
  queue.add('after');
  assert.equal(queue.length, 0);
  await done;
});

test('shutDown without drain drops queued keys, lets in-flight ones finish, and aborts their signal', async () => {
  const queue = new WorkQueue();
  const processed: string[] = [];
  let sawAbort = false;
  const done = queue.run(
    async (key, signal) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      sawAbort ||= signal.aborted;
      processed.push(key);
    },
    { concurrency: 2 },
  );
  for (const key of ['1', '2', '3', '4']) queue.add(key);
  await sleep(5);
  assert.equal(queue.processingCount, 2);
  assert.equal(queue.length, 2);
  await queue.shutDown();
  assert.deepEqual(processed.sort(), ['1', '2'], 'only the in-flight keys completed');
  assert.equal(sawAbort, true);
  assert.equal(queue.processingCount, 0);
  await done;
});
