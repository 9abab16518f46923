// Public API of operator/tenant: what the operator creates INSIDE a tenant cluster (design §5).
//
//   const plan = renderTenantBootstrap({ clusterName, spec, caCertPem, endpoint, node });   // pure
//   await bootstrapTenant(superAdminKubeConfig, plan);                                       // apply / create-only / prune
//   await approveKubeletServingCsrs(client);                                                 // kubelet serving certs
//   const reports = await bootstrapStatus(superAdminKubeConfig, plan);                       // per-part status
//   conditions = bootstrapConditions(reports, generation); summary = summarizeBootstrap(reports)
//
// Or, in the reconcile loop: tenantBootstrapHook({ node, imageRegistry })(tenant, { endpoint, caCertPem, client, signal }).
// Join tokens and the `kubeadm join` command are core's (core/join-tokens.ts): the REST API mints them too.
export {
  TenantBootstrapInputError,
  mergeConfig,
  parseEndpoint,
  resolveInput,
  type CgroupDriver,
  type ImagePullPolicy,
  type NodeSettings,
  type ResolvedInput,
  type TenantBootstrapInput,
} from './input.ts';
export { BOOTSTRAP_PARTS, type BootstrapPart, type TenantObject, type WritePolicy } from './objects.ts';
export { addonLabelSelector, addonLabels, renderTenantBootstrap, type AddonInventory, type AddonKind, type TenantBootstrapPlan } from './plan.ts';
export { renderJoinRbac } from './rbac.ts';
export { renderPortalRbac } from './portal-rbac.ts';
export { clusterInfoKubeconfig, readClusterInfoKubeconfig, renderClusterInfo } from './cluster-info.ts';
export { clusterConfiguration, renderKubeadmConfig, KUBEADM_API_VERSION } from './kubeadm-config.ts';
export { componentConfigChecksum, kubeletConfiguration, renderKubeletConfig, KUBELET_CONFIG_API_VERSION } from './kubelet-config.ts';
export { coreDNSImage, defaultCorefile, renderCoreDNS } from './coredns.ts';
export { kubeProxyConfiguration, kubeProxyImage, kubeProxyKubeconfig, renderKubeProxy } from './kube-proxy.ts';
export { FLANNEL, NODE_CNI_PATHS, flannelCNIPluginImage, flannelCniConf, flannelImage, flannelNetConf, renderFlannel } from './flannel.ts';
export { agentIdentifiers, konnectivityAgentArgs, konnectivityAgentImage, renderKonnectivity, KONNECTIVITY_AGENT } from './konnectivity.ts';
export { bootstrapTenant, createIfAbsent, pruneAddon, type BootstrapOptions, type BootstrapResult } from './bootstrap.ts';
export {
  PART_CONDITION_TYPES,
  assessBootstrap,
  bootstrapConditions,
  bootstrapStatus,
  containsDesired,
  observeBootstrap,
  summarizeBootstrap,
  type Observation,
  type PartReport,
} from './status.ts';
export {
  KUBELET_SERVING_SIGNER,
  approveKubeletServingCsrs,
  decideKubeletServingCsr,
  inspectCsr,
  type ApprovalResult,
  type Csr,
  type CsrDecision,
} from './kubelet-serving-csr.ts';
export { tenantBootstrapHook, type TenantBootstrapContext, type TenantBootstrapHookOptions, type TenantBootstrapOutcome } from './hook.ts';
export * from './names.ts';
