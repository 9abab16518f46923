// The ConfigMap store of usage periods against the fake API server (real HTTP, resourceVersions,
// label selectors, preconditions): compare-and-swap, the queries the meter and the routes make,
// retention, the folding in of old ledgers, and two meters writing through it at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeHostPerFile } from '../../core/testing/fake-host.ts';
import { LABELS } from '../../core/index.ts';
import { MemoryClusterStore } from '../cluster-store.ts';
import { Meter } from '../metering.ts';
import { buildTenantControlPlane } from '../tcp.ts';
import { ManualClock } from '../testing.ts';
import { advance, sumBuckets, type ClusterObservation } from '../usage.ts';
import { UsageConflictError } from '../usage-store.ts';
import { KubeUsageStore, periodName } from './usage-store.ts';

const NS = 'kubeception-system';
const CONFIGMAPS = `/api/v1/namespaces/${NS}/configmaps`;
const host = fakeHostPerFile();

const t0 = Date.parse('2030-01-31T23:00:00Z') / 1000;
const seen = (clusterId: string, account = 'acme', extra: Partial<ClusterObservation> = {}): ClusterObservation => ({
  clusterId,
  account,
  name: clusterId,
  createdAt: t0,
  state: { size: 'small', hibernated: false },
  history: [],
  ...extra,
});

test('compare-and-swap: a create finds the period there, a replace finds it changed', async () => {
  const store = new KubeUsageStore({ client: host.client, namespace: NS });
  const [period] = advance(undefined, seen('ccas00000001'), t0 + 60);
  const stored = await store.create(period!);
  await assert.rejects(store.create(period!), UsageConflictError);
  const [next] = advance(stored.period, seen('ccas00000001'), t0 + 120);
  const replaced = await store.replace(next!, stored.version);
  await assert.rejects(store.replace(next!, stored.version), UsageConflictError, 'the old version lost');
  assert.notEqual(replaced.version, stored.version);
  const cm = await host.client.request<{ metadata: { labels: Record<string, string> } }>('GET', `${CONFIGMAPS}/${periodName('ccas00000001', '2030-01')}`);
  assert.deepEqual(
    [cm.metadata.labels[LABELS.account], cm.metadata.labels[LABELS.cluster], cm.metadata.labels[LABELS.usageMonth], cm.metadata.labels[LABELS.usageOpen]],
    ['acme', 'ccas00000001', '2030-01', 'true'],
  );
});

test('queries: open periods, one cluster, an account by months (and its open ones), retention', async () => {
  const store = new KubeUsageStore({ client: host.client, namespace: NS });
  // Two months: January is final, February open; another account's cluster; a deleted one.
  for (const period of advance(undefined, seen('cq0000000001'), t0 + 7200)) await store.create(period);
  for (const period of advance(undefined, seen('cq0000000002', 'other'), t0 + 60)) await store.create(period);
  for (const period of advance(undefined, seen('cq0000000003', 'acme', { deletedAt: t0 + 600 }), t0 + 900)) await store.create(period);

  const open = (await store.listOpen()).map((s) => `${s.period.clusterId}/${s.period.month}`);
  assert.ok(open.includes('cq0000000001/2030-02') && open.includes('cq0000000002/2030-01'));
  assert.ok(!open.includes('cq0000000001/2030-01') && !open.some((o) => o.startsWith('cq0000000003')));
  assert.deepEqual((await store.listOpenOf('cq0000000001')).map((s) => s.period.month), ['2030-02']);
  assert.deepEqual((await store.listCluster('acme', 'cq0000000001')).map((p) => p.month).sort(), ['2030-01', '2030-02']);
  assert.deepEqual(await store.listCluster('other', 'cq0000000001'), [], 'another account sees nothing');
  const january = (await store.listAccount('acme', ['2030-01'])).map((p) => `${p.clusterId}/${p.month}`).sort();
  assert.deepEqual(january.filter((k) => k.startsWith('cq')), ['cq0000000001/2030-01', 'cq0000000001/2030-02', 'cq0000000003/2030-01']);
  assert.equal(await store.hasCluster('cq0000000003'), true);
  assert.equal(await store.hasCluster('cq0000000404'), false);

  const deleted = await store.deleteFinalBefore(Date.parse('2030-02-01T00:00:00Z') / 1000);
  assert.ok(deleted >= 2);
  assert.deepEqual((await store.listCluster('acme', 'cq0000000001')).map((p) => p.month), ['2030-02'], 'the open one stays');
});

test('an old ledger is folded in and deleted; an unreadable entry is kept aside for a person', async () => {
  const store = new KubeUsageStore({ client: host.client, namespace: NS });
  const record = { clusterId: 'cold00000001', name: 'x', createdAt: '2030-01-31T22:00:00Z', deletedAt: '2030-01-31T23:00:00Z', sizes: [{ size: 'large', from: '2030-01-31T22:00:00Z', to: '2030-01-31T23:00:00Z' }], nodes: [] };
  for (const [account, data] of [['legacy-a', { cold00000001: JSON.stringify(record) }], ['legacy-b', { cold00000002: '{"broken":', cold00000003: JSON.stringify({ ...record, clusterId: 'cold00000003' }) }]] as const) {
    await host.client.request('POST', CONFIGMAPS, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `kubeception-usage-${account}`, labels: { [LABELS.usageLedger]: 'true', [LABELS.account]: account } }, data },
    });
  }
  assert.deepEqual((await store.accounts()).sort(), ['legacy-a', 'legacy-b']);
  await store.migrate('legacy-a', t0 + 3600);
  await store.migrate('legacy-a', t0 + 3600); // again: nothing changes
  await store.migrate('legacy-b', t0 + 3600);
  assert.deepEqual(await store.accounts(), []);
  assert.deepEqual(sumBuckets(await store.listCluster('legacy-a', 'cold00000001'), 0, t0 + 3600), [0, 0, 3600, 0, 0]);
  assert.deepEqual(sumBuckets(await store.listCluster('legacy-b', 'cold00000003'), 0, t0 + 3600), [0, 0, 3600, 0, 0]);
  await assert.rejects(host.client.request('GET', `${CONFIGMAPS}/kubeception-usage-legacy-a`), /404|not found/i);
  const kept = await host.client.request<{ data: Record<string, string>; metadata: { labels: Record<string, string> } }>('GET', `${CONFIGMAPS}/kubeception-usage-legacy-b`);
  assert.deepEqual(Object.keys(kept.data), ['cold00000002']);
  assert.equal(kept.metadata.labels[LABELS.usageLedger], 'unreadable');
});

test('two meters over the ConfigMaps at once: every second once, across a change of month', async () => {
  const clock = new ManualClock('2030-03-31T23:30:00Z');
  const clusters = new MemoryClusterStore({ clock });
  for (let i = 0; i < 4; i++) {
    await clusters.create(buildTenantControlPlane({ id: `cmm00000000${i}`, namespace: `kc-cmm00000000${i}`, account: 'meters', name: `m${i}`, size: 'small', version: 'v1.36.5' }));
  }
  const store = new KubeUsageStore({ client: host.client, namespace: NS });
  const meters = [new Meter({ clusters, store, clock }), new Meter({ clusters, store, clock })];
  for (let step = 0; step < 4; step++) {
    clock.advance(1000 * 1000);
    const results = await Promise.all([...meters.map((m) => m.tick()), meters[0]!.tick()]);
    assert.deepEqual(results.flatMap((r) => r.failed), []);
  }
  for (let i = 0; i < 4; i++) {
    const periods = await store.listCluster('meters', `cmm00000000${i}`);
    assert.deepEqual(periods.map((p) => [p.month, p.final]).sort(), [['2030-03', true], ['2030-04', false]]);
    assert.deepEqual(sumBuckets(periods, 0, Number.MAX_SAFE_INTEGER), [4000, 0, 0, 0, 0]);
  }
});
