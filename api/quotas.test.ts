// Quotas per account: clusters (403), live join tokens per cluster (403), kubeconfigs per hour (429),
// through the routes (the host implementations across replicas: host/quotas.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { buildApp, type AppDependencies } from './app.ts';
import { MemoryClusterStore } from './cluster-store.ts';
import { parseLimitsConfigMap } from './host/account-limits.ts';
import { hourWindow, takeFromWindow } from './issuance-counter.ts';
import { DEFAULT_ACCOUNT_LIMITS, parseLimitOverrides, StaticAccountLimits } from './quotas.ts';
import type { TenantControlPlane } from './tcp.ts';
import { memoryWorld, readyStatus, testKey } from './testing.ts';

async function setup(limits: StaticAccountLimits, overrides: Partial<AppDependencies> = {}) {
  const world = memoryWorld({ accountLimits: limits, rateLimit: { capacity: 1000, refillPerSecond: 1000 }, ...overrides });
  world.auth.add(testKey('alice'), { account: 'alice', scopes: ['read', 'write', 'kubeconfig', 'join-tokens'], groups: ['viewers'] });
  world.auth.add(testKey('bob'), { account: 'bob', scopes: ['read', 'write', 'kubeconfig', 'join-tokens'], groups: ['viewers'] });
  const app = await buildApp(world.deps);
  const as = (who: string) => (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${testKey(who)}` }, ...(payload === undefined ? {} : { payload }) });
  return { world, app, alice: as('alice'), bob: as('bob') };
}

test('clusters per account: the create beyond the quota is 403 naming the limit, its value and the use; a delete frees a slot', async () => {
  const { world, alice, bob } = await setup(new StaticAccountLimits(DEFAULT_ACCOUNT_LIMITS, { alice: { maxClusters: 2 } }));
  const first = (await alice('POST', '/v1/clusters', { name: 'a' })).json().id;
  assert.equal((await alice('POST', '/v1/clusters', { name: 'b' })).statusCode, 202);
  const refused = await alice('POST', '/v1/clusters', { name: 'c' });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
  const problem = refused.json();
  assert.equal(problem.type, 'https://kubeception.io/problems/quota-exceeded');
  assert.equal(problem.limit, 'clusters-per-account');
  assert.equal(problem.max, 2);
  assert.equal(problem.current, 2);
  assert.match(problem.detail, /quota clusters-per-account exceeded: account alice has 2 of at most 2/);
  assert.equal((await world.clusters.list('alice')).length, 2, 'nothing was created');
  assert.equal((await bob('POST', '/v1/clusters', { name: 'c' })).statusCode, 202, 'other accounts have their own quota');
  assert.equal((await alice('DELETE', `/v1/clusters/${first}`)).statusCode, 202);
  assert.equal((await alice('POST', '/v1/clusters', { name: 'c' })).statusCode, 202);
});

/** A replica whose cache has not seen the other replicas' creates: only listCurrent tells the truth. */
class StaleCacheStore extends MemoryClusterStore {
  override async list(): Promise<TenantControlPlane[]> {
    return [];
  }

  override listCurrent(account: string): Promise<TenantControlPlane[]> {
    return super.list(account);
  }

  override async create(tcp: TenantControlPlane): Promise<TenantControlPlane> {
    await yieldTurn(); // let the concurrent creates interleave
    return super.create(tcp);
  }
}

test('concurrent creates past a stale cache never leave the account over its quota', async () => {
  const clusters = new StaleCacheStore();
  const { alice } = await setup(new StaticAccountLimits(DEFAULT_ACCOUNT_LIMITS, { alice: { maxClusters: 3 } }), { clusters });
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => alice('POST', '/v1/clusters', { name: `burst-${i}` })));
  const accepted = answers.filter((a) => a.statusCode === 202);
  assert.ok(answers.every((a) => a.statusCode === 202 || a.statusCode === 403), answers.map((a) => a.body).join('\n'));
  const left = await clusters.listCurrent('alice');
  assert.ok(left.length <= 3, `${left.length} clusters`);
  assert.deepEqual(left.map((t) => t.metadata.name).sort(), accepted.map((a) => a.json().id).sort(), 'every 202 is a cluster that exists, every 403 left none');
  // Sequentially, the slots that are free are all usable.
  while ((await clusters.listCurrent('alice')).length < 3) assert.equal((await alice('POST', '/v1/clusters', { name: 'more' })).statusCode, 202);
  assert.equal((await alice('POST', '/v1/clusters', { name: 'over' })).statusCode, 403);
});

test('join tokens per cluster: the mint beyond the cap is 403; a revoke frees a slot; the cap is per cluster', async () => {
  const { world, alice } = await setup(new StaticAccountLimits(DEFAULT_ACCOUNT_LIMITS, { alice: { maxJoinTokensPerCluster: 2 } }));
  const [one, two] = [(await alice('POST', '/v1/clusters', { name: 'one' })).json().id, (await alice('POST', '/v1/clusters', { name: 'two' })).json().id];
  world.clusters.setStatus(one, readyStatus());
  world.clusters.setStatus(two, readyStatus());
  const first = (await alice('POST', `/v1/clusters/${one}/join-tokens`, {})).json();
  assert.equal((await alice('POST', `/v1/clusters/${one}/join-tokens`, {})).statusCode, 201);
  const refused = await alice('POST', `/v1/clusters/${one}/join-tokens`, {});
  assert.equal(refused.statusCode, 403);
  assert.deepEqual([refused.json().limit, refused.json().max, refused.json().current], ['join-tokens-per-cluster', 2, 2]);
  assert.match(refused.json().detail, new RegExp(`cluster ${one} has 2 of at most 2`));
  assert.equal((await alice('GET', `/v1/clusters/${one}/join-tokens`)).json().items.length, 2, 'the refused mint left no token');
  assert.equal((await alice('POST', `/v1/clusters/${two}/join-tokens`, {})).statusCode, 201, 'another cluster has its own cap');
  assert.equal((await alice('DELETE', `/v1/clusters/${one}/join-tokens/${first.id}`)).statusCode, 204);
  assert.equal((await alice('POST', `/v1/clusters/${one}/join-tokens`, {})).statusCode, 201);
  // Expired tokens are not live: they do not count.
  world.clock.advance(2 * 3600_000);
  assert.equal((await alice('POST', `/v1/clusters/${one}/join-tokens`, {})).statusCode, 201);
});

test('join tokens: own scope (write alone is 403), default lifetime 1 h, at most 24 h', async () => {
  const { world, app, alice } = await setup(new StaticAccountLimits());
  world.auth.add(testKey('writer'), { account: 'alice', scopes: ['read', 'write'], groups: [] });
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  world.clusters.setStatus(id, readyStatus());
  const asWriter = await app.inject({ method: 'POST', url: `/v1/clusters/${id}/join-tokens`, headers: { authorization: `Bearer ${testKey('writer')}` }, payload: {} });
  assert.equal(asWriter.statusCode, 403);
  assert.match(asWriter.json().detail, /needs "join-tokens"/);
  const minted = (await alice('POST', `/v1/clusters/${id}/join-tokens`, {})).json();
  assert.equal(minted.expiresAt, new Date(world.clock.now().getTime() + 3600_000).toISOString());
  assert.equal((await alice('POST', `/v1/clusters/${id}/join-tokens`, { ttlSeconds: 24 * 3600 })).statusCode, 201);
  const tooLong = await alice('POST', `/v1/clusters/${id}/join-tokens`, { ttlSeconds: 24 * 3600 + 1 });
  assert.equal(tooLong.statusCode, 400);
  assert.match(tooLong.json().detail, /body\.ttlSeconds must be <= 86400/);
});

test('kubeconfigs per hour: the issuance beyond the rate is 429 with Retry-After to the next hour; the next hour issues again', async () => {
  const { world, alice, bob } = await setup(new StaticAccountLimits(DEFAULT_ACCOUNT_LIMITS, { alice: { maxKubeconfigsPerHour: 2 } }));
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  world.clusters.setStatus(id, readyStatus());
  world.clock.advance(15 * 60_000); // 00:15
  const issue = () => alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:u', groups: ['portal:alice:viewers'] });
  assert.equal((await issue()).statusCode, 200);
  assert.equal((await issue()).statusCode, 200);
  const refused = await issue();
  assert.equal(refused.statusCode, 429);
  assert.equal(refused.headers['retry-after'], String(45 * 60));
  assert.equal(refused.json().type, 'https://kubeception.io/problems/issuance-rate-exceeded');
  assert.deepEqual([refused.json().limit, refused.json().max, refused.json().current], ['kubeconfigs-per-hour', 2, 2]);
  const bobs = (await bob('POST', '/v1/clusters', { name: 'y' })).json().id;
  world.clusters.setStatus(bobs, readyStatus());
  assert.equal((await bob('POST', `/v1/clusters/${bobs}/kubeconfig`, { username: 'portal:bob:u', groups: ['portal:bob:viewers'] })).statusCode, 200, 'per account');
  world.clock.advance(45 * 60_000);
  assert.equal((await issue()).statusCode, 200);
});

test('GET /v1/limits: each quota with its value and current use, as the problems name them', async () => {
  const { world, alice } = await setup(new StaticAccountLimits(DEFAULT_ACCOUNT_LIMITS, { alice: { maxClusters: 5, maxKubeconfigsPerHour: 9 } }));
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  await alice('POST', '/v1/clusters', { name: 'y' });
  world.clusters.setStatus(id, readyStatus());
  world.clock.advance(10 * 60_000);
  assert.equal((await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:u', groups: ['portal:alice:viewers'] })).statusCode, 200);
  const answer = await alice('GET', '/v1/limits');
  assert.equal(answer.statusCode, 200);
  assert.deepEqual(answer.json(), {
    account: 'alice',
    limits: [
      { limit: 'clusters-per-account', max: 5, current: 2, resetsAt: null },
      { limit: 'join-tokens-per-cluster', max: DEFAULT_ACCOUNT_LIMITS.maxJoinTokensPerCluster, current: null, resetsAt: null },
      { limit: 'kubeconfigs-per-hour', max: 9, current: 1, resetsAt: '2030-01-01T01:00:00.000Z' },
    ],
  });
});

test('issuance windows are UTC clock hours; a count of an earlier hour is not carried over', () => {
  const now = new Date('2030-05-06T07:59:59.999Z');
  assert.deepEqual(hourWindow(now), { start: '2030-05-06T07:00:00.000Z', end: new Date('2030-05-06T08:00:00.000Z') });
  assert.deepEqual(takeFromWindow({ window: '2030-05-06T06:00:00.000Z', count: 9 }, 2, now).outcome, { allowed: true, count: 1, windowEnd: new Date('2030-05-06T08:00:00.000Z') });
  assert.equal(takeFromWindow({ window: '2030-05-06T07:00:00.000Z', count: 2 }, 2, now).outcome.allowed, false);
  assert.equal(takeFromWindow(undefined, 0, now).outcome.allowed, false, '0 forbids');
});

test('limit overrides: known fields, whole numbers >= 0; a bad ConfigMap entry is reported and skipped', () => {
  assert.deepEqual(parseLimitOverrides({ maxClusters: 50, maxKubeconfigsPerHour: 0 }), { maxClusters: 50, maxKubeconfigsPerHour: 0 });
  assert.throws(() => parseLimitOverrides({ maxCluster: 5 }), /unknown limit "maxCluster"/);
  assert.throws(() => parseLimitOverrides({ maxClusters: -1 }), /maxClusters must be a whole number >= 0/);
  assert.throws(() => parseLimitOverrides({ maxClusters: '5' }), /maxClusters must be a whole number >= 0/);
  assert.throws(() => parseLimitOverrides([]), /must be a JSON object/);
  const bad: string[] = [];
  const parsed = parseLimitsConfigMap({ data: { acme: '{"maxClusters":50}', broken: '{maxClusters', typo: '{"clusters":1}' } }, (account) => bad.push(account));
  assert.deepEqual([...parsed], [['acme', { maxClusters: 50 }]]);
  assert.deepEqual(bad, ['broken', 'typo']);
});
