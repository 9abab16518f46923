// renderTenant: TenantControlPlane + options -> every host object of the tenant except the PKI and
// kubeconfig Secrets (operator/pki), in the order they should be applied.
import type { ConfigMap, Service } from 'kubernetes-models/v1';
import type { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import type { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { renderApiSecretReader } from './api-secret-reader.ts';
import { renderApiServerConfig } from './apiserver-config.ts';
import { renderApiServerService } from './api-service.ts';
import { renderControlPlaneDeployment, renderControlPlaneDisruptionBudget } from './control-plane.ts';
import {
  renderEtcdDisruptionBudget,
  renderEtcdNetworkPolicy,
  renderEtcdService,
  renderEtcdStatefulSet,
} from './etcd.ts';
import type { RenderWarning } from './flags.ts';
import { resolveOptions, type RenderOptions } from './options.ts';
import type { Tenant } from '../../core/index.ts';

export type HostObject = Service | ConfigMap | StatefulSet | Deployment | NetworkPolicy | PodDisruptionBudget | Role | RoleBinding;

export interface RenderedTenant {
  /** Apply in this order. */
  objects: HostObject[];
  /** Ignored user input (protected extraArgs), worth an Event on the TenantControlPlane. */
  warnings: RenderWarning[];
}

/**
 * Order: the API Service first (its ClusterIP / LB address feeds the apiserver certificate's SANs), then
 * etcd with its NetworkPolicy before the StatefulSet (etcd never runs unfenced), then the apiserver's
 * ConfigMap before the Deployment that mounts it. Last, when asked for, the REST API's read of the
 * tenant's credentials (Role + RoleBinding): a grant the host refuses never holds the control plane back.
 */
export function renderTenant(tenant: Tenant, options: RenderOptions): RenderedTenant {
  const resolved = resolveOptions(options, tenant.version.tag);
  const controlPlane = renderControlPlaneDeployment(tenant, resolved);
  return {
    objects: [
      renderApiServerService(tenant),
      renderEtcdService(tenant),
      renderEtcdNetworkPolicy(tenant),
      renderEtcdDisruptionBudget(tenant),
      renderEtcdStatefulSet(tenant, resolved),
      renderApiServerConfig(tenant),
      renderControlPlaneDisruptionBudget(tenant),
      controlPlane.deployment,
      ...(resolved.apiSecretReader === undefined ? [] : renderApiSecretReader(tenant, resolved.apiSecretReader)),
    ],
    warnings: controlPlane.warnings,
  };
}

export { renderApiServerService } from './api-service.ts';
export { apiReadableSecretNames, isCreatedByApi, renderApiSecretReader, type ServiceAccountRef } from './api-secret-reader.ts';
export { renderApiServerConfig, ANONYMOUS_PATHS } from './apiserver-config.ts';
export { secretDataChecksum, podConfigChecksum } from './checksum.ts';
export {
  renderControlPlaneDeployment,
  controlPlaneMountedSecrets,
  FRONT_PROXY_CLIENT_CN,
  CONTROLLER_MANAGER_KUBECONFIG,
  SCHEDULER_KUBECONFIG,
} from './control-plane.ts';
export { publicEndpoint, type PublicEndpoint } from './endpoint.ts';
export { egressSelectorConfiguration, konnectivityEnabled, konnectivityServerImage } from './konnectivity.ts';
export { etcdMountedSecrets, etcdServers } from './etcd.ts';
export { PROTECTED_FLAGS, isProtectedFlag, type RenderWarning } from './flags.ts';
export {
  commonLabels,
  ownerReference,
  selectorLabels,
  selectorString,
} from './metadata.ts';
export { etcdMemberHost } from './names.ts';
export { DEFAULT_IMAGE_REGISTRY, resolveOptions, type RenderOptions } from './options.ts';
