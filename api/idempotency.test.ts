import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp, type AppDependencies } from './app.ts';
import { MemoryClusterStore } from './cluster-store.ts';
import { ProblemError } from './problems.ts';
import { DEFAULT_ACCOUNT_LIMITS, StaticAccountLimits } from './quotas.ts';
import type { TenantControlPlane } from './tcp.ts';
import { canonicalJson, idempotencyKeyHash, IdempotentCreates, KeyedMutex, MemoryIdempotencyStore, NothingCreated, requestFingerprint } from './idempotency.ts';
import { ManualClock, memoryWorld, testKey } from './testing.ts';

test('canonical JSON ignores key order and undefined members', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] }), '{"a":[{"d":2}],"b":1}');
  assert.equal(requestFingerprint('POST', '/x', { a: 1, b: 2 }), requestFingerprint('POST', '/x', { b: 2, a: 1 }));
  assert.notEqual(requestFingerprint('POST', '/x', { a: 1 }), requestFingerprint('POST', '/x', { a: 2 }));
});

test('KeyedMutex runs one task per key at a time and keeps going after a failure', async () => {
  const mutex = new KeyedMutex();
  const log: string[] = [];
  const task = (name: string, ms: number, fail = false) => async () => {
    log.push(`start ${name}`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    log.push(`end ${name}`);
    if (fail) throw new Error(name);
    return name;
  };
  const results = await Promise.allSettled([mutex.run('k', task('a', 20, true)), mutex.run('k', task('b', 1)), mutex.run('other', task('c', 1))]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled', 'fulfilled']);
  assert.ok(log.indexOf('end a') < log.indexOf('start b'), 'b waited for a');
  assert.ok(log.indexOf('end c') < log.indexOf('end a'), 'c did not wait for a');
  assert.equal(mutex.size, 0);
});

async function world(overrides: Partial<AppDependencies> = {}) {
  const w = memoryWorld(overrides);
  w.auth.add(testKey('alice'), { account: 'alice', scopes: ['read', 'write'], groups: [] });
  w.auth.add(testKey('bob'), { account: 'bob', scopes: ['read', 'write'], groups: [] });
  const app = await buildApp(w.deps);
  const create = (who: string, key: string | undefined, payload: unknown) =>
    app.inject({
      method: 'POST',
      url: '/v1/clusters',
      headers: { authorization: `Bearer ${testKey(who)}`, ...(key === undefined ? {} : { 'idempotency-key': key }) },
      payload: payload as Record<string, unknown>,
    });
  return { w, app, create };
}

test('same key and same body: the first result again, and one cluster', async () => {
  const { w, create } = await world();
  const first = await create('alice', 'order-1', { name: 'prod', size: 'medium' });
  assert.equal(first.statusCode, 202);
  assert.equal(first.headers['idempotent-replayed'], undefined);
  w.clock.advance(5000);
  const again = await create('alice', 'order-1', { size: 'medium', name: 'prod' }); // other key order, same body
  assert.equal(again.statusCode, 202);
  assert.equal(again.headers['idempotent-replayed'], 'true');
  assert.deepEqual(again.json(), first.json());
  assert.equal(again.headers.location, first.headers.location);
  assert.equal((await w.clusters.list('alice')).length, 1);
});

test('same key, different body: 422 and nothing created', async () => {
  const { w, create } = await world();
  await create('alice', 'order-2', { name: 'prod' });
  const reused = await create('alice', 'order-2', { name: 'staging' });
  assert.equal(reused.statusCode, 422);
  assert.equal(reused.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.match(reused.json().detail, /already used with a different request/);
  assert.equal(reused.json().type, 'https://kubeception.io/problems/idempotency-key-reused');
  assert.equal((await w.clusters.list('alice')).length, 1);
});

test('keys belong to an account: the same key from two accounts makes two clusters', async () => {
  const { w, create } = await world();
  const a = await create('alice', 'shared-key', { name: 'x' });
  const b = await create('bob', 'shared-key', { name: 'x' });
  assert.notEqual(a.json().id, b.json().id);
  assert.equal((await w.clusters.list('alice')).length, 1);
  assert.equal((await w.clusters.list('bob')).length, 1);
});

test('20 concurrent creates with one key make one cluster and all answer with it', async () => {
  const { w, create } = await world();
  const responses = await Promise.all(Array.from({ length: 20 }, () => create('alice', 'burst', { name: 'burst' })));
  assert.deepEqual(new Set(responses.map((r) => r.statusCode)), new Set([202]));
  assert.equal(new Set(responses.map((r) => r.json().id)).size, 1);
  assert.equal(responses.filter((r) => r.headers['idempotent-replayed'] === undefined).length, 1);
  assert.equal((await w.clusters.list('alice')).length, 1);
});

test('without a key every create is a new cluster', async () => {
  const { w, create } = await world();
  await create('alice', undefined, { name: 'x' });
  await create('alice', undefined, { name: 'x' });
  assert.equal((await w.clusters.list('alice')).length, 2);
});

test('invalid keys are refused before anything happens', async () => {
  const { w, create } = await world();
  const response = await create('alice', 'a'.repeat(256), { name: 'x' });
  assert.equal(response.statusCode, 400);
  assert.match(response.json().detail, /header\.idempotency-key/);
  assert.equal((await w.clusters.list()).length, 0);
});

test('a create that certainly made nothing releases the key; a retry succeeds with a new id', async () => {
  const store = new MemoryIdempotencyStore();
  const creates = new IdempotentCreates({ store, clock: new ManualClock() });
  let calls = 0;
  const run = () =>
    creates.run({
      account: 'a',
      key: 'k',
      fingerprint: 'f',
      newId: () => `c${String(calls).padStart(11, '0')}`,
      perform: async (id) => {
        calls++;
        if (calls === 1) throw new NothingCreated(new Error('invalid'));
        return { status: 202, body: { id } };
      },
    });
  await assert.rejects(run(), /^Error: invalid$/);
  assert.equal(store.size, 0);
  const result = await run();
  assert.equal(result.status, 202);
  assert.equal(result.replayed, false);
  assert.deepEqual((await run()).body, result.body);
  assert.equal(calls, 2, 'the replay did not create again');
});

test('a create that may have happened (any other error) keeps the claim: the retry uses the same id', async () => {
  const store = new MemoryIdempotencyStore();
  const creates = new IdempotentCreates({ store, clock: new ManualClock() });
  const ids: string[] = [];
  let n = 0;
  const run = () =>
    creates.run({
      account: 'a',
      key: 'k',
      fingerprint: 'f',
      newId: () => `c${String(++n).padStart(11, '0')}`,
      perform: async (id) => {
        ids.push(id);
        if (ids.length === 1) throw new Error('timeout');
        return { status: 202, body: { id } };
      },
    });
  await assert.rejects(run(), /timeout/);
  assert.equal(store.size, 1, 'the claim stays');
  const result = await run();
  assert.deepEqual(ids, [ids[0], ids[0]], 'the retry created under the claimed id');
  assert.deepEqual(result.body, { id: ids[0] });
});

/** The host as a slow network makes it: the create reaches the API server, the answer never comes back. */
class TimeoutAfterCreate extends MemoryClusterStore {
  timeouts = 1;

  override async create(tcp: TenantControlPlane): Promise<TenantControlPlane> {
    const created = await super.create(tcp);
    if (this.timeouts-- > 0) {
      throw new ProblemError(503, 'host-unavailable', "the host cluster's API server could not be reached (The operation was aborted due to timeout); retry later");
    }
    return created;
  }
}

test('a create that timed out after the host made the cluster: the retry with the same key finds that cluster', async () => {
  const clusters = new TimeoutAfterCreate();
  const { create } = await world({ clusters });
  const first = await create('alice', 'order-timeout', { name: 'prod' });
  assert.equal(first.statusCode, 503, first.body);
  const [made] = await clusters.list('alice');
  assert.ok(made !== undefined, 'the host did create it');
  const retry = await create('alice', 'order-timeout', { name: 'prod' });
  assert.equal(retry.statusCode, 202, retry.body);
  assert.equal(retry.json().id, made.metadata.name);
  assert.equal(retry.headers.location, `/v1/clusters/${made.metadata.name}`);
  assert.equal((await clusters.list('alice')).length, 1, 'one cluster, not two');
  const replay = await create('alice', 'order-timeout', { name: 'prod' });
  assert.equal(replay.headers['idempotent-replayed'], 'true');
  assert.equal(replay.json().id, made.metadata.name);
  assert.equal((await clusters.list('alice')).length, 1);
});

test('a refused create (validation, quota) releases the key: the same key works once the quota allows', async () => {
  const limits = new StaticAccountLimits(DEFAULT_ACCOUNT_LIMITS, { alice: { maxClusters: 0 } });
  const { w, create } = await world({ accountLimits: limits });
  const refused = await create('alice', 'order-quota', { name: 'prod' });
  assert.equal(refused.statusCode, 403);
  assert.equal(w.idempotency.size, 0);
  limits.set('alice', { maxClusters: 1 });
  const created = await create('alice', 'order-quota', { name: 'prod' });
  assert.equal(created.statusCode, 202, created.body);
  assert.equal((await w.clusters.list('alice')).length, 1);
});

test('a claim left by a crashed request is completed by the retry, with the claimed id', async () => {
  const store = new MemoryIdempotencyStore();
  const clock = new ManualClock();
  // What a request that died after claiming (before creating) leaves behind.
  await store.claim({ account: 'a', keyHash: idempotencyKeyHash('a', 'k'), fingerprint: 'f', clusterId: 'cclaimed0000', createdAt: clock.now().toISOString(), expiresAt: '2031-01-01T00:00:00Z' });
  const creates = new IdempotentCreates({ store, clock });
  const seen: string[] = [];
  const result = await creates.run({ account: 'a', key: 'k', fingerprint: 'f', newId: () => 'cnew00000000', perform: async (id) => (seen.push(id), { status: 202, body: { id } }) });
  assert.deepEqual(seen, ['cclaimed0000']);
  assert.deepEqual(result.body, { id: 'cclaimed0000' });
});

test('expired keys can be used again and are swept', async () => {
  const clock = new ManualClock();
  const store = new MemoryIdempotencyStore();
  const creates = new IdempotentCreates({ store, clock, ttlSeconds: 60 });
  let n = 0;
  const run = (fingerprint: string) => creates.run({ account: 'a', key: 'k', fingerprint, newId: () => `c${String(++n).padStart(11, '0')}`, perform: async (id) => ({ status: 202, body: { id } }) });
  const first = await run('f1');
  clock.advance(61_000);
  const second = await run('f2'); // a different body is fine once the key expired
  assert.notDeepEqual(second.body, first.body);
  clock.advance(61_000);
  assert.equal(await store.expire(clock.now()), 1);
  assert.equal(store.size, 0);
});
