// Files the tenant kube-apiserver reads besides certificates: the structured authentication configuration
// that limits anonymous access to health checks and kubeadm's discovery, the audit policy, and with
// konnectivity on the egress selector (konnectivity.ts).
import { stringify } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1';
import { egressSelectorYaml, konnectivityEnabled } from './konnectivity.ts';
import { objectMeta } from './metadata.ts';
import { APISERVER_CONFIG_KEYS } from './names.ts';
import { objectNames, type KubernetesVersion, type Tenant } from '../../core/index.ts';

/**
 * Paths an anonymous request may reach. The health endpoints serve the kubelet's probes and load
 * balancers; `cluster-info` is what `kubeadm join` reads before it has any credential (token discovery:
 * it checks the JWS signature the bootstrapsigner adds, with the token it was given).
 */
export const ANONYMOUS_PATHS = [
  '/livez',
  '/readyz',
  '/healthz',
  '/api/v1/namespaces/kube-public/configmaps/cluster-info',
] as const;

/**
 * `anonymous.conditions` in AuthenticationConfiguration: beta (v1beta1, on by default) in 1.32 and 1.33,
 * GA with the v1 API from 1.34. Older versions get no file and keep the apiserver's default
 * (`--anonymous-auth=true`, everything beyond the public-info-viewer role denied by RBAC), because
 * `--anonymous-auth=false` would fail the kubelet's unauthenticated health probes.
 */
export function authenticationConfigAPIVersion(version: KubernetesVersion): string | undefined {
  if (version.major !== 1) return 'apiserver.config.k8s.io/v1';
  if (version.minor >= 34) return 'apiserver.config.k8s.io/v1';
  if (version.minor >= 32) return 'apiserver.config.k8s.io/v1beta1';
  return undefined;
}

export function authenticationConfiguration(version: KubernetesVersion): object | undefined {
  const apiVersion = authenticationConfigAPIVersion(version);
  if (apiVersion === undefined) return undefined;
  return {
    apiVersion,
    kind: 'AuthenticationConfiguration',
    anonymous: { enabled: true, conditions: ANONYMOUS_PATHS.map((path) => ({ path })) },
  };
}

/**
 * Metadata for everything (who did what to which object, never a body: Secrets and tokens stay out of the
 * log), minus the high-volume, low-value noise that kubeadm/GKE policies also drop.
 */
export function auditPolicy(): object {
  return {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [
      { level: 'None', nonResourceURLs: ['/healthz*', '/livez*', '/readyz*', '/version', '/version/'] },
      { level: 'None', resources: [{ group: '', resources: ['events'] }, { group: 'events.k8s.io', resources: ['events'] }] },
      {
        level: 'None',
        users: ['system:kube-controller-manager', 'system:kube-scheduler'],
        verbs: ['get', 'update'],
        namespaces: ['kube-system'],
        resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
      },
      {
        level: 'None',
        userGroups: ['system:nodes'],
        verbs: ['get', 'update', 'patch'],
        resources: [
          { group: '', resources: ['nodes', 'nodes/status'] },
          { group: 'coordination.k8s.io', resources: ['leases'] },
        ],
      },
      { level: 'Metadata' },
    ],
  };
}

/** The ConfigMap's data; its checksum goes into the control-plane pod template. */
export function apiServerConfigData(tenant: Tenant): Record<string, string> {
  const data: Record<string, string> = { [APISERVER_CONFIG_KEYS.auditPolicy]: stringify(auditPolicy()) };
  const authn = authenticationConfiguration(tenant.version);
  if (authn !== undefined) data[APISERVER_CONFIG_KEYS.authentication] = stringify(authn);
  if (konnectivityEnabled(tenant.spec)) data[APISERVER_CONFIG_KEYS.egressSelector] = egressSelectorYaml();
  return data;
}

export function renderApiServerConfig(tenant: Tenant): ConfigMap {
  return new ConfigMap({
    metadata: objectMeta(tenant, objectNames(tenant.name).apiServerConfig, 'control-plane'),
    data: apiServerConfigData(tenant),
  });
}
