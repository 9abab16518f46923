// /v1/clusters/{id}/join-tokens: kubeadm bootstrap tokens in the tenant, so workers can join with
// `kubeadm join`. The token secret is shown once, in the mint response; lists show ids only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../auth.ts';
import { getOwned, type ClusterStore } from '../cluster-store.ts';
import { clusterNotFound, problems } from '../problems.ts';
import { quotaExceeded, type AccountLimitsSource } from '../quotas.ts';
import { clusterParams, joinTokenBody, joinTokenLinks, joinTokenListResponse, joinTokenParams, mintedJoinTokenResponse, noQuery, type ApiLimits } from '../schemas.ts';
import type { TenantControlPlane } from '../tcp.ts';
import type { JoinTokenSummary, TenantAccess } from '../tenant-access.ts';
import { requireReady } from './kubeconfig.ts';

export interface JoinTokenRouteOptions {
  clusters: ClusterStore;
  tenants: TenantAccess;
  limits: ApiLimits;
  /** Quotas of each account (live join tokens per cluster). */
  accountLimits: AccountLimitsSource;
}

function summaryJson(token: JoinTokenSummary) {
  return {
    id: token.id,
    expiresAt: token.expiresAt?.toISOString() ?? null,
    description: token.description,
    usages: token.usages,
    groups: token.groups,
    createdAt: token.createdAt?.toISOString() ?? null,
  };
}

export async function joinTokenRoutes(app: FastifyInstance, options: JoinTokenRouteOptions): Promise<void> {
  async function readyCluster(request: FastifyRequest<{ Params: { id: string } }>): Promise<TenantControlPlane> {
    const tcp = await getOwned(options.clusters, principalOf(request).account, request.params.id);
    if (tcp === undefined) throw clusterNotFound(request.params.id);
    requireReady(tcp);
    return tcp;
  }

  app.post(
    '/v1/clusters/:id/join-tokens',
    {
      config: { scope: 'join-tokens' },
      schema: {
        summary: 'Mint a join token',
        description: 'A kubeadm bootstrap token valid for ttlSeconds, with the kubeadm join command. The token is shown only in this response.',
        tags: ['join tokens'],
        operationId: 'mintJoinToken',
        'x-problems': [409, 502],
        params: clusterParams,
        querystring: noQuery,
        body: joinTokenBody(options.limits),
        response: { 201: mintedJoinTokenResponse },
        'x-links': { 201: joinTokenLinks },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string }; Body: { ttlSeconds: number; description?: string } }>, reply: FastifyReply) => {
      const body = request.body;
      const tcp = await readyCluster(request);
      const { maxJoinTokensPerCluster: max } = await options.accountLimits.limitsFor(principalOf(request).account);
      const what = `cluster ${request.params.id}`;
      const before = (await options.tenants.listJoinTokens(tcp)).length;
      if (before >= max) throw quotaExceeded('maxJoinTokensPerCluster', max, before, what);
      const minted = await options.tenants.mintJoinToken(tcp, {
        ttlSeconds: body.ttlSeconds,
        ...(body.description === undefined ? {} : { description: body.description }),
      });
      // Concurrent mints (other replicas) may all have passed the check above: count again in the
      // tenant, after ours exists. The last one written sees every other, so the cap holds.
      const after = (await options.tenants.listJoinTokens(tcp)).length;
      if (after > max) {
        await options.tenants.revokeJoinToken(tcp, minted.id);
        request.log.info({ cluster: request.params.id, tokenId: minted.id }, 'join token withdrawn: a concurrent mint took the last of the quota');
        throw quotaExceeded('maxJoinTokensPerCluster', max, after - 1, what);
      }
      request.log.info({ cluster: request.params.id, tokenId: minted.id }, 'join token minted');
      reply.code(201).header('cache-control', 'no-store').header('location', `/v1/clusters/${request.params.id}/join-tokens/${minted.id}`);
      return { ...summaryJson(minted), token: minted.token, joinCommand: minted.joinCommand };
    },
  );

  app.get(
    '/v1/clusters/:id/join-tokens',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'List join tokens',
        description: 'Unexpired tokens, without their secrets.',
        tags: ['join tokens'],
        operationId: 'listJoinTokens',
        'x-problems': [409, 502],
        params: clusterParams,
        querystring: noQuery,
        response: { 200: joinTokenListResponse },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      const tcp = await readyCluster(request);
      return { items: (await options.tenants.listJoinTokens(tcp)).map(summaryJson) };
    },
  );

  app.delete(
    '/v1/clusters/:id/join-tokens/:tokenId',
    {
      config: { scope: 'join-tokens' },
      schema: {
        summary: 'Revoke a join token',
        tags: ['join tokens'],
        operationId: 'revokeJoinToken',
        'x-problems': [409, 502],
        params: joinTokenParams,
        querystring: noQuery,
        response: { 204: { type: 'null', description: 'Revoked.' } },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string; tokenId: string } }>, reply: FastifyReply) => {
      const tcp = await readyCluster(request);
      const revoked = await options.tenants.revokeJoinToken(tcp, request.params.tokenId);
      if (!revoked) throw problems.notFound(`join token ${request.params.tokenId} not found in cluster ${request.params.id}`);
      request.log.info({ cluster: request.params.id, tokenId: request.params.tokenId }, 'join token revoked');
      return reply.code(204).send();
    },
  );
}
