// /v1/usage and /v1/clusters/{id}/usage: control-plane hours by size, hibernated hours and node hours
// for a time range, from the stored usage periods (usage.ts). Deleted clusters stay billable: their
// usage is reported for ranges they overlap. The time since the last metering pass is added from what
// the tcps say now (the same `advance` the pass runs, not written), so a report is exact up to `to`
// even between passes or while no replica leads.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalOf } from '../auth.ts';
import { getOwned, type ClusterStore } from '../cluster-store.ts';
import { observationOf } from '../metering.ts';
import { clusterNotFound, problems } from '../problems.ts';
import { clusterParams, clusterUsageResponse, usageQuery, usageReportResponse } from '../schemas.ts';
import type { TenantControlPlane } from '../tcp.ts';
import type { Clock } from '../types.ts';
import { advance, byCluster, clusterUsage, HOUR_SECONDS, monthsBetween, toSeconds, usageReport, type UsagePeriod } from '../usage.ts';
import type { UsageStore } from '../usage-store.ts';

export interface UsageRouteOptions {
  clusters: ClusterStore;
  store: UsageStore;
  clock: Clock;
}

interface RangeQuery {
  from?: string;
  to?: string;
}

/** The longest range one usage request may cover. */
export const MAX_USAGE_RANGE_DAYS = 366;

/**
 * [from, to) in whole UTC hours, the unit usage is kept in: `from` is rounded down to its hour, `to` up
 * (and never past now), at most MAX_USAGE_RANGE_DAYS long; the answer says which range it covers.
 * Default: this calendar month so far.
 */
export function usageRange(query: RangeQuery, now: Date): { from: number; to: number } {
  const nowSeconds = toSeconds(now);
  const requestedTo = query.to === undefined ? now.getTime() : Date.parse(query.to);
  const requestedFrom = query.from === undefined ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) : Date.parse(query.from);
  if (Number.isNaN(requestedFrom) || Number.isNaN(requestedTo)) throw problems.badRequest('query.from and query.to must be RFC 3339 date-times');
  const from = Math.floor(requestedFrom / 1000 / HOUR_SECONDS) * HOUR_SECONDS;
  const to = Math.min(nowSeconds, Math.ceil(requestedTo / 1000 / HOUR_SECONDS) * HOUR_SECONDS);
  // The default range is empty at the very start of a month; only a range the caller chose can be wrong.
  if (query.from === undefined && from >= to) return { from: to, to };
  if (from >= to) {
    throw problems.badRequest(
      `query.from (${new Date(requestedFrom).toISOString()}) must be before query.to (${new Date(requestedTo).toISOString()}; "to" is capped at now, both are taken in whole hours)`,
    );
  }
  if (to - from > MAX_USAGE_RANGE_DAYS * 24 * HOUR_SECONDS) {
    // Bounded so that one request reads a bounded number of billing periods from the host.
    throw problems.badRequest(
      `query.from (${new Date(requestedFrom).toISOString()}) to query.to (${new Date(requestedTo).toISOString()}) spans more than ${MAX_USAGE_RANGE_DAYS} days: ask for a year or less at a time`,
    );
  }
  return { from, to };
}

/**
 * One cluster's periods with the time since its watermark added up to `to`, from the tcp as it is
 * now (undefined: gone, billed until the pass notices; nodes: the ones last counted).
 */
export function periodsUpTo(stored: UsagePeriod[], tcp: TenantControlPlane | undefined, to: number): UsagePeriod[] {
  const sorted = [...stored].sort((a, b) => a.month.localeCompare(b.month));
  const cursor = sorted.filter((p) => !p.final).pop();
  if (cursor === undefined && tcp === undefined) return sorted;
  if (cursor === undefined && sorted.length > 0) return sorted; // billing ended
  if (cursor !== undefined && cursor.accountedTo >= to) return sorted;
  const tail = advance(cursor, tcp === undefined ? undefined : observationOf(tcp), to);
  const replaced = new Set(tail.map((p) => p.month));
  return [...sorted.filter((p) => !replaced.has(p.month)), ...tail];
}

export async function usageRoutes(app: FastifyInstance, options: UsageRouteOptions): Promise<void> {
  app.get(
    '/v1/usage',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The account's usage",
        description:
          'Control-plane hours by size, hibernated hours and node hours per cluster (deleted ones included) and in total, for [from, to) in whole UTC hours (from rounded down, to rounded up and capped at now; the answer says which range).',
        tags: ['usage'],
        operationId: 'getAccountUsage',
        querystring: usageQuery,
        response: { 200: usageReportResponse },
      },
    },
    async (request: FastifyRequest<{ Querystring: RangeQuery }>) => {
      const account = principalOf(request).account;
      const now = options.clock.now();
      const { from, to } = usageRange(request.query, now);
      const [stored, tcps] = await Promise.all([options.store.listAccount(account, monthsBetween(from, to)), options.clusters.list(account)]);
      const groups = byCluster(stored);
      const live = new Map(tcps.map((tcp) => [tcp.metadata.name, tcp]));
      for (const id of live.keys()) if (!groups.has(id)) groups.set(id, []);
      const clusters = [...groups].map(([id, periods]) => periodsUpTo(periods, live.get(id), to));
      return usageReport(account, clusters, from, to);
    },
  );

  app.get(
    '/v1/clusters/:id/usage',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A cluster's usage",
        description: 'Also answers for deleted clusters of the account while their usage is retained. Range as for /v1/usage.',
        tags: ['usage'],
        operationId: 'getClusterUsage',
        params: clusterParams,
        querystring: usageQuery,
        response: { 200: clusterUsageResponse },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: RangeQuery }>) => {
      const account = principalOf(request).account;
      const { id } = request.params;
      const now = options.clock.now();
      const { from, to } = usageRange(request.query, now);
      const [stored, tcp] = await Promise.all([
        options.store.listCluster(account, id),
        getOwned(options.clusters, account, id),
      ]);
      const periods = periodsUpTo(stored, tcp, to);
      if (periods.length === 0) throw clusterNotFound(id);
      return { account, from: new Date(from * 1000).toISOString(), to: new Date(to * 1000).toISOString(), usage: clusterUsage(periods, from, to) };
    },
  );
}
