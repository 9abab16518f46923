// Names of the host objects of one tenant, exactly as docs/contracts.md fixes them.
// Every module that refers to a tenant's object by name should take it from here.

export const objectNames = (tenant: string) => ({
  etcd: `${tenant}-etcd`,
  controlPlane: `${tenant}-control-plane`,
  apiServerService: `${tenant}-apiserver`,
  apiServerConfig: `${tenant}-apiserver-config`,
  etcdNetworkPolicy: `${tenant}-etcd`,
});

export const secretNames = (tenant: string) => ({
  ca: `${tenant}-ca`,
  etcdCA: `${tenant}-etcd-ca`,
  frontProxyCA: `${tenant}-front-proxy-ca`,
  serviceAccount: `${tenant}-sa`,
  apiServerCerts: `${tenant}-apiserver-certs`,
  etcdCerts: `${tenant}-etcd-certs`,
  adminKubeconfig: `${tenant}-admin-kubeconfig`,
  superAdminKubeconfig: `${tenant}-super-admin-kubeconfig`,
  clusterAPIKubeconfig: `${tenant}-kubeconfig`,
  controllerManagerKubeconfig: `${tenant}-controller-manager-kubeconfig`,
  schedulerKubeconfig: `${tenant}-scheduler-kubeconfig`,
});

/** The data keys of each Secret (contract), keyed like secretNames. */
export const SECRET_KEYS = {
  ca: ['ca.crt', 'ca.key'],
  etcdCA: ['ca.crt', 'ca.key'],
  frontProxyCA: ['ca.crt', 'ca.key'],
  serviceAccount: ['sa.key', 'sa.pub'],
  apiServerCerts: [
    'apiserver.crt',
    'apiserver.key',
    'apiserver-kubelet-client.crt',
    'apiserver-kubelet-client.key',
    'apiserver-etcd-client.crt',
    'apiserver-etcd-client.key',
    'front-proxy-client.crt',
    'front-proxy-client.key',
    'ca.crt',
    'etcd-ca.crt',
    'front-proxy-ca.crt',
  ],
  etcdCerts: ['server.crt', 'server.key', 'peer.crt', 'peer.key', 'ca.crt'],
  adminKubeconfig: ['admin.conf'],
  superAdminKubeconfig: ['super-admin.conf'],
  clusterAPIKubeconfig: ['value'],
  controllerManagerKubeconfig: ['controller-manager.conf'],
  schedulerKubeconfig: ['scheduler.conf'],
} as const satisfies Record<keyof ReturnType<typeof secretNames>, readonly string[]>;

/** Keys of the apiserver ConfigMap `<name>-apiserver-config`. */
export const APISERVER_CONFIG_KEYS = {
  authentication: 'authentication.yaml',
  auditPolicy: 'audit-policy.yaml',
} as const;

/** Container and pod-level constants. */
export const CONTAINERS = {
  etcd: 'etcd',
  apiServer: 'kube-apiserver',
  controllerManager: 'kube-controller-manager',
  scheduler: 'kube-scheduler',
} as const;

export const PORTS = {
  etcdClient: 2379,
  etcdPeer: 2380,
  etcdMetrics: 2381,
  apiServer: 6443,
  controllerManager: 10257,
  scheduler: 10259,
} as const;

/** DNS name of etcd member `index` inside the HOST cluster (the headless Service gives each pod a record). */
export function etcdMemberHost(tenant: string, namespace: string, index: number, hostClusterDomain: string): string {
  const service = objectNames(tenant).etcd;
  return `${service}-${index}.${service}.${namespace}.svc.${hostClusterDomain}`;
}
