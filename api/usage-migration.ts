// Usage kept before the per-month periods: one ConfigMap per account (`kubeception-usage-<account>`),
// one entry per cluster with its raw intervals, `{clusterId, name, createdAt, deletedAt?, sizes:
// [{size, from, to?}], nodes: [{count, from, to?}]}` (ISO times, open intervals without `to`). Folded
// once into periods (pure, here) by the metering leader (metering.ts, host/usage-store.ts), which then
// deletes the old ConfigMap. Open intervals are counted up to the migration; from there the passes go
// on. The node set starts empty, so the tenant's nodes are billed from the migration on, once.
import { SIZES, type Size } from './types.ts';
import { HOUR_SECONDS, monthEnd, monthOf, monthStart, monthsBetween, type Bucket, type UsagePeriod } from './usage.ts';

interface LegacyInterval {
  from: string;
  to?: string;
}

export interface LegacyUsageRecord {
  clusterId: string;
  name: string;
  createdAt: string;
  deletedAt?: string;
  sizes: (LegacyInterval & { size: Size })[];
  nodes: (LegacyInterval & { count: number })[];
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const isTime = (t: unknown) => typeof t === 'string' && !Number.isNaN(Date.parse(t));

/** Validates one entry of an old ledger; throws on anything else. */
export function parseLegacyRecord(value: unknown): LegacyUsageRecord {
  const r = value as LegacyUsageRecord;
  const ok =
    typeof r === 'object' && r !== null &&
    typeof r.clusterId === 'string' && typeof r.name === 'string' && isTime(r.createdAt) &&
    (r.deletedAt === undefined || isTime(r.deletedAt)) &&
    Array.isArray(r.sizes) && r.sizes.every((s) => (SIZES as readonly string[]).includes(s.size) && isTime(s.from) && (s.to === undefined || isTime(s.to))) &&
    Array.isArray(r.nodes) && r.nodes.every((n) => Number.isInteger(n.count) && n.count >= 0 && isTime(n.from) && (n.to === undefined || isTime(n.to)));
  if (!ok) throw new Error('malformed usage record of the old ledger');
  return r;
}

/** The record's usage as periods, oldest first; the last continues the cluster unless it was deleted. */
export function periodsFromLegacy(record: LegacyUsageRecord, account: string, now: number): UsagePeriod[] {
  const createdAt = seconds(record.createdAt);
  const deletedAt = record.deletedAt === undefined ? undefined : seconds(record.deletedAt);
  const end = Math.max(createdAt, deletedAt ?? now);
  const months = monthsBetween(createdAt, end);
  if (months.length === 0 || monthOf(end) !== months[months.length - 1]) months.push(monthOf(end));
  const lastSize = record.sizes[record.sizes.length - 1]?.size ?? 'small';
  const periods = new Map<string, UsagePeriod>(
    months.map((month, i) => [
      month,
      {
        clusterId: record.clusterId,
        account,
        name: record.name,
        month,
        createdAt,
        ...(deletedAt === undefined ? {} : { deletedAt }),
        accountedTo: i + 1 < months.length ? monthEnd(month) : end,
        state: { size: lastSize, hibernated: false, nodes: [] },
        final: i + 1 < months.length || deletedAt !== undefined,
        hours: {},
      },
    ]),
  );
  const add = (interval: LegacyInterval, index: 0 | 1 | 2 | 4, perSecond: number) => {
    const from = Math.max(createdAt, seconds(interval.from));
    const to = Math.min(end, interval.to === undefined ? end : seconds(interval.to));
    for (let a = from; a < to; ) {
      const b = Math.min(to, (Math.floor(a / HOUR_SECONDS) + 1) * HOUR_SECONDS);
      const period = periods.get(monthOf(a))!;
      const hour = String(Math.floor((a - monthStart(period.month)) / HOUR_SECONDS));
      const bucket: Bucket = (period.hours[hour] ??= [0, 0, 0, 0, 0]);
      bucket[index] += (b - a) * perSecond;
      a = b;
    }
  };
  for (const interval of record.sizes) add(interval, SIZES.indexOf(interval.size) as 0 | 1 | 2, 1);
  for (const interval of record.nodes) add(interval, 4, interval.count);
  return [...periods.values()];
}
