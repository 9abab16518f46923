// The CoreDNS add-on as kubeadm deploys it (phases/addons/dns, v1.36). The `coredns` ConfigMap is written
// only when it is absent: the Corefile belongs to the tenant's users once it exists (stub domains,
// forwarders, rewrites), and CoreDNS's `reload` plugin picks their edits up without a restart.
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { applicable, clusterRole, clusterRoleBinding, metadata, serviceAccount, type TenantObject } from './objects.ts';
import { CONFIG_KEYS, CONFIG_MAPS, NAMESPACE_SYSTEM } from './names.ts';
import type { ResolvedInput } from './input.ts';

export const COREDNS = 'coredns';
export const COREDNS_CLUSTER_ROLE = 'system:coredns';
export const DNS_SERVICE = 'kube-dns';
const APP_LABELS = { 'k8s-app': 'kube-dns' };

/** kubeadm's default Corefile for a cluster domain. */
export function defaultCorefile(clusterDomain: string): string {
  return `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${clusterDomain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success ${clusterDomain}
       disable denial ${clusterDomain}
    }
    loop
    reload
    loadbalance
}
`;
}

export function coreDNSImage(input: Pick<ResolvedInput, 'imageRegistry' | 'coreDNSVersion'>): string {
  return `${input.imageRegistry}/coredns/coredns:${input.coreDNSVersion}`;
}

export function renderCoreDNS(input: ResolvedInput): TenantObject[] {
  const addon = 'coredns' as const;
  const sa: IServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(COREDNS, { namespace: NAMESPACE_SYSTEM, addon }) };
  const role = clusterRole(
    COREDNS_CLUSTER_ROLE,
    [
      { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ],
    addon,
  );
  const binding = clusterRoleBinding(COREDNS_CLUSTER_ROLE, COREDNS_CLUSTER_ROLE, [serviceAccount(COREDNS, NAMESPACE_SYSTEM)], addon);
  const configMap: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(CONFIG_MAPS.coreDNS, { namespace: NAMESPACE_SYSTEM, addon }),
    data: { [CONFIG_KEYS.corefile]: defaultCorefile(input.clusterDomain) },
  };

  const deployment: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(COREDNS, { namespace: NAMESPACE_SYSTEM, addon, labels: APP_LABELS }),
    spec: {
      replicas: input.coreDNSReplicas,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      selector: { matchLabels: APP_LABELS },
      template: {
        metadata: { labels: APP_LABELS },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: COREDNS,
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['kube-dns'] }] },
                    topologyKey: 'kubernetes.io/hostname',
                  },
                },
              ],
            },
          },
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
          ],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          containers: [
            {
              name: COREDNS,
              image: coreDNSImage(input),
              imagePullPolicy: input.imagePullPolicy,
              // The image's entrypoint is /coredns.
              args: ['-conf', `/etc/coredns/${CONFIG_KEYS.corefile}`],
              resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
              volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
              ports: [
                { containerPort: 53, name: 'dns', protocol: 'UDP' },
                { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
                { containerPort: 9153, name: 'metrics', protocol: 'TCP' },
                { containerPort: 8080, name: 'liveness-probe', protocol: 'TCP' },
                { containerPort: 8181, name: 'readiness-probe', protocol: 'TCP' },
              ],
              livenessProbe: {
                httpGet: { path: '/health', port: 'liveness-probe', scheme: 'HTTP' },
                initialDelaySeconds: 60,
                timeoutSeconds: 5,
                successThreshold: 1,
                failureThreshold: 5,
              },
              readinessProbe: { httpGet: { path: '/ready', port: 'readiness-probe', scheme: 'HTTP' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
                readOnlyRootFilesystem: true,
              },
            },
          ],
          dnsPolicy: 'Default',
          volumes: [{ name: 'config-volume', configMap: { name: CONFIG_MAPS.coreDNS, items: [{ key: CONFIG_KEYS.corefile, path: CONFIG_KEYS.corefile }] } }],
        },
      },
    },
  };

  const service: IService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...metadata(DNS_SERVICE, {
        namespace: NAMESPACE_SYSTEM,
        addon,
        labels: { ...APP_LABELS, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
        annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
      }),
    },
    spec: {
      clusterIP: input.dnsServiceIP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
      selector: APP_LABELS,
    },
  };

  return [
    { part: 'coredns', policy: 'apply', object: applicable(sa) },
    { part: 'coredns', policy: 'apply', object: applicable(role) },
    { part: 'coredns', policy: 'apply', object: applicable(binding) },
    { part: 'coredns', policy: 'create-only', object: applicable(configMap) },
    { part: 'coredns', policy: 'apply', object: applicable(deployment) },
    { part: 'coredns', policy: 'apply', object: applicable(service) },
  ];
}
