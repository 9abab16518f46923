// /v1/clusters: create (202, Idempotency-Key), list (cursor pagination, filters), get, update
// (size, version, name), delete (202). Every id is looked up within the caller's account: another
// account's cluster is indistinguishable from one that does not exist (404).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkVersionChange, type SupportedVersion } from '../../crds/schema/versions.ts';
import { principalOf } from '../auth.ts';
import { ClusterConflictError, ClusterExistsError, getOwned, type ClusterStore } from '../cluster-store.ts';
import { beforeCreate, IdempotentCreates, NothingCreated, requestFingerprint, type StoredResponse } from '../idempotency.ts';
import { appendBillingHistory, billedStateOf } from '../billing-history.ts';
import { toSeconds } from '../usage.ts';
import { quotaExceeded, type AccountLimits, type AccountLimitsSource } from '../quotas.ts';
import { clusterNotFound, problems } from '../problems.ts';
import {
  clusterLinks,
  clusterListResponse,
  clusterParams,
  clusterResponse,
  createClusterBody,
  idempotencyHeaders,
  listClustersQuery,
  noQuery,
  updateClusterBody,
} from '../schemas.ts';
import { buildTenantControlPlane, displayNameOf, newClusterId, phaseOf, sizeOf, toClusterView, updatePatch, type ClusterView, type NewClusterInput, type TenantControlPlane } from '../tcp.ts';
import { controlPlaneFor } from '../sizes.ts';
import { InvalidTenantControlPlaneError, type TcpValidator } from '../tcp-validation.ts';
import type { Clock, Size } from '../types.ts';
import { ANNOTATIONS, LABELS, type Phase } from '../../core/index.ts';

export interface ClusterRouteOptions {
  clusters: ClusterStore;
  idempotency: IdempotentCreates;
  clock: Clock;
  /** Quotas of each account (clusters per account). */
  accountLimits: AccountLimitsSource;
  /** Checks a tcp before it is sent (the CRD's own schema); throws a message on violation. */
  validateTcp?: TcpValidator;
  newId?: () => string;
  /** spec.networkProfile.serviceType of every cluster created here (--default-service-type). */
  defaultServiceType?: NewClusterInput['serviceType'];
}

interface CreateBody {
  name: string;
  size: Size;
  /** The request schema allows only supported versions. */
  version: SupportedVersion;
}

interface UpdateBody {
  name?: string;
  size?: Size;
  version?: string;
}

interface ListQuery {
  limit: number;
  cursor?: string;
  size?: Size;
  version?: string;
  phase?: Phase;
  name?: string;
}

type IdParams = { id: string };

/** Cursor: the sort key of the last item of a page, opaque to clients. */
export function encodeCursor(view: Pick<ClusterView, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([view.createdAt, view.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') return [value[0], value[1]];
  } catch {
    // fall through to the problem below
  }
  throw problems.badRequest('query.cursor is not a cursor this API returned; start again without it');
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byCreation = (a: { createdAt: string; id: string }, b: { createdAt: string; id: string }) => compare(a.createdAt, b.createdAt) || compare(a.id, b.id);

export async function clusterRoutes(app: FastifyInstance, options: ClusterRouteOptions): Promise<void> {
  const { clusters, idempotency } = options;
  const newId = options.newId ?? (() => newClusterId());

  /** Refuses a create that would take the account over its cluster quota. */
  function checkClusterQuota(account: string, limits: AccountLimits, existing: readonly TenantControlPlane[], includesNew: boolean): void {
    const live = existing.filter((tcp) => tcp.metadata.deletionTimestamp === undefined).length;
    const others = includesNew ? live - 1 : live;
    if (others + 1 > limits.maxClusters) throw quotaExceeded('maxClusters', limits.maxClusters, others, `account ${account}`);
  }

  /** A cluster this request (its Idempotency-Key) created before is the result (its billing history is on the tcp since its create). */
  function result(request: FastifyRequest, tcp: TenantControlPlane): StoredResponse {
    request.log.info({ cluster: tcp.metadata.name }, 'cluster of this Idempotency-Key found');
    return { status: 202, body: toClusterView(tcp) };
  }

  /**
   * Creates the tcp under `id`; a tcp already there from the same idempotent request is the result.
   * Throws NothingCreated when it knows no cluster exists under `id` (the claim may then be released).
   */
  async function createCluster(request: FastifyRequest, id: string, body: CreateBody, keyHash?: string): Promise<StoredResponse> {
    const account = principalOf(request).account;
    const ours = (tcp: TenantControlPlane | undefined) => keyHash !== undefined && tcp?.metadata.labels?.[LABELS.idempotencyKey] === keyHash;
    if (keyHash !== undefined) {
      // A retry after a timeout: the first attempt may have created the cluster. It is the answer,
      // whatever the quota says now (it counts already).
      const existing = await getOwned(clusters, account, id);
      if (ours(existing)) return result(request, existing!);
    }
    const tcp = buildTenantControlPlane({
      id,
      namespace: clusters.namespaceFor(id),
      account,
      name: body.name,
      size: body.size,
      version: body.version,
      ...(keyHash === undefined ? {} : { idempotencyKeyHash: keyHash }),
      ...(options.defaultServiceType === undefined ? {} : { serviceType: options.defaultServiceType }),
    });
    const limits = await beforeCreate(async () => {
      options.validateTcp?.(tcp);
      const limits = await options.accountLimits.limitsFor(account);
      // From the cache: cheap, and enough to refuse the common case without writing anything.
      checkClusterQuota(account, limits, await clusters.list(account), false);
      return limits;
    });
    let created: TenantControlPlane;
    try {
      created = await clusters.create(tcp);
    } catch (error) {
      if (!(error instanceof ClusterExistsError)) throw error; // maybe created (a timeout): the claim stays
      if (keyHash === undefined) throw error;
      const existing = await getOwned(clusters, account, id);
      // Another cluster has this id (56 random bits: practically never): nothing of ours exists.
      if (!ours(existing)) throw new NothingCreated(error);
      return result(request, existing!);
    }
    // Two replicas may both have passed the cached check. Count again from the host, after our
    // create: of several concurrent creates the last to be written sees all the others, so however
    // they interleave the account never stays over its quota (at worst both withdraw; a retry passes).
    try {
      checkClusterQuota(account, limits, await clusters.listCurrent(account), true);
    } catch (refusal) {
      await clusters.delete(id);
      request.log.info({ cluster: id }, 'cluster withdrawn: a concurrent create took the last of the quota');
      throw new NothingCreated(refusal);
    }
    request.log.info({ cluster: id, size: body.size, version: body.version }, 'cluster created');
    return { status: 202, body: toClusterView(created) };
  }

  app.post(
    '/v1/clusters',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Create a cluster',
        description: 'Starts provisioning a tenant control plane. Answers 202: poll the Location until status.ready.',
        tags: ['clusters'],
        operationId: 'createCluster',
        'x-problems': [403, 422],
        'x-links': { 202: clusterLinks },
        querystring: noQuery,
        body: createClusterBody,
        headers: idempotencyHeaders,
        response: { 202: clusterResponse },
      },
    },
    async (request: FastifyRequest<{ Body: CreateBody }>, reply: FastifyReply) => {
      const principal = principalOf(request);
      const key = request.headers['idempotency-key'];
      let result: StoredResponse & { replayed: boolean };
      if (typeof key === 'string') {
        result = await idempotency.run({
          account: principal.account,
          key,
          fingerprint: requestFingerprint('POST', '/v1/clusters', request.body),
          newId,
          perform: (id, keyHash) => createCluster(request, id, request.body, keyHash),
        });
      } else {
        // Without a key a random id collision (56 bits) is retried with a new id.
        let response: StoredResponse | undefined;
        for (let attempt = 0; response === undefined; attempt++) {
          try {
            response = await createCluster(request, newId(), request.body);
          } catch (error) {
            if (error instanceof NothingCreated) throw error.problem;
            if (!(error instanceof ClusterExistsError) || attempt >= 2) throw error;
          }
        }
        result = { ...response, replayed: false };
      }
      const view = result.body as ClusterView;
      reply.code(result.status).header('location', view.links.self);
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return view;
    },
  );

  app.get(
    '/v1/clusters',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'List clusters',
        description: 'Oldest first. Pass nextCursor as cursor for the next page; null means last page.',
        tags: ['clusters'],
        operationId: 'listClusters',
        querystring: listClustersQuery,
        response: { 200: clusterListResponse },
      },
    },
    async (request: FastifyRequest<{ Querystring: ListQuery }>) => {
      const { limit, cursor, size, version, phase, name } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      // Filter and sort on cheap keys; build views only for the page (lists are polled, and long).
      const matching = (await clusters.list(principalOf(request).account))
        .map((tcp) => ({ tcp, createdAt: tcp.metadata.creationTimestamp ?? '', id: tcp.metadata.name }))
        .filter(
          ({ tcp, createdAt, id }) =>
            (after === undefined || createdAt > after[0] || (createdAt === after[0] && id > after[1])) &&
            (size === undefined || sizeOf(tcp) === size) &&
            (version === undefined || tcp.spec.version === version) &&
            (phase === undefined || phaseOf(tcp) === phase) &&
            (name === undefined || displayNameOf(tcp) === name),
        )
        .sort(byCreation);
      const items = matching.slice(0, limit).map(({ tcp }) => toClusterView(tcp));
      const last = items[items.length - 1];
      return { items, nextCursor: matching.length > limit && last !== undefined ? encodeCursor(last) : null };
    },
  );

  app.get(
    '/v1/clusters/:id',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Get a cluster',
        description: 'Current state; poll this after create, update or delete (404 once deleted).',
        tags: ['clusters'],
        operationId: 'getCluster',
        params: clusterParams,
        querystring: noQuery,
        response: { 200: clusterResponse },
      },
    },
    async (request: FastifyRequest<{ Params: IdParams }>) => {
      const tcp = await getOwned(clusters, principalOf(request).account, request.params.id);
      if (tcp === undefined) throw clusterNotFound(request.params.id);
      return toClusterView(tcp);
    },
  );

  app.patch(
    '/v1/clusters/:id',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Resize, upgrade or rename a cluster',
        description:
          'A size or version change answers 202 and is carried out by the operator (poll until status.reconciled and status.ready); a rename alone answers 200.',
        tags: ['clusters'],
        operationId: 'updateCluster',
        'x-problems': [409, 422],
        params: clusterParams,
        querystring: noQuery,
        body: updateClusterBody,
        response: { 200: clusterResponse, 202: clusterResponse },
      },
    },
    async (request: FastifyRequest<{ Params: IdParams; Body: UpdateBody }>, reply: FastifyReply) => {
      const account = principalOf(request).account;
      const { id } = request.params;
      const body = request.body;
      for (let attempt = 0; ; attempt++) {
        const tcp = await getOwned(clusters, account, id);
        if (tcp === undefined) throw clusterNotFound(id);
        const view = toClusterView(tcp);
        if (view.status.phase === 'Deleting') throw problems.conflict(`cluster ${id} is being deleted and can no longer be changed`);
        if (body.version !== undefined) {
          const check = checkVersionChange(tcp.spec.version, body.version);
          if (!check.ok) throw problems.unprocessable('version-change-not-allowed', check.reason, { from: tcp.spec.version, to: body.version });
        }
        const size = body.size !== undefined && body.size !== view.size ? body.size : undefined;
        const version = body.version !== undefined && body.version !== tcp.spec.version ? body.version : undefined;
        const patch = updatePatch({ size, version }, tcp.metadata.resourceVersion);
        if ((size !== undefined || version !== undefined) && options.validateTcp !== undefined) {
          const spec = { ...tcp.spec, ...(patch.spec as Record<string, unknown>) } as TenantControlPlane['spec'];
          if (size !== undefined) spec.controlPlane = { ...tcp.spec.controlPlane, ...controlPlaneFor(size) };
          try {
            options.validateTcp({ ...tcp, spec }, tcp);
          } catch (error) {
            // The CRD's transition rules (e.g. a version that left the supported list) speak here.
            if (error instanceof InvalidTenantControlPlaneError) throw problems.unprocessable('refused-by-crd', error.message);
            throw error;
          }
        }
        const annotations: Record<string, string> = {};
        if (body.name !== undefined) annotations[ANNOTATIONS.displayName] = body.name;
        // The resize is billed from this second on, whenever the metering pass sees it.
        if (size !== undefined) annotations[ANNOTATIONS.billingHistory] = appendBillingHistory(tcp, { ...billedStateOf(tcp), size }, toSeconds(options.clock.now()));
        if (Object.keys(annotations).length > 0) (patch.metadata as Record<string, unknown>).annotations = annotations;
        try {
          const updated = await clusters.patch(id, patch);
          if (updated === undefined) throw clusterNotFound(id);
          const specChanged = size !== undefined || version !== undefined;
          if (specChanged) {
            request.log.info({ cluster: id, size, version }, 'cluster update requested');
          }
          reply.code(specChanged ? 202 : 200);
          return toClusterView(updated);
        } catch (error) {
          // Someone (the operator writing status does not count: status is a subresource) changed the
          // object between our read and write: re-read and re-check, a few times.
          if (!(error instanceof ClusterConflictError) || attempt >= 3) throw error;
        }
      }
    },
  );

  app.delete(
    '/v1/clusters/:id',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Delete a cluster',
        description: 'Answers 202; the cluster shows phase Deleting until the operator has cleaned up, then GET answers 404. Billing stops now.',
        tags: ['clusters'],
        operationId: 'deleteCluster',
        params: clusterParams,
        querystring: noQuery,
        response: { 202: clusterResponse },
      },
    },
    async (request: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
      const { id } = request.params;
      const tcp = await getOwned(clusters, principalOf(request).account, id);
      if (tcp === undefined) throw clusterNotFound(id);
      const result = await clusters.delete(id);
      if (!result.found) throw clusterNotFound(id);
      const requestedAt = tcp.metadata.deletionTimestamp === undefined ? options.clock.now() : new Date(tcp.metadata.deletionTimestamp);
      request.log.info({ cluster: id, gone: result.gone }, 'cluster deletion requested');
      const view = toClusterView({ ...tcp, metadata: { ...tcp.metadata, deletionTimestamp: requestedAt.toISOString() } });
      reply.code(202).header('location', view.links.self);
      return view;
    },
  );
}
