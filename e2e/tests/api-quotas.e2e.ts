// Quotas and timed-out creates against the real host API server, through real HTTP, with two API
// replicas: the cluster quota holds when creates race across replicas (counted from the host, not a
// cache), the join-token cap and the kubeconfig issuance rate hold (the rate counted in a shared
// ConfigMap), limits come from the account-limits ConfigMap, and a create whose answer was lost after
// the host made the cluster, retried with its Idempotency-Key on the other replica, makes one cluster.
//
// Clusters live in per-cluster namespaces (`kcquota-<id>`) that no operator watches: none of them
// runs. The kubeconfig and join-token checks use the host itself as a stand-in tenant (its CA and
// admin kubeconfig as the tenant's Secrets), as api.e2e.ts does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT_LIMITS_CONFIGMAP } from '../../api/host/account-limits.ts';
import { createApiKey } from '../../api/host/auth-store.ts';
import type { HostDependencies } from '../../api/host/index.ts';
import { KubeClient } from '../../api/host/kube.ts';
import { ProblemError } from '../../api/problems.ts';
import type { TenantControlPlane } from '../../api/tcp.ts';
import { SCOPES } from '../../api/types.ts';
import { applyCrd, callApi, closeApiTest, startApiReplica, TCP_BASE, useHostAsTenant, waitApiReady, type Answer, type ApiReplica } from '../support/api.ts';
import { eventually, testbed, testNamespace, type Testbed } from '../support/testbed.ts';

const PREFIX = 'kcquota-';
const ACCOUNT_LABEL = 'kubeception.io/account';

let tb: Testbed;
let host: KubeClient;
let stateNamespace: string;
let cleanupState: () => Promise<void> = async () => {};
const replicas: ApiReplica[] = [];

async function startReplica(adjust?: (deps: HostDependencies) => void): Promise<ApiReplica> {
  const replica = await startApiReplica(tb, { namespace: stateNamespace, layout: { kind: 'per-cluster', prefix: PREFIX } }, adjust);
  replicas.push(replica);
  return replica;
}

const call = (replica: ApiReplica, method: string, path: string, key: string, body?: unknown, headers?: Record<string, string>): Promise<Answer> =>
  callApi(replica.base, method, path, key, body, headers);

/** The account's live tcps as the host has them. */
async function hostClusters(account: string): Promise<any[]> {
  const list = await host.request<{ items: any[] }>('GET', `${TCP_BASE}/tenantcontrolplanes`, { query: { labelSelector: `${ACCOUNT_LABEL}=${account}` } });
  return list.items.filter((o) => o.metadata.namespace.startsWith(PREFIX) && o.metadata.deletionTimestamp === undefined);
}

/** Writes the account-limits ConfigMap (the replicas re-read it within 10 s; fresh replicas at once). */
async function setLimits(limits: Record<string, Record<string, number>>): Promise<void> {
  const path = `/api/v1/namespaces/${stateNamespace}/configmaps`;
  const data = Object.fromEntries(Object.entries(limits).map(([account, value]) => [account, JSON.stringify(value)]));
  await host.request('DELETE', `${path}/${ACCOUNT_LIMITS_CONFIGMAP}`).catch(() => {});
  await host.request('POST', path, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ACCOUNT_LIMITS_CONFIGMAP }, data } });
}

async function newKey(account: string): Promise<string> {
  return (await createApiKey({ client: host, namespace: stateNamespace }, { account, scopes: [...SCOPES], groups: ['kubeception:tenant-admins'] })).key;
}

before(async () => {
  tb = await testbed();
  host = new KubeClient(tb.kubeConfig);
  await applyCrd(tb);
  const ns = await testNamespace(tb, 'kc-quota-state');
  stateNamespace = ns.name;
  cleanupState = ns.cleanup;
  // Limits before the replicas start, so that their first read has them.
  await setLimits({ racer: { maxClusters: 3 }, capped: { maxClusters: 2, maxJoinTokensPerCluster: 1, maxKubeconfigsPerHour: 2 } });
  await startReplica();
  await startReplica();
  await waitApiReady(replicas[0]!);
});

after(() => closeApiTest(host, replicas, PREFIX, cleanupState));

test('cluster quota: 10 creates racing over two replicas leave at most 3 clusters, every 202 is one of them, every other answer a 403 naming the limit', async () => {
  const key = await newKey('racer');
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => call(replicas[i % 2]!, 'POST', '/v1/clusters', key, { name: `race-${i}` })));
  const statuses = answers.map((a) => a.status);
  assert.ok(statuses.every((s) => s === 202 || s === 403), JSON.stringify(answers.map((a) => a.body)));
  for (const refused of answers.filter((a) => a.status === 403)) {
    assert.equal(refused.body.type, 'https://kubeception.io/problems/quota-exceeded');
    assert.equal(refused.body.limit, 'clusters-per-account');
    assert.equal(refused.body.max, 3);
  }
  const live = await hostClusters('racer');
  assert.ok(live.length <= 3, `${live.length} clusters: ${live.map((o) => o.metadata.name).join(', ')}`);
  assert.deepEqual(live.map((o) => o.metadata.name).sort(), answers.filter((a) => a.status === 202).map((a) => a.body.id).sort());
  // Free slots (if the race left any) can be filled one by one, and then no more.
  while ((await hostClusters('racer')).length < 3) assert.equal((await call(replicas[0]!, 'POST', '/v1/clusters', key, { name: 'fill' })).status, 202);
  const over = await call(replicas[1]!, 'POST', '/v1/clusters', key, { name: 'over' });
  assert.equal(over.status, 403, JSON.stringify(over.body));
  assert.equal(over.body.current, 3);
  assert.match(over.body.detail, /quota clusters-per-account exceeded: account racer has 3 of at most 3/);
});

test('a create whose answer was lost after the host made the cluster: the retry on the other replica finds it, one cluster', async () => {
  const key = await newKey('retrier');
  // A replica whose first create reaches the host and then "times out", as a lost answer does.
  let timeouts = 1;
  const flaky = await startReplica((deps) => {
    const create = deps.clusters.create.bind(deps.clusters);
    deps.clusters.create = async (tcp: TenantControlPlane) => {
      const created = await create(tcp);
      if (timeouts-- > 0) throw new ProblemError(503, 'host-unavailable', "the host cluster's API server could not be reached (The operation was aborted due to timeout); retry later");
      return created;
    };
  });
  const idempotencyKey = `timeout-${Date.now()}`;
  const first = await call(flaky, 'POST', '/v1/clusters', key, { name: 'lost answer' }, { 'idempotency-key': idempotencyKey });
  assert.equal(first.status, 503, JSON.stringify(first.body));
  const made = await hostClusters('retrier');
  assert.equal(made.length, 1, 'the host made the cluster');
  const retry = await call(replicas[0]!, 'POST', '/v1/clusters', key, { name: 'lost answer' }, { 'idempotency-key': idempotencyKey });
  assert.equal(retry.status, 202, JSON.stringify(retry.body));
  assert.equal(retry.body.id, made[0].metadata.name);
  const again = await call(flaky, 'POST', '/v1/clusters', key, { name: 'lost answer' }, { 'idempotency-key': idempotencyKey });
  assert.equal(again.body.id, made[0].metadata.name);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual((await hostClusters('retrier')).map((o) => o.metadata.name), [made[0].metadata.name], 'one cluster, not two');
});

test('join tokens per cluster and kubeconfigs per hour, against a real API server standing in for the tenant', async () => {
  const key = await newKey('capped');
  const api = replicas[0]!;
  const id: string = (await call(api, 'POST', '/v1/clusters', key, { name: 'stand-in' })).body.id;
  await useHostAsTenant(tb, host, `${PREFIX}${id}`, id);
  for (const replica of replicas.slice(0, 2)) {
    await eventually('the replicas see the cluster ready', async () => ((await call(replica, 'GET', `/v1/clusters/${id}`, key)).body.status.ready ? true : undefined), 10_000, 200);
  }
  // The host's own bootstrap tokens count as the "tenant's": the cap is on what is there.
  const existing = (await call(api, 'GET', `/v1/clusters/${id}/join-tokens`, key)).body.items.length;
  const minted: string[] = [];
  try {
    if (existing < 1) {
      const first = await call(api, 'POST', `/v1/clusters/${id}/join-tokens`, key, {});
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(Date.parse(first.body.expiresAt) - Date.now() <= 3600_000 + 5000, true, 'default lifetime 1 h');
      minted.push(first.body.id);
    }
    const refused = await call(replicas[1]!, 'POST', `/v1/clusters/${id}/join-tokens`, key, {});
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.limit, 'join-tokens-per-cluster');
    assert.equal(refused.body.max, 1);
    const week = await call(api, 'POST', `/v1/clusters/${id}/join-tokens`, key, { ttlSeconds: 7 * 24 * 3600 });
    assert.equal(week.status, 400, 'at most 24 h');
  } finally {
    for (const tokenId of minted) await call(api, 'DELETE', `/v1/clusters/${id}/join-tokens/${tokenId}`, key);
  }

  // Two kubeconfigs an hour for this account, counted across both replicas.
  const issue = (replica: ApiReplica) => call(replica, 'POST', `/v1/clusters/${id}/kubeconfig`, key, { username: 'portal:capped:quota-user', groups: ['kubeception:tenant-admins'], ttlSeconds: 600 });
  const answers = [await issue(replicas[0]!), await issue(replicas[1]!), await issue(replicas[0]!), await issue(replicas[1]!)];
  const hourStart = new Date(Math.floor(Date.now() / 3600_000) * 3600_000);
  // The two issuances may straddle an hour boundary; then the third is allowed too. Otherwise 429s.
  const statuses = answers.map((a) => a.status);
  if (Date.now() - hourStart.getTime() > 60_000) {
    assert.deepEqual(statuses, [200, 200, 429, 429], JSON.stringify(answers.map((a) => a.body)));
    const refused = answers[2]!;
    assert.equal(refused.body.limit, 'kubeconfigs-per-hour');
    assert.equal(refused.body.max, 2);
    assert.ok(Number(refused.headers.get('retry-after')) <= 3600);
  }
  const counter = await host.request<any>('GET', `/api/v1/namespaces/${stateNamespace}/configmaps/kubeception-issuance-capped`);
  assert.ok(Number(counter.data.count) <= 2, JSON.stringify(counter.data));
  await call(api, 'DELETE', `/v1/clusters/${id}`, key);
});

test('limits change without a restart: a raised quota takes effect within the re-read interval', async () => {
  const key = await newKey('grower');
  await setLimits({ racer: { maxClusters: 3 }, capped: { maxClusters: 2, maxJoinTokensPerCluster: 1, maxKubeconfigsPerHour: 2 }, grower: { maxClusters: 0 } });
  // Read through GET /v1/limits: a create tried before the replica saw the 0 would be admitted under the default.
  const clusterLimit = async (): Promise<number | undefined> =>
    (await call(replicas[0]!, 'GET', '/v1/limits', key)).body.limits.find((l: { limit: string }) => l.limit === 'clusters-per-account')?.max;
  await eventually('the replicas read grower\'s quota of 0', async () => ((await clusterLimit()) === 0 ? true : undefined), 20_000, 1000);
  const refused = await call(replicas[0]!, 'POST', '/v1/clusters', key, { name: 'g' });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.equal(refused.body.limit, 'clusters-per-account');
  await setLimits({ racer: { maxClusters: 3 }, capped: { maxClusters: 2, maxJoinTokensPerCluster: 1, maxKubeconfigsPerHour: 2 }, grower: { maxClusters: 1 } });
  const created = await eventually('the raised quota applies', async () => {
    const answer = await call(replicas[0]!, 'POST', '/v1/clusters', key, { name: 'g' });
    return answer.status === 202 ? answer : undefined;
  }, 20_000, 1000);
  assert.equal((await hostClusters('grower')).map((o) => o.metadata.name).join(), created.body.id);
});
