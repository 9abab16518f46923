// Metering against the real host API server: two API replicas elect one metering writer through the
// Lease; passes run on both at once, retried and interleaved with the elected loop, across an API
// restart and a time without any replica; the stored usage is the timeline the tcps record, to the
// second; old per-account ledgers are folded in once.
//
// The clusters live in per-cluster namespaces `kcmeter-<id>` that no operator watches (they never run).
// The test holds deleted tcps with a finalizer of its own, as the operator's would, so their
// deletionTimestamp is there to be seen, then lets them go.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { createApiKey } from '../../api/host/auth-store.ts';
import { hostDependencies, type HostDependencies } from '../../api/host/index.ts';
import { KubeClient } from '../../api/host/kube.ts';
import type { NamespaceLayout } from '../../api/host/cluster-store.ts';
import { METERING_LEASE } from '../../api/metering.ts';
import { PeriodicTasks } from '../../api/periodic-tasks.ts';
import { parseUsagePeriod, sumBuckets, type Bucket, type UsagePeriod } from '../../api/usage.ts';
import { billingHistoryOf } from '../../api/billing-history.ts';
import type { TenantControlPlane } from '../../api/tcp.ts';
import { LABELS, LeaderElector } from '../../core/index.ts';
import { applyCrd, deleteNamespaces, TCP_BASE } from '../support/api.ts';
import { eventually, testbed, testNamespace, type Testbed } from '../support/testbed.ts';

const PREFIX = 'kcmeter-';
const LAYOUT: NamespaceLayout = { kind: 'per-cluster', prefix: PREFIX };
/** Keeps a deleted tcp (with its deletionTimestamp) until the test lets go, like the operator's finalizer. */
const HOLD = 'e2e.kubeception.io/metering-hold';

let tb: Testbed;
let host: KubeClient;
let stateNamespace: string;
let cleanupState: () => Promise<void> = async () => {};
let key = '';
let legacyKey = '';

interface Replica {
  identity: string;
  deps: HostDependencies;
  app: FastifyInstance;
  base: string;
  elector: LeaderElector;
  loop: PeriodicTasks;
  /** Passes the elected loop ran on this replica. */
  leaderPasses: number;
}
const running: Replica[] = [];

/** One API replica as server.ts runs it: the app, the metering Lease, the metering loop (every second here). */
async function startReplica(identity: string): Promise<Replica> {
  const deps = hostDependencies({ kubeConfig: tb.kubeConfig, namespace: stateNamespace, layout: LAYOUT });
  await deps.start();
  const app = await buildApp({ ...deps, rateLimit: { capacity: 100_000, refillPerSecond: 100_000 } });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const elector = new LeaderElector({
    client: deps.client,
    namespace: stateNamespace,
    name: METERING_LEASE,
    identity,
    leaseDurationMs: 4000,
    renewDeadlineMs: 3000,
    retryPeriodMs: 500,
    onStartedLeading: () => {},
  });
  const replica: Replica = { identity, deps, app, base, elector, loop: undefined as unknown as PeriodicTasks, leaderPasses: 0 };
  replica.loop = new PeriodicTasks({
    intervalMs: 1000,
    tasks: [
      {
        name: 'metering',
        run: async () => {
          if (!elector.isLeader) return 'standing by';
          replica.leaderPasses++;
          return app.meter.tick();
        },
      },
    ],
  });
  void elector.run();
  replica.loop.start(500);
  running.push(replica);
  return replica;
}

async function stopReplica(replica: Replica): Promise<void> {
  running.splice(running.indexOf(replica), 1);
  await replica.loop.stop();
  await replica.elector.stop();
  await replica.app.close();
  await replica.deps.close();
}

async function call(base: string, method: string, path: string, options: { key?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? key}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(base + path, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const tcpPath = (id: string) => `${TCP_BASE}/namespaces/${PREFIX}${id}/tenantcontrolplanes/${id}`;

async function tcpOf(id: string): Promise<TenantControlPlane | undefined> {
  return host.request<TenantControlPlane>('GET', tcpPath(id)).catch((error: { statusCode?: number }) => {
    if (error.statusCode === 404) return undefined;
    throw error;
  });
}

async function hold(id: string): Promise<void> {
  await host.request('PATCH', tcpPath(id), { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: [HOLD] } } });
}

async function release(id: string): Promise<void> {
  await host.request('PATCH', tcpPath(id), { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } }).catch(() => {});
}

/** The stored periods of one cluster, straight from the ConfigMaps. */
async function periodsOf(id: string): Promise<UsagePeriod[]> {
  const list = await host.request<{ items: { data?: Record<string, string> }[] }>('GET', `/api/v1/namespaces/${stateNamespace}/configmaps`, {
    query: { labelSelector: `${LABELS.cluster}=${id},${LABELS.usageMonth}` },
  });
  return list.items.map((cm) => parseUsagePeriod(JSON.parse(cm.data?.['period'] ?? '')));
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/**
 * What the tcp's own record says it must be billed, up to `until`: from its creationTimestamp, each
 * size from its entry in the billing history, to its deletionTimestamp (or `until`).
 */
function timelineOf(tcp: TenantControlPlane, until: number): Bucket {
  const expected: Bucket = [0, 0, 0, 0, 0];
  const created = seconds(tcp.metadata.creationTimestamp!);
  const end = Math.min(until, tcp.metadata.deletionTimestamp === undefined ? Infinity : seconds(tcp.metadata.deletionTimestamp));
  const changes = billingHistoryOf(tcp);
  changes.forEach((change, i) => {
    const from = Math.max(created, change.since);
    const to = Math.min(end, changes[i + 1]?.since ?? end);
    if (to > from) expected[(['small', 'medium', 'large'] as const).indexOf(change.size) as 0 | 1 | 2] += to - from;
  });
  return expected;
}

/** Stored usage and its watermark. */
async function billedOf(id: string): Promise<{ bill: Bucket; accountedTo: number; periods: UsagePeriod[] }> {
  const periods = await periodsOf(id);
  return { bill: sumBuckets(periods, 0, Number.MAX_SAFE_INTEGER), accountedTo: Math.max(...periods.map((p) => p.accountedTo)), periods };
}

async function createCluster(replica: Replica, name: string): Promise<string> {
  const created = await call(replica.base, 'POST', '/v1/clusters', { body: { name, size: 'small' } });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  await hold(created.body.id);
  return created.body.id;
}

before(async () => {
  tb = await testbed();
  host = new KubeClient(tb.kubeConfig);
  await applyCrd(tb);
  const ns = await testNamespace(tb, 'kc-metering-state');
  stateNamespace = ns.name;
  cleanupState = ns.cleanup;
  key = (await createApiKey({ client: host, namespace: stateNamespace }, { account: 'meterco', scopes: ['read', 'write'], groups: [] })).key;
  legacyKey = (await createApiKey({ client: host, namespace: stateNamespace }, { account: 'legacyco', scopes: ['read'], groups: [] })).key;
});

after(async () => {
  for (const replica of [...running]) await stopReplica(replica).catch(() => {});
  const tcps = await host.request<{ items: TenantControlPlane[] }>('GET', `${TCP_BASE}/tenantcontrolplanes`).catch(() => ({ items: [] as TenantControlPlane[] }));
  for (const tcp of tcps.items.filter((t) => t.metadata.namespace?.startsWith(PREFIX))) await release(tcp.metadata.name);
  await deleteNamespaces(host, PREFIX);
  await cleanupState();
  await host.close();
});

let survivors: string[] = [];

test('two replicas: one elected metering writer, passes of both at once, the bill is the timeline to the second', { timeout: 120_000 }, async () => {
  const a = await startReplica('replica-a');
  const b = await startReplica('replica-b');
  await eventually('one replica leads the metering', async () => (a.elector.isLeader !== b.elector.isLeader ? true : undefined), 20_000, 200);
  const [leader, standby] = a.elector.isLeader ? [a, b] : [b, a];

  const kept = await createCluster(a, 'kept');
  const resized = await createCluster(b, 'resized');
  const deleted = await createCluster(a, 'deleted');
  await sleep(2500);
  assert.equal((await call(b.base, 'PATCH', `/v1/clusters/${resized}`, { body: { size: 'medium' } })).status, 202);
  await sleep(2500);
  assert.equal((await call(a.base, 'DELETE', `/v1/clusters/${deleted}`)).status, 202);
  const deletedTcp = (await tcpOf(deleted))!;
  assert.ok(deletedTcp.metadata.deletionTimestamp !== undefined, 'held in Deleting');

  // Passes of both replicas at once, and one repeated, while the elected loop runs as well.
  for (let i = 0; i < 3; i++) {
    await Promise.all([a.app.meter.tick(), b.app.meter.tick(), a.app.meter.tick()]);
    await sleep(700);
  }
  // The deleted tcp goes (its deletion was seen while held); one more pass of both.
  await release(deleted);
  await eventually(`tcp ${deleted} is gone`, async () => ((await tcpOf(deleted)) === undefined ? true : undefined), 30_000, 200);
  const results = await Promise.all([a.app.meter.tick(), b.app.meter.tick()]);
  assert.deepEqual(results.flatMap((r) => r.failed), []);

  for (const id of [kept, resized]) {
    const tcp = (await tcpOf(id))!;
    const { bill, accountedTo, periods } = await billedOf(id);
    assert.deepEqual(bill, timelineOf(tcp, accountedTo), `${id}: stored usage = the tcp's timeline up to the watermark`);
    assert.ok(periods.length <= 2 && periods.filter((p) => !p.final).length === 1, JSON.stringify(periods.map((p) => [p.month, p.final])));
  }
  const { bill: deletedBill, periods: deletedPeriods } = await billedOf(deleted);
  assert.deepEqual(deletedBill, timelineOf(deletedTcp, Infinity), 'the deleted cluster: billed to its deletionTimestamp exactly');
  assert.ok(deletedPeriods.every((p) => p.final && p.deletedAt === seconds(deletedTcp.metadata.deletionTimestamp!)));
  const resizedBill = (await billedOf(resized)).bill;
  assert.ok(resizedBill[0] >= 2 && resizedBill[1] >= 1, `small then medium: ${JSON.stringify(resizedBill)}`);

  // The API answers the same, from either replica.
  const from = new Date(Date.now() - 3600_000).toISOString();
  for (const replica of [a, b]) {
    const usage = await call(replica.base, 'GET', `/v1/clusters/${deleted}/usage?from=${from}`);
    assert.equal(usage.status, 200, JSON.stringify(usage.body));
    assert.equal(usage.body.usage.controlPlaneHours.small, Math.round((deletedBill[0] / 3600) * 1e6) / 1e6);
    assert.equal(usage.body.usage.deletedAt, deletedTcp.metadata.deletionTimestamp!.replace(/Z$/, '.000Z'));
  }

  // Only the elected replica's loop metered.
  assert.ok(leader.leaderPasses > 0, 'the leader ran passes');
  assert.equal(standby.leaderPasses, 0, 'the standby ran none');
  assert.match(await (await fetch(`${leader.base}/metrics`)).text(), /kubeception_api_metering_passes_total\{result="ok"\} [1-9]/);
  survivors = [kept, resized];
});

test('across an API restart and a time without any replica: nothing lost, nothing counted twice', { timeout: 120_000 }, async () => {
  assert.equal(survivors.length, 2, 'needs the clusters of the test before');
  const [kept, resized] = survivors as [string, string];
  for (const replica of [...running]) await stopReplica(replica);
  const before = await billedOf(kept);

  // No replica runs: the cluster keeps running, and one is deleted meanwhile (held, so its deletionTimestamp stays).
  await sleep(3000);
  await host.request('DELETE', tcpPath(resized));
  const resizedTcp = (await tcpOf(resized))!;
  await sleep(1000);

  // A new process, nothing in memory: the store alone.
  const c = await startReplica('replica-c');
  const first = await c.app.meter.tick();
  assert.deepEqual(first.failed, []);
  const after = await billedOf(kept);
  assert.ok(after.accountedTo >= before.accountedTo + 4, 'the downtime is billed');
  assert.deepEqual(after.bill, timelineOf((await tcpOf(kept))!, after.accountedTo), 'every second once, across the restart');
  assert.deepEqual((await billedOf(resized)).bill, timelineOf(resizedTcp, Infinity), 'deleted while no replica ran: billed to its deletionTimestamp');

  // A retried pass right after adds only time after the watermark.
  await Promise.all([c.app.meter.tick(), c.app.meter.tick()]);
  const again = await billedOf(kept);
  assert.deepEqual(again.bill, timelineOf((await tcpOf(kept))!, again.accountedTo));

  await call(c.base, 'DELETE', `/v1/clusters/${kept}`);
  await release(kept);
  await release(resized);
  await stopReplica(c);
});

test('an old per-account ledger is folded in once and deleted', { timeout: 60_000 }, async () => {
  // Three hours ago, on a whole hour plus a minute: wholly inside a range that starts at that hour.
  const hour = Math.floor((Date.now() - 3 * 3600_000) / 3600_000) * 3600_000;
  const created = new Date(hour + 60_000);
  const record = {
    clusterId: 'cold00000001',
    name: 'from the old ledger',
    createdAt: created.toISOString(),
    deletedAt: new Date(created.getTime() + 2 * 3600_000).toISOString(),
    sizes: [{ size: 'small', from: created.toISOString(), to: new Date(created.getTime() + 2 * 3600_000).toISOString() }],
    nodes: [{ count: 3, from: created.toISOString(), to: new Date(created.getTime() + 3600_000).toISOString() }],
  };
  await host.request('POST', `/api/v1/namespaces/${stateNamespace}/configmaps`, {
    body: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kubeception-usage-legacyco', labels: { [LABELS.usageLedger]: 'true', [LABELS.account]: 'legacyco', [LABELS.createdBy]: 'kubeception-api' } },
      data: { [record.clusterId]: JSON.stringify(record) },
    },
  });
  const replica = await startReplica('replica-d');
  assert.deepEqual((await replica.app.meter.tick()).failed, []);
  await replica.app.meter.tick();
  const usage = await call(replica.base, 'GET', `/v1/usage?from=${new Date(hour).toISOString()}`, { key: legacyKey });
  assert.equal(usage.status, 200, JSON.stringify(usage.body));
  assert.deepEqual(usage.body.totals, { controlPlaneHours: { small: 2, medium: 0, large: 0, total: 2 }, hibernatedHours: 0, nodeHours: 3 });
  await assert.rejects(host.request('GET', `/api/v1/namespaces/${stateNamespace}/configmaps/kubeception-usage-legacyco`), /404|not found/i);
  await stopReplica(replica);
});
