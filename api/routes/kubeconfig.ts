// POST /v1/clusters/{id}/kubeconfig: a fresh client certificate for one person, signed by the tenant's
// CA through the tenant's CSR API (the API holds no CA key), valid for a TTL, for a user in the account's
// own space (`portal:<account>:<name>`) and groups there or on the key's allow-list, never a name
// Kubernetes, kubeadm or the operator reserve (identity.ts). Nothing is stored: revocation is expiry, so
// TTLs are short.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../auth.ts';
import { identityRefusals, type IdentityRefusal } from '../identity.ts';
import { getOwned, type ClusterStore } from '../cluster-store.ts';
import type { IssuanceCounter } from '../issuance-counter.ts';
import { clusterNotFound, ProblemError, problems } from '../problems.ts';
import { issuanceRateExceeded, type AccountLimitsSource } from '../quotas.ts';
import { clusterParams, kubeconfigBody, kubeconfigResponse, noQuery, type ApiLimits } from '../schemas.ts';
import { toClusterView, type TenantControlPlane } from '../tcp.ts';
import type { TenantAccess } from '../tenant-access.ts';
import type { Clock } from '../types.ts';

export interface KubeconfigRouteOptions {
  clusters: ClusterStore;
  tenants: TenantAccess;
  limits: ApiLimits;
  /** Quotas of each account (kubeconfigs per hour). */
  accountLimits: AccountLimitsSource;
  /** Issuances per account and hour, shared by the replicas. */
  issuance: IssuanceCounter;
  clock: Clock;
}

interface KubeconfigBody {
  username: string;
  groups: string[];
  ttlSeconds: number;
}

/**
 * 422 when a name could never be issued (reserved, outside the account's space), else 403 when this key
 * may not grant a group; every refusal is listed in `errors` by field, like schema violations.
 */
export function identityProblem(refusals: readonly IdentityRefusal[]): ProblemError {
  const invalid = refusals.filter((r) => r.kind === 'invalid');
  const shown = invalid.length > 0 ? invalid : refusals;
  const errors = shown.map((r) => ({ location: r.field, message: r.reason }));
  const detail = shown.map((r) => `${r.field}: ${r.reason}`).join('; ');
  return invalid.length > 0
    ? problems.unprocessable('identity-refused', detail, { errors })
    : new ProblemError(403, 'forbidden', detail, { extensions: { errors } });
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
          "A kubeconfig with a new client certificate for `username` in `groups`, valid for ttlSeconds, signed by the cluster's own CA through its CertificateSigningRequest API. `username` is `portal:<account>:<name>`; each group is `portal:<account>:<name>` or on the API key's allow-list. Names reserved by Kubernetes, kubeadm or the operator (system:*, kubeadm:*, kubeception:* but an allow-listed kubeception:tenant-admins, kube-apiserver-kubelet-client, kubernetes-admin, ...) are refused with 422. Not cached, not stored.",
        tags: ['access'],
        operationId: 'issueKubeconfig',
        'x-problems': [409, 422, 502, 503, 504],
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
      const refusals = identityRefusals({ account: principal.account, grantableGroups: principal.groups, username, groups });
      if (refusals.length > 0) {
        request.log.info({ cluster: id, username, groups, refusals }, 'kubeconfig identity refused');
        throw identityProblem(refusals);
      }
      requireReady(tcp);
      // Counted before signing: a certificate cannot be taken back, so the count errs on the side of
      // one too many counted (an issuance that then fails) rather than one too many issued.
      const { maxKubeconfigsPerHour: max } = await options.accountLimits.limitsFor(principal.account);
      const now = options.clock.now();
      const taken = await options.issuance.take(principal.account, max, now);
      if (!taken.allowed) {
        const retryAfter = Math.max(1, Math.ceil((taken.windowEnd.getTime() - now.getTime()) / 1000));
        throw issuanceRateExceeded('maxKubeconfigsPerHour', max, taken.count, retryAfter);
      }
      const issued = await options.tenants.issueKubeconfig(tcp, { account: principal.account, username, groups, ttlSeconds });
      request.log.info({ cluster: id, username, groups, ttlSeconds }, 'kubeconfig issued');
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return { clusterId: id, username, groups, expiresAt: issued.expiresAt.toISOString(), kubeconfig: issued.kubeconfig };
    },
  );
}
