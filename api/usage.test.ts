import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Meter } from './metering.ts';
import { PeriodicTasks } from './periodic-tasks.ts';
import { buildTenantControlPlane } from './tcp.ts';
import { ManualClock, memoryWorld, MemoryTenantAccess, readyStatus } from './testing.ts';
import { closeRecord, clusterUsage, observe, parseUsageRecord, prune, usageReport, type ClusterObservation } from './usage.ts';

const HOUR = 3600_000;
const t0 = new Date('2030-01-01T00:00:00Z');
const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);
const obs = (extra: Partial<ClusterObservation> = {}): ClusterObservation => ({ clusterId: 'c1', name: 'prod', size: 'small', createdAt: t0, ...extra });

test('a resize closes one interval and opens another; hours add up per size', () => {
  let record = observe(undefined, obs(), at(0));
  record = observe(record, obs({ size: 'large' }), at(2));
  record = observe(record, obs({ size: 'large' }), at(3)); // no change: no new interval
  assert.equal(record.sizes.length, 2);
  const usage = clusterUsage(record, at(0), at(5));
  assert.deepEqual(usage.controlPlaneHours, { small: 2, medium: 0, large: 3, total: 5 });
});

test('node hours follow the observed counts; unknown counts keep the last one', () => {
  let record = observe(undefined, obs({ nodes: 0 }), at(0));
  record = observe(record, obs({ nodes: 3 }), at(1));
  record = observe(record, obs({}), at(2)); // tenant unreachable: still 3
  record = observe(record, obs({ nodes: 1 }), at(3));
  record = observe(record, obs({ nodes: 0 }), at(4));
  assert.equal(clusterUsage(record, at(0), at(10)).nodeHours, 3 * 2 + 1 * 1);
});

test('deletion ends billing and is final', () => {
  let record = observe(undefined, obs({ nodes: 2 }), at(0));
  record = observe(record, obs({ nodes: 2, deletedAt: at(1.5) }), at(2));
  assert.equal(record.deletedAt, at(1.5).toISOString());
  const reopened = observe(record, obs({ size: 'large', nodes: 5 }), at(3));
  assert.deepEqual(reopened, record, 'nothing changes after deletion');
  assert.deepEqual(closeRecord(record, at(9)), record);
  const usage = clusterUsage(record, at(0), at(10));
  assert.equal(usage.controlPlaneHours.total, 1.5);
  assert.equal(usage.nodeHours, 3);
});

test('ranges clip intervals; open intervals run to the end of the range', () => {
  let record = observe(undefined, obs(), at(0));
  record = observe(record, obs({ size: 'medium' }), at(10));
  assert.deepEqual(clusterUsage(record, at(8), at(12)).controlPlaneHours, { small: 2, medium: 2, large: 0, total: 4 });
  assert.equal(clusterUsage(record, at(-5), at(-1)).controlPlaneHours.total, 0);
});

test('the report covers clusters overlapping the range, deleted ones included, with totals', () => {
  const a = closeRecord(observe(undefined, obs({ clusterId: 'a' }), at(0)), at(1));
  const b = observe(undefined, obs({ clusterId: 'b', size: 'large', createdAt: at(0.5) }), at(0.5));
  const old = closeRecord(observe(undefined, obs({ clusterId: 'old', createdAt: at(-10) }), at(-10)), at(-9));
  const report = usageReport('acme', [b, old, a], at(0), at(2));
  assert.deepEqual(report.clusters.map((c) => c.clusterId), ['a', 'b']);
  assert.deepEqual(report.totals, { controlPlaneHours: { small: 1, medium: 0, large: 1.5, total: 2.5 }, nodeHours: 0 });
});

test('retention drops only records deleted before the cut-off', () => {
  const gone = closeRecord(observe(undefined, obs({ clusterId: 'gone' }), at(0)), at(1));
  const live = observe(undefined, obs({ clusterId: 'live' }), at(0));
  const kept = prune(new Map([['gone', gone], ['live', live]]), at(2));
  assert.deepEqual([...kept.keys()], ['live']);
});

test('stored records are validated', () => {
  const record = observe(undefined, obs(), at(0));
  assert.deepEqual(parseUsageRecord(JSON.parse(JSON.stringify(record))), record);
  assert.throws(() => parseUsageRecord({ ...record, sizes: [{ size: 'xl', from: t0.toISOString() }] }), /malformed/);
  assert.throws(() => parseUsageRecord({ ...record, nodes: [{ count: -1, from: t0.toISOString() }] }), /malformed/);
});

test('the metering loop records clusters, node counts, resizes and out-of-band deletions', async () => {
  const clock = new ManualClock(t0);
  const world = memoryWorld({ clock });
  const tenants = new MemoryTenantAccess(clock);
  const meter = new Meter({ clusters: world.clusters, ledger: world.ledger, nodes: tenants, clock });
  const tcp = await world.clusters.create(buildTenantControlPlane({ id: 'cabc00000001', namespace: 'kc-cabc00000001', account: 'acme', name: 'prod', size: 'small', version: 'v1.36.5' }));

  await meter.tick();
  clock.advance(HOUR);
  world.clusters.setStatus(tcp.metadata.name, readyStatus());
  tenants.nodes.set(tcp.metadata.name, 2);
  await meter.tick();
  clock.advance(HOUR);
  await world.clusters.patch(tcp.metadata.name, { metadata: { labels: { 'kubeception.io/size': 'medium' } } });
  await meter.tick();
  clock.advance(HOUR);
  await world.clusters.delete(tcp.metadata.name); // deleted behind the API's back
  const result = await meter.tick();
  assert.equal(result.written, 1);
  assert.equal((await meter.tick()).written, 0, 'a tick without changes writes nothing');

  const report = usageReport('acme', (await world.ledger.read('acme')).values(), t0, at(10));
  assert.deepEqual(report.totals, { controlPlaneHours: { small: 2, medium: 1, large: 0, total: 3 }, nodeHours: 4 });
  assert.equal(report.clusters[0]?.deletedAt, at(3).toISOString());
});

test('periodic tasks run in order; a failing task does not stop the others', async () => {
  const ran: string[] = [];
  const tasks = new PeriodicTasks({
    intervalMs: 60_000,
    tasks: [
      { name: 'a', run: async () => void ran.push('a') },
      { name: 'broken', run: async () => { ran.push('broken'); throw new Error('host down'); } },
      { name: 'c', run: async () => void ran.push('c') },
    ],
  });
  await tasks.runOnce();
  assert.deepEqual(ran, ['a', 'broken', 'c']);
  tasks.start(); // first pass at once, then every interval
  await new Promise((resolve) => setTimeout(resolve, 50));
  await tasks.stop();
  assert.deepEqual(ran.slice(3), ['a', 'broken', 'c']);
});
