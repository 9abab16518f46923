// How far the tenant bootstrap has got, per part, for the TenantControlPlane's status conditions.
// observeBootstrap reads the planned objects back from the tenant (one GET each); assessBootstrap is the
// pure judgement; bootstrapConditions turns it into metav1-style conditions.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ConditionInput } from '../runtime/conditions.ts';
import { KubeClient, getOrUndefined } from '../../core/index.ts';
import { CONFIG_KEYS, CONFIG_MAPS, JWS_KEY_PREFIX } from './names.ts';
import { BOOTSTRAP_PARTS, describeRef, refOfObject, type BootstrapPart, type TenantObject } from './objects.ts';
import type { TenantBootstrapPlan } from './plan.ts';

/** The condition type each part reports under. */
export const PART_CONDITION_TYPES: Readonly<Record<BootstrapPart, string>> = {
  rbac: 'TenantRBAC',
  'cluster-info': 'ClusterInfo',
  'kubeadm-config': 'KubeadmConfig',
  'kubelet-config': 'KubeletConfig',
  coredns: 'CoreDNS',
  'kube-proxy': 'KubeProxy',
  konnectivity: 'Konnectivity',
  cni: 'CNI',
};

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface PartReport {
  part: BootstrapPart;
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  /** Every object of the part exists as planned (an add-on may still be starting). */
  written: boolean;
}

/** What was read back: the object, undefined when absent, or the error of the read. */
export type Observation = { found: Record<string, unknown> } | { missing: true } | { error: string };

export function observationKey(object: TenantObject['object']): string {
  return describeRef(refOfObject(object));
}

type Json = unknown;

/** True when every field `desired` declares has that value in `observed` (added defaults are fine). */
export function containsDesired(desired: Json, observed: Json): boolean {
  if (Array.isArray(desired)) {
    return Array.isArray(observed) && observed.length === desired.length && desired.every((d, i) => containsDesired(d, observed[i]));
  }
  if (typeof desired === 'object' && desired !== null) {
    if (typeof observed !== 'object' || observed === null || Array.isArray(observed)) return false;
    const o = observed as Record<string, Json>;
    return Object.entries(desired).every(([k, v]) => containsDesired(v, o[k]));
  }
  return desired === observed;
}

// The fields whose drift matters for a part to work. Workload specs are left out: the API server defaults
// many of their fields, and the next apply puts back anything that drifted anyway.
const CONTENT_FIELDS: Record<string, string[]> = {
  ClusterRole: ['rules'],
  Role: ['rules'],
  ClusterRoleBinding: ['roleRef', 'subjects'],
  RoleBinding: ['roleRef', 'subjects'],
  ConfigMap: ['data'],
};

interface Workload {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
  };
}

function workloadReadiness(kind: string, obj: Workload): { status: ConditionStatus; reason: string; message: string } {
  const status = obj.status ?? {};
  const current = (status.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 0);
  if (kind === 'Deployment') {
    const desired = obj.spec?.replicas ?? 1;
    const ready = status.readyReplicas ?? 0;
    const updated = status.updatedReplicas ?? 0;
    const message = `${ready}/${desired} replicas ready`;
    if (!current || updated < desired) return { status: 'False', reason: 'RollingOut', message: `${message}, ${updated}/${desired} updated` };
    if (ready < desired) return { status: 'False', reason: 'NotReady', message: ready === 0 ? `${message} (are there schedulable worker nodes?)` : message };
    return { status: 'True', reason: 'Ready', message };
  }
  const desired = status.desiredNumberScheduled ?? 0;
  const ready = status.numberReady ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  if (!current) return { status: 'False', reason: 'RollingOut', message: 'the DaemonSet controller has not seen the latest spec yet' };
  if (desired === 0) return { status: 'True', reason: 'NoNodes', message: 'no nodes to run on yet' };
  if (updated < desired) return { status: 'False', reason: 'RollingOut', message: `${ready}/${desired} nodes ready, ${updated}/${desired} updated` };
  if (ready < desired) return { status: 'False', reason: 'NotReady', message: `${ready}/${desired} nodes ready` };
  return { status: 'True', reason: 'Ready', message: `${ready}/${desired} nodes ready` };
}

/**
 * An agent is ready when it holds a tunnel to a konnectivity server: one that is not cannot reach the
 * servers (the address or port, a firewall, a token the server refuses), and `kubectl logs/exec` to its
 * node fail. Said in those words.
 */
function konnectivityReadiness(judged: { status: ConditionStatus; reason: string; message: string }, plan: TenantBootstrapPlan): { status: ConditionStatus; reason: string; message: string } {
  const server = plan.input.konnectivityServer;
  const where = `${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
  if (judged.reason === 'NoNodes') return { ...judged, message: 'no nodes yet: agents start on every node that joins' };
  if (judged.reason === 'NotReady') {
    return {
      status: 'False',
      reason: 'AgentsNotConnected',
      message: `${judged.message.replace('nodes ready', 'agents connected')} to the konnectivity server at ${where}; logs, exec and webhooks on the other nodes fail until they connect`,
    };
  }
  if (judged.reason === 'Ready') return { ...judged, reason: 'Connected', message: `${judged.message.replace('nodes ready', 'agents connected')} to ${where}` };
  return judged;
}

/** The pod network of a node is up when flanneld on it is ready (its subnet leased, the CNI config written). */
function cniReadiness(judged: { status: ConditionStatus; reason: string; message: string }): { status: ConditionStatus; reason: string; message: string } {
  if (judged.reason === 'NoNodes') return { ...judged, message: 'no nodes yet: flannel starts on every node that joins' };
  if (judged.reason === 'NotReady') {
    return { ...judged, message: `flannel ${judged.message}; pods on the other nodes have no pod network until it is (is the node's spec.podCIDR set, VXLAN UDP 8472 open between nodes?)` };
  }
  if (judged.reason === 'Ready') return { ...judged, message: `flannel (VXLAN) ${judged.message}` };
  return judged;
}

function addonEnabled(plan: TenantBootstrapPlan, part: BootstrapPart): boolean | undefined {
  if (part === 'coredns') return plan.input.addons.coreDNS;
  if (part === 'kube-proxy') return plan.input.addons.kubeProxy;
  if (part === 'konnectivity') return plan.input.addons.konnectivity;
  if (part === 'cni') return plan.input.addons.cni;
  return undefined;
}

/** Pure: the report of each part from what was read back. */
export function assessBootstrap(plan: TenantBootstrapPlan, observed: ReadonlyMap<string, Observation>): PartReport[] {
  return BOOTSTRAP_PARTS.map((part) => {
    const type = PART_CONDITION_TYPES[part];
    const report = (status: ConditionStatus, reason: string, message: string, written: boolean): PartReport => ({ part, type, status, reason, message, written });
    if (addonEnabled(plan, part) === false) return report('True', 'Disabled', `the ${part} add-on is turned off`, true);

    const entries = plan.objects.filter((o) => o.part === part);
    const problems: { reason: string; message: string; unknown?: boolean }[] = [];
    const workloads: { kind: string; obj: Workload }[] = [];
    let clusterInfoSignatures: number | undefined;
    for (const entry of entries) {
      const key = observationKey(entry.object);
      const seen = observed.get(key);
      if (seen === undefined || 'error' in seen) {
        problems.push({ reason: 'ReadFailed', message: `${key}: ${seen && 'error' in seen ? seen.error : 'not read'}`, unknown: true });
        continue;
      }
      if ('missing' in seen) {
        problems.push({ reason: 'Missing', message: `${key} does not exist` });
        continue;
      }
      const kind = entry.object.kind!;
      if (entry.policy === 'apply') {
        const drifted = (CONTENT_FIELDS[kind] ?? []).filter((field) => !containsDesired(entry.object[field], seen.found[field]));
        if (drifted.length > 0) problems.push({ reason: 'Drifted', message: `${key} differs in ${drifted.join(', ')}` });
      }
      if (kind === 'Deployment' || kind === 'DaemonSet') workloads.push({ kind, obj: seen.found as Workload });
      if (part === 'cluster-info' && entry.object.metadata?.name === CONFIG_MAPS.clusterInfo) {
        const data = (seen.found.data ?? {}) as Record<string, string>;
        clusterInfoSignatures = Object.keys(data).filter((k) => k.startsWith(JWS_KEY_PREFIX)).length;
      }
    }
    if (problems.length > 0) {
      const status: ConditionStatus = problems.every((p) => p.unknown) ? 'Unknown' : 'False';
      const first = problems.find((p) => !p.unknown) ?? problems[0]!;
      return report(status, first.reason, problems.map((p) => p.message).join('; '), false);
    }
    if (workloads.length > 0) {
      const judged = workloads.map((w) => {
        const readiness = workloadReadiness(w.kind, w.obj);
        if (part === 'konnectivity') return konnectivityReadiness(readiness, plan);
        return part === 'cni' ? cniReadiness(readiness) : readiness;
      });
      const worst = judged.find((j) => j.status !== 'True') ?? judged[0]!;
      return report(worst.status, worst.reason, judged.map((j) => j.message).join('; '), true);
    }
    if (clusterInfoSignatures !== undefined) {
      // Unsigned is fine: there is no join token yet, and the bootstrapsigner signs as soon as one exists.
      const message = clusterInfoSignatures === 0
        ? `${CONFIG_KEYS.clusterInfoKubeconfig} published; not signed for any token yet`
        : `${CONFIG_KEYS.clusterInfoKubeconfig} published, signed for ${clusterInfoSignatures} token(s)`;
      return report('True', 'Published', message, true);
    }
    return report('True', 'Applied', `${entries.length} object(s) as planned`, true);
  });
}

/** metav1-style conditions (one per part) for the TenantControlPlane status. */
export function bootstrapConditions(reports: readonly PartReport[], observedGeneration?: number): ConditionInput[] {
  return reports.map((r) => ({
    type: r.type,
    status: r.status,
    reason: r.reason,
    message: r.message,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  }));
}

/**
 * One line for a summary condition: ok when every part is written as planned. Add-on readiness is not
 * part of it (CoreDNS cannot be ready before a worker joins); the CoreDNS / KubeProxy conditions say that.
 */
export function summarizeBootstrap(reports: readonly PartReport[]): { ok: boolean; reason: string; message: string } {
  const unwritten = reports.filter((r) => !r.written);
  if (unwritten.length > 0) {
    return { ok: false, reason: 'Incomplete', message: unwritten.map((r) => `${r.type}: ${r.message}`).join('; ') };
  }
  const waiting = reports.filter((r) => r.status !== 'True');
  const message = waiting.length === 0 ? 'RBAC, cluster-info, kubeadm-config, kubelet-config and add-ons are in place' : `written; waiting for ${waiting.map((r) => `${r.type} (${r.message})`).join(', ')}`;
  return { ok: true, reason: 'Bootstrapped', message };
}

/** Reads every planned object back from the tenant. */
export async function observeBootstrap(client: KubeClient, plan: TenantBootstrapPlan, signal?: AbortSignal): Promise<Map<string, Observation>> {
  const out = new Map<string, Observation>();
  for (const entry of plan.objects) {
    const key = observationKey(entry.object);
    try {
      const found = await getOrUndefined<Record<string, unknown> & { apiVersion?: string; kind?: string }>(client, refOfObject(entry.object), signal);
      out.set(key, found === undefined ? { missing: true } : { found });
    } catch (error) {
      if (signal?.aborted) throw error;
      out.set(key, { error: (error as Error).message });
    }
  }
  return out;
}

/** Reads back and judges: the per-part reports for status conditions. */
export async function bootstrapStatus(tenant: KubeConfig | KubeClient, plan: TenantBootstrapPlan, signal?: AbortSignal): Promise<PartReport[]> {
  const client = tenant instanceof KubeClient ? tenant : new KubeClient(tenant);
  try {
    return assessBootstrap(plan, await observeBootstrap(client, plan, signal));
  } finally {
    if (client !== tenant) await client.close();
  }
}
