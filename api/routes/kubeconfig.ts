// POST /v1/clusters/{id}/kubeconfig: a fresh client certificate for one person, signed by the
// tenant's CA, valid for a TTL, in groups the account may grant (never system:*, so never
// system:masters). Nothing is stored: revocation is expiry, so TTLs are short.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { grantableGroupProblem, principalOf } from '../auth.ts';
import { getOwned, type ClusterStore } from '../cluster-store.ts';
import { clusterNotFound, problems } from '../problems.ts';
import { clusterParams, kubeconfigBody, kubeconfigResponse, noQuery, type ApiLimits } from '../schemas.ts';
import { toClusterView, type TenantControlPlane } from '../tcp.ts';
import type { TenantAccess } from '../tenant-access.ts';

export interface KubeconfigRouteOptions {
  clusters: ClusterStore;
  tenants: TenantAccess;
  limits: ApiLimits;
}

interface KubeconfigBody {
  username: string;
  groups: string[];
  ttlSeconds: number;
}

/** The cluster must serve requests before anything can be done inside it. */
export function requireReady(tcp: TenantControlPlane): void {
  const view = toClusterView(tcp);
  if (view.status.phase === 'Deleting') throw problems.conflict(`cluster ${view.id} is being deleted`);
  if (!view.status.ready || view.status.endpoint === null) {
    throw problems.conflict(`cluster ${view.id} is not ready yet (phase ${view.status.phase}); poll GET ${view.links.self} until status.ready is true`, {
      phase: view.status.phase,
    });
  }
}

export async function kubeconfigRoutes(app: FastifyInstance, options: KubeconfigRouteOptions): Promise<void> {
  app.post(
    '/v1/clusters/:id/kubeconfig',
    {
      config: { scope: 'kubeconfig' },
      schema: {
        summary: 'Issue a kubeconfig',
        description:
          'A kubeconfig with a new client certificate for `username` in `groups`, valid for ttlSeconds. Groups must be grantable by the API key; system:* groups never are. Not cached, not stored.',
        tags: ['access'],
        operationId: 'issueKubeconfig',
        'x-problems': [409, 422],
        params: clusterParams,
        querystring: noQuery,
        body: kubeconfigBody(options.limits),
        response: { 200: kubeconfigResponse },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string }; Body: KubeconfigBody }>, reply: FastifyReply) => {
      const principal = principalOf(request);
      const { id } = request.params;
      const tcp = await getOwned(options.clusters, principal.account, id);
      if (tcp === undefined) throw clusterNotFound(id);
      const { username, groups, ttlSeconds } = request.body;
      for (const group of groups) {
        const reserved = grantableGroupProblem(group);
        if (reserved !== undefined) throw problems.forbidden(reserved);
        if (!principal.groups.includes(group)) {
          throw problems.forbidden(
            `group ${JSON.stringify(group)} is not grantable by this API key; grantable: ${principal.groups.length === 0 ? '(none)' : principal.groups.join(', ')}`,
          );
        }
      }
      requireReady(tcp);
      const issued = await options.tenants.issueKubeconfig(tcp, { username, groups, ttlSeconds });
      request.log.info({ cluster: id, username, groups, ttlSeconds }, 'kubeconfig issued');
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return { clusterId: id, username, groups, expiresAt: issued.expiresAt.toISOString(), kubeconfig: issued.kubeconfig };
    },
  );
}
