// JSON Schemas of the REST API. They validate requests (ajv), serialise responses
// (fast-json-stringify) and become the OpenAPI document: one source for all three. The version
// enum comes from the CRD's schema source (crds/schema/versions.ts), so the API offers exactly the
// versions the CRD accepts.
import { LATEST_VERSION, SUPPORTED_VERSIONS } from '../crds/schema/versions.ts';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency.ts';
import { CLUSTER_ID_PATTERN } from './tcp.ts';
import { SIZES } from './types.ts';
import { PHASES } from '../core/index.ts';

export interface ApiLimits {
  /** Longest kubeconfig certificate lifetime an account may ask for. */
  maxKubeconfigTtlSeconds: number;
  /** Longest join token lifetime: a bootstrap token lets any machine that holds it join the cluster. */
  maxJoinTokenTtlSeconds: number;
  /** Lifetime of a join token minted without ttlSeconds. */
  defaultJoinTokenTtlSeconds: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxKubeconfigTtlSeconds: 24 * 3600,
  // A worker joins within minutes of getting its token; a day covers a slow rollout, a week (kubeadm's
  // own default is a day) only widens the window a leaked token is good for.
  maxJoinTokenTtlSeconds: 24 * 3600,
  defaultJoinTokenTtlSeconds: 3600,
};

export type JsonSchema = Record<string, unknown>;

const ref = (id: string): JsonSchema => ({ $ref: `${id}#` });
const nullable = (type: string, extra: JsonSchema = {}): JsonSchema => ({ type: [type, 'null'], ...extra });
const dateTime = { type: 'string', format: 'date-time' } as const;

/** Display names: printable, no control characters; they are shown back to people only. */
const DISPLAY_NAME = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[^\\u0000-\\u001f\\u007f]+$' } as const;
const SIZE = { type: 'string', enum: [...SIZES], description: 'Control-plane size: small (1 replica), medium (2), large (3).' } as const;
const VERSION = { type: 'string', enum: [...SUPPORTED_VERSIONS], description: 'Kubernetes version (see GET /v1/versions).' } as const;

/** Shared schemas, registered with fastify.addSchema and emitted as OpenAPI components. */
export const SHARED_SCHEMAS: JsonSchema[] = [
  {
    $id: 'Problem',
    type: 'object',
    description: 'RFC 9457 problem details.',
    required: ['type', 'title', 'status', 'detail'],
    properties: {
      type: { type: 'string', format: 'uri' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      instance: { type: 'string' },
      requestId: { type: 'string' },
      errors: {
        type: 'array',
        description: 'Validation problems, one per offending field.',
        items: { type: 'object', properties: { location: { type: 'string' }, message: { type: 'string' } } },
      },
    },
  },
  {
    $id: 'Cluster',
    type: 'object',
    required: ['id', 'name', 'size', 'version', 'createdAt', 'status', 'links'],
    properties: {
      id: { type: 'string', pattern: CLUSTER_ID_PATTERN },
      name: { type: 'string' },
      size: { type: 'string', enum: [...SIZES] },
      version: { type: 'string', description: 'Desired Kubernetes version.' },
      createdAt: dateTime,
      status: {
        type: 'object',
        required: ['phase', 'ready', 'reconciled', 'version', 'endpoint', 'controlPlane', 'message', 'conditions', 'deletionRequestedAt'],
        properties: {
          phase: { type: 'string', enum: [...PHASES] },
          ready: { type: 'boolean', description: 'The control plane serves requests (Ready condition True).' },
          reconciled: { type: 'boolean', description: 'The operator has acted on the latest change (observedGeneration == generation).' },
          version: nullable('string', { description: 'Version the running control plane reports.' }),
          endpoint: nullable('string', { description: 'URL of the tenant API server.' }),
          controlPlane: {
            type: 'object',
            properties: { replicas: { type: 'integer' }, readyReplicas: { type: 'integer' } },
          },
          message: nullable('string'),
          conditions: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                type: { type: 'string' },
                status: { type: 'string' },
                reason: nullable('string'),
                message: nullable('string'),
                lastTransitionTime: nullable('string'),
              },
            },
          },
          deletionRequestedAt: nullable('string'),
        },
      },
      links: {
        type: 'object',
        properties: { self: { type: 'string' }, kubeconfig: { type: 'string' }, joinTokens: { type: 'string' }, usage: { type: 'string' } },
      },
    },
  },
  {
    $id: 'JoinToken',
    type: 'object',
    required: ['id', 'expiresAt', 'description', 'usages', 'groups', 'createdAt'],
    properties: {
      id: { type: 'string' },
      expiresAt: nullable('string', { format: 'date-time' }),
      description: nullable('string'),
      usages: { type: 'array', items: { type: 'string' } },
      groups: { type: 'array', items: { type: 'string' } },
      createdAt: nullable('string', { format: 'date-time' }),
    },
  },
  {
    $id: 'UsageTotals',
    type: 'object',
    required: ['controlPlaneHours', 'hibernatedHours', 'nodeHours'],
    properties: {
      controlPlaneHours: {
        type: 'object',
        description: 'Hours a control plane existed (not hibernated), by size; exact to the second, shown with 6 decimals.',
        properties: { small: { type: 'number' }, medium: { type: 'number' }, large: { type: 'number' }, total: { type: 'number' } },
      },
      hibernatedHours: { type: 'number', description: 'Hours hibernated: control plane off, storage kept (billed apart).' },
      nodeHours: { type: 'number', description: 'Sum over time of nodes registered in the tenant (not while hibernated).' },
    },
  },
  {
    $id: 'ClusterUsage',
    type: 'object',
    required: ['clusterId', 'name', 'createdAt', 'deletedAt', 'controlPlaneHours', 'hibernatedHours', 'nodeHours'],
    properties: {
      clusterId: { type: 'string' },
      name: { type: 'string' },
      createdAt: dateTime,
      deletedAt: nullable('string', { format: 'date-time' }),
      controlPlaneHours: { type: 'object', properties: { small: { type: 'number' }, medium: { type: 'number' }, large: { type: 'number' }, total: { type: 'number' } } },
      hibernatedHours: { type: 'number' },
      nodeHours: { type: 'number' },
    },
  },
];

/** Routes without query parameters refuse any: a typo'd parameter must not be silently ignored. */
export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

export const clusterParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: CLUSTER_ID_PATTERN, description: 'Cluster id.' } },
} as const;

export const joinTokenParams = {
  type: 'object',
  required: ['id', 'tokenId'],
  additionalProperties: false,
  properties: {
    id: clusterParams.properties.id,
    tokenId: { type: 'string', pattern: '^[a-z0-9]{6}$', description: 'Token id (the part before the dot).' },
  },
} as const;

export const createClusterBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { ...DISPLAY_NAME, description: 'Display name (ids are generated).' },
    size: { ...SIZE, default: 'small' },
    version: { ...VERSION, default: LATEST_VERSION },
  },
} as const;

export const updateClusterBody = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: {
    name: DISPLAY_NAME,
    size: SIZE,
    version: { ...VERSION, description: 'New version: never lower, at most one minor version higher.' },
  },
} as const;

export const idempotencyHeaders = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description: 'Makes the create safe to retry: the same key with the same body returns the first result; with another body, 422. Keys live 24 h.',
    },
  },
} as const;

export const listClustersQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'Page size.' },
    cursor: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$', description: 'nextCursor of the previous page.' },
    size: SIZE,
    version: { type: 'string', maxLength: 32, description: 'Only clusters whose desired version is this.' },
    phase: { type: 'string', enum: [...PHASES] },
    name: { ...DISPLAY_NAME, description: 'Only clusters with exactly this display name.' },
  },
} as const;

export const clusterListResponse = {
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: { items: { type: 'array', items: ref('Cluster') }, nextCursor: nullable('string') },
} as const;

export function kubeconfigBody(limits: ApiLimits) {
  return {
    type: 'object',
    required: ['username', 'groups'],
    additionalProperties: false,
    properties: {
      username: {
        type: 'string',
        pattern: '^[A-Za-z0-9][A-Za-z0-9:._@-]{0,199}$',
        description: 'Certificate common name, the Kubernetes user name in the tenant: `portal:<account>:<name>` (422 otherwise).',
      },
      groups: {
        type: 'array',
        minItems: 1,
        maxItems: 10,
        uniqueItems: true,
        items: { type: 'string', minLength: 1, maxLength: 200 },
        description: "Groups (certificate organisations): each `portal:<account>:<name>` or on the API key's allow-list.",
      },
      // 600: the shortest lifetime a Kubernetes CSR may ask for (spec.expirationSeconds).
      ttlSeconds: { type: 'integer', minimum: 600, maximum: limits.maxKubeconfigTtlSeconds, default: 3600 },
    },
  } as const;
}

export const kubeconfigResponse = {
  type: 'object',
  required: ['clusterId', 'username', 'groups', 'expiresAt', 'kubeconfig'],
  properties: {
    clusterId: { type: 'string' },
    username: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    expiresAt: dateTime,
    kubeconfig: { type: 'string', description: 'kubeconfig YAML with an embedded client certificate and key.' },
  },
} as const;

export function joinTokenBody(limits: ApiLimits) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      ttlSeconds: {
        type: 'integer',
        minimum: 600,
        maximum: limits.maxJoinTokenTtlSeconds,
        default: limits.defaultJoinTokenTtlSeconds,
        description: `Lifetime in seconds (default ${limits.defaultJoinTokenTtlSeconds}, at most ${limits.maxJoinTokenTtlSeconds}).`,
      },
      description: { type: 'string', maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]*$' },
    },
  } as const;
}

export const mintedJoinTokenResponse = {
  type: 'object',
  required: ['id', 'token', 'joinCommand', 'expiresAt', 'description', 'usages', 'groups', 'createdAt'],
  properties: {
    ...(SHARED_SCHEMAS.find((s) => s.$id === 'JoinToken')!.properties as JsonSchema),
    token: { type: 'string', description: '<id>.<secret>; shown only in this response.' },
    joinCommand: { type: 'string', description: 'kubeadm join command for a worker.' },
  },
} as const;

export const joinTokenListResponse = {
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: ref('JoinToken') } },
} as const;

export const usageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { ...dateTime, description: 'Start (inclusive), rounded down to a whole UTC hour; default: start of the current month, UTC. At most 366 days before `to`.' },
    to: { ...dateTime, description: 'End (exclusive), rounded up to a whole UTC hour; default and maximum: now.' },
  },
} as const;

export const usageReportResponse = {
  type: 'object',
  required: ['account', 'from', 'to', 'clusters', 'totals'],
  properties: {
    account: { type: 'string' },
    from: dateTime,
    to: dateTime,
    clusters: { type: 'array', items: ref('ClusterUsage') },
    totals: ref('UsageTotals'),
  },
} as const;

export const clusterUsageResponse = {
  type: 'object',
  required: ['account', 'from', 'to', 'usage'],
  properties: { account: { type: 'string' }, from: dateTime, to: dateTime, usage: ref('ClusterUsage') },
} as const;

export const versionsResponse = {
  type: 'object',
  required: ['versions', 'default'],
  properties: {
    default: { type: 'string' },
    versions: {
      type: 'array',
      items: { type: 'object', properties: { version: { type: 'string' }, default: { type: 'boolean' } } },
    },
  },
} as const;

export const limitsResponse = {
  type: 'object',
  required: ['account', 'limits'],
  properties: {
    account: { type: 'string' },
    limits: {
      type: 'array',
      description: 'Each quota of the account: its name (as in quota problems), its value and, where counted per account, the current use.',
      items: {
        type: 'object',
        required: ['limit', 'max', 'current', 'resetsAt'],
        properties: {
          limit: { type: 'string', enum: ['clusters-per-account', 'join-tokens-per-cluster', 'kubeconfigs-per-hour'] },
          max: { type: 'integer' },
          current: nullable('integer', { description: 'Current use; null for a per-cluster limit (see each cluster).' }),
          resetsAt: nullable('string', { format: 'date-time', description: 'When a rate counts from 0 again; null for quotas.' }),
        },
      },
    },
  },
} as const;

export const clusterResponse = ref('Cluster');

/** OpenAPI links from an answer that is a Cluster to the operations on it: clients (and fuzzers) can follow them. */
export const clusterLinks = Object.fromEntries(
  ['getCluster', 'updateCluster', 'deleteCluster', 'issueKubeconfig', 'mintJoinToken', 'listJoinTokens', 'getClusterUsage'].map((operationId) => [
    operationId,
    { operationId, parameters: { id: '$response.body#/id' } },
  ]),
);

/** From a minted join token to its revocation. */
export const joinTokenLinks = { revokeJoinToken: { operationId: 'revokeJoinToken', parameters: { id: '$request.path.id', tokenId: '$response.body#/id' } } };
export const problemResponse = ref('Problem');
