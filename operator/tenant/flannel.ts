// The CNI add-on: flannel, as its upstream manifest (Documentation/kube-flannel.yml, v0.28.10) deploys it, so a
// fresh tenant networks its pods across nodes out of the box: the kube-flannel namespace, RBAC to read nodes
// and patch their status, the ConfigMap with net-conf.json (the tenant's pod CIDR, VXLAN) and cni-conf.json
// (flannel chained with portmap), and a host-network DaemonSet whose init containers put the `flannel` CNI
// plugin into the node's CNI bin dir and the conflist into its CNI conf dir, where a kubeadm node's
// containerd looks (/opt/cni/bin, /etc/cni/net.d). flanneld takes each node's /24 from node.spec.podCIDR
// (the tenant's kube-controller-manager allocates them: --allocate-node-cidrs). Every object carries the
// add-on label; turning the add-on off removes them all (what flannel set up on the nodes stays, as after
// `kubectl delete -f kube-flannel.yml`).
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { isIP } from 'node:net';
import { ANNOTATIONS } from '../../core/index.ts';
import type { ResolvedInput } from './input.ts';
import { componentConfigChecksum } from './kubelet-config.ts';
import { applicable, clusterRole, clusterRoleBinding, metadata, serviceAccount, type TenantObject } from './objects.ts';

/** Upstream's names: an operator who knows flannel finds everything where kube-flannel.yml puts it. */
export const FLANNEL = {
  namespace: 'kube-flannel',
  serviceAccount: 'flannel',
  clusterRole: 'flannel',
  configMap: 'kube-flannel-cfg',
  daemonSet: 'kube-flannel-ds',
} as const;

/** Where kubelet/containerd on a kubeadm node look for CNI plugins and configuration (containerd's defaults). */
export const NODE_CNI_PATHS = { binDir: '/opt/cni/bin', confDir: '/etc/cni/net.d', conflist: '10-flannel.conflist' } as const;
/** flanneld writes the node's subnet here; the flannel CNI plugin reads it (subnet.env). */
const RUN_DIR = '/run/flannel';
const CONFIG_DIR = '/etc/kube-flannel';
const HEALTH_PORT = 8081;
const APP_LABELS = { app: 'flannel' };
const COMMON_LABELS = { 'k8s-app': 'flannel' };

export function flannelImage(input: Pick<ResolvedInput, 'flannelImageRegistry' | 'flannelVersion'>): string {
  return `${input.flannelImageRegistry}/flannel:${input.flannelVersion}`;
}

export function flannelCNIPluginImage(input: Pick<ResolvedInput, 'flannelImageRegistry' | 'flannelCNIPluginVersion'>): string {
  return `${input.flannelImageRegistry}/flannel-cni-plugin:${input.flannelCNIPluginVersion}`;
}

/** net-conf.json: the tenant's pod network as flannel's network, VXLAN between the nodes. */
export function flannelNetConf(podCIDR: string): Record<string, unknown> {
  const backend = { Type: 'vxlan' };
  // An IPv6 tenant (the CRD keeps the pod and Service ranges in one family) gets an IPv6-only flannel.
  if (isIP(podCIDR.split('/')[0]!) === 6) return { EnableIPv4: false, EnableIPv6: true, IPv6Network: podCIDR, EnableNFTables: false, Backend: backend };
  return { Network: podCIDR, EnableNFTables: false, Backend: backend };
}

/**
 * cni-conf.json, upstream's with one change: cniVersion 0.3.1 instead of 1.0.0, because the `flannel` plugin
 * built here (containernetworking/plugins v0.9.1, its last release there) speaks CNI up to 0.4.0; its
 * delegate (bridge + host-local) and portmap speak 0.3.1 as well.
 */
export function flannelCniConf(): Record<string, unknown> {
  return {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

export function renderFlannel(input: ResolvedInput): TenantObject[] {
  const addon = 'cni' as const;
  const namespace = FLANNEL.namespace;
  const ns: INamespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    // flanneld needs NET_ADMIN and host paths: the namespace allows privileged pods even where a cluster
    // default of Pod Security admission is stricter.
    metadata: metadata(namespace, { addon, labels: { ...COMMON_LABELS, 'pod-security.kubernetes.io/enforce': 'privileged' } }),
  };
  const sa: IServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(FLANNEL.serviceAccount, { namespace, addon, labels: COMMON_LABELS }) };
  const role = clusterRole(FLANNEL.clusterRole, [
    { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
    { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
    // flanneld annotates its node with its VTEP (MAC and public IP) for the other nodes.
    { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
  ], addon);
  const binding = clusterRoleBinding(FLANNEL.clusterRole, FLANNEL.clusterRole, [serviceAccount(FLANNEL.serviceAccount, namespace)], addon);
  const data = {
    'cni-conf.json': `${JSON.stringify(flannelCniConf(), null, 2)}\n`,
    'net-conf.json': `${JSON.stringify(flannelNetConf(input.podCIDR), null, 2)}\n`,
  };
  const configMap: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(FLANNEL.configMap, { namespace, addon, labels: { ...COMMON_LABELS, tier: 'node', ...APP_LABELS } }),
    data,
  };

  const podLabels = { tier: 'node', ...APP_LABELS };
  const daemonSet: IDaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: metadata(FLANNEL.daemonSet, { namespace, addon, labels: { ...COMMON_LABELS, ...podLabels } }),
    spec: {
      selector: { matchLabels: APP_LABELS },
      template: {
        // A new pod CIDR or backend rolls the pods (flanneld reads net-conf.json once).
        metadata: { labels: podLabels, annotations: { [ANNOTATIONS.configChecksum]: componentConfigChecksum(data) } },
        spec: {
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } },
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
          serviceAccountName: FLANNEL.serviceAccount,
          initContainers: [
            {
              name: 'install-cni-plugin',
              image: flannelCNIPluginImage(input),
              imagePullPolicy: input.imagePullPolicy,
              command: ['cp'],
              args: ['-f', '/flannel', `${NODE_CNI_PATHS.binDir}/flannel`],
              volumeMounts: [{ name: 'cni-plugin', mountPath: NODE_CNI_PATHS.binDir }],
            },
            {
              name: 'install-cni',
              image: flannelImage(input),
              imagePullPolicy: input.imagePullPolicy,
              command: ['/opt/bin/install-conf'],
              args: [`${CONFIG_DIR}/cni-conf.json`, `${NODE_CNI_PATHS.confDir}/${NODE_CNI_PATHS.conflist}`],
              volumeMounts: [{ name: 'cni', mountPath: NODE_CNI_PATHS.confDir }, { name: 'flannel-cfg', mountPath: `${CONFIG_DIR}/` }],
            },
          ],
          containers: [
            {
              name: 'kube-flannel',
              image: flannelImage(input),
              imagePullPolicy: input.imagePullPolicy,
              command: ['/opt/bin/flanneld'],
              args: ['--ip-masq', '--kube-subnet-mgr', `--healthz-port=${HEALTH_PORT}`],
              ports: [{ name: 'healthz', containerPort: HEALTH_PORT, protocol: 'TCP' }],
              livenessProbe: { httpGet: { path: '/healthz', port: 'healthz' }, initialDelaySeconds: 10, periodSeconds: 30 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'healthz' }, initialDelaySeconds: 5, periodSeconds: 10 },
              resources: { requests: { cpu: '100m', memory: '50Mi' } },
              securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
                { name: 'CONT_WHEN_CACHE_NOT_READY', value: 'false' },
                // flanneld's in-cluster client goes to the tenant's endpoint itself, not to the `kubernetes`
                // Service's ClusterIP: that needs kube-proxy's rules on the node first (and kube-proxy may be
                // turned off), while the pod network is what everything else on the node waits for. The
                // apiserver certificate names the endpoint; kube-proxy's kubeconfig points there too.
                { name: 'KUBERNETES_SERVICE_HOST', value: input.endpoint.host },
                { name: 'KUBERNETES_SERVICE_PORT', value: String(input.endpoint.port) },
              ],
              volumeMounts: [
                { name: 'run', mountPath: RUN_DIR },
                { name: 'flannel-cfg', mountPath: `${CONFIG_DIR}/` },
                { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
              ],
            },
          ],
          volumes: [
            { name: 'run', hostPath: { path: RUN_DIR } },
            { name: 'cni-plugin', hostPath: { path: NODE_CNI_PATHS.binDir } },
            { name: 'cni', hostPath: { path: NODE_CNI_PATHS.confDir } },
            { name: 'flannel-cfg', configMap: { name: FLANNEL.configMap } },
            { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
          ],
        },
      },
    },
  };

  return [ns, role, binding, sa, configMap, daemonSet].map((object) => ({ part: 'cni', policy: 'apply', object: applicable(object) }));
}
