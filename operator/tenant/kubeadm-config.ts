// `kube-system/kubeadm-config`: the ClusterConfiguration `kubeadm join` reads first (FetchInitConfiguration-
// FromCluster). A worker join takes kubernetesVersion (version checks), clusterName (its kubeconfig's
// cluster name), networking (kubelet/kube-proxy defaults), certificatesDir (where it writes ca.crt) and
// controlPlaneEndpoint from it. The control plane itself is not kubeadm-managed: no etcd or component
// settings are declared, and the add-ons report `disabled` as the spec says.
import { stringify } from 'yaml';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { applicable, metadata, type TenantObject } from './objects.ts';
import { CONFIG_KEYS, CONFIG_MAPS, NAMESPACE_SYSTEM, NODE_PATHS } from './names.ts';
import type { ResolvedInput } from './input.ts';

export const KUBEADM_API_VERSION = 'kubeadm.k8s.io/v1beta4';

export function clusterConfiguration(input: ResolvedInput): Record<string, unknown> {
  return {
    apiVersion: KUBEADM_API_VERSION,
    kind: 'ClusterConfiguration',
    apiServer: {},
    certificatesDir: NODE_PATHS.certificatesDir,
    clusterName: input.clusterName,
    controlPlaneEndpoint: input.endpoint.hostPort,
    controllerManager: {},
    dns: {
      ...(input.addons.coreDNS ? {} : { disabled: true }),
      imageRepository: `${input.imageRegistry}/coredns`,
      imageTag: input.coreDNSVersion,
    },
    imageRepository: input.imageRegistry,
    kubernetesVersion: input.kubernetesVersion,
    networking: {
      dnsDomain: input.clusterDomain,
      podSubnet: input.podCIDR,
      serviceSubnet: input.serviceCIDR,
    },
    proxy: input.addons.kubeProxy ? {} : { disabled: true },
    scheduler: {},
  };
}

/** YAML with sorted keys, as kubeadm (sigs.k8s.io/yaml) writes it: the same input gives the same bytes. */
export function toConfigYaml(config: Record<string, unknown>): string {
  return stringify(config, { sortMapEntries: true, lineWidth: 0 });
}

export function renderKubeadmConfig(input: ResolvedInput): TenantObject[] {
  const configMap: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(CONFIG_MAPS.kubeadmConfig, { namespace: NAMESPACE_SYSTEM }),
    data: { [CONFIG_KEYS.clusterConfiguration]: toConfigYaml(clusterConfiguration(input)) },
  };
  return [{ part: 'kubeadm-config', policy: 'apply', object: applicable(configMap) }];
}
