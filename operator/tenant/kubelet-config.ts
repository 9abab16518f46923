// `kube-system/kubelet-config`, key `kubelet`: the KubeletConfiguration `kubeadm join` writes to
// /var/lib/kubelet/config.yaml on every worker. The defaults are kubeadm's (componentconfigs/kubelet.go:
// webhook authn/authz, no anonymous access, the cluster CA for client certificates, certificate rotation);
// node-specific knobs come from NodeSettings. The ConfigMap carries kubeadm's checksum annotation, so
// kubeadm treats it as generated (and `kubeadm upgrade` may regenerate it), not as user-supplied.
import { createHash } from 'node:crypto';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { applicable, metadata, type TenantObject } from './objects.ts';
import { COMPONENT_CONFIG_HASH_ANNOTATION, CONFIG_KEYS, CONFIG_MAPS, NAMESPACE_SYSTEM, NODE_PATHS } from './names.ts';
import { mergeConfig, type ResolvedInput } from './input.ts';
import { toConfigYaml } from './kubeadm-config.ts';

export const KUBELET_CONFIG_API_VERSION = 'kubelet.config.k8s.io/v1beta1';

export function kubeletConfiguration(input: ResolvedInput): Record<string, unknown> {
  const base: Record<string, unknown> = {
    apiVersion: KUBELET_CONFIG_API_VERSION,
    kind: 'KubeletConfiguration',
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: `${NODE_PATHS.certificatesDir}/ca.crt` },
    },
    authorization: { mode: 'Webhook' },
    cgroupDriver: input.node.cgroupDriver,
    clusterDNS: [input.dnsServiceIP],
    clusterDomain: input.clusterDomain,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    rotateCertificates: true,
    serverTLSBootstrap: input.node.serverTLSBootstrap,
    staticPodPath: NODE_PATHS.staticPodPath,
  };
  if (input.node.failCgroupV1 !== undefined) base.failCgroupV1 = input.node.failCgroupV1;
  return mergeConfig(base, input.node.kubelet);
}

/**
 * kubeadm's ChecksumForConfigMap: sha256 over the data values in key order (then binaryData), as
 * `sha256:<hex>`. A ConfigMap whose annotation matches counts as kubeadm-generated.
 */
export function componentConfigChecksum(data: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(data).sort()) hash.update(data[key]!);
  return `sha256:${hash.digest('hex')}`;
}

export function renderKubeletConfig(input: ResolvedInput): TenantObject[] {
  const data = { [CONFIG_KEYS.kubelet]: toConfigYaml(kubeletConfiguration(input)) };
  const configMap: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(CONFIG_MAPS.kubeletConfig, {
      namespace: NAMESPACE_SYSTEM,
      annotations: { [COMPONENT_CONFIG_HASH_ANNOTATION]: componentConfigChecksum(data) },
    }),
    data,
  };
  return [{ part: 'kubelet-config', policy: 'apply', object: applicable(configMap) }];
}
