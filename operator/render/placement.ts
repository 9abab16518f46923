// Where tenant control-plane pods run, and how fast they leave a lost host node.
//
// Kubernetes gives every pod a 300 s toleration of the node.kubernetes.io/unreachable and not-ready
// taints (the DefaultTolerationSeconds admission plugin adds them unless the pod has its own), so a
// replica on a node that died keeps its place for five minutes after the node is noticed. A tenant's API
// server is worth more than that: 30 s is long enough to ride out a kubelet restart or a short network
// blip, short enough that a replacement is scheduled within about a minute and a half of the loss
// (node-monitor-grace-period, then these 30 s).
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';

export const NODE_LOSS_TOLERATION_SECONDS = 30;

/** The two NoExecute taints the node lifecycle controller sets on a node that stopped reporting. */
export const NODE_LOSS_TAINTS = ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'] as const;

export function nodeLossTolerations(): IToleration[] {
  return NODE_LOSS_TAINTS.map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: NODE_LOSS_TOLERATION_SECONDS }));
}

/**
 * At most one more replica on any node than on another (the preferred anti-affinity alone lets the
 * scheduler stack them when it scores other things higher). ScheduleAnyway: a host with fewer nodes than
 * replicas still runs them all. pod-template-hash: during a roll the new ReplicaSet's pods spread among
 * themselves, not against the old pods about to go.
 */
export function spreadOverHostnames(selector: Record<string, string>): ITopologySpreadConstraint[] {
  return [{
    maxSkew: 1,
    topologyKey: 'kubernetes.io/hostname',
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: selector },
    matchLabelKeys: ['pod-template-hash'],
  }];
}
