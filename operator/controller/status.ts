// Pure: what the reconcile observed -> the TenantControlPlane's status (conditions, phase, replicas).
import type { Condition, TenantControlPlane, TenantControlPlaneStatus } from '../../crds/generated/types.ts';
import { setCondition, type ConditionInput } from '../runtime/conditions.ts';
import { selectorString } from '../render/index.ts';

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
  endpoint?: string;
  /** Result of the work inside the tenant, once its API server serves. */
  tenant?: { ok: boolean; reason: string; message: string; conditions?: ConditionInput[] };
  /** The tenant is being deleted. */
  deleting?: boolean;
}

const ADDON_CONDITIONS = new Set(['CoreDNS', 'KubeProxy']);

export const CONDITION_TYPES = ['Ready', 'PKI', 'Datastore', 'APIServer', 'Endpoint', 'TenantBootstrap'] as const;

const workloadReady = (w: WorkloadState) => w.exists && w.current && w.ready >= w.desired && w.updated >= w.desired && w.desired > 0;

function workloadCondition(type: string, what: string, w: WorkloadState, generation: number): ConditionInput {
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

/** The next status from the previous one and what was observed (lastTransitionTime kept when unchanged). */
export function nextStatus(tcp: TenantControlPlane, observed: Observed, now: Date): TenantControlPlaneStatus {
  const generation = tcp.metadata?.generation ?? 0;
  const previous = tcp.status ?? {};
  let conditions: Condition[] = [...(previous.conditions ?? [])];
  const set = (c: ConditionInput) => (conditions = setCondition(conditions, c, now) as Condition[]);

  set(observed.pki.ok
    ? { type: 'PKI', status: 'True', reason: 'Issued', message: observed.pki.issued.length ? `issued: ${observed.pki.issued.join(', ')}` : 'all certificates and kubeconfigs are valid', observedGeneration: generation }
    : { type: 'PKI', status: 'False', reason: observed.pki.reason, message: observed.pki.message, observedGeneration: generation });
  set(workloadCondition('Datastore', 'etcd', observed.etcd, generation));
  set(workloadCondition('APIServer', 'control-plane', observed.controlPlane, generation));
  set(observed.endpoint
    ? { type: 'Endpoint', status: 'True', reason: 'Assigned', message: observed.endpoint, observedGeneration: generation }
    : { type: 'Endpoint', status: 'False', reason: 'Pending', message: 'waiting for the API Service address (LoadBalancer ingress or node address)', observedGeneration: generation });
  set(observed.tenant
    ? { type: 'TenantBootstrap', status: observed.tenant.ok ? 'True' : 'False', reason: observed.tenant.reason, message: observed.tenant.message, observedGeneration: generation }
    : { type: 'TenantBootstrap', status: 'Unknown', reason: 'WaitingForAPIServer', message: 'the tenant API server does not serve yet', observedGeneration: generation });
  // one condition per part inside the tenant (RBAC, cluster-info, kubeadm/kubelet config, addons)
  for (const part of observed.tenant?.conditions ?? []) set({ ...part, observedGeneration: generation });

  // Addon pods need worker nodes: their conditions inform, but a control plane without workers is Ready.
  const parts = conditions.filter((c) => c.type !== 'Ready' && !ADDON_CONDITIONS.has(c.type));
  const notReady = parts.filter((c) => c.status !== 'True');
  const ready = notReady.length === 0;
  set(ready
    ? { type: 'Ready', status: 'True', reason: 'Ready', message: 'the tenant control plane serves', observedGeneration: generation }
    : { type: 'Ready', status: 'False', reason: notReady[0]!.reason, message: notReady.map((c) => `${c.type}: ${c.message}`).join('; '), observedGeneration: generation });

  const rolledOut = workloadReady(observed.controlPlane);
  const version = rolledOut ? tcp.spec.version : previous.version;
  const phase = observed.deleting ? 'Deleting'
    : !observed.pki.ok ? 'Failed'
    : ready ? 'Ready'
    : previous.version && previous.version !== tcp.spec.version ? 'Upgrading'
    : 'Provisioning';
  const name = tcp.metadata!.name!;
  return {
    observedGeneration: generation,
    phase,
    ...(version ? { version } : {}),
    ...(observed.endpoint ? { endpoint: observed.endpoint } : {}),
    controlPlane: {
      replicas: observed.controlPlane.desired,
      readyReplicas: observed.controlPlane.ready,
      selector: selectorString(name, 'control-plane'),
    },
    kubeconfigSecrets: { admin: `${name}-admin-kubeconfig`, clusterAPI: `${name}-kubeconfig` },
    conditions,
  } as TenantControlPlaneStatus;
}
