// The kube-proxy add-on as kubeadm deploys it (phases/addons/proxy): ServiceAccount, the node-proxier
// binding, a Role letting joining nodes read the ConfigMap (kubeadm join loads it as component config),
// the ConfigMap (config.conf + kubeconfig.conf) and the DaemonSet. Every object carries the add-on label,
// so turning the add-on off finds and removes them all.
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { applicable, clusterRoleBinding, configMapReaderRole, group, metadata, roleBinding, serviceAccount, type TenantObject } from './objects.ts';
import {
  BUILTIN_CLUSTER_ROLES,
  COMPONENT_CONFIG_HASH_ANNOTATION,
  CONFIG_KEYS,
  CONFIG_MAPS,
  GROUPS,
  KUBEADM_RBAC,
  NAMESPACE_SYSTEM,
} from './names.ts';
import { mergeConfig, type ResolvedInput } from './input.ts';
import { toConfigYaml } from './kubeadm-config.ts';
import { componentConfigChecksum } from './kubelet-config.ts';
import { ANNOTATIONS } from '../../core/index.ts';

export const KUBE_PROXY = 'kube-proxy';
export const KUBE_PROXY_CONFIG_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
const CONFIG_DIR = '/var/lib/kube-proxy';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const APP_LABELS = { 'k8s-app': KUBE_PROXY };

export function kubeProxyConfiguration(input: ResolvedInput): Record<string, unknown> {
  const base: Record<string, unknown> = {
    apiVersion: KUBE_PROXY_CONFIG_API_VERSION,
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: `${CONFIG_DIR}/${CONFIG_KEYS.kubeProxyKubeconfig}` },
    clusterCIDR: input.podCIDR,
    // Leave the host's conntrack table alone: raising nf_conntrack_max needs a writable /sys, which a
    // node in a container or network namespace does not have, and the kernel defaults serve small nodes.
    conntrack: { maxPerCore: 0, tcpCloseWaitTimeout: '0s', tcpEstablishedTimeout: '0s' },
    mode: 'iptables',
  };
  return mergeConfig(base, input.node.kubeProxy);
}

/** kube-proxy reaches the tenant apiserver at its public endpoint with the ServiceAccount's token (kubeadm's layout). */
export function kubeProxyKubeconfig(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority: ${SA_DIR}/ca.crt`,
    `    server: ${server}`,
    '  name: default',
    'contexts:',
    '- context:',
    '    cluster: default',
    '    namespace: default',
    '    user: default',
    '  name: default',
    'current-context: default',
    'users:',
    '- name: default',
    '  user:',
    `    tokenFile: ${SA_DIR}/token`,
    '',
  ].join('\n');
}

export function kubeProxyImage(input: Pick<ResolvedInput, 'imageRegistry' | 'kubernetesVersion'>): string {
  return `${input.imageRegistry}/kube-proxy:${input.kubernetesVersion}`;
}

export function renderKubeProxy(input: ResolvedInput): TenantObject[] {
  const addon = 'kube-proxy' as const;
  const sa: IServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(KUBE_PROXY, { namespace: NAMESPACE_SYSTEM, addon }) };
  const binding = clusterRoleBinding(KUBEADM_RBAC.kubeProxyNodeProxier, BUILTIN_CLUSTER_ROLES.nodeProxier, [serviceAccount(KUBE_PROXY, NAMESPACE_SYSTEM)], addon);
  const role = configMapReaderRole(KUBEADM_RBAC.kubeProxyConfigReader, NAMESPACE_SYSTEM, [CONFIG_MAPS.kubeProxy], addon);
  const roleBind = roleBinding(KUBEADM_RBAC.kubeProxyConfigReader, NAMESPACE_SYSTEM, KUBEADM_RBAC.kubeProxyConfigReader, [group(GROUPS.nodeBootstrapToken)], addon);

  const data = {
    [CONFIG_KEYS.kubeProxyConfig]: toConfigYaml(kubeProxyConfiguration(input)),
    [CONFIG_KEYS.kubeProxyKubeconfig]: kubeProxyKubeconfig(input.endpoint.url),
  };
  const configMap: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(CONFIG_MAPS.kubeProxy, {
      namespace: NAMESPACE_SYSTEM,
      addon,
      labels: { app: KUBE_PROXY },
      annotations: { [COMPONENT_CONFIG_HASH_ANNOTATION]: componentConfigChecksum(data) },
    }),
    data,
  };

  const daemonSet: IDaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: metadata(KUBE_PROXY, { namespace: NAMESPACE_SYSTEM, addon, labels: APP_LABELS }),
    spec: {
      selector: { matchLabels: APP_LABELS },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: {
          labels: APP_LABELS,
          // A changed config.conf rolls the pods (kube-proxy reads it only at start).
          annotations: { [ANNOTATIONS.configChecksum]: componentConfigChecksum(data) },
        },
        spec: {
          priorityClassName: 'system-node-critical',
          serviceAccountName: KUBE_PROXY,
          hostNetwork: true,
          containers: [
            {
              name: KUBE_PROXY,
              image: kubeProxyImage(input),
              imagePullPolicy: input.imagePullPolicy,
              command: [
                '/usr/local/bin/kube-proxy',
                `--config=${CONFIG_DIR}/${CONFIG_KEYS.kubeProxyConfig}`,
                '--hostname-override=$(NODE_NAME)',
              ],
              env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } }],
              securityContext: { privileged: true },
              volumeMounts: [
                { name: KUBE_PROXY, mountPath: CONFIG_DIR },
                { name: 'xtables-lock', mountPath: '/run/xtables.lock', readOnly: false },
                { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: KUBE_PROXY, configMap: { name: CONFIG_MAPS.kubeProxy } },
            { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
            { name: 'lib-modules', hostPath: { path: '/lib/modules' } },
          ],
          tolerations: [{ operator: 'Exists' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
        },
      },
    },
  };

  return [sa, binding, role, roleBind, configMap, daemonSet].map((object) => ({ part: 'kube-proxy', policy: 'apply', object: applicable(object) }));
}
