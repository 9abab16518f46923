// Usage metering, the pure part: what a cluster is billed for, aggregated per cluster and calendar
// month (UTC) into hourly buckets, so that the stored usage stays bounded however long a cluster lives
// and however often its size or its nodes change. Every time is an integer count of seconds since the
// epoch and every sum an integer count of seconds: exact to the second, no floating point on the way.
//
// One object (`UsagePeriod`) per cluster and month holds, per hour of the month, the seconds at each
// control-plane size, the seconds hibernated (billed apart: storage only) and the node-seconds; and the
// watermark `accountedTo` up to which it has been accounted, with the cluster's state at that moment.
// A metering pass turns an observation of the cluster at `now` into the time between the watermark
// and `now` (`advance`): a retried, duplicated or concurrent pass finds the watermark moved and adds
// nothing twice; a restart needs nothing but the stored periods.
//
// host/usage-store.ts stores the periods, metering.ts runs the passes, routes/usage.ts reports.
import { SIZES, type Size } from './types.ts';

export const HOUR_SECONDS = 3600;

/** What a cluster is billed as at one moment: its control-plane size, or hibernated (storage only). */
export interface BilledState {
  size: Size;
  /**
   * The control plane is scaled to zero and only its storage is billed. `spec.hibernated` (issue 15)
   * does not exist yet; the model bills it already so that the CRD field only has to be read.
   */
  hibernated: boolean;
}

/** From `since` on (epoch seconds), the cluster is billed as this state. */
export interface StateChange extends BilledState {
  since: number;
}

/** A node registered in the tenant, with its creationTimestamp (epoch seconds). */
export interface NodeSeen {
  name: string;
  joinedAt: number;
}

/** What a metering pass (or a report) saw of one cluster that still exists. */
export interface ClusterObservation {
  clusterId: string;
  account: string;
  name: string;
  createdAt: number;
  /** The tcp's deletionTimestamp: billing ends there. */
  deletedAt?: number;
  /** The billed state as the tcp says now. */
  state: BilledState;
  /**
   * The changes of billed state the API recorded on the tcp with each change (annotation), oldest
   * first; the first is the state at creation. A state that differs from the last entry was changed
   * outside the API: it is billed from the pass that sees it.
   */
  history: StateChange[];
  /** The tenant's nodes; undefined when they could not be listed (the last known ones stay billed). */
  nodes?: NodeSeen[];
}

/** Seconds at small, medium, large, hibernated, and node-seconds, in one hour. */
export type Bucket = [small: number, medium: number, large: number, hibernated: number, nodeSeconds: number];

const BUCKET_INDEX: Record<Size | 'hibernated', 0 | 1 | 2 | 3> = { small: 0, medium: 1, large: 2, hibernated: 3 };
const NODE_SECONDS = 4;

/** The stored unit: one cluster in one calendar month (UTC). */
export interface UsagePeriod {
  clusterId: string;
  account: string;
  name: string;
  /** 'YYYY-MM' (UTC). */
  month: string;
  createdAt: number;
  /** When billing ended: the tcp's deletionTimestamp, or the pass that found the tcp gone. */
  deletedAt?: number;
  /** The watermark: everything before it is in `hours`; nothing after it is. */
  accountedTo: number;
  /** The cluster's state at `accountedTo` (nodes by name), where the next pass continues from. */
  state: BilledState & { nodes: string[] };
  /** Nothing more will be added: the cluster was deleted, or its accounting continues next month. */
  final: boolean;
  /** Hour of the month (0-based, as a string key) -> bucket; hours without usage are absent. */
  hours: Record<string, Bucket>;
}

// ---------------------------------------------------------------------------------------------
// Calendar months

export function monthOf(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 7);
}

export function monthStart(month: string): number {
  return Date.parse(`${month}-01T00:00:00Z`) / 1000;
}

export function monthEnd(month: string): number {
  const start = new Date(monthStart(month) * 1000);
  return Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1) / 1000;
}

/** The months that [from, to) touches, oldest first. */
export function monthsBetween(from: number, to: number): string[] {
  const months: string[] = [];
  for (let month = monthOf(from); monthStart(month) < to; month = monthOf(monthEnd(month))) months.push(month);
  return months;
}

export const toSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);
export const isoOf = (seconds: number): string => new Date(seconds * 1000).toISOString();

// ---------------------------------------------------------------------------------------------
// Accounting

const sameState = (a: BilledState, b: BilledState) => a.size === b.size && a.hibernated === b.hibernated;
const plainState = (s: BilledState): BilledState => ({ size: s.size, hibernated: s.hibernated });

/** The changes that take effect at a known time: the recorded history, then one seen only now. */
function changesOf(seen: ClusterObservation, now: number): StateChange[] {
  const changes = [...seen.history].sort((a, b) => a.since - b.since);
  const last = changes[changes.length - 1];
  if (last !== undefined && !sameState(last, seen.state)) changes.push({ ...plainState(seen.state), since: now });
  return changes;
}

/** The state at creation: the first recorded one (the API writes it with the create), else what is seen. */
function initialState(seen: ClusterObservation): BilledState {
  const atCreation = seen.history.filter((c) => c.since <= seen.createdAt).sort((a, b) => a.since - b.since);
  return plainState(atCreation[atCreation.length - 1] ?? [...seen.history].sort((a, b) => a.since - b.since)[0] ?? seen.state);
}

function emptyPeriod(template: Omit<UsagePeriod, 'month' | 'accountedTo' | 'hours' | 'final' | 'state'>, month: string, state: UsagePeriod['state']): UsagePeriod {
  return { ...template, month, accountedTo: monthStart(month), state, final: false, hours: {} };
}

function addTo(period: UsagePeriod, at: number, seconds: number, state: BilledState, nodes: number): void {
  if (seconds <= 0) return;
  const hour = String(Math.floor((at - monthStart(period.month)) / HOUR_SECONDS));
  const bucket = (period.hours[hour] ??= [0, 0, 0, 0, 0]);
  bucket[state.hibernated ? BUCKET_INDEX.hibernated : BUCKET_INDEX[state.size]] += seconds;
  // A hibernated control plane serves no nodes: they are not counted then (the tenant API is down).
  if (!state.hibernated) bucket[NODE_SECONDS] += nodes * seconds;
}

/**
 * Accounts one cluster from its watermark up to `now`. `cursor` is its latest stored period (undefined
 * for a cluster never metered), `seen` what exists now (undefined: the tcp is gone). Returns the
 * periods to write, oldest first: the cursor updated, then one per month begun since; the last one
 * is the new cursor (final when billing ended). Returns [] when there is nothing to account.
 *
 * Billing ends at the tcp's deletionTimestamp; a tcp that vanished without any pass seeing its
 * deletionTimestamp is billed until the pass that finds it gone. A node is billed from its
 * creationTimestamp (or the watermark, when it joined before) until the pass that no longer sees it.
 */
export function advance(cursor: UsagePeriod | undefined, seen: ClusterObservation | undefined, now: number): UsagePeriod[] {
  if (cursor?.final === true || (cursor === undefined && seen === undefined)) return [];
  const from = cursor?.accountedTo ?? seen!.createdAt;
  const endsAt = seen === undefined ? now : seen.deletedAt;
  const finished = endsAt !== undefined && endsAt <= now;
  const end = Math.max(from, finished ? endsAt : now);

  // Billed state over time: the cursor's, or for a new cluster the one at creation; then each change.
  let state: BilledState = cursor !== undefined ? plainState(cursor.state) : initialState(seen!);
  // A change in the watermark's own second may have come after the pass that set it: applied again
  // (changes set a state, so applying one twice changes nothing).
  const changes = seen === undefined ? [] : changesOf(seen, now).filter((c) => c.since >= from && c.since <= end);

  // Nodes: those of the cursor are billed from the watermark until seen gone (now); new ones from when they joined.
  const previous = cursor?.state.nodes ?? [];
  const billedNodes = new Map<string, number>(previous.map((name) => [name, from]));
  let nodesAfter = previous;
  if (seen?.nodes !== undefined) {
    for (const node of seen.nodes) {
      if (!billedNodes.has(node.name)) billedNodes.set(node.name, Math.min(end, Math.max(from, node.joinedAt)));
    }
    nodesAfter = seen.nodes.map((n) => n.name).sort();
  }
  const nodeStarts = [...billedNodes.values()];

  const breaks = new Set<number>([from, end, ...changes.map((c) => c.since), ...nodeStarts.filter((t) => t > from && t < end)]);
  for (let hour = (Math.floor(from / HOUR_SECONDS) + 1) * HOUR_SECONDS; hour < end; hour += HOUR_SECONDS) breaks.add(hour);
  const points = [...breaks].sort((a, b) => a - b);

  const template = {
    clusterId: cursor?.clusterId ?? seen!.clusterId,
    account: cursor?.account ?? seen!.account,
    name: seen?.name ?? cursor!.name,
    createdAt: cursor?.createdAt ?? seen!.createdAt,
  };
  const nodesAt = (t: number) => [...billedNodes].filter(([, start]) => start <= t).map(([name]) => name).sort();
  const periods: UsagePeriod[] = [cursor !== undefined ? { ...structuredClone(cursor), name: template.name } : emptyPeriod(template, monthOf(from), { ...state, nodes: [] })];
  let changeIndex = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i]!, points[i + 1]!];
    while (changeIndex < changes.length && changes[changeIndex]!.since <= a) state = plainState(changes[changeIndex++]!);
    let period = periods[periods.length - 1]!;
    if (monthOf(a) !== period.month) {
      // A new month: the previous period is closed at its end, with the state there to continue from.
      period.accountedTo = monthEnd(period.month);
      period.state = { ...state, nodes: nodesAt(a) };
      period.final = true;
      period = emptyPeriod(template, monthOf(a), { ...state, nodes: nodesAt(a) });
      periods.push(period);
    }
    addTo(period, a, b - a, state, nodeStarts.filter((start) => start <= a).length);
  }
  while (changeIndex < changes.length) state = plainState(changes[changeIndex++]!);

  const last = periods[periods.length - 1]!;
  last.accountedTo = Math.max(last.accountedTo, end);
  last.state = { ...state, nodes: finished ? [] : nodesAfter };
  last.final = finished;
  if (finished) for (const period of periods) period.deletedAt = end;
  return periods;
}

// ---------------------------------------------------------------------------------------------
// Reports

export interface UsageTotals {
  controlPlaneHours: Record<Size, number> & { total: number };
  /** Hours hibernated (control plane off, storage kept): billed apart from the sizes. */
  hibernatedHours: number;
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

/** Seconds as hours with 6 decimals (3.6 ms): the seconds are exact, the hours only printed. */
const hours = (seconds: number) => Math.round((seconds / HOUR_SECONDS) * 1e6) / 1e6;

const BUCKET_FIELDS = [0, 1, 2, 3, 4] as const;

function addBucket(into: Bucket, from: Bucket): void {
  for (const i of BUCKET_FIELDS) into[i] += from[i];
}

/** Sums of one cluster's buckets whose hour begins in [from, to) (from on an hour; to on an hour or the watermark). */
export function sumBuckets(periods: Iterable<UsagePeriod>, from: number, to: number): Bucket {
  const sum: Bucket = [0, 0, 0, 0, 0];
  for (const period of periods) {
    const start = monthStart(period.month);
    for (const [hour, bucket] of Object.entries(period.hours)) {
      const at = start + Number(hour) * HOUR_SECONDS;
      if (at < from || at >= to) continue;
      addBucket(sum, bucket);
    }
  }
  return sum;
}

function totalsOf(sum: Bucket): UsageTotals {
  const [small, medium, large, hibernated, nodeSeconds] = sum;
  return {
    controlPlaneHours: { small: hours(small), medium: hours(medium), large: hours(large), total: hours(small + medium + large) },
    hibernatedHours: hours(hibernated),
    nodeHours: hours(nodeSeconds),
  };
}

/** One cluster's usage in [from, to) from all its periods there (the newest says name and deletion). */
export function clusterUsage(periods: UsagePeriod[], from: number, to: number): ClusterUsage {
  const newest = periods.reduce((a, b) => (a.month >= b.month ? a : b));
  return {
    clusterId: newest.clusterId,
    name: newest.name,
    createdAt: isoOf(newest.createdAt),
    deletedAt: newest.deletedAt === undefined ? null : isoOf(newest.deletedAt),
    ...totalsOf(sumBuckets(periods, from, to)),
  };
}

/** Whether a cluster existed at some time in [from, to). */
export function overlaps(periods: UsagePeriod[], from: number, to: number): boolean {
  const newest = periods.reduce((a, b) => (a.month >= b.month ? a : b));
  return newest.createdAt < to && (newest.deletedAt ?? Infinity) > from;
}

/** The account's report: every cluster (deleted ones included) that existed in [from, to), with totals. */
export function usageReport(account: string, byCluster: Iterable<UsagePeriod[]>, from: number, to: number): UsageReport {
  const clusters = [...byCluster]
    .filter((periods) => periods.length > 0 && overlaps(periods, from, to))
    .map((periods) => ({ usage: clusterUsage(periods, from, to), sum: sumBuckets(periods, from, to) }))
    .sort((a, b) => a.usage.createdAt.localeCompare(b.usage.createdAt) || a.usage.clusterId.localeCompare(b.usage.clusterId));
  const total: Bucket = [0, 0, 0, 0, 0];
  for (const { sum } of clusters) addBucket(total, sum);
  return { account, from: isoOf(from), to: isoOf(to), clusters: clusters.map((c) => c.usage), totals: totalsOf(total) };
}

/** Groups periods by cluster. */
export function byCluster(periods: Iterable<UsagePeriod>): Map<string, UsagePeriod[]> {
  const groups = new Map<string, UsagePeriod[]>();
  for (const period of periods) groups.set(period.clusterId, [...(groups.get(period.clusterId) ?? []), period]);
  return groups;
}

// ---------------------------------------------------------------------------------------------
// Stored form

const isSeconds = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Validates a stored period (a ConfigMap may have been edited by hand). */
export function parseUsagePeriod(value: unknown): UsagePeriod {
  const p = value as UsagePeriod;
  const ok =
    typeof p === 'object' && p !== null &&
    typeof p.clusterId === 'string' && typeof p.account === 'string' && typeof p.name === 'string' &&
    typeof p.month === 'string' && /^\d{4}-(0[1-9]|1[0-2])$/.test(p.month) &&
    isSeconds(p.createdAt) && (p.deletedAt === undefined || isSeconds(p.deletedAt)) && isSeconds(p.accountedTo) &&
    typeof p.final === 'boolean' &&
    typeof p.state === 'object' && p.state !== null && (SIZES as readonly string[]).includes(p.state.size) &&
    typeof p.state.hibernated === 'boolean' && Array.isArray(p.state.nodes) && p.state.nodes.every((n) => typeof n === 'string') &&
    typeof p.hours === 'object' && p.hours !== null &&
    Object.entries(p.hours).every(([hour, bucket]) => /^\d{1,3}$/.test(hour) && Array.isArray(bucket) && bucket.length === 5 && bucket.every(isSeconds));
  if (!ok) throw new Error('malformed usage period');
  return p;
}
