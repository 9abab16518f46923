// Property tests of metering: random timelines of creates, resizes, hibernations, node changes,
// deletions and API restarts, with metering passes at random times (retried, duplicated, two replicas
// at once, writes failing at random, a restart rebuilding everything from the store alone). The bill is
// compared with the integral of the timeline, computed here independently, to the second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { appendBillingHistory } from './billing-history.ts';
import type { ClusterStore } from './cluster-store.ts';
import { Meter, type NodeLister } from './metering.ts';
import { periodsUpTo } from './routes/usage.ts';
import { buildTenantControlPlane, type TenantControlPlane } from './tcp.ts';
import { readyStatus } from './testing.ts';
import { SIZES, type Size } from './types.ts';
import { monthsBetween, sumBuckets, type Bucket, type NodeSeen } from './usage.ts';
import { MemoryUsageStore } from './usage-store.ts';
import { ANNOTATIONS } from '../core/index.ts';

const RUNS = Number(process.env.KUBECEPTION_METERING_RUNS ?? 150);
/** Two hours before a change of month, so that timelines cross months (and some jump over several). */
const START = Date.parse('2030-01-31T22:00:00Z') / 1000;

type Op =
  | { kind: 'wait'; seconds: number }
  | { kind: 'create'; account: number; size: Size }
  | { kind: 'resize'; pick: number; size: Size }
  | { kind: 'hibernate'; pick: number; on: boolean }
  | { kind: 'join'; pick: number }
  | { kind: 'leave'; pick: number; node: number }
  | { kind: 'delete'; pick: number }
  | { kind: 'vanish'; pick: number }
  | { kind: 'pass'; mode: 'one' | 'retried' | 'two-replicas'; faults: number }
  | { kind: 'restart' };

const pick = fc.nat(1000);
const size = fc.constantFrom(...SIZES);
function ops(withRemovals: boolean): fc.Arbitrary<Op[]> {
  const op: fc.Arbitrary<Op>[] = [
    fc.record({ kind: fc.constant('wait' as const), seconds: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 9000 }), fc.constant(40 * 86400)) }),
    fc.record({ kind: fc.constant('create' as const), account: fc.nat(2), size }),
    fc.record({ kind: fc.constant('resize' as const), pick, size }),
    fc.record({ kind: fc.constant('hibernate' as const), pick, on: fc.boolean() }),
    fc.record({ kind: fc.constant('join' as const), pick }),
    fc.record({ kind: fc.constant('delete' as const), pick }),
    fc.record({ kind: fc.constant('vanish' as const), pick }),
    fc.record({ kind: fc.constant('pass' as const), mode: fc.constantFrom('one' as const, 'retried' as const, 'two-replicas' as const), faults: fc.constantFrom(0, 0, 0.3) }),
    fc.record({ kind: fc.constant('restart' as const) }),
  ];
  if (withRemovals) op.push(fc.record({ kind: fc.constant('leave' as const), pick, node: fc.nat(10) }));
  return fc.array(fc.oneof(...op), { minLength: 1, maxLength: 60 });
}

interface SimCluster {
  tcp: TenantControlPlane;
  size: Size;
  hibernated: boolean;
  nodes: Map<string, number>;
  deletedAt?: number;
  vanishedAt?: number;
  /** The integral of the timeline so far, up to `accruedTo`. */
  expected: Bucket;
  /** When nodes left (not knowable to the second). */
  leftAt: number[];
  accruedTo: number;
}

/** The host as the meter sees it: tcps (status Ready), their tenants' nodes, removals told to the meters. */
class World implements Pick<ClusterStore, 'list' | 'get' | 'onRemoved'>, NodeLister {
  now = START;
  readonly clusters: SimCluster[] = [];
  readonly #removed = new Set<(tcp: TenantControlPlane, at: Date) => void>();
  #nextId = 0;

  async list(): Promise<TenantControlPlane[]> {
    return this.clusters.filter((c) => c.vanishedAt === undefined).map((c) => structuredClone(c.tcp));
  }

  async get(id: string): Promise<TenantControlPlane | undefined> {
    const found = this.clusters.find((c) => c.tcp.metadata.name === id && c.vanishedAt === undefined);
    return found === undefined ? undefined : structuredClone(found.tcp);
  }

  onRemoved(handler: (tcp: TenantControlPlane, at: Date) => void): () => void {
    this.#removed.add(handler);
    return () => this.#removed.delete(handler);
  }

  forgetMeters(): void {
    this.#removed.clear();
  }

  async listNodes(tcp: TenantControlPlane): Promise<NodeSeen[]> {
    const cluster = this.clusters.find((c) => c.tcp.metadata.name === tcp.metadata.name)!;
    return [...cluster.nodes].map(([name, joinedAt]) => ({ name, joinedAt }));
  }

  /** Adds the time since the last change to the expected bill. */
  accrue(cluster: SimCluster): void {
    const until = Math.min(this.now, cluster.deletedAt ?? Infinity);
    const seconds = until - cluster.accruedTo;
    if (seconds <= 0) return;
    cluster.expected[cluster.hibernated ? 3 : SIZES.indexOf(cluster.size) as 0 | 1 | 2] += seconds;
    if (!cluster.hibernated) cluster.expected[4] += cluster.nodes.size * seconds;
    cluster.accruedTo = until;
  }

  create(account: number, size: Size): void {
    const id = `c${String(this.#nextId++).padStart(11, '0')}`;
    const tcp = buildTenantControlPlane({ id, namespace: `kc-${id}`, account: `acct${account}`, name: id, size, version: 'v1.36.5' });
    tcp.metadata.creationTimestamp = new Date(this.now * 1000).toISOString();
    tcp.status = readyStatus();
    this.clusters.push({ tcp, size, hibernated: false, nodes: new Map(), expected: [0, 0, 0, 0, 0], leftAt: [], accruedTo: this.now });
  }

  /** A change through the API: the new state and its history entry in one write. */
  change(cluster: SimCluster, state: { size: Size; hibernated: boolean }): void {
    this.accrue(cluster);
    const history = appendBillingHistory(cluster.tcp, state, this.now);
    cluster.size = state.size;
    cluster.hibernated = state.hibernated;
    cluster.tcp.metadata.labels = { ...cluster.tcp.metadata.labels, 'kubeception.io/size': state.size };
    cluster.tcp.metadata.annotations = { ...cluster.tcp.metadata.annotations, [ANNOTATIONS.billingHistory]: history };
    (cluster.tcp.spec as { hibernated?: boolean }).hibernated = state.hibernated;
  }

  vanish(cluster: SimCluster): void {
    this.accrue(cluster);
    cluster.vanishedAt = this.now;
    for (const handler of this.#removed) handler(structuredClone(cluster.tcp), new Date(this.now * 1000));
  }
}

/** A tiny deterministic generator for fault injection (fast-check shrinks the seed). */
function faults(seed: number, rate: number): () => boolean {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return (state % 1000) / 1000 < rate;
  };
}

const billed = (store: MemoryUsageStore, id: string) => sumBuckets(store.all().filter((p) => p.clusterId === id), 0, Number.MAX_SAFE_INTEGER);

/**
 * Plays a timeline. `exactOnly` keeps it to what the meter can know to the second: no node leaves,
 * and a tcp vanishes only once its end is billed or while a meter holds its last state (a restart
 * waits for the next pass then).
 */
async function play(timeline: Op[], seed: number, exactOnly: boolean) {
  const world = new World();
  const store = new MemoryUsageStore();
  const clock = { now: () => new Date(world.now * 1000) };
  const clusters = world as unknown as ClusterStore;
  const newMeters = () => [new Meter({ clusters, store, nodes: world, clock }), new Meter({ clusters, store, nodes: world, clock })] as const;
  let meters = newMeters();
  let vanishedSinceLastPass = false;
  let fail = () => false;
  store.beforeWrite = () => {
    if (fail()) throw new Error('injected write failure');
  };
  const live = () => world.clusters.filter((c) => c.deletedAt === undefined);
  const endBilled = (c: SimCluster) => store.all().some((p) => p.clusterId === c.tcp.metadata.name && p.final && p.deletedAt !== undefined);

  for (const op of timeline) {
    const candidates = op.kind === 'vanish' ? world.clusters.filter((c) => c.vanishedAt === undefined) : live();
    const cluster = 'pick' in op && candidates.length > 0 ? candidates[op.pick % candidates.length] : undefined;
    switch (op.kind) {
      case 'wait':
        world.now += op.seconds;
        break;
      case 'create':
        world.create(op.account, op.size);
        break;
      case 'resize':
        if (cluster !== undefined) world.change(cluster, { size: op.size, hibernated: cluster.hibernated });
        break;
      case 'hibernate':
        if (cluster !== undefined) world.change(cluster, { size: cluster.size, hibernated: op.on });
        break;
      case 'join':
        if (cluster !== undefined && !cluster.hibernated) {
          world.accrue(cluster);
          cluster.nodes.set(`node-${world.now}-${cluster.nodes.size}`, world.now);
        }
        break;
      case 'leave':
        if (cluster !== undefined && !cluster.hibernated && cluster.nodes.size > 0) {
          world.accrue(cluster);
          cluster.nodes.delete([...cluster.nodes.keys()][op.node % cluster.nodes.size]!);
          cluster.leftAt.push(world.now);
        }
        break;
      case 'delete':
        if (cluster !== undefined) {
          world.accrue(cluster);
          cluster.deletedAt = world.now;
          cluster.tcp.metadata.deletionTimestamp = new Date(world.now * 1000).toISOString();
        }
        break;
      case 'vanish':
        // The operator's finalizer lets go (deleted ones), or the tcp is removed without one.
        // Exact timelines: only once its end is billed, or without nodes (the last state a meter keeps has no node list).
        if (cluster !== undefined && (!exactOnly || (cluster.deletedAt !== undefined && (endBilled(cluster) || cluster.nodes.size === 0)))) {
          if (cluster.deletedAt === undefined) {
            world.accrue(cluster);
            cluster.deletedAt = world.now;
          }
          world.vanish(cluster);
          if (!endBilled(cluster)) vanishedSinceLastPass = true;
        }
        break;
      case 'pass': {
        fail = faults(seed + world.now, op.faults);
        const [a, b] = meters;
        if (op.mode === 'one') await a.tick();
        else if (op.mode === 'retried') {
          await a.tick();
          await a.tick();
        } else await Promise.all([a.tick(), b.tick()]);
        fail = () => false;
        if (world.clusters.every((c) => c.vanishedAt === undefined || endBilled(c))) vanishedSinceLastPass = false;
        break;
      }
      case 'restart':
        // Everything in memory is gone: new meters, fed by the store alone.
        if (exactOnly && vanishedSinceLastPass) break;
        world.forgetMeters();
        meters = newMeters();
        break;
    }
  }
  for (const cluster of world.clusters) world.accrue(cluster);
  return { world, store, meters, clusters };
}

test('exact: the bill is the integral of the timeline to the second, however passes run, fail, repeat or restart', async () => {
  await fc.assert(
    fc.asyncProperty(ops(false), fc.nat(), async (timeline, seed) => {
      const { world, store, meters } = await play(timeline, seed, true);
      // Between passes, a report adds the time since the watermark from the tcps (nodes: the ones last counted).
      for (const cluster of world.clusters) {
        const id = cluster.tcp.metadata.name;
        // A tcp gone since the last pass: only the meters know its end until they write it.
        if (cluster.vanishedAt !== undefined && !store.all().some((p) => p.clusterId === id && p.final)) continue;
        const tcp = cluster.vanishedAt === undefined ? cluster.tcp : undefined;
        const reported = sumBuckets(periodsUpTo(store.all().filter((p) => p.clusterId === id), tcp, world.now), 0, world.now);
        assert.deepEqual(reported.slice(0, 4), cluster.expected.slice(0, 4), `report of ${id} before the last pass`);
      }
      const result = await meters[0].tick();
      assert.deepEqual(result.failed, []);
      for (const cluster of world.clusters) {
        const id = cluster.tcp.metadata.name;
        assert.deepEqual(billed(store, id), cluster.expected, `bill of ${id}`);
        // Bounded: one period per month it lived in, at most 744 hourly buckets each, one open at most.
        const periods = store.all().filter((p) => p.clusterId === id);
        const lived = monthsBetween(Date.parse(cluster.tcp.metadata.creationTimestamp!) / 1000, (cluster.deletedAt ?? world.now) + 1);
        assert.ok(periods.length <= lived.length, `${periods.length} periods for ${lived.length} months`);
        assert.ok(periods.every((p) => Object.keys(p.hours).length <= 744));
        assert.ok(periods.filter((p) => !p.final).length <= 1);
      }
      // A pass more changes nothing.
      const before = JSON.stringify(store.all());
      await meters[1].tick();
      assert.equal(JSON.stringify(store.all()), before);
    }),
    { numRuns: RUNS },
  );
});

test('with what cannot be known to the second (nodes that leave, tcps that vanish): never less, and more only until the next pass', async () => {
  await fc.assert(
    fc.asyncProperty(ops(true), fc.nat(), async (timeline, seed) => {
      const { world, store, meters } = await play(timeline, seed, false);
      await meters[0].tick();
      for (const cluster of world.clusters) {
        const id = cluster.tcp.metadata.name;
        const bill = billed(store, id);
        // A cluster no pass ever saw, created and removed while the meters restarted, is not billed (documented).
        if (store.all().every((p) => p.clusterId !== id)) {
          assert.ok(cluster.vanishedAt !== undefined);
          continue;
        }
        // A tcp that vanished unseen is billed until a pass noticed: at the latest, the last one.
        const slack = cluster.vanishedAt === undefined ? 0 : world.now - cluster.deletedAt!;
        // Never less time in all; a change made just before a tcp vanished unseen may be billed at the state before it.
        const seconds = (b: Bucket) => b[0] + b[1] + b[2] + b[3];
        assert.ok(seconds(bill) >= seconds(cluster.expected), `${id}: ${seconds(bill)} < ${seconds(cluster.expected)}`);
        assert.ok(seconds(bill) <= seconds(cluster.expected) + slack, `${id}: ${seconds(bill)} > ${seconds(cluster.expected)} + ${slack}`);
        if (cluster.vanishedAt === undefined) for (const i of [0, 1, 2, 3] as const) assert.equal(bill[i], cluster.expected[i], `${id}[${i}]`);
        // Nodes: a node that left is billed until a pass saw it gone (at the latest, the last); one that
        // came and went between two passes, or joined just before its tcp vanished, is not billed (documented).
        const nodeSlack = cluster.leftAt.reduce((sum, t) => sum + (world.now - t), 0) + cluster.nodes.size * slack;
        assert.ok(bill[4] <= cluster.expected[4] + nodeSlack, `${id} nodes: ${bill[4]} > ${cluster.expected[4]} + ${nodeSlack}`);
      }
    }),
    { numRuns: RUNS },
  );
});
