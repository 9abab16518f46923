// The metering pass: turns what exists (the tcps, their billed state and its recorded changes, their
// tenants' nodes) into usage periods (usage.ts). Only the replica holding the metering Lease runs it
// (server.ts), but nothing breaks if two run at once, a pass is retried, or a replica restarts: each
// period carries its watermark, every write is compare-and-swap, and a pass adds only the time after
// the watermark it read. The meter itself keeps no state between passes.
//
// A failing cluster or account is logged, counted (kubeception_api_metering_failures_total) and tried
// again next pass; the others go on.
import type { FastifyBaseLogger } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { billedStateOf, billingHistoryOf } from './billing-history.ts';
import type { ClusterStore } from './cluster-store.ts';
import { accountOf, toClusterView, type TenantControlPlane } from './tcp.ts';
import { systemClock, type Clock } from './types.ts';
import { advance, monthEnd, toSeconds, type ClusterObservation, type NodeSeen, type UsagePeriod } from './usage.ts';
import { UsageConflictError, type StoredPeriod, type UsageStore } from './usage-store.ts';

export interface NodeLister {
  /** The nodes registered in the tenant cluster. */
  listNodes(tcp: TenantControlPlane): Promise<NodeSeen[]>;
}

/** Usage kept from before the per-month periods (host/usage-store.ts reads the old ConfigMaps). */
export interface LegacyUsage {
  /** Accounts whose old ledger is still there. */
  accounts(): Promise<string[]>;
  /** Folds one account's old ledger into periods (idempotent), then removes it. */
  migrate(account: string, now: number): Promise<void>;
}

export interface MeterOptions {
  clusters: ClusterStore;
  store: UsageStore;
  nodes?: NodeLister;
  legacy?: LegacyUsage;
  clock?: Clock;
  log?: FastifyBaseLogger;
  /** Final periods of months that ended longer ago than this are deleted (default 400 days). */
  retentionDays?: number;
  /** Time allowed to list one tenant's nodes (default 5 s). */
  nodeListTimeoutMs?: number;
  /** Where the metering counters are registered (default: a registry of the meter's own). */
  registry?: Registry;
}

export interface PassResult {
  accounts: number;
  clusters: number;
  /** Periods created or replaced. */
  written: number;
  /** Accounts or clusters that failed (retried next pass). */
  failed: string[];
}

/** What a pass sees of one tcp. */
export function observationOf(tcp: TenantControlPlane, nodes?: NodeSeen[]): ClusterObservation {
  const observation: ClusterObservation = {
    clusterId: tcp.metadata.name,
    account: accountOf(tcp) ?? '',
    name: toClusterView(tcp).name,
    createdAt: toSeconds(new Date(tcp.metadata.creationTimestamp ?? Date.now())),
    state: billedStateOf(tcp),
    history: billingHistoryOf(tcp),
  };
  if (tcp.metadata.deletionTimestamp !== undefined) observation.deletedAt = toSeconds(new Date(tcp.metadata.deletionTimestamp));
  if (nodes !== undefined) observation.nodes = nodes;
  return observation;
}

/** The coordination.k8s.io Lease (in the API namespace) whose holder runs the metering passes. */
export const METERING_LEASE = 'kubeception-api-metering';

/** Writes of one cluster's periods per pass before it counts as failed (each conflict means someone else advanced it). */
const ATTEMPTS = 5;

/** tcps seen leaving kept for the next pass at most. */
const MAX_REMOVED = 10_000;

interface AccountWork {
  tcps: Map<string, TenantControlPlane>;
  cursors: Map<string, StoredPeriod[]>;
  removed: Map<string, TenantControlPlane>;
}

/** Billing of a tcp that left ends at its deletionTimestamp, or (deleted without one) when it was seen leaving. */
function endOf(tcp: TenantControlPlane, seenLeaving: number): number {
  return tcp.metadata.deletionTimestamp === undefined ? seenLeaving : Math.min(seenLeaving, toSeconds(new Date(tcp.metadata.deletionTimestamp)));
}

export class Meter {
  readonly #clusters: ClusterStore;
  readonly #store: UsageStore;
  readonly #nodes: NodeLister | undefined;
  readonly #legacy: LegacyUsage | undefined;
  readonly #clock: Clock;
  readonly #log: FastifyBaseLogger | undefined;
  readonly #retentionSeconds: number;
  readonly #nodeTimeoutMs: number;
  readonly registry: Registry;
  /** tcps seen leaving the store (ClusterStore.onRemoved), until a pass has billed their end. */
  readonly #removed = new Map<string, { tcp: TenantControlPlane; at: number }>();
  readonly #passes: Counter<'result'>;
  readonly #failures: Counter<'scope'>;

  constructor(options: MeterOptions) {
    this.#clusters = options.clusters;
    this.#store = options.store;
    this.#nodes = options.nodes;
    this.#legacy = options.legacy;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log;
    this.#retentionSeconds = (options.retentionDays ?? 400) * 24 * 3600;
    this.#nodeTimeoutMs = options.nodeListTimeoutMs ?? 5000;
    this.registry = options.registry ?? new Registry();
    this.#passes = new Counter({ name: 'kubeception_api_metering_passes_total', help: 'Metering passes, by result (ok: every account metered; partial: some failed).', labelNames: ['result'], registers: [this.registry] });
    this.#failures = new Counter({
      name: 'kubeception_api_metering_failures_total',
      help: 'Accounts or clusters a metering pass could not meter (retried next pass), by scope (account, cluster, retention).',
      labelNames: ['scope'],
      registers: [this.registry],
    });
    options.clusters.onRemoved?.((tcp, at) => {
      if (accountOf(tcp) === undefined) return;
      this.#removed.set(tcp.metadata.name, { tcp, at: toSeconds(at) });
      // Bounded even while no pass runs for long: beyond this, the oldest are billed until a pass notices them gone.
      if (this.#removed.size > MAX_REMOVED) this.#removed.delete(this.#removed.keys().next().value!);
    });
  }

  /** The tenant's nodes, or undefined when it cannot (or need not) be asked: its last known nodes stay. */
  async #listNodes(tcp: TenantControlPlane, cursor: StoredPeriod[] | undefined): Promise<NodeSeen[] | undefined> {
    if (this.#nodes === undefined) return undefined;
    const view = toClusterView(tcp);
    const latest = cursor?.reduce((a, b) => (a.period.month >= b.period.month ? a : b)).period.state;
    // Hibernated (no nodes billed): asked once more, in the first pass after it hibernated, for the nodes
    // that joined before; a tenant being deleted likewise, for its nodes up to the deletion. Either may
    // no longer answer: then the nodes the last pass saw are the ones billed.
    const justHibernated = billedStateOf(tcp).hibernated && latest?.hibernated !== true;
    const deleting = tcp.metadata.deletionTimestamp !== undefined;
    if (billedStateOf(tcp).hibernated && !justHibernated) return undefined;
    if (!view.status.ready && !((deleting || justHibernated) && view.status.endpoint !== null)) {
      return view.status.phase === 'Provisioning' ? [] : undefined;
    }
    try {
      return await Promise.race([
        this.#nodes.listNodes(tcp),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), this.#nodeTimeoutMs).unref()),
      ]);
    } catch (error) {
      this.#log?.warn({ cluster: tcp.metadata.name, err: error }, 'could not list tenant nodes; the last known ones stay billed');
      return undefined;
    }
  }

  /** One full pass over every cluster. */
  async tick(): Promise<PassResult> {
    const now = toSeconds(this.#clock.now());
    const failed: string[] = [];
    const fail = (scope: 'account' | 'cluster' | 'retention', what: string, error: unknown) => {
      this.#failures.inc({ scope });
      failed.push(what);
      this.#log?.error({ [scope]: what, err: error }, `metering failed for this ${scope}; retried next pass`);
    };

    // Old ledgers first: an account is metered only once its old usage has been folded in.
    const unmigrated = new Set<string>();
    for (const account of (await this.#legacy?.accounts()) ?? []) {
      try {
        await this.#legacy!.migrate(account, now);
      } catch (error) {
        unmigrated.add(account);
        fail('account', account, error);
      }
    }

    // Cursors before tcps: a cursor in this list belongs to a tcp that existed before the list of tcps
    // was taken, so a tcp created meanwhile is never mistaken for a vanished one.
    const open = await this.#store.listOpen();
    const tcps = await this.#clusters.list();
    const byAccount = new Map<string, AccountWork>();
    const entry = (account: string) => {
      let found = byAccount.get(account);
      if (found === undefined) byAccount.set(account, (found = { tcps: new Map(), cursors: new Map(), removed: new Map() }));
      return found;
    };
    for (const [id, tombstone] of this.#removed) entry(accountOf(tombstone.tcp)!).removed.set(id, tombstone.tcp);
    for (const tcp of tcps) {
      const account = accountOf(tcp);
      if (account !== undefined) entry(account).tcps.set(tcp.metadata.name, tcp);
    }
    for (const stored of open) {
      const cursors = entry(stored.period.account).cursors;
      cursors.set(stored.period.clusterId, [...(cursors.get(stored.period.clusterId) ?? []), stored]);
    }

    let written = 0;
    for (const [account, work] of [...byAccount].sort(([a], [b]) => a.localeCompare(b))) {
      if (unmigrated.has(account)) continue;
      try {
        written += await this.#meterAccount(work, now, (id, error) => fail('cluster', `${account}/${id}`, error));
      } catch (error) {
        fail('account', account, error);
      }
    }
    try {
      await this.#store.deleteFinalBefore(now - this.#retentionSeconds);
    } catch (error) {
      fail('retention', 'retention', error);
    }
    this.#passes.inc({ result: failed.length === 0 ? 'ok' : 'partial' });
    return { accounts: byAccount.size, clusters: tcps.length, written, failed };
  }

  async #meterAccount({ tcps: present, cursors, removed }: AccountWork, now: number, fail: (id: string, error: unknown) => void): Promise<number> {
    const ids = [...new Set([...present.keys(), ...cursors.keys(), ...removed.keys()])].sort();
    let written = 0;
    await Promise.all(
      ids.map(async (id) => {
        try {
          // Not in the list: asked of the host (created after the cache's last event?), else its last state if it was seen leaving.
          const tcp = present.get(id) ?? (await this.#clusters.get(id));
          const lastState = removed.get(id);
          // No open period but some stored: billing ended (a tcp still Deleting, or folded in from an old ledger).
          if (!cursors.has(id) && (tcp !== undefined || lastState !== undefined) && (await this.#store.hasCluster(id))) {
            if (lastState !== undefined && this.#removed.get(id)?.tcp === lastState) this.#removed.delete(id);
            return;
          }
          let seen: ClusterObservation | undefined;
          if (tcp !== undefined) seen = observationOf(tcp, await this.#listNodes(tcp, cursors.get(id)));
          else if (lastState !== undefined) seen = { ...observationOf(lastState), deletedAt: endOf(lastState, this.#removed.get(id)?.at ?? now) };
          written += await this.#meterCluster(id, seen, cursors.get(id), now);
          // Billed (or stale: the tcp is back, as after a relist of the cache); one that arrived meanwhile stays.
          if (lastState !== undefined && this.#removed.get(id)?.tcp === lastState) this.#removed.delete(id);
        } catch (error) {
          fail(id, error);
        }
      }),
    );
    return written;
  }

  /** Accounts one cluster, re-reading and recomputing when a write finds the period changed. */
  async #meterCluster(id: string, seen: ClusterObservation | undefined, listed: StoredPeriod[] | undefined, now: number): Promise<number> {
    let cursors = listed ?? [];
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#write(cursors, seen, now);
      } catch (error) {
        if (!(error instanceof UsageConflictError) || attempt + 1 >= ATTEMPTS) throw error;
        cursors = await this.#store.listOpenOf(id);
      }
    }
  }

  async #write(cursors: StoredPeriod[], seen: ClusterObservation | undefined, now: number): Promise<number> {
    const sorted = [...cursors].sort((a, b) => a.period.month.localeCompare(b.period.month));
    const cursor = sorted.pop();
    let written = 0;
    // Older open periods are left by a pass interrupted between its writes at a change of month: close them.
    for (const stale of sorted) {
      if (stale.period.accountedTo >= monthEnd(stale.period.month)) {
        await this.#store.replace({ ...stale.period, final: true }, stale.version);
        written++;
      }
    }
    // No open period but some stored: its billing ended (a tcp still Deleting, or one folded in from an old ledger).
    if (cursor === undefined && seen !== undefined && (await this.#store.hasCluster(seen.clusterId))) return written;
    const periods = advance(cursor?.period, seen, now);
    if (periods.length === 0) return written;
    const [first, ...rest] = periods as [UsagePeriod, ...UsagePeriod[]];
    // Written open, oldest first, and only then made final in the same order: a period is final only
    // when every earlier one is, so a pass interrupted anywhere leaves the latest open one to go on from.
    const open = (period: UsagePeriod) => (rest.length > 0 ? { ...period, final: false } : period);
    const writes: StoredPeriod[] = [];
    if (cursor === undefined) writes.push(await this.#store.create(open(first)));
    else if (JSON.stringify(cursor.period) !== JSON.stringify(open(first))) writes.push(await this.#store.replace(open(first), cursor.version));
    else writes.push(cursor);
    for (const period of rest) writes.push(await this.#store.create(open(period)));
    written += writes.filter((w) => w !== cursor).length;
    if (rest.length > 0) {
      for (const [i, stored] of writes.entries()) {
        if (!periods[i]!.final) continue;
        await this.#store.replace({ ...stored.period, final: true }, stored.version);
        written++;
      }
    }
    return written;
  }
}
