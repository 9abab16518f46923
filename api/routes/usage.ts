// /v1/usage and /v1/clusters/{id}/usage: control-plane hours by size and node hours for a time
// range, from the durable ledger (see usage.ts). Deleted clusters stay billable: their usage is
// still reported for ranges they overlap.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalOf } from '../auth.ts';
import { getOwned, type ClusterStore } from '../cluster-store.ts';
import { observationOf } from '../metering.ts';
import { clusterNotFound, problems } from '../problems.ts';
import { clusterParams, clusterUsageResponse, usageQuery, usageReportResponse } from '../schemas.ts';
import type { Clock } from '../types.ts';
import { clusterUsage, observe, usageReport, type UsageLedger } from '../usage.ts';

export interface UsageRouteOptions {
  clusters: ClusterStore;
  ledger: UsageLedger;
  clock: Clock;
}

interface RangeQuery {
  from?: string;
  to?: string;
}

/** [from, to): defaults to this calendar month (UTC) so far; `to` never lies in the future. */
export function usageRange(query: RangeQuery, now: Date): { from: Date; to: Date } {
  const to = query.to === undefined ? now : new Date(Math.min(Date.parse(query.to), now.getTime()));
  const from = query.from === undefined ? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)) : new Date(query.from);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw problems.badRequest('query.from and query.to must be RFC 3339 date-times');
  // The default range is empty at the very start of a month; only a range the caller chose can be wrong.
  if (query.from === undefined && from.getTime() >= to.getTime()) return { from: to, to };
  if (from.getTime() >= to.getTime()) {
    throw problems.badRequest(`query.from (${from.toISOString()}) must be before query.to (${to.toISOString()}; "to" is capped at now)`);
  }
  return { from, to };
}

export async function usageRoutes(app: FastifyInstance, options: UsageRouteOptions): Promise<void> {
  app.get(
    '/v1/usage',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The account's usage",
        description: 'Control-plane hours by size and node hours per cluster (deleted ones included) and in total, for [from, to).',
        tags: ['usage'],
        operationId: 'getAccountUsage',
        querystring: usageQuery,
        response: { 200: usageReportResponse },
      },
    },
    async (request: FastifyRequest<{ Querystring: RangeQuery }>) => {
      const account = principalOf(request).account;
      const { from, to } = usageRange(request.query, options.clock.now());
      const records = await options.ledger.read(account);
      return usageReport(account, records.values(), from, to);
    },
  );

  app.get(
    '/v1/clusters/:id/usage',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A cluster's usage",
        description: 'Also answers for deleted clusters of the account while their usage is retained.',
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
      let record = (await options.ledger.read(account)).get(id);
      if (record === undefined) {
        // Not metered yet (created a moment ago and the ledger write lagged): what the tcp says.
        const tcp = await getOwned(options.clusters, account, id);
        if (tcp === undefined) throw clusterNotFound(id);
        record = observe(undefined, observationOf(tcp), now);
      }
      return { account, from: from.toISOString(), to: to.toISOString(), usage: clusterUsage(record, from, to) };
    },
  );
}
