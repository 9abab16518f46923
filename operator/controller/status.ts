// Pure: what the reconcile observed -> the TenantControlPlane's status (conditions, phase, replicas); and
// what a failed reconcile leaves there, so `kubectl describe tcp` tells why the tenant is not Ready.
import { CONDITIONS, kubeconfigSecrets, type Condition, type ConditionType, type Phase, type Tenant, type TenantControlPlaneStatus } from '../../core/index.ts';
import { setCondition, type ConditionInput } from '../runtime/conditions.ts';
import { selectorString } from '../render/index.ts';
import { endpointCondition, publishedEndpoint, type EndpointState } from './endpoint-state.ts';

export interface WorkloadState {
  exists: boolean;
  desired: number;
  ready: number;
  updated: number;
  /** The controller has seen the latest spec of the workload. */
  current: boolean;
}

export interface Observed {
  pki: { ok: true; issued: string[] } | { ok: false; reason: string; message: string };
  etcd: WorkloadState;
  controlPlane: WorkloadState;
  endpoint: EndpointState;
  /** Result of the work inside the tenant, once its API server serves. */
  tenant?: { ok: boolean; reason: string; message: string; conditions?: ConditionInput[]; servingCsrsWaiting?: number };
}

/** A reconcile step that failed: the condition it reports on, a CamelCase reason and what went wrong. */
export interface Failure {
  condition: ConditionType;
  reason: string;
  message: string;
}

/** What the status reports before any step ran, and what each reconcile rewrites. */
export const CONDITION_TYPES = [CONDITIONS.ready, CONDITIONS.pki, CONDITIONS.datastore, CONDITIONS.apiServer, CONDITIONS.endpoint, CONDITIONS.tenantBootstrap] as const;

// Addon pods need worker nodes: their conditions inform, but a control plane without workers is Ready.
const ADDON_CONDITIONS: ReadonlySet<string> = new Set([CONDITIONS.coreDNS, CONDITIONS.kubeProxy, CONDITIONS.konnectivity, CONDITIONS.cni]);

const workloadReady = (w: WorkloadState) => w.exists && w.current && w.ready >= w.desired && w.updated >= w.desired && w.desired > 0;

function workloadCondition(type: ConditionType, what: string, w: WorkloadState, generation: number): ConditionInput {
  if (!w.exists) return { type, status: 'False', reason: 'NotCreated', message: `${what} does not exist yet`, observedGeneration: generation };
  if (workloadReady(w)) return { type, status: 'True', reason: 'Ready', message: `${w.ready}/${w.desired} ${what} replicas ready`, observedGeneration: generation };
  const rolling = w.updated < w.desired || !w.current;
  return {
    type,
    status: 'False',
    reason: rolling ? 'RollingOut' : 'NotReady',
    message: `${w.ready}/${w.desired} ${what} replicas ready, ${w.updated} up to date`,
    observedGeneration: generation,
  };
}

/** Ready as the summary of every other condition but the add-ons: the first failing part gives the reason. */
function withReady(conditions: Condition[], generation: number, now: Date): Condition[] {
  const parts = conditions.filter((c) => c.type !== CONDITIONS.ready && !ADDON_CONDITIONS.has(c.type));
  const notReady = parts.filter((c) => c.status !== 'True');
  return setCondition(conditions, notReady.length === 0
    ? { type: CONDITIONS.ready, status: 'True', reason: 'Ready', message: 'the tenant control plane serves', observedGeneration: generation }
    : { type: CONDITIONS.ready, status: 'False', reason: notReady[0]!.reason, message: notReady.map((c) => `${c.type}: ${c.message}`).join('; '), observedGeneration: generation },
  now) as Condition[];
}

const isReady = (conditions: readonly Condition[]) => conditions.some((c) => c.type === CONDITIONS.ready && c.status === 'True');

/** The next status from the previous one and what was observed (lastTransitionTime kept when unchanged). */
export function nextStatus(tenant: Tenant, previous: TenantControlPlaneStatus | undefined, observed: Observed, now: Date): TenantControlPlaneStatus {
  const { generation } = tenant;
  let conditions: Condition[] = [...(previous?.conditions ?? [])];
  const set = (c: ConditionInput) => (conditions = setCondition(conditions, c, now) as Condition[]);

  set(observed.pki.ok
    ? { type: CONDITIONS.pki, status: 'True', reason: 'Issued', message: observed.pki.issued.length ? `issued: ${observed.pki.issued.join(', ')}` : 'all certificates and kubeconfigs are valid', observedGeneration: generation }
    : { type: CONDITIONS.pki, status: 'False', reason: observed.pki.reason, message: observed.pki.message, observedGeneration: generation });
  set(workloadCondition(CONDITIONS.datastore, 'etcd', observed.etcd, generation));
  set(workloadCondition(CONDITIONS.apiServer, 'control-plane', observed.controlPlane, generation));
  set(endpointCondition(observed.endpoint, generation));
  set(observed.tenant
    ? { type: CONDITIONS.tenantBootstrap, status: observed.tenant.ok ? 'True' : 'False', reason: observed.tenant.reason, message: observed.tenant.message, observedGeneration: generation }
    : { type: CONDITIONS.tenantBootstrap, status: 'Unknown', reason: 'WaitingForAPIServer', message: 'the tenant API server does not serve yet', observedGeneration: generation });
  // one condition per part inside the tenant (RBAC, cluster-info, kubeadm/kubelet config, addons)
  for (const part of observed.tenant?.conditions ?? []) set({ ...part, observedGeneration: generation });
  conditions = withReady(conditions, generation, now);

  const endpoint = publishedEndpoint(observed.endpoint, previous);
  const rolledOut = workloadReady(observed.controlPlane);
  const version = rolledOut ? tenant.spec.version : previous?.version;
  const phase: Phase = !observed.pki.ok ? 'Failed'
    : isReady(conditions) ? 'Ready'
    : previous?.version && previous.version !== tenant.spec.version ? 'Upgrading'
    : 'Provisioning';
  return {
    observedGeneration: generation,
    phase,
    ...(version ? { version } : {}),
    ...(endpoint ? { endpoint } : {}),
    controlPlane: {
      replicas: observed.controlPlane.desired,
      readyReplicas: observed.controlPlane.ready,
      selector: selectorString(tenant.name, 'control-plane'),
    },
    kubeconfigSecrets: kubeconfigSecrets(tenant.name),
    conditions,
  };
}

/**
 * The status after a reconcile failed at one step: that step's condition False with the failure, Ready
 * False naming it, phase Failed, observedGeneration the generation that failed. Everything else observed
 * before (endpoint, version, replicas, the other conditions) stays as it was: it is still what we know.
 */
export function failedStatus(tenant: { generation: number }, previous: TenantControlPlaneStatus | undefined, failure: Failure, now: Date): TenantControlPlaneStatus {
  const { generation } = tenant;
  let conditions = setCondition(previous?.conditions ?? [], {
    type: failure.condition, status: 'False', reason: failure.reason, message: failure.message, observedGeneration: generation,
  }, now) as Condition[];
  conditions = failure.condition === CONDITIONS.ready ? conditions : withReady(conditions, generation, now);
  return { ...previous, observedGeneration: generation, phase: 'Failed', conditions };
}

/** The status while the finalizer runs: phase Deleting, Ready False. */
export function deletingStatus(tenant: { generation: number }, previous: TenantControlPlaneStatus | undefined, now: Date): TenantControlPlaneStatus {
  const conditions = setCondition(previous?.conditions ?? [], {
    type: CONDITIONS.ready, status: 'False', reason: 'Deleting', message: 'the tenant control plane and everything it owns are being deleted', observedGeneration: tenant.generation,
  }, now) as Condition[];
  return { ...previous, phase: 'Deleting', conditions };
}
