// The host implementations of quotas and idempotent creates against the in-memory API server
// (core/testing: resourceVersions, 409s, label selectors, watches), with two API replicas each on
// its own watch-fed cache: what holds here across replicas is what the e2e test checks on the test bed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../core/testing/fake-api-server.ts';
import { KubeClient } from '../../core/index.ts';
import { buildApp } from '../app.ts';
import { hashApiKey } from '../auth.ts';
import { ProblemError } from '../problems.ts';
import { DEFAULT_ACCOUNT_LIMITS } from '../quotas.ts';
import type { TenantControlPlane } from '../tcp.ts';
import { testKey } from '../testing.ts';
import { ACCOUNT_LIMITS_CONFIGMAP, KubeAccountLimits } from './account-limits.ts';
import { API_KEYS_SECRET } from './auth-store.ts';
import { hostDependencies, type HostDependencies } from './index.ts';
import { KubeIssuanceCounter } from './issuance-counter.ts';

const NS = 'kubeception-system';
const TCPS = '/apis/kubeception.io/v1alpha1/tenantcontrolplanes';

async function host(t: { after: (fn: () => Promise<void>) => void }) {
  const fake = await FakeApiServer.start();
  fake.addResource('kubeception.io/v1alpha1', 'TenantControlPlane', 'tenantcontrolplanes', true, { status: true });
  const client = new KubeClient(fake.kubeConfig());
  const apps: { close(): Promise<unknown> }[] = [];
  t.after(async () => {
    for (const app of apps) await app.close();
    await client.close();
    await fake.close();
  });
  const configMap = (name: string, data: Record<string, string>) =>
    client.request('POST', `/api/v1/namespaces/${NS}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data } });
  const addKey = (key: string, account: string) =>
    client.request('POST', `/api/v1/namespaces/${NS}/secrets`, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: API_KEYS_SECRET },
        data: { [hashApiKey(key)]: Buffer.from(JSON.stringify({ account, scopes: ['read', 'write'], groups: [], createdAt: '2030-01-01T00:00:00Z' })).toString('base64') },
      },
    });
  /** One API replica with its own client and cache, like a pod; `adjust` injects faults. */
  const replica = async (adjust: (deps: HostDependencies) => void = () => {}) => {
    const deps = hostDependencies({ kubeConfig: fake.kubeConfig(), namespace: NS, layout: { kind: 'per-cluster', prefix: 'kc-' } });
    adjust(deps);
    await deps.start();
    const app = await buildApp({ ...deps, rateLimit: { capacity: 10_000, refillPerSecond: 10_000 } });
    apps.push({ close: async () => (await app.close(), await deps.close()) });
    return app;
  };
  const live = async (account: string) =>
    (await client.request<{ items: TenantControlPlane[] }>('GET', TCPS, { query: { labelSelector: `kubeception.io/account=${account}` } })).items.filter(
      (tcp) => tcp.metadata.deletionTimestamp === undefined,
    );
  return { fake, client, configMap, addKey, replica, live };
}

test('creates racing over two replicas never leave the account over the quota from the limits ConfigMap', async (t) => {
  const { configMap, addKey, replica, live } = await host(t);
  await configMap(ACCOUNT_LIMITS_CONFIGMAP, { acme: '{"maxClusters":3}' });
  const key = testKey('acme');
  await addKey(key, 'acme');
  const [a, b] = [await replica(), await replica()];
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      (i % 2 === 0 ? a : b).inject({ method: 'POST', url: '/v1/clusters', headers: { authorization: `Bearer ${key}` }, payload: { name: `race-${i}` } }),
    ),
  );
  assert.ok(answers.every((r) => r.statusCode === 202 || r.statusCode === 403), answers.map((r) => r.body).join('\n'));
  const left = (await live('acme')).map((tcp) => tcp.metadata.name).sort();
  assert.ok(left.length <= 3, `${left.length} clusters`);
  assert.deepEqual(left, answers.filter((r) => r.statusCode === 202).map((r) => r.json().id).sort());
  for (const refused of answers.filter((r) => r.statusCode === 403)) assert.equal(refused.json().limit, 'clusters-per-account');
  t.diagnostic(`${left.length} of 10 racing creates kept`);
});

test('a create that timed out after the host made the tcp, retried on the other replica: one cluster', async (t) => {
  const { addKey, replica, live } = await host(t);
  const key = testKey('acme');
  await addKey(key, 'acme');
  let timeouts = 1;
  const flaky = await replica((deps) => {
    const create = deps.clusters.create.bind(deps.clusters);
    deps.clusters.create = async (tcp) => {
      const created = await create(tcp);
      if (timeouts-- > 0) throw new ProblemError(503, 'host-unavailable', "the host cluster's API server could not be reached (timeout); retry later");
      return created;
    };
  });
  const other = await replica();
  const request = { method: 'POST' as const, url: '/v1/clusters', headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'order-1' }, payload: { name: 'prod' } };
  assert.equal((await flaky.inject(request)).statusCode, 503);
  const [made] = await live('acme');
  assert.ok(made !== undefined);
  const retry = await other.inject(request);
  assert.equal(retry.statusCode, 202, retry.body);
  assert.equal(retry.json().id, made.metadata.name);
  assert.equal((await flaky.inject(request)).headers['idempotent-replayed'], 'true');
  assert.deepEqual((await live('acme')).map((tcp) => tcp.metadata.name), [made.metadata.name]);
});

test('the issuance counter: three replicas taking at once count exactly the maximum in one ConfigMap', async (t) => {
  const { client } = await host(t);
  const counters = [0, 1, 2].map(() => new KubeIssuanceCounter({ client, namespace: NS, attempts: 50 }));
  const now = new Date('2030-01-01T10:30:00Z');
  const outcomes = await Promise.all(Array.from({ length: 24 }, (_, i) => counters[i % 3]!.take('acme', 7, now)));
  assert.equal(outcomes.filter((o) => o.allowed).length, 7);
  const stored = await client.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${NS}/configmaps/kubeception-issuance-acme`);
  assert.deepEqual(stored.data, { window: '2030-01-01T10:00:00.000Z', count: '7' });
  assert.equal((await counters[1]!.peek('acme', now)).count, 7);
  assert.equal((await counters[1]!.peek('nobody', now)).count, 0);
  assert.deepEqual(await counters[0]!.take('acme', 7, new Date('2030-01-01T11:00:01Z')), { allowed: true, count: 1, windowEnd: new Date('2030-01-01T12:00:00Z') });
});

test('account limits: defaults without the ConfigMap, overrides per account, a malformed entry keeps the defaults', async (t) => {
  const { client, configMap } = await host(t);
  let now = 0;
  const clock = { now: () => new Date(now) };
  const limits = new KubeAccountLimits({ client, namespace: NS, defaults: DEFAULT_ACCOUNT_LIMITS, clock, refreshMs: 10_000 });
  assert.deepEqual(await limits.limitsFor('acme'), DEFAULT_ACCOUNT_LIMITS);
  await configMap(ACCOUNT_LIMITS_CONFIGMAP, { acme: '{"maxClusters":50}', broken: '{"maxClusters":-1}' });
  assert.equal((await limits.limitsFor('acme')).maxClusters, DEFAULT_ACCOUNT_LIMITS.maxClusters, 'read at most every 10 s');
  now += 10_001;
  assert.deepEqual(await limits.limitsFor('acme'), { ...DEFAULT_ACCOUNT_LIMITS, maxClusters: 50 });
  assert.deepEqual(await limits.limitsFor('broken'), DEFAULT_ACCOUNT_LIMITS);
});
