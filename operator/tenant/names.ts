// Names inside a tenant cluster. Most are kubeadm's own (cmd/kubeadm/app/constants, v1.36): `kubeadm join`
// and `kubeadm upgrade` look them up by these exact names, so they are facts, not choices.

export const NAMESPACE_SYSTEM = 'kube-system';
export const NAMESPACE_PUBLIC = 'kube-public';

/** Groups and users the join RBAC is about. */
export const GROUPS = {
  /** Bootstrap tokens minted for `kubeadm join` authenticate in this group (join-tokens.ts mints them). */
  nodeBootstrapToken: 'system:bootstrappers:kubeadm:default-node-token',
  nodes: 'system:nodes',
  /** The admin kubeconfig's group (operator/pki TENANT_ADMIN_GROUP). */
  tenantAdmins: 'kubeception:tenant-admins',
  /** The apiserver-kubelet-client certificate's group (operator/pki KUBEADM_CLUSTER_ADMIN_GROUP). */
  kubeadmClusterAdmins: 'kubeadm:cluster-admins',
} as const;

export const USERS = {
  anonymous: 'system:anonymous',
  /** CN of the apiserver-kubelet-client certificate. */
  apiServerKubeletClient: 'kube-apiserver-kubelet-client',
} as const;

/** Built-in ClusterRoles the apiserver creates at start-up (bootstrap policy). */
export const BUILTIN_CLUSTER_ROLES = {
  clusterAdmin: 'cluster-admin',
  nodeBootstrapper: 'system:node-bootstrapper',
  nodeClientAutoApproval: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
  selfNodeClientAutoApproval: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
  kubeletApiAdmin: 'system:kubelet-api-admin',
  nodeProxier: 'system:node-proxier',
  authDelegator: 'system:auth-delegator',
} as const;

/** RBAC objects kubeadm init creates, by kubeadm's names. */
export const KUBEADM_RBAC = {
  kubeletBootstrap: 'kubeadm:kubelet-bootstrap',
  nodeAutoApproveBootstrap: 'kubeadm:node-autoapprove-bootstrap',
  nodeAutoApproveCertificateRotation: 'kubeadm:node-autoapprove-certificate-rotation',
  getNodes: 'kubeadm:get-nodes',
  apiServerKubeletClient: 'kubeadm:apiserver-kubelet-client',
  clusterAdmins: 'kubeadm:cluster-admins',
  /** Role + RoleBinding in kube-public letting anonymous read cluster-info. */
  clusterInfoReader: 'kubeadm:bootstrap-signer-clusterinfo',
  nodesKubeadmConfig: 'kubeadm:nodes-kubeadm-config',
  kubeletConfig: 'kubeadm:kubelet-config',
  kubeProxyNodeProxier: 'kubeadm:node-proxier',
  /** kubeadm's documented binding of the konnectivity server's user to system:auth-delegator (TokenReviews). */
  konnectivityServer: 'system:konnectivity-server',
  kubeProxyConfigReader: 'kube-proxy',
} as const;

/** Our own ClusterRoleBinding for the admin kubeconfig's group (named after the group, like kubeadm's). */
export const TENANT_ADMINS_BINDING = GROUPS.tenantAdmins;

/** ClusterRole + ClusterRoleBinding and kube-system Role + RoleBinding of the REST API's identity (portal-rbac.ts). */
export const PORTAL_RBAC = 'kubeception:portal';

export const CONFIG_MAPS = {
  clusterInfo: 'cluster-info',
  kubeadmConfig: 'kubeadm-config',
  kubeletConfig: 'kubelet-config',
  kubeProxy: 'kube-proxy',
  coreDNS: 'coredns',
} as const;

/** Data keys kubeadm reads. */
export const CONFIG_KEYS = {
  clusterInfoKubeconfig: 'kubeconfig',
  clusterConfiguration: 'ClusterConfiguration',
  kubelet: 'kubelet',
  kubeProxyConfig: 'config.conf',
  kubeProxyKubeconfig: 'kubeconfig.conf',
  corefile: 'Corefile',
} as const;

/** Prefix of the signatures the bootstrapsigner adds to cluster-info, one per signing token. */
export const JWS_KEY_PREFIX = 'jws-kubeconfig-';

/** kubeadm's checksum annotation on generated component-config ConfigMaps (unchanged => "generated"). */
export const COMPONENT_CONFIG_HASH_ANNOTATION = 'kubeadm.kubernetes.io/component-config.hash';

export type AddonName = 'coredns' | 'kube-proxy' | 'konnectivity' | 'cni';
export const ADDONS: readonly AddonName[] = ['coredns', 'kube-proxy', 'konnectivity', 'cni'];

/** kubeadm's paths on a node. */
export const NODE_PATHS = {
  certificatesDir: '/etc/kubernetes/pki',
  staticPodPath: '/etc/kubernetes/manifests',
} as const;
