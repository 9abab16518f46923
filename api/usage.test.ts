import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendBillingHistory, billingHistoryOf, BILLING_HISTORY_LENGTH } from './billing-history.ts';
import { Meter } from './metering.ts';
import { PeriodicTasks } from './periodic-tasks.ts';
import { buildTenantControlPlane, type TenantControlPlane } from './tcp.ts';
import { ManualClock, memoryWorld, readyStatus } from './testing.ts';
import { advance, clusterUsage, monthsBetween, parseUsagePeriod, sumBuckets, usageReport, type ClusterObservation, type UsagePeriod } from './usage.ts';
import { periodsFromLegacy, parseLegacyRecord } from './usage-migration.ts';
import { MemoryUsageStore } from './usage-store.ts';
import { ANNOTATIONS } from '../core/index.ts';

const HOUR = 3600;
const t0 = Date.parse('2030-01-01T00:00:00Z') / 1000;
const at = (hours: number) => t0 + Math.round(hours * HOUR);
const obs = (extra: Partial<ClusterObservation> = {}): ClusterObservation => ({
  clusterId: 'c1',
  account: 'acme',
  name: 'prod',
  createdAt: t0,
  state: { size: 'small', hibernated: false },
  history: [],
  ...extra,
});
const small = { size: 'small', hibernated: false } as const;
const large = { size: 'large', hibernated: false } as const;
/** Runs advance and returns the new cursor (the last period) with every period by month. */
function step(periods: Map<string, UsagePeriod>, seen: ClusterObservation | undefined, now: number): UsagePeriod | undefined {
  const cursor = [...periods.values()].sort((a, b) => a.month.localeCompare(b.month)).filter((p) => !p.final).pop();
  const next = advance(cursor, seen, now);
  for (const period of next) periods.set(period.month, period);
  return next[next.length - 1];
}
const total = (periods: Map<string, UsagePeriod>) => sumBuckets(periods.values(), 0, Number.MAX_SAFE_INTEGER);

test('a resize recorded by the API is billed from its second, whenever the pass comes', () => {
  const periods = new Map<string, UsagePeriod>();
  step(periods, obs({ history: [{ ...small, since: 0 }] }), at(1));
  // Resized at 2 h 0 min 7 s; the pass only comes at 5 h.
  step(periods, obs({ state: large, history: [{ ...small, since: 0 }, { ...large, since: at(2) + 7 }] }), at(5));
  assert.deepEqual(total(periods), [2 * HOUR + 7, 0, 3 * HOUR - 7, 0, 0]);
  // The same pass again, or an older one, adds nothing.
  step(periods, obs({ state: large, history: [{ ...small, since: 0 }, { ...large, since: at(2) + 7 }] }), at(5));
  step(periods, obs({ state: large }), at(4));
  assert.deepEqual(total(periods), [2 * HOUR + 7, 0, 3 * HOUR - 7, 0, 0]);
});

test('a change made outside the API is billed from the pass that sees it', () => {
  const periods = new Map<string, UsagePeriod>();
  step(periods, obs({ history: [{ ...small, since: 0 }] }), at(1));
  step(periods, obs({ state: large, history: [{ ...small, since: 0 }] }), at(2));
  step(periods, obs({ state: large, history: [{ ...small, since: 0 }] }), at(3));
  assert.deepEqual(total(periods), [2 * HOUR, 0, HOUR, 0, 0]);
});

test('hibernated time is billed apart and without nodes', () => {
  const periods = new Map<string, UsagePeriod>();
  const nodes = [{ name: 'n1', joinedAt: t0 }];
  step(periods, obs({ nodes, history: [{ ...small, since: 0 }] }), at(1));
  const history = [{ ...small, since: 0 }, { size: 'small' as const, hibernated: true, since: at(1.5) }, { ...small, since: at(3) }];
  step(periods, obs({ nodes, history }), at(4));
  assert.deepEqual(total(periods), [2.5 * HOUR, 0, 0, 1.5 * HOUR, 2.5 * HOUR]);
});

test('nodes: billed from joining (or the watermark), until the pass that no longer sees them; unknown counts keep the last nodes', () => {
  const periods = new Map<string, UsagePeriod>();
  step(periods, obs({ nodes: [] }), at(1));
  step(periods, obs({ nodes: [{ name: 'a', joinedAt: at(1.5) }, { name: 'b', joinedAt: at(1.75) }] }), at(2));
  step(periods, obs(), at(3)); // tenant unreachable: a and b stay billed
  step(periods, obs({ nodes: [{ name: 'b', joinedAt: at(1.75) }] }), at(4)); // a left between 3 and 4: billed to 4
  step(periods, obs({ nodes: [{ name: 'b', joinedAt: at(1.75) }] }), at(5));
  assert.equal(total(periods)[4], (0.5 + 2) * HOUR + (0.25 + 3) * HOUR);
});

test('deletion ends billing at the deletionTimestamp; the last period is final and nothing reopens it', () => {
  const periods = new Map<string, UsagePeriod>();
  step(periods, obs({ nodes: [{ name: 'a', joinedAt: t0 }] }), at(1));
  const last = step(periods, obs({ deletedAt: at(1.5), nodes: [{ name: 'a', joinedAt: t0 }] }), at(2))!;
  assert.equal(last.final, true);
  assert.equal(last.deletedAt, at(1.5));
  assert.deepEqual(last.state.nodes, []);
  assert.deepEqual(advance(last, obs({ state: large }), at(9)), []);
  assert.deepEqual(total(periods), [1.5 * HOUR, 0, 0, 0, 1.5 * HOUR]);
});

test('a tcp gone without a seen deletion is billed until the pass that finds it gone', () => {
  const periods = new Map<string, UsagePeriod>();
  step(periods, obs(), at(1));
  const last = step(periods, undefined, at(2))!;
  assert.equal(last.deletedAt, at(2));
  assert.equal(total(periods)[0], 2 * HOUR);
});

test('months: one period per cluster and month, each with the hours it holds, closed at the month end', () => {
  const periods = new Map<string, UsagePeriod>();
  const created = Date.parse('2030-01-31T23:30:00Z') / 1000;
  step(periods, obs({ createdAt: created }), created + 1800 + 3 * 86400 * 31); // through February into March
  assert.deepEqual([...periods.keys()].sort(), ['2030-01', '2030-02', '2030-03', '2030-04', '2030-05'].slice(0, periods.size));
  const [january, february] = [periods.get('2030-01')!, periods.get('2030-02')!];
  assert.equal(january.final, true);
  assert.equal(january.accountedTo, Date.parse('2030-02-01T00:00:00Z') / 1000);
  assert.deepEqual(january.hours, { '743': [1800, 0, 0, 0, 0] });
  assert.equal(Object.keys(february.hours).length, 28 * 24);
  assert.equal(total(periods)[0], 1800 + 3 * 86400 * 31);
  for (const period of periods.values()) assert.ok(Object.keys(period.hours).length <= 744);
});

test('reports clip to whole hours and include deleted clusters that overlap the range', () => {
  const a = new Map<string, UsagePeriod>();
  step(a, obs({ clusterId: 'a', deletedAt: at(1) }), at(2));
  const b = new Map<string, UsagePeriod>();
  step(b, obs({ clusterId: 'b', createdAt: at(0.5), state: large }), at(2));
  const old = new Map<string, UsagePeriod>();
  step(old, obs({ clusterId: 'old', createdAt: at(-10), deletedAt: at(-9) }), at(2));
  const report = usageReport('acme', [[...b.values()], [...old.values()], [...a.values()]], at(0), at(2));
  assert.deepEqual(report.clusters.map((c) => c.clusterId), ['a', 'b']);
  assert.deepEqual(report.totals, { controlPlaneHours: { small: 1, medium: 0, large: 1.5, total: 2.5 }, hibernatedHours: 0, nodeHours: 0 });
  assert.equal(clusterUsage([...b.values()], at(1), at(2)).controlPlaneHours.large, 1);
  assert.deepEqual(monthsBetween(at(0), at(24 * 40)), ['2030-01', '2030-02']);
});

test('stored periods are validated', () => {
  const [period] = advance(undefined, obs(), at(1));
  assert.deepEqual(parseUsagePeriod(JSON.parse(JSON.stringify(period))), period);
  assert.throws(() => parseUsagePeriod({ ...period, state: { ...period!.state, size: 'xl' } }), /malformed/);
  assert.throws(() => parseUsagePeriod({ ...period, hours: { '0': [1, 2, 3, 4, -1] } }), /malformed/);
  assert.throws(() => parseUsagePeriod({ ...period, accountedTo: 1.5 }), /malformed/);
});

test('billing history: appended with each change, kept short, malformed counts as none', () => {
  let tcp = buildTenantControlPlane({ id: 'cabc00000001', namespace: 'kc-cabc00000001', account: 'acme', name: 'prod', size: 'small', version: 'v1.36.5' });
  assert.deepEqual(billingHistoryOf(tcp), [{ since: 0, size: 'small', hibernated: false }]);
  for (let i = 1; i <= 20; i++) {
    const value = appendBillingHistory(tcp, { size: i % 2 ? 'large' : 'medium', hibernated: false }, t0 + i);
    tcp = { ...tcp, metadata: { ...tcp.metadata, annotations: { ...tcp.metadata.annotations, [ANNOTATIONS.billingHistory]: value } } };
  }
  const history = billingHistoryOf(tcp);
  assert.equal(history.length, BILLING_HISTORY_LENGTH);
  assert.equal(history[history.length - 1]!.since, t0 + 20);
  const broken: TenantControlPlane = { ...tcp, metadata: { ...tcp.metadata, annotations: { [ANNOTATIONS.billingHistory]: '{nope' } } };
  assert.deepEqual(billingHistoryOf(broken), []);
});

test('old ledger records fold into periods with the same hours; open ones continue from the migration', () => {
  const record = parseLegacyRecord({
    clusterId: 'c1',
    name: 'prod',
    createdAt: '2030-01-31T22:00:00.400Z',
    sizes: [{ size: 'small', from: '2030-01-31T22:00:00.400Z', to: '2030-02-01T01:00:00Z' }, { size: 'large', from: '2030-02-01T01:00:00Z' }],
    nodes: [{ count: 2, from: '2030-01-31T23:00:00Z', to: '2030-02-01T00:30:00Z' }],
  });
  const now = Date.parse('2030-02-01T02:00:00Z') / 1000;
  const periods = periodsFromLegacy(record, 'acme', now);
  assert.deepEqual(periods.map((p) => [p.month, p.final, p.accountedTo]), [['2030-01', true, Date.parse('2030-02-01T00:00:00Z') / 1000], ['2030-02', false, now]]);
  assert.deepEqual(sumBuckets(periods, 0, now), [3 * HOUR, 0, HOUR, 0, 2 * 1.5 * HOUR]);
  assert.deepEqual(periods[1]!.state, { size: 'large', hibernated: false, nodes: [] });
  assert.throws(() => parseLegacyRecord({ clusterId: 'c1' }), /malformed/);
});

const world = () => {
  const w = memoryWorld();
  const meter = new Meter({ clusters: w.clusters, store: w.usage, nodes: w.tenants, clock: w.clock });
  const create = (id: string, account = 'acme') =>
    w.clusters.create(buildTenantControlPlane({ id, namespace: `kc-${id}`, account, name: id, size: 'small', version: 'v1.36.5' }));
  return { ...w, meter, create };
};
const billed = (store: MemoryUsageStore, clusterId: string) => sumBuckets(store.all().filter((p) => p.clusterId === clusterId), 0, Number.MAX_SAFE_INTEGER);

test('the pass: clusters, node counts and a deletion behind the API; a pass without changes writes nothing', async () => {
  const w = world();
  const tcp = await w.create('cabc00000001');
  await w.meter.tick();
  w.clock.advance(HOUR * 1000);
  w.clusters.setStatus(tcp.metadata.name, readyStatus());
  w.tenants.nodes.set(tcp.metadata.name, [{ name: 'n1', joinedAt: toS(w.clock) - 600 }, { name: 'n2', joinedAt: toS(w.clock) - 600 }]);
  await w.meter.tick();
  w.clock.advance(HOUR * 1000);
  await w.clusters.delete(tcp.metadata.name);
  w.clock.advance(HOUR * 1000);
  const result = await w.meter.tick();
  assert.deepEqual(result.failed, []);
  assert.equal(result.written, 1);
  assert.equal((await w.meter.tick()).written, 0, 'nothing to write');
  // Billed to the deletion (seen leaving), not to the pass an hour later; nodes since they joined.
  assert.deepEqual(billed(w.usage, 'cabc00000001'), [2 * HOUR, 0, 0, 0, 2 * (HOUR + 600)]);
});

test('a tcp created and deleted between two passes is billed for its whole life', async () => {
  const w = world();
  await w.meter.tick();
  await w.create('cabc00000002');
  w.clock.advance(1800 * 1000);
  await w.clusters.delete('cabc00000002');
  w.clock.advance(1800 * 1000);
  await w.meter.tick();
  assert.deepEqual(billed(w.usage, 'cabc00000002'), [1800, 0, 0, 0, 0]);
});

test('a tcp created while a pass runs is not taken for a vanished one (billed from its creation)', async () => {
  const w = world();
  await w.create('cabc00000003');
  // Another replica's pass lists the open periods first, then the tcps; one is created in between.
  const slowStore = Object.create(w.usage) as MemoryUsageStore;
  let created = false;
  slowStore.listOpen = async () => {
    const open = await w.usage.listOpen();
    if (!created) {
      created = true;
      await w.create('cabc00000004');
      await new Meter({ clusters: w.clusters, store: w.usage, clock: w.clock }).tick(); // writes its cursor
    }
    return open;
  };
  w.clock.advance(HOUR * 1000);
  await new Meter({ clusters: w.clusters, store: slowStore, clock: w.clock }).tick();
  w.clock.advance(HOUR * 1000);
  await w.meter.tick();
  assert.deepEqual(billed(w.usage, 'cabc00000004'), [HOUR, 0, 0, 0, 0], 'created an hour in, billed to the last pass');
  assert.equal(w.usage.all().find((p) => p.clusterId === 'cabc00000004')?.final, false);
});

test('a failing account is isolated: logged, counted, retried next pass; the others are metered', async () => {
  const w = world();
  await w.create('cabc00000005', 'broken');
  await w.create('cabc00000006', 'fine');
  w.usage.beforeWrite = (period) => {
    if (period.account === 'broken') throw new Error('host refused');
  };
  w.clock.advance(HOUR * 1000);
  const result = await w.meter.tick();
  assert.deepEqual(result.failed, ['broken/cabc00000005']);
  assert.deepEqual(billed(w.usage, 'cabc00000006'), [HOUR, 0, 0, 0, 0]);
  assert.match(await w.meter.registry.metrics(), /kubeception_api_metering_failures_total\{scope="cluster"\} 1/);
  w.usage.beforeWrite = () => {};
  w.clock.advance(HOUR * 1000);
  assert.deepEqual((await w.meter.tick()).failed, []);
  assert.deepEqual(billed(w.usage, 'cabc00000005'), [2 * HOUR, 0, 0, 0, 0], 'nothing lost while it failed');
});

test('a pass interrupted at a change of month continues where it stopped, after a restart too', async () => {
  const w = world();
  w.clock.set(new Date('2030-01-31T23:00:00Z'));
  await w.create('cabc00000007');
  await w.meter.tick();
  w.clock.set(new Date('2030-02-01T01:00:00Z'));
  let writes = 0;
  w.usage.beforeWrite = () => {
    if (++writes === 2) throw new Error('crashed'); // January closed, February not created yet
  };
  assert.equal((await w.meter.tick()).failed.length, 1);
  w.usage.beforeWrite = () => {};
  const restarted = new Meter({ clusters: w.clusters, store: w.usage, clock: w.clock });
  w.clock.set(new Date('2030-02-01T02:00:00Z'));
  await restarted.tick();
  assert.deepEqual(billed(w.usage, 'cabc00000007'), [3 * HOUR, 0, 0, 0, 0]);
  assert.deepEqual((await w.usage.listOpen()).map((s) => s.period.month), ['2030-02']);
});

test('two replicas passing at once add every second once', async () => {
  const w = world();
  for (let i = 0; i < 5; i++) await w.create(`cabc0000001${i}`);
  const other = new Meter({ clusters: w.clusters, store: w.usage, clock: w.clock });
  for (let i = 0; i < 5; i++) {
    w.clock.advance(1000 * 1000);
    await Promise.all([w.meter.tick(), other.tick(), w.meter.tick()]);
  }
  for (let i = 0; i < 5; i++) assert.deepEqual(billed(w.usage, `cabc0000001${i}`), [5000, 0, 0, 0, 0]);
});

test('old ledgers are folded in once, then deleted', async () => {
  const w = world();
  await w.create('cabc00000020');
  const ledgers = new Map([['acme', [{ clusterId: 'cabc00000020', name: 'x', createdAt: new Date(w.clock.now().getTime() - HOUR * 1000).toISOString(), sizes: [{ size: 'small', from: new Date(w.clock.now().getTime() - HOUR * 1000).toISOString() }], nodes: [] }]]]);
  const meter = new Meter({
    clusters: w.clusters,
    store: w.usage,
    clock: w.clock,
    legacy: {
      accounts: async () => [...ledgers.keys()],
      migrate: async (account, now) => {
        for (const raw of ledgers.get(account) ?? []) for (const period of periodsFromLegacy(parseLegacyRecord(raw), account, now)) await w.usage.create(period);
        ledgers.delete(account);
      },
    },
  });
  w.clock.advance(HOUR * 1000);
  await meter.tick();
  await meter.tick();
  // An hour in the old ledger (its creationTimestamp says now, the ledger knows better), an hour since.
  assert.deepEqual(billed(w.usage, 'cabc00000020'), [2 * HOUR, 0, 0, 0, 0]);
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

function toS(clock: ManualClock): number {
  return Math.floor(clock.now().getTime() / 1000);
}

