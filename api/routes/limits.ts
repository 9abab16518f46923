// GET /v1/limits: the caller's quotas, their values and current use, so a portal can show "3 of 20
// clusters" before a create is refused. The same names as the `limit` of quota problems.
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth.ts';
import type { ClusterStore } from '../cluster-store.ts';
import type { IssuanceCounter } from '../issuance-counter.ts';
import { LIMIT_NAMES, type AccountLimitsSource } from '../quotas.ts';
import { limitsResponse, noQuery } from '../schemas.ts';
import type { Clock } from '../types.ts';

export interface LimitRouteOptions {
  clusters: ClusterStore;
  accountLimits: AccountLimitsSource;
  issuance: IssuanceCounter;
  clock: Clock;
}

export async function limitRoutes(app: FastifyInstance, options: LimitRouteOptions): Promise<void> {
  app.get(
    '/v1/limits',
    {
      config: { scope: 'read' },
      schema: {
        summary: "The account's quotas",
        description: 'Clusters per account, join tokens per cluster, kubeconfigs per UTC hour: the maximum and the current use.',
        tags: ['limits'],
        operationId: 'getLimits',
        querystring: noQuery,
        response: { 200: limitsResponse },
      },
    },
    async (request) => {
      const account = principalOf(request).account;
      const now = options.clock.now();
      const [limits, clusters, issued] = await Promise.all([
        options.accountLimits.limitsFor(account),
        options.clusters.list(account),
        options.issuance.peek(account, now),
      ]);
      return {
        account,
        limits: [
          { limit: LIMIT_NAMES.maxClusters, max: limits.maxClusters, current: clusters.filter((tcp) => tcp.metadata.deletionTimestamp === undefined).length, resetsAt: null },
          { limit: LIMIT_NAMES.maxJoinTokensPerCluster, max: limits.maxJoinTokensPerCluster, current: null, resetsAt: null },
          { limit: LIMIT_NAMES.maxKubeconfigsPerHour, max: limits.maxKubeconfigsPerHour, current: issued.count, resetsAt: issued.windowEnd.toISOString() },
        ],
      };
    },
  );
}
