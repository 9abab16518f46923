// Usage metering: a ledger of intervals per cluster (which size the control plane had from when to
// when, how many nodes the tenant had from when to when), kept in the host cluster so it survives
// restarts of the API and the operator, and the deletion of the tcp itself. Billing a time range is
// integrating those intervals over it. Everything here is pure; host/usage-ledger.ts stores it and
// metering.ts feeds it.
import { SIZES, type Size } from './types.ts';

export interface SizeInterval {
  size: Size;
  from: string;
  /** Absent while the interval is open (the cluster still runs at this size). */
  to?: string;
}

export interface NodeInterval {
  count: number;
  from: string;
  to?: string;
}

export interface ClusterUsageRecord {
  clusterId: string;
  name: string;
  createdAt: string;
  /** When deletion was requested (billing stops) or, if never seen, when the cluster was found gone. */
  deletedAt?: string;
  sizes: SizeInterval[];
  nodes: NodeInterval[];
}

/** What the metering loop or a route saw of one cluster at one moment. */
export interface ClusterObservation {
  clusterId: string;
  name: string;
  size: Size;
  createdAt: Date;
  deletedAt?: Date;
  /** Nodes in the tenant; undefined when unknown (not ready, unreachable): the last count stands. */
  nodes?: number;
}

const iso = (date: Date) => date.toISOString();

function closeOpen<T extends { from: string; to?: string }>(intervals: T[], at: string): T[] {
  return intervals.map((interval) => {
    if (interval.to !== undefined) return interval;
    // An interval never ends before it starts (clock skew between host and API).
    return { ...interval, to: Date.parse(at) < Date.parse(interval.from) ? interval.from : at };
  });
}

function openOf<T extends { to?: string }>(intervals: T[]): T | undefined {
  const last = intervals[intervals.length - 1];
  return last !== undefined && last.to === undefined ? last : undefined;
}

/** Ends a cluster's billing at `at`. Idempotent: a closed record stays as it is. */
export function closeRecord(record: ClusterUsageRecord, at: Date): ClusterUsageRecord {
  if (record.deletedAt !== undefined) return record;
  const when = iso(at);
  return { ...record, deletedAt: when, sizes: closeOpen(record.sizes, when), nodes: closeOpen(record.nodes, when) };
}

/**
 * Folds one observation into a cluster's record. Size and node count changes close the open
 * interval at `now` and open a new one; a deleted cluster's record is final.
 */
export function observe(record: ClusterUsageRecord | undefined, observation: ClusterObservation, now: Date): ClusterUsageRecord {
  const at = iso(now);
  let next: ClusterUsageRecord =
    record ?? {
      clusterId: observation.clusterId,
      name: observation.name,
      createdAt: iso(observation.createdAt),
      sizes: [{ size: observation.size, from: iso(observation.createdAt) }],
      nodes: [],
    };
  if (next.deletedAt !== undefined) return next;
  if (next.name !== observation.name) next = { ...next, name: observation.name };

  const openSize = openOf(next.sizes);
  if (openSize === undefined) {
    next = { ...next, sizes: [...next.sizes, { size: observation.size, from: at }] };
  } else if (openSize.size !== observation.size) {
    next = { ...next, sizes: [...closeOpen(next.sizes, at), { size: observation.size, from: at }] };
  }

  if (observation.nodes !== undefined) {
    const openNodes = openOf(next.nodes);
    const current = openNodes?.count ?? 0;
    if (observation.nodes !== current) {
      const closed = closeOpen(next.nodes, at);
      next = { ...next, nodes: observation.nodes > 0 ? [...closed, { count: observation.nodes, from: at }] : closed };
    }
  }

  if (observation.deletedAt !== undefined) next = closeRecord(next, observation.deletedAt);
  return next;
}

/** Drops records of clusters deleted before `before` (retention) so a ledger stays small. */
export function prune(records: ReadonlyMap<string, ClusterUsageRecord>, before: Date): Map<string, ClusterUsageRecord> {
  return new Map([...records].filter(([, r]) => r.deletedAt === undefined || Date.parse(r.deletedAt) >= before.getTime()));
}

export interface UsageTotals {
  controlPlaneHours: Record<Size, number> & { total: number };
  nodeHours: number;
}

export interface ClusterUsage extends UsageTotals {
  clusterId: string;
  name: string;
  createdAt: string;
  deletedAt: string | null;
}

export interface UsageReport {
  account: string;
  from: string;
  to: string;
  clusters: ClusterUsage[];
  totals: UsageTotals;
}

function overlapSeconds(interval: { from: string; to?: string }, from: number, to: number): number {
  const start = Math.max(from, Date.parse(interval.from));
  const end = Math.min(to, interval.to === undefined ? to : Date.parse(interval.to));
  return Math.max(0, end - start) / 1000;
}

/** Hours with 6 decimals (3.6 ms): exact enough to bill, short enough to read. */
const hours = (seconds: number) => Math.round((seconds / 3600) * 1e6) / 1e6;

function emptyTotals(): UsageTotals {
  return { controlPlaneHours: { small: 0, medium: 0, large: 0, total: 0 }, nodeHours: 0 };
}

/** A cluster's usage within [from, to); open intervals count up to `to`. */
export function clusterUsage(record: ClusterUsageRecord, from: Date, to: Date): ClusterUsage {
  const start = from.getTime();
  const end = to.getTime();
  const seconds: Record<Size, number> = { small: 0, medium: 0, large: 0 };
  for (const interval of record.sizes) seconds[interval.size] += overlapSeconds(interval, start, end);
  const nodeSeconds = record.nodes.reduce((sum, interval) => sum + interval.count * overlapSeconds(interval, start, end), 0);
  const totalSeconds = SIZES.reduce((sum, size) => sum + seconds[size], 0);
  return {
    clusterId: record.clusterId,
    name: record.name,
    createdAt: record.createdAt,
    deletedAt: record.deletedAt ?? null,
    controlPlaneHours: { small: hours(seconds.small), medium: hours(seconds.medium), large: hours(seconds.large), total: hours(totalSeconds) },
    nodeHours: hours(nodeSeconds),
  };
}

/** Whether a record has any time inside [from, to). */
export function overlaps(record: ClusterUsageRecord, from: Date, to: Date): boolean {
  const created = Date.parse(record.createdAt);
  const deleted = record.deletedAt === undefined ? Infinity : Date.parse(record.deletedAt);
  return created < to.getTime() && deleted > from.getTime();
}

export function usageReport(account: string, records: Iterable<ClusterUsageRecord>, from: Date, to: Date): UsageReport {
  const clusters = [...records]
    .filter((record) => overlaps(record, from, to))
    .map((record) => clusterUsage(record, from, to))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.clusterId.localeCompare(b.clusterId));
  const totals = emptyTotals();
  for (const cluster of clusters) {
    for (const size of SIZES) totals.controlPlaneHours[size] += cluster.controlPlaneHours[size];
    totals.controlPlaneHours.total += cluster.controlPlaneHours.total;
    totals.nodeHours += cluster.nodeHours;
  }
  // Sums of rounded values: round once more so 0.1 + 0.2 does not show as 0.30000000000000004.
  for (const key of [...SIZES, 'total'] as const) totals.controlPlaneHours[key] = Math.round(totals.controlPlaneHours[key] * 1e6) / 1e6;
  totals.nodeHours = Math.round(totals.nodeHours * 1e6) / 1e6;
  return { account, from: iso(from), to: iso(to), clusters, totals };
}

/** Validates a stored record (a ConfigMap value may have been edited by hand). */
export function parseUsageRecord(value: unknown): ClusterUsageRecord {
  const r = value as ClusterUsageRecord;
  const isTime = (t: unknown) => typeof t === 'string' && !Number.isNaN(Date.parse(t));
  const ok =
    typeof r === 'object' && r !== null &&
    typeof r.clusterId === 'string' && typeof r.name === 'string' && isTime(r.createdAt) &&
    (r.deletedAt === undefined || isTime(r.deletedAt)) &&
    Array.isArray(r.sizes) && r.sizes.every((s) => (SIZES as readonly string[]).includes(s.size) && isTime(s.from) && (s.to === undefined || isTime(s.to))) &&
    Array.isArray(r.nodes) && r.nodes.every((n) => Number.isInteger(n.count) && n.count >= 0 && isTime(n.from) && (n.to === undefined || isTime(n.to)));
  if (!ok) throw new Error('malformed usage record');
  return r;
}

/** Where ledgers live: one per account. */
export interface UsageLedger {
  read(account: string): Promise<Map<string, ClusterUsageRecord>>;
  /**
   * Read-modify-write of one account's ledger, retried on concurrent writes. `change` returns the
   * new records, or undefined for "nothing to write".
   */
  update(account: string, change: (records: Map<string, ClusterUsageRecord>) => Map<string, ClusterUsageRecord> | undefined): Promise<void>;
  /** Accounts that have a ledger. */
  accounts(): Promise<string[]>;
}

export class MemoryUsageLedger implements UsageLedger {
  readonly #ledgers = new Map<string, Map<string, ClusterUsageRecord>>();

  async read(account: string): Promise<Map<string, ClusterUsageRecord>> {
    return structuredClone(this.#ledgers.get(account) ?? new Map());
  }

  async update(account: string, change: (records: Map<string, ClusterUsageRecord>) => Map<string, ClusterUsageRecord> | undefined): Promise<void> {
    const next = change(await this.read(account));
    if (next !== undefined) this.#ledgers.set(account, structuredClone(next));
  }

  async accounts(): Promise<string[]> {
    return [...this.#ledgers.keys()];
  }
}
