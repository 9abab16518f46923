// The tenant's control plane: one Deployment whose pods run kube-apiserver, kube-controller-manager and
// kube-scheduler side by side (the latter two reach the apiserver at https://127.0.0.1:6443).
//
// Each container gets ONE projected volume at /etc/kubernetes holding exactly the files it needs, laid out
// like kubeadm's (`pki/ca.crt`, `pki/etcd/ca.crt`, `controller-manager.conf`, ...): the apiserver never sees
// the CA key, the scheduler sees nothing but its kubeconfig, and Secret updates reach the files (unlike
// subPath mounts).
//
// The tenant's `kubernetes` Service: the apiserver runs with `--endpoint-reconciler-type=none` because
// neither its pod IP nor its container port is what a tenant worker can reach - workers come in through
// the host Service (NodePort, LoadBalancer or an external address), whose port differs from 6443. The
// apiserver still creates the `default/kubernetes` Service; the operator writes its EndpointSlice with
// the public endpoint (see publicEndpoint in endpoint.ts). `--advertise-address` is the pod IP: it only
// names this instance (identity lease) and must be an IP of the pod.
//
// With konnectivity on (the default), a fourth container runs the konnectivity server and the apiserver
// sends its traffic towards the tenant cluster through it (konnectivity.ts).
import { Deployment } from 'kubernetes-models/apps/v1';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeProjection } from 'kubernetes-models/v1/VolumeProjection';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { apiServerConfigData } from './apiserver-config.ts';
import { podConfigChecksum, secretDataChecksum } from './checksum.ts';
import { etcdServers, spreadOverNodes } from './etcd.ts';
import { flagsToArgs, mergeFlags, type FlagMap, type RenderWarning } from './flags.ts';
import { commonLabels, objectMeta, selectorLabels } from './metadata.ts';
import {
  KONNECTIVITY_KUBECONFIG_FILE,
  KONNECTIVITY_SOCKET_DIR,
  KONNECTIVITY_VOLUMES,
  konnectivityEnabled,
  konnectivityServerContainer,
  konnectivitySocketVolume,
} from './konnectivity.ts';
import { nodeLossTolerations, spreadOverHostnames } from './placement.ts';
import { ANNOTATIONS, objectNames, secretNames, type Tenant } from '../../core/index.ts';
import { APISERVER_CONFIG_KEYS, CONTAINERS, PORTS } from './names.ts';
import type { ResolvedOptions } from './options.ts';
import { resourceRequirements } from './resources.ts';
import { SECRET_FILE_MODE, containerSecurityContext, podSecurityContext } from './security.ts';

export const K8S_DIR = '/etc/kubernetes';
export const PKI_DIR = `${K8S_DIR}/pki`;
export const APISERVER_CONFIG_DIR = `${K8S_DIR}/config`;
export const AUDIT_LOG_DIR = '/var/log/kubernetes/audit';
export const CONTROLLER_MANAGER_KUBECONFIG = `${K8S_DIR}/controller-manager.conf`;
export const SCHEDULER_KUBECONFIG = `${K8S_DIR}/scheduler.conf`;

/** The CN of the front-proxy client certificate (operator/pki must issue it with this CN). */
export const FRONT_PROXY_CLIENT_CN = 'front-proxy-client';

const VOLUMES = {
  apiServerFiles: 'kube-apiserver-files',
  controllerManagerFiles: 'kube-controller-manager-files',
  schedulerFiles: 'kube-scheduler-files',
  auditLog: 'audit-log',
  tmp: 'tmp',
} as const;

/** Audit log rotation: 2 backups of 50 MB plus the live file stay well inside the emptyDir's limit. */
const AUDIT_LOG_MAX_SIZE_MB = 50;
const AUDIT_LOG_MAX_BACKUPS = 2;
const AUDIT_LOG_VOLUME_LIMIT = '256Mi';

function secretItems(secretName: string, items: Record<string, string>): IVolumeProjection {
  return { secret: { name: secretName, items: Object.entries(items).map(([key, path]) => ({ key, path })) } };
}

function projectedVolume(name: string, sources: IVolumeProjection[]): IVolume {
  return { name, projected: { defaultMode: SECRET_FILE_MODE, sources } };
}

function hasAuthenticationConfig(tenant: Tenant): boolean {
  return APISERVER_CONFIG_KEYS.authentication in apiServerConfigData(tenant);
}

export function apiServerDefaultFlags(tenant: Tenant, options: ResolvedOptions): FlagMap {
  const net = tenant.spec.networkProfile;
  const flags: [string, string][] = [
    ['advertise-address', '$(POD_IP)'],
    ['bind-address', '0.0.0.0'],
    ['secure-port', String(PORTS.apiServer)],
    ['endpoint-reconciler-type', 'none'],
    ['allow-privileged', 'true'],
    ['authorization-mode', 'Node,RBAC'],
    ['enable-admission-plugins', 'NodeRestriction'],
    ['enable-bootstrap-token-auth', 'true'],
    ['client-ca-file', `${PKI_DIR}/ca.crt`],
    ['tls-cert-file', `${PKI_DIR}/apiserver.crt`],
    ['tls-private-key-file', `${PKI_DIR}/apiserver.key`],
    ['tls-min-version', 'VersionTLS12'],
    ['etcd-servers', etcdServers(tenant, options)],
    ['etcd-cafile', `${PKI_DIR}/etcd/ca.crt`],
    ['etcd-certfile', `${PKI_DIR}/apiserver-etcd-client.crt`],
    ['etcd-keyfile', `${PKI_DIR}/apiserver-etcd-client.key`],
    ['kubelet-certificate-authority', `${PKI_DIR}/ca.crt`],
    ['kubelet-client-certificate', `${PKI_DIR}/apiserver-kubelet-client.crt`],
    ['kubelet-client-key', `${PKI_DIR}/apiserver-kubelet-client.key`],
    ['kubelet-preferred-address-types', 'InternalIP,ExternalIP,Hostname'],
    ['proxy-client-cert-file', `${PKI_DIR}/front-proxy-client.crt`],
    ['proxy-client-key-file', `${PKI_DIR}/front-proxy-client.key`],
    ['requestheader-allowed-names', FRONT_PROXY_CLIENT_CN],
    ['requestheader-client-ca-file', `${PKI_DIR}/front-proxy-ca.crt`],
    ['requestheader-extra-headers-prefix', 'X-Remote-Extra-'],
    ['requestheader-group-headers', 'X-Remote-Group'],
    ['requestheader-username-headers', 'X-Remote-User'],
    ['service-account-issuer', `https://kubernetes.default.svc.${net.clusterDomain}`],
    // The discovery document's jwks_uri: by default the apiserver derives it from its advertise address, here
    // the pod IP, which no tenant pod can reach and the serving certificate does not name (the conformance
    // spec ServiceAccountIssuerDiscovery failed on it). The issuer's own host is in the certificate and leads
    // to the apiservers from every tenant pod through the kubernetes Service.
    ['service-account-jwks-uri', `https://kubernetes.default.svc.${net.clusterDomain}/openid/v1/jwks`],
    ['service-account-key-file', `${PKI_DIR}/sa.pub`],
    ['service-account-signing-key-file', `${PKI_DIR}/sa.key`],
    ['service-account-lookup', 'true'],
    ['service-cluster-ip-range', net.serviceCIDR],
    ['profiling', 'false'],
    // On SIGTERM: report not-ready at once but keep serving for 10 s, so the Service stops sending
    // new connections here before the listener closes (no failed request during a roll or a pod deletion).
    ['shutdown-delay-duration', '10s'],
    ['shutdown-send-retry-after', 'true'],
    ['audit-policy-file', `${APISERVER_CONFIG_DIR}/${APISERVER_CONFIG_KEYS.auditPolicy}`],
    ['audit-log-path', `${AUDIT_LOG_DIR}/audit.log`],
    ['audit-log-maxage', '7'],
    ['audit-log-maxbackup', String(AUDIT_LOG_MAX_BACKUPS)],
    ['audit-log-maxsize', String(AUDIT_LOG_MAX_SIZE_MB)],
  ];
  // With the file, `--anonymous-auth` must stay unset: the apiserver refuses both at once.
  if (hasAuthenticationConfig(tenant)) {
    flags.push(['authentication-config', `${APISERVER_CONFIG_DIR}/${APISERVER_CONFIG_KEYS.authentication}`]);
  }
  if (konnectivityEnabled(tenant.spec)) {
    flags.push(['egress-selector-config-file', `${APISERVER_CONFIG_DIR}/${APISERVER_CONFIG_KEYS.egressSelector}`]);
  }
  return new Map(flags);
}

export function controllerManagerDefaultFlags(tenant: Tenant): FlagMap {
  const net = tenant.spec.networkProfile;
  return new Map([
    ['bind-address', '0.0.0.0'],
    ['secure-port', String(PORTS.controllerManager)],
    ['kubeconfig', CONTROLLER_MANAGER_KUBECONFIG],
    ['authentication-kubeconfig', CONTROLLER_MANAGER_KUBECONFIG],
    ['authorization-kubeconfig', CONTROLLER_MANAGER_KUBECONFIG],
    ['client-ca-file', `${PKI_DIR}/ca.crt`],
    ['requestheader-client-ca-file', `${PKI_DIR}/front-proxy-ca.crt`],
    ['root-ca-file', `${PKI_DIR}/ca.crt`],
    ['cluster-signing-cert-file', `${PKI_DIR}/ca.crt`],
    ['cluster-signing-key-file', `${PKI_DIR}/ca.key`],
    ['service-account-private-key-file', `${PKI_DIR}/sa.key`],
    ['use-service-account-credentials', 'true'],
    ['controllers', '*,bootstrapsigner,tokencleaner'],
    ['cluster-name', tenant.name],
    ['allocate-node-cidrs', 'true'],
    ['cluster-cidr', net.podCIDR],
    ['service-cluster-ip-range', net.serviceCIDR],
    ['leader-elect', 'true'],
    ['profiling', 'false'],
    ['tls-min-version', 'VersionTLS12'],
  ]);
}

export function schedulerDefaultFlags(): FlagMap {
  return new Map([
    ['bind-address', '0.0.0.0'],
    ['secure-port', String(PORTS.scheduler)],
    ['kubeconfig', SCHEDULER_KUBECONFIG],
    ['authentication-kubeconfig', SCHEDULER_KUBECONFIG],
    ['authorization-kubeconfig', SCHEDULER_KUBECONFIG],
    ['leader-elect', 'true'],
    ['profiling', 'false'],
    ['tls-min-version', 'VersionTLS12'],
  ]);
}

function controlPlaneVolumes(tenant: Tenant): IVolume[] {
  const s = secretNames(tenant.name);
  const apiServerSources: IVolumeProjection[] = [
    secretItems(s.apiServerCerts, {
      'apiserver.crt': 'pki/apiserver.crt',
      'apiserver.key': 'pki/apiserver.key',
      'apiserver-kubelet-client.crt': 'pki/apiserver-kubelet-client.crt',
      'apiserver-kubelet-client.key': 'pki/apiserver-kubelet-client.key',
      'apiserver-etcd-client.crt': 'pki/apiserver-etcd-client.crt',
      'apiserver-etcd-client.key': 'pki/apiserver-etcd-client.key',
      'front-proxy-client.crt': 'pki/front-proxy-client.crt',
      'front-proxy-client.key': 'pki/front-proxy-client.key',
      'ca.crt': 'pki/ca.crt',
      'front-proxy-ca.crt': 'pki/front-proxy-ca.crt',
      'etcd-ca.crt': 'pki/etcd/ca.crt',
    }),
    secretItems(s.serviceAccount, { 'sa.key': 'pki/sa.key', 'sa.pub': 'pki/sa.pub' }),
    {
      configMap: {
        name: objectNames(tenant.name).apiServerConfig,
        items: Object.keys(apiServerConfigData(tenant))
          .sort()
          .map((key) => ({ key, path: `config/${key}` })),
      },
    },
  ];
  return [
    projectedVolume(VOLUMES.apiServerFiles, apiServerSources),
    projectedVolume(VOLUMES.controllerManagerFiles, [
      secretItems(s.ca, { 'ca.crt': 'pki/ca.crt', 'ca.key': 'pki/ca.key' }),
      secretItems(s.serviceAccount, { 'sa.key': 'pki/sa.key' }),
      secretItems(s.apiServerCerts, { 'front-proxy-ca.crt': 'pki/front-proxy-ca.crt' }),
      secretItems(s.controllerManagerKubeconfig, { 'controller-manager.conf': 'controller-manager.conf' }),
    ]),
    projectedVolume(VOLUMES.schedulerFiles, [
      secretItems(s.schedulerKubeconfig, { 'scheduler.conf': 'scheduler.conf' }),
    ]),
    { name: VOLUMES.auditLog, emptyDir: { sizeLimit: AUDIT_LOG_VOLUME_LIMIT } },
    { name: VOLUMES.tmp, emptyDir: { sizeLimit: '64Mi' } },
    ...(konnectivityEnabled(tenant.spec)
      ? [
        projectedVolume(KONNECTIVITY_VOLUMES.files, [
          secretItems(s.apiServerCerts, { 'apiserver.crt': 'pki/apiserver.crt', 'apiserver.key': 'pki/apiserver.key' }),
          secretItems(s.konnectivityServerKubeconfig, { 'konnectivity-server.conf': KONNECTIVITY_KUBECONFIG_FILE }),
        ]),
        konnectivitySocketVolume(),
      ]
      : []),
  ];
}

/** Secrets the control-plane pods mount (their checksums go into the pod template). */
export function controlPlaneMountedSecrets(tenant: Tenant): string[] {
  const s = secretNames(tenant.name);
  const mounted = [s.apiServerCerts, s.serviceAccount, s.ca, s.controllerManagerKubeconfig, s.schedulerKubeconfig];
  return konnectivityEnabled(tenant.spec) ? [...mounted, s.konnectivityServerKubeconfig] : mounted;
}

function httpsProbe(path: string, port: string, periodSeconds: number, failureThreshold: number): IProbe {
  return { httpGet: { path, port, scheme: 'HTTPS' }, periodSeconds, timeoutSeconds: 15, failureThreshold };
}

function container(
  name: string,
  image: string,
  options: ResolvedOptions,
  args: string[],
  extra: Partial<IContainer>,
): IContainer {
  return {
    name,
    image,
    imagePullPolicy: options.imagePullPolicy,
    command: [`/usr/local/bin/${name}`],
    args,
    securityContext: containerSecurityContext(),
    ...extra,
  };
}

export interface RenderedControlPlane {
  deployment: Deployment;
  warnings: RenderWarning[];
}

export function renderControlPlaneDeployment(tenant: Tenant, options: ResolvedOptions): RenderedControlPlane {
  const cp = tenant.spec.controlPlane;
  const extra = cp.extraArgs ?? {};
  const apiServer = mergeFlags('apiServer', apiServerDefaultFlags(tenant, options), extra.apiServer);
  const controllerManager = mergeFlags('controllerManager', controllerManagerDefaultFlags(tenant), extra.controllerManager);
  const scheduler = mergeFlags('scheduler', schedulerDefaultFlags(), extra.scheduler);
  const image = (component: string) => `${options.imageRegistry}/${component}:${tenant.version.tag}`;
  const selector = selectorLabels(tenant.name, 'control-plane');
  const configMapName = objectNames(tenant.name).apiServerConfig;
  const checksum = podConfigChecksum([...controlPlaneMountedSecrets(tenant), `configmap/${configMapName}`], {
    ...options.secretChecksums,
    [`configmap/${configMapName}`]: secretDataChecksum(apiServerConfigData(tenant)),
  });
  const tmpMount = { name: VOLUMES.tmp, mountPath: '/tmp' };
  const konnectivity = konnectivityEnabled(tenant.spec);

  const deployment = new Deployment({
    metadata: objectMeta(tenant, objectNames(tenant.name).controlPlane, 'control-plane'),
    spec: {
      replicas: cp.replicas,
      selector: { matchLabels: selector },
      revisionHistoryLimit: 3,
      // Never fewer ready apiservers than asked for: the new pod must be ready before an old one goes.
      // Also with 1 replica, so a certificate rotation does not take the tenant's API down.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: commonLabels(tenant.name, 'control-plane'),
          annotations: { [ANNOTATIONS.configChecksum]: checksum },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(),
          terminationGracePeriodSeconds: 30,
          affinity: spreadOverNodes(selector),
          topologySpreadConstraints: spreadOverHostnames(selector),
          tolerations: nodeLossTolerations(),
          containers: [
            container(CONTAINERS.apiServer, image(CONTAINERS.apiServer), options, flagsToArgs(apiServer.flags), {
              env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
              ports: [{ name: 'https', containerPort: PORTS.apiServer, protocol: 'TCP' }],
              resources: resourceRequirements(cp.resources.apiServer),
              startupProbe: httpsProbe('/livez', 'https', 10, 24),
              livenessProbe: httpsProbe('/livez', 'https', 10, 8),
              readinessProbe: httpsProbe('/readyz', 'https', 5, 3),
              volumeMounts: [
                { name: VOLUMES.apiServerFiles, mountPath: K8S_DIR, readOnly: true },
                { name: VOLUMES.auditLog, mountPath: AUDIT_LOG_DIR },
                tmpMount,
                ...(konnectivity ? [{ name: KONNECTIVITY_VOLUMES.socket, mountPath: KONNECTIVITY_SOCKET_DIR }] : []),
              ],
            }),
            container(
              CONTAINERS.controllerManager,
              image(CONTAINERS.controllerManager),
              options,
              flagsToArgs(controllerManager.flags),
              {
                ports: [{ name: 'probe-kcm', containerPort: PORTS.controllerManager, protocol: 'TCP' }],
                resources: resourceRequirements(cp.resources.controllerManager),
                startupProbe: httpsProbe('/healthz', 'probe-kcm', 10, 24),
                livenessProbe: httpsProbe('/healthz', 'probe-kcm', 10, 8),
                volumeMounts: [{ name: VOLUMES.controllerManagerFiles, mountPath: K8S_DIR, readOnly: true }, tmpMount],
              },
            ),
            container(CONTAINERS.scheduler, image(CONTAINERS.scheduler), options, flagsToArgs(scheduler.flags), {
              ports: [{ name: 'probe-sched', containerPort: PORTS.scheduler, protocol: 'TCP' }],
              resources: resourceRequirements(cp.resources.scheduler),
              startupProbe: httpsProbe('/healthz', 'probe-sched', 10, 24),
              livenessProbe: httpsProbe('/healthz', 'probe-sched', 10, 8),
              volumeMounts: [{ name: VOLUMES.schedulerFiles, mountPath: K8S_DIR, readOnly: true }, tmpMount],
            }),
            ...(konnectivity ? [konnectivityServerContainer(tenant, options, PKI_DIR)] : []),
          ],
          volumes: controlPlaneVolumes(tenant),
        },
      },
    },
  });
  return { deployment, warnings: [...apiServer.warnings, ...controllerManager.warnings, ...scheduler.warnings] };
}

/**
 * Voluntary disruptions (node drains) take at most one control-plane pod at a time. With one replica the
 * drain still proceeds; rendered always so that scaling never leaves a stale budget behind.
 */
export function renderControlPlaneDisruptionBudget(tenant: Tenant): PodDisruptionBudget {
  return new PodDisruptionBudget({
    metadata: objectMeta(tenant, objectNames(tenant.name).controlPlane, 'control-plane'),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(tenant.name, 'control-plane') } },
  });
}
