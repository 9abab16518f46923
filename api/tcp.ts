// Pure translation between the portal's view of a cluster and the TenantControlPlane object the
// operator reconciles. The API writes only what the portal controls (version, size); every other
// spec field is left to the CRD's defaults.
import { randomBytes } from 'node:crypto';
import { controlPlaneFor } from './sizes.ts';
import { SIZES, type Size } from './types.ts';
import { initialBillingHistory } from './billing-history.ts';
import { ANNOTATIONS, API_VERSION, CREATED_BY_API, KIND, LABELS, PHASES, type Phase, type TenantControlPlaneSpecInput, type TenantControlPlaneStatus } from '../core/index.ts';

/** Cluster ids: `c` + 11 of [a-z0-9] (~56 bits). A DNS-1035 label, short enough for `<id>-controller-manager-kubeconfig`. */
export const CLUSTER_ID_PATTERN = '^c[a-z0-9]{11}$';
const CLUSTER_ID_REGEX = new RegExp(CLUSTER_ID_PATTERN);
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function newClusterId(random: (size: number) => Uint8Array = randomBytes): string {
  let id = 'c';
  while (id.length < 12) {
    for (const byte of random(16)) {
      if (byte >= 252) continue; // rejection sampling keeps the 36 characters equally likely
      id += ID_ALPHABET[byte % 36];
      if (id.length === 12) break;
    }
  }
  return id;
}

export function isClusterId(value: string): boolean {
  return CLUSTER_ID_REGEX.test(value);
}

/**
 * A TenantControlPlane as the API writes and reads it: the CRD's generated types, with the spec as the API
 * writes it (only what the portal controls; the CRD defaults the rest) and the metadata the API relies on.
 */
export interface TenantControlPlane {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  spec: TenantControlPlaneSpecInput;
  status?: TenantControlPlaneStatus;
}

export interface NewClusterInput {
  id: string;
  namespace: string;
  account: string;
  name: string;
  size: Size;
  version: TenantControlPlaneSpecInput['version'];
  /** Hash of the Idempotency-Key that created it (a label, for tracing duplicates). */
  idempotencyKeyHash?: string;
  /** How the cluster is exposed (the API's --default-service-type); unset: the CRD's default. */
  serviceType?: NonNullable<TenantControlPlaneSpecInput['networkProfile']>['serviceType'];
}

export function buildTenantControlPlane(input: NewClusterInput): TenantControlPlane {
  const labels: Record<string, string> = {
    [LABELS.account]: input.account,
    [LABELS.size]: input.size,
    [LABELS.createdBy]: CREATED_BY_API,
  };
  if (input.idempotencyKeyHash !== undefined) labels[LABELS.idempotencyKey] = input.idempotencyKeyHash;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: input.id,
      namespace: input.namespace,
      labels,
      // The billed state from creation on (billing-history.ts): the metering pass reads it with the tcp.
      annotations: { [ANNOTATIONS.displayName]: input.name, [ANNOTATIONS.billingHistory]: initialBillingHistory({ size: input.size, hibernated: false }) },
    },
    spec: {
      version: input.version,
      controlPlane: controlPlaneFor(input.size),
      ...(input.serviceType === undefined ? {} : { networkProfile: { serviceType: input.serviceType } }),
    },
  };
}

/** JSON merge patch for a resize and/or upgrade; resourceVersion makes it fail on a concurrent change. */
export function updatePatch(change: { size?: Size; version?: string }, resourceVersion: string | undefined): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  if (resourceVersion !== undefined) metadata.resourceVersion = resourceVersion;
  if (change.version !== undefined) spec.version = change.version;
  if (change.size !== undefined) {
    spec.controlPlane = controlPlaneFor(change.size);
    metadata.labels = { [LABELS.size]: change.size };
  }
  return { metadata, spec };
}

export function accountOf(tcp: TenantControlPlane): string | undefined {
  return tcp.metadata.labels?.[LABELS.account];
}

/** The size label; for objects edited by hand without it, the size whose replica count matches. */
export function sizeOf(tcp: TenantControlPlane): Size {
  const label = tcp.metadata.labels?.[LABELS.size];
  if ((SIZES as readonly string[]).includes(label ?? '')) return label as Size;
  const replicas = tcp.spec.controlPlane?.replicas ?? 1;
  return replicas >= 3 ? 'large' : replicas === 2 ? 'medium' : 'small';
}

export function displayNameOf(tcp: TenantControlPlane): string {
  return tcp.metadata.annotations?.[ANNOTATIONS.displayName] ?? tcp.metadata.name;
}

export interface ClusterView {
  id: string;
  name: string;
  size: Size;
  version: string;
  createdAt: string;
  status: {
    phase: Phase;
    ready: boolean;
    /** The operator has seen the latest spec (observedGeneration == generation). */
    reconciled: boolean;
    version: string | null;
    endpoint: string | null;
    controlPlane: { replicas: number; readyReplicas: number };
    message: string | null;
    conditions: { type: string; status: string; reason: string | null; message: string | null; lastTransitionTime: string | null }[];
    deletionRequestedAt: string | null;
  };
  links: { self: string; kubeconfig: string; joinTokens: string; usage: string };
}

export function phaseOf(tcp: TenantControlPlane): Phase {
  if (tcp.metadata.deletionTimestamp !== undefined) return 'Deleting';
  const phase = tcp.status?.phase;
  return (PHASES as readonly string[]).includes(phase ?? '') ? (phase as Phase) : 'Provisioning';
}

/** What the portal sees of a tcp. */
export function toClusterView(tcp: TenantControlPlane): ClusterView {
  const id = tcp.metadata.name;
  const status = tcp.status ?? {};
  const conditions = (status.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason ?? null,
    message: c.message ?? null,
    lastTransitionTime: c.lastTransitionTime ?? null,
  }));
  const ready = conditions.find((c) => c.type === 'Ready');
  const self = `/v1/clusters/${id}`;
  return {
    id,
    name: displayNameOf(tcp),
    size: sizeOf(tcp),
    version: tcp.spec.version,
    createdAt: tcp.metadata.creationTimestamp ?? new Date(0).toISOString(),
    status: {
      phase: phaseOf(tcp),
      ready: ready?.status === 'True' && tcp.metadata.deletionTimestamp === undefined,
      reconciled: status.observedGeneration !== undefined && status.observedGeneration === tcp.metadata.generation,
      version: status.version ?? null,
      endpoint: status.endpoint ?? null,
      controlPlane: { replicas: status.controlPlane?.replicas ?? 0, readyReplicas: status.controlPlane?.readyReplicas ?? 0 },
      message: ready?.status === 'True' ? null : ready?.message ?? null,
      conditions,
      deletionRequestedAt: tcp.metadata.deletionTimestamp ?? null,
    },
    links: { self, kubeconfig: `${self}/kubeconfig`, joinTokens: `${self}/join-tokens`, usage: `${self}/usage` },
  };
}
