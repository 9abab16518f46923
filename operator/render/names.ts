// What the renderer names inside the objects it makes: ConfigMap keys, containers, ports, etcd member hosts.
// The names of the objects themselves are the contract's (core/contract.ts objectNames, secretNames).
import { KONNECTIVITY, objectNames } from '../../core/index.ts';

/** Keys of the apiserver ConfigMap `<name>-apiserver-config`. */
export const APISERVER_CONFIG_KEYS = {
  authentication: 'authentication.yaml',
  auditPolicy: 'audit-policy.yaml',
  /** Only with konnectivity on (spec.addons.konnectivity). */
  egressSelector: 'egress-selector.yaml',
} as const;

/** Container and pod-level constants. */
export const CONTAINERS = {
  etcd: 'etcd',
  apiServer: 'kube-apiserver',
  controllerManager: 'kube-controller-manager',
  scheduler: 'kube-scheduler',
  konnectivityServer: 'konnectivity-server',
} as const;

export const PORTS = {
  etcdClient: 2379,
  etcdPeer: 2380,
  etcdMetrics: 2381,
  apiServer: 6443,
  controllerManager: 10257,
  scheduler: 10259,
  /** konnectivity-server: agents (the API Service's `konnectivity` port), admin (loopback only), health. */
  konnectivityAgent: KONNECTIVITY.agentPort,
  konnectivityAdmin: 8133,
  konnectivityHealth: 8134,
} as const;

/** DNS name of etcd member `index` inside the HOST cluster (the headless Service gives each pod a record). */
export function etcdMemberHost(tenant: string, namespace: string, index: number, hostClusterDomain: string): string {
  const service = objectNames(tenant).etcd;
  return `${service}-${index}.${service}.${namespace}.svc.${hostClusterDomain}`;
}
