// Feeds the usage ledger. Level-triggered like a controller: every tick compares what exists
// (the tcps, their sizes, their tenants' node counts) with the open intervals in the ledger and
// writes the difference. Routes also record their own changes at once (create, resize, delete) so
// that billing does not lag a tick behind what the customer did.
import type { FastifyBaseLogger } from 'fastify';
import type { ClusterStore } from './cluster-store.ts';
import { accountOf, sizeOf, toClusterView, type TenantControlPlane } from './tcp.ts';
import { systemClock, type Clock } from './types.ts';
import { closeRecord, observe, prune, type ClusterObservation, type ClusterUsageRecord, type UsageLedger } from './usage.ts';

export interface NodeCounter {
  /** Nodes registered in the tenant cluster. */
  countNodes(tcp: TenantControlPlane): Promise<number>;
}

export interface MeterOptions {
  clusters: ClusterStore;
  ledger: UsageLedger;
  nodes?: NodeCounter;
  clock?: Clock;
  log?: FastifyBaseLogger;
  /** Records of clusters deleted longer ago than this are dropped (default 400 days). */
  retentionDays?: number;
  /** Time allowed to count one tenant's nodes (default 5 s). */
  nodeCountTimeoutMs?: number;
}

export function observationOf(tcp: TenantControlPlane, nodes?: number): ClusterObservation {
  const view = toClusterView(tcp);
  const observation: ClusterObservation = {
    clusterId: tcp.metadata.name,
    name: view.name,
    size: sizeOf(tcp),
    createdAt: new Date(tcp.metadata.creationTimestamp ?? Date.now()),
  };
  if (tcp.metadata.deletionTimestamp !== undefined) observation.deletedAt = new Date(tcp.metadata.deletionTimestamp);
  if (nodes !== undefined) observation.nodes = nodes;
  return observation;
}

function sameRecords(a: ReadonlyMap<string, ClusterUsageRecord>, b: ReadonlyMap<string, ClusterUsageRecord>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, record] of a) {
    if (JSON.stringify(record) !== JSON.stringify(b.get(id))) return false;
  }
  return true;
}

export class Meter {
  readonly #clusters: ClusterStore;
  readonly #ledger: UsageLedger;
  readonly #nodes: NodeCounter | undefined;
  readonly #clock: Clock;
  readonly #log: FastifyBaseLogger | undefined;
  readonly #retentionMs: number;
  readonly #nodeTimeoutMs: number;

  constructor(options: MeterOptions) {
    this.#clusters = options.clusters;
    this.#ledger = options.ledger;
    this.#nodes = options.nodes;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log;
    this.#retentionMs = (options.retentionDays ?? 400) * 24 * 3600 * 1000;
    this.#nodeTimeoutMs = options.nodeCountTimeoutMs ?? 5000;
  }

  /** Records one cluster as it is now (after a create or resize by the API). */
  async record(tcp: TenantControlPlane): Promise<void> {
    const account = accountOf(tcp);
    if (account === undefined) return;
    const now = this.#clock.now();
    await this.#ledger.update(account, (records) => {
      const before = records.get(tcp.metadata.name);
      const after = observe(before, observationOf(tcp), now);
      if (JSON.stringify(before) === JSON.stringify(after)) return undefined;
      return new Map(records).set(tcp.metadata.name, after);
    });
  }

  /** Stops billing a cluster whose deletion was just requested. */
  async recordDeletion(tcp: TenantControlPlane, at: Date = this.#clock.now()): Promise<void> {
    const account = accountOf(tcp);
    if (account === undefined) return;
    await this.#ledger.update(account, (records) => {
      const before = records.get(tcp.metadata.name) ?? observe(undefined, observationOf(tcp), at);
      const after = closeRecord(before, at);
      return JSON.stringify(records.get(tcp.metadata.name)) === JSON.stringify(after) ? undefined : new Map(records).set(tcp.metadata.name, after);
    });
  }

  async #countNodes(tcp: TenantControlPlane): Promise<number | undefined> {
    if (this.#nodes === undefined) return undefined;
    // Only a ready tenant can be asked; before that it has no nodes it could bill for anyway.
    const view = toClusterView(tcp);
    if (!view.status.ready) return view.status.phase === 'Provisioning' ? 0 : undefined;
    try {
      return await Promise.race([
        this.#nodes.countNodes(tcp),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), this.#nodeTimeoutMs).unref()),
      ]);
    } catch (error) {
      this.#log?.warn({ cluster: tcp.metadata.name, err: error }, 'could not count tenant nodes; keeping the last count');
      return undefined;
    }
  }

  /** One full pass over every cluster and ledger. */
  async tick(): Promise<{ accounts: number; clusters: number; written: number }> {
    const now = this.#clock.now();
    const tcps = await this.#clusters.list();
    const byAccount = new Map<string, TenantControlPlane[]>();
    for (const tcp of tcps) {
      const account = accountOf(tcp);
      if (account === undefined) continue;
      byAccount.set(account, [...(byAccount.get(account) ?? []), tcp]);
    }
    const accounts = new Set([...byAccount.keys(), ...(await this.#ledger.accounts())]);
    let written = 0;
    for (const account of accounts) {
      const present = byAccount.get(account) ?? [];
      const counts = await Promise.all(present.map((tcp) => this.#countNodes(tcp)));
      await this.#ledger.update(account, (records) => {
        let next = new Map(records);
        present.forEach((tcp, i) => next.set(tcp.metadata.name, observe(next.get(tcp.metadata.name), observationOf(tcp, counts[i]), now)));
        const seen = new Set(present.map((tcp) => tcp.metadata.name));
        for (const [id, record] of next) {
          // Gone without us seeing its deletion (API down meanwhile): bill up to now, the best bound we have.
          if (!seen.has(id) && record.deletedAt === undefined) next.set(id, closeRecord(record, now));
        }
        next = prune(next, new Date(now.getTime() - this.#retentionMs));
        if (sameRecords(records, next)) return undefined;
        written++;
        return next;
      });
    }
    return { accounts: accounts.size, clusters: tcps.length, written };
  }
}
