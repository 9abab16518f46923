// The RBAC `kubeadm init` (v1.36) creates so that `kubeadm join` works with a bootstrap token, plus the
// bindings our PKI's identities need. Sources: cmd/kubeadm/app/phases/bootstraptoken/node/tlsbootstrap.go,
// .../bootstraptoken/clusterinfo, .../uploadconfig, .../kubelet/config.go.
// The cluster-info reader Role and the ConfigMap reader Roles for kubeadm-config / kubelet-config live
// here too: they are what lets a joining node (bootstrap token, later system:nodes) read them.
import {
  applicable,
  clusterRole,
  clusterRoleBinding,
  configMapReaderRole,
  group,
  roleBinding,
  user,
  type TenantObject,
} from './objects.ts';
import { BUILTIN_CLUSTER_ROLES, CONFIG_MAPS, GROUPS, KUBEADM_RBAC, NAMESPACE_PUBLIC, NAMESPACE_SYSTEM, TENANT_ADMINS_BINDING, USERS } from './names.ts';

/** Objects of the `rbac` part, in apply order (Roles before their bindings). */
export function renderJoinRbac(): TenantObject[] {
  const bootstrappers = group(GROUPS.nodeBootstrapToken);
  const nodes = group(GROUPS.nodes);
  const objects = [
    // Bootstrap tokens may post CSRs ...
    clusterRoleBinding(KUBEADM_RBAC.kubeletBootstrap, BUILTIN_CLUSTER_ROLES.nodeBootstrapper, [bootstrappers]),
    // ... which the csrapprover controller approves for them ...
    clusterRoleBinding(KUBEADM_RBAC.nodeAutoApproveBootstrap, BUILTIN_CLUSTER_ROLES.nodeClientAutoApproval, [bootstrappers]),
    // ... and, later, the renewals nodes ask for themselves.
    clusterRoleBinding(KUBEADM_RBAC.nodeAutoApproveCertificateRotation, BUILTIN_CLUSTER_ROLES.selfNodeClientAutoApproval, [nodes]),
    // `kubeadm join` checks whether a Node of its name already exists.
    clusterRole(KUBEADM_RBAC.getNodes, [{ verbs: ['get'], apiGroups: [''], resources: ['nodes'] }]),
    clusterRoleBinding(KUBEADM_RBAC.getNodes, KUBEADM_RBAC.getNodes, [bootstrappers]),
    // The apiserver -> kubelet client (logs, exec, port-forward). kubeadm 1.36 binds the user to the
    // narrow kubelet-api-admin role; its certificate also carries O=kubeadm:cluster-admins (below).
    clusterRoleBinding(KUBEADM_RBAC.apiServerKubeletClient, BUILTIN_CLUSTER_ROLES.kubeletApiAdmin, [user(USERS.apiServerKubeletClient)]),
    clusterRoleBinding(KUBEADM_RBAC.clusterAdmins, BUILTIN_CLUSTER_ROLES.clusterAdmin, [group(GROUPS.kubeadmClusterAdmins)]),
    // The admin kubeconfig is not system:masters (design §3): its group gets cluster-admin here.
    clusterRoleBinding(TENANT_ADMINS_BINDING, BUILTIN_CLUSTER_ROLES.clusterAdmin, [group(GROUPS.tenantAdmins)]),
    // Token discovery reads cluster-info before it has any credential.
    configMapReaderRole(KUBEADM_RBAC.clusterInfoReader, NAMESPACE_PUBLIC, [CONFIG_MAPS.clusterInfo]),
    roleBinding(KUBEADM_RBAC.clusterInfoReader, NAMESPACE_PUBLIC, KUBEADM_RBAC.clusterInfoReader, [user(USERS.anonymous)]),
    // `kubeadm join` reads the ClusterConfiguration and the kubelet's configuration with its token.
    configMapReaderRole(KUBEADM_RBAC.nodesKubeadmConfig, NAMESPACE_SYSTEM, [CONFIG_MAPS.kubeadmConfig]),
    roleBinding(KUBEADM_RBAC.nodesKubeadmConfig, NAMESPACE_SYSTEM, KUBEADM_RBAC.nodesKubeadmConfig, [bootstrappers, nodes]),
    configMapReaderRole(KUBEADM_RBAC.kubeletConfig, NAMESPACE_SYSTEM, [CONFIG_MAPS.kubeletConfig]),
    roleBinding(KUBEADM_RBAC.kubeletConfig, NAMESPACE_SYSTEM, KUBEADM_RBAC.kubeletConfig, [nodes, bootstrappers]),
  ];
  return objects.map((object) => ({ part: 'rbac', policy: 'apply', object: applicable(object) }));
}
