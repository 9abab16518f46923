// The tenant's etcd: a headless Service for stable member DNS names, a StatefulSet with mutual TLS on the
// client and peer ports, a NetworkPolicy so only this tenant's control plane reaches it, and a PDB.
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service } from 'kubernetes-models/v1';
import { podConfigChecksum } from './checksum.ts';
import { commonLabels, objectMeta, selectorLabels } from './metadata.ts';
import { ANNOTATIONS, objectNames, secretNames, type Tenant } from '../../core/index.ts';
import { CONTAINERS, PORTS, etcdMemberHost } from './names.ts';
import type { ResolvedOptions } from './options.ts';
import { quantityToBytes } from './quantity.ts';
import { resourceRequirements } from './resources.ts';
import { SECRET_FILE_MODE, containerSecurityContext, podSecurityContext } from './security.ts';
import { flagsToArgs, type FlagMap } from './flags.ts';
import { nodeLossTolerations } from './placement.ts';

export const ETCD_PKI_DIR = '/etc/kubernetes/pki/etcd';
export const ETCD_DATA_MOUNT = '/var/lib/etcd';
/** A sub-directory etcd creates itself with mode 0700, so `lost+found` on the volume root does not bother it. */
export const ETCD_DATA_DIR = `${ETCD_DATA_MOUNT}/data`;

/** etcd refuses writes beyond its quota but not beyond the disk: keep the quota below the volume size. */
const QUOTA_SHARE_OF_VOLUME = 0.8;
/** etcd's documented upper bound for a sane backend. */
const MAX_QUOTA_BYTES = 8 * 2 ** 30;

export function etcdQuotaBytes(storageSize: string | number): number {
  let bytes: number;
  try {
    bytes = quantityToBytes(String(storageSize));
  } catch (err) {
    throw new Error(`spec.etcd.storage.size: ${(err as Error).message}`, { cause: err });
  }
  if (bytes < 64 * 2 ** 20) throw new Error(`spec.etcd.storage.size ${storageSize} is too small for etcd (min 64Mi)`);
  return Math.min(MAX_QUOTA_BYTES, Math.floor(bytes * QUOTA_SHARE_OF_VOLUME));
}

/** `https://<name>-etcd-<i>.<name>-etcd.<ns>.svc.<domain>:<port>` for every member. */
export function etcdMemberURLs(tenant: Tenant, options: ResolvedOptions, port: number): string[] {
  return Array.from({ length: tenant.spec.etcd.replicas }, (_, i) =>
    `https://${etcdMemberHost(tenant.name, tenant.namespace, i, options.hostClusterDomain)}:${port}`,
  );
}

/** The value of `--etcd-servers` for the apiserver. */
export function etcdServers(tenant: Tenant, options: ResolvedOptions): string {
  return etcdMemberURLs(tenant, options, PORTS.etcdClient).join(',');
}

/** `3.6.5-0` and `v3.6.16` -> [3, 6, 5]; an unparsable tag counts as the newest (undefined). */
export function parseEtcdVersion(tag: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function atLeast(version: [number, number, number] | undefined, major: number, minor: number, patch: number): boolean {
  if (version === undefined) return true;
  const [a, b, c] = version;
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
}

/** etcd serves /livez and /readyz on the metrics listener since v3.5.11; older images only /health. */
export function etcdHealthPaths(etcdVersion: string): { liveness: string; readiness: string } {
  return atLeast(parseEtcdVersion(etcdVersion), 3, 5, 11)
    ? { liveness: '/livez', readiness: '/readyz' }
    : { liveness: '/health?serializable=true', readiness: '/health' };
}

export function renderEtcdService(tenant: Tenant): Service {
  return new Service({
    metadata: objectMeta(tenant, objectNames(tenant.name).etcd, 'etcd'),
    spec: {
      clusterIP: 'None',
      // Members must find each other by DNS before any of them is ready: a cluster forms only with quorum.
      publishNotReadyAddresses: true,
      selector: selectorLabels(tenant.name, 'etcd'),
      ports: [
        { name: 'client', port: PORTS.etcdClient, targetPort: 'client', protocol: 'TCP' },
        { name: 'peer', port: PORTS.etcdPeer, targetPort: 'peer', protocol: 'TCP' },
      ],
    },
  });
}

function etcdFlags(tenant: Tenant, options: ResolvedOptions): FlagMap {
  const service = objectNames(tenant.name).etcd;
  const self = `$(POD_NAME).${service}.${tenant.namespace}.svc.${options.hostClusterDomain}`;
  const peers = etcdMemberURLs(tenant, options, PORTS.etcdPeer).map((url, i) => `${service}-${i}=${url}`);
  return new Map([
    ['name', '$(POD_NAME)'],
    ['data-dir', ETCD_DATA_DIR],
    ['listen-client-urls', `https://0.0.0.0:${PORTS.etcdClient}`],
    ['advertise-client-urls', `https://${self}:${PORTS.etcdClient}`],
    ['listen-peer-urls', `https://0.0.0.0:${PORTS.etcdPeer}`],
    ['initial-advertise-peer-urls', `https://${self}:${PORTS.etcdPeer}`],
    ['initial-cluster', peers.join(',')],
    // Ignored once the data dir holds a member; the uid keeps two tenants' members from ever joining.
    ['initial-cluster-state', 'new'],
    ['initial-cluster-token', `${service}-${tenant.uid}`],
    // Plain HTTP for probes and metrics only: no data is served on this listener.
    ['listen-metrics-urls', `http://0.0.0.0:${PORTS.etcdMetrics}`],
    ['cert-file', `${ETCD_PKI_DIR}/server.crt`],
    ['key-file', `${ETCD_PKI_DIR}/server.key`],
    ['trusted-ca-file', `${ETCD_PKI_DIR}/ca.crt`],
    ['client-cert-auth', 'true'],
    ['peer-cert-file', `${ETCD_PKI_DIR}/peer.crt`],
    ['peer-key-file', `${ETCD_PKI_DIR}/peer.key`],
    ['peer-trusted-ca-file', `${ETCD_PKI_DIR}/ca.crt`],
    ['peer-client-cert-auth', 'true'],
    // Older etcd may lack the flag and would refuse to start; Go >= 1.22 builds default to TLS 1.2 anyway.
    ...(atLeast(parseEtcdVersion(options.etcdVersion), 3, 6, 0) ? [['tls-min-version', 'TLS1.2'] as [string, string]] : []),
    ['snapshot-count', '10000'],
    ['quota-backend-bytes', String(etcdQuotaBytes(tenant.spec.etcd.storage.size))],
  ]);
}

/** Secrets the etcd pods mount (their checksums go into the pod template). */
export function etcdMountedSecrets(tenant: Tenant): string[] {
  return [secretNames(tenant.name).etcdCerts];
}

export function renderEtcdStatefulSet(tenant: Tenant, options: ResolvedOptions): StatefulSet {
  const names = objectNames(tenant.name);
  const flags = etcdFlags(tenant, options);
  const health = etcdHealthPaths(options.etcdVersion);
  const selector = selectorLabels(tenant.name, 'etcd');
  const storage = tenant.spec.etcd.storage;
  return new StatefulSet({
    metadata: objectMeta(tenant, names.etcd, 'etcd'),
    spec: {
      serviceName: names.etcd,
      replicas: tenant.spec.etcd.replicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selector },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      // The tenant's data goes with the tenant: PVCs are owned by the StatefulSet and deleted with it.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      template: {
        metadata: {
          labels: commonLabels(tenant.name, 'etcd'),
          annotations: {
            [ANNOTATIONS.configChecksum]: podConfigChecksum(etcdMountedSecrets(tenant), options.secretChecksums),
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(),
          terminationGracePeriodSeconds: 30,
          affinity: spreadOverNodes(selector),
          // Evicted after 30 s on a lost node like the control plane. For a StatefulSet that only marks the
          // member for deletion: its replacement (same name, same volume) starts once the pod is confirmed
          // gone (the node deleted, or tainted node.kubernetes.io/out-of-service), never two at once.
          tolerations: nodeLossTolerations(),
          containers: [
            {
              name: CONTAINERS.etcd,
              image: `${options.imageRegistry}/etcd:${options.etcdVersion}`,
              imagePullPolicy: options.imagePullPolicy,
              command: ['/usr/local/bin/etcd'],
              args: flagsToArgs(flags),
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [
                { name: 'client', containerPort: PORTS.etcdClient, protocol: 'TCP' },
                { name: 'peer', containerPort: PORTS.etcdPeer, protocol: 'TCP' },
                { name: 'metrics', containerPort: PORTS.etcdMetrics, protocol: 'TCP' },
              ],
              resources: resourceRequirements(tenant.spec.etcd.resources),
              securityContext: containerSecurityContext(),
              // A new 3-member cluster waits for its peers; give it time before liveness counts.
              startupProbe: {
                httpGet: { path: health.readiness, port: 'metrics', scheme: 'HTTP' },
                periodSeconds: 10,
                timeoutSeconds: 15,
                failureThreshold: 24,
              },
              livenessProbe: {
                httpGet: { path: health.liveness, port: 'metrics', scheme: 'HTTP' },
                periodSeconds: 10,
                timeoutSeconds: 15,
                failureThreshold: 8,
              },
              readinessProbe: {
                httpGet: { path: health.readiness, port: 'metrics', scheme: 'HTTP' },
                periodSeconds: 5,
                timeoutSeconds: 15,
                failureThreshold: 3,
              },
              volumeMounts: [
                { name: 'data', mountPath: ETCD_DATA_MOUNT },
                { name: 'etcd-certs', mountPath: ETCD_PKI_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            {
              name: 'etcd-certs',
              secret: {
                secretName: secretNames(tenant.name).etcdCerts,
                defaultMode: SECRET_FILE_MODE,
                items: ['server.crt', 'server.key', 'peer.crt', 'peer.key', 'ca.crt'].map((key) => ({ key, path: key })),
              },
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: commonLabels(tenant.name, 'etcd') },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: storage.size } },
            ...(storage.storageClassName ? { storageClassName: storage.storageClassName } : {}),
          },
        },
      ],
    },
  });
}

/** Prefer one replica per node, so a node loss costs at most one member; never block scheduling on it. */
export function spreadOverNodes(selector: Record<string, string>) {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } },
      ],
    },
  };
}

/**
 * Only this tenant's control-plane pods may use the client port, only the members themselves the peer
 * port. The metrics/health port serves no data and is open to the namespace (monitoring). The kubelet's
 * probes come from the node, which network policy implementations let through.
 */
export function renderEtcdNetworkPolicy(tenant: Tenant): NetworkPolicy {
  const etcdPods = { podSelector: { matchLabels: selectorLabels(tenant.name, 'etcd') } };
  const controlPlanePods = { podSelector: { matchLabels: selectorLabels(tenant.name, 'control-plane') } };
  return new NetworkPolicy({
    metadata: objectMeta(tenant, objectNames(tenant.name).etcdNetworkPolicy, 'etcd'),
    spec: {
      podSelector: { matchLabels: selectorLabels(tenant.name, 'etcd') },
      policyTypes: ['Ingress'],
      ingress: [
        { from: [controlPlanePods], ports: [{ protocol: 'TCP', port: PORTS.etcdClient }] },
        {
          from: [etcdPods],
          ports: [
            { protocol: 'TCP', port: PORTS.etcdClient },
            { protocol: 'TCP', port: PORTS.etcdPeer },
          ],
        },
        { from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: PORTS.etcdMetrics }] },
      ],
    },
  });
}

/**
 * At most one member down by voluntary disruption (node drains): with 3 members that keeps quorum; with 1
 * it still lets a drain proceed. Always rendered, so a change of replicas never leaves a stale budget behind.
 */
export function renderEtcdDisruptionBudget(tenant: Tenant): PodDisruptionBudget {
  return new PodDisruptionBudget({
    metadata: objectMeta(tenant, objectNames(tenant.name).etcd, 'etcd'),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(tenant.name, 'etcd') } },
  });
}
