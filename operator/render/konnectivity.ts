// konnectivity (apiserver-network-proxy) on the control-plane side: a `konnectivity-server` container
// beside each kube-apiserver, and the apiserver's egress selector that sends everything addressed to the
// tenant cluster (kubelets for logs/exec/port-forward, webhooks, aggregated APIs, pods and Services)
// through it. The agents inside the tenant (operator/tenant/konnectivity.ts) dial OUT to the server's
// agent port through the tenant's public endpoint and keep the tunnel open, so a worker behind NAT that
// nothing can connect to still serves `kubectl logs`.
//
// The apiserver reaches its own server over a Unix socket in an emptyDir both containers mount (nothing
// on the network, no certificate); the agents come in over TLS with the apiserver's serving certificate
// (it already names the public endpoint the agents dial) and authenticate with a service account token
// for the audience system:konnectivity-server, which the server checks by TokenReview with its own
// kubeconfig (`<name>-konnectivity-server-kubeconfig`, user system:konnectivity-server).
import { stringify } from 'yaml';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { KONNECTIVITY_VERSION } from '../../crds/schema/versions.ts';
import { KONNECTIVITY, type Tenant, type TenantControlPlaneSpec } from '../../core/index.ts';
import { flagsToArgs, type FlagMap } from './flags.ts';
import { CONTAINERS, PORTS } from './names.ts';
import type { ResolvedOptions } from './options.ts';
import { containerSecurityContext } from './security.ts';

/** The shared emptyDir with the server's socket, mounted at this path in both containers. */
export const KONNECTIVITY_SOCKET_DIR = '/run/konnectivity-server';
export const KONNECTIVITY_SOCKET = `${KONNECTIVITY_SOCKET_DIR}/konnectivity-server.socket`;
/** The server's files: the apiserver's serving pair (for the agents' TLS) and its kubeconfig. */
export const KONNECTIVITY_SERVER_DIR = '/etc/kubernetes';
export const KONNECTIVITY_KUBECONFIG_FILE = 'konnectivity-server.conf';
export const KONNECTIVITY_SERVER_KUBECONFIG = `${KONNECTIVITY_SERVER_DIR}/${KONNECTIVITY_KUBECONFIG_FILE}`;

export const KONNECTIVITY_VOLUMES = { socket: 'konnectivity-uds', files: 'konnectivity-server-files' } as const;

/**
 * Seconds the server keeps running after its pod is told to stop: at least the apiserver's
 * --shutdown-delay-duration (10 s) plus a margin, so requests the apiserver still serves keep their tunnel
 * and the agents, which lose this server only when it exits, have other servers to use by then.
 */
export const KONNECTIVITY_PRESTOP_SLEEP_SECONDS = 15;

/** The egress selector's spec (apiserver.k8s.io/v1beta1 is the newest version that has it, 1.34-1.36). */
export const EGRESS_SELECTOR_API_VERSION = 'apiserver.k8s.io/v1beta1';

/** spec.addons.konnectivity.enabled, default true (the CRD defaults it; an absent block means the same). */
export function konnectivityEnabled(spec: Pick<TenantControlPlaneSpec, 'addons'>): boolean {
  return spec.addons?.konnectivity?.enabled ?? true;
}

export function konnectivityServerImage(registry: string, version = KONNECTIVITY_VERSION): string {
  return `${registry}/kas-network-proxy/proxy-server:${version}`;
}

/** Only the `cluster` egress goes through konnectivity; `controlplane` and `etcd` stay direct (kubeadm's documented setup). */
export function egressSelectorConfiguration(): object {
  return {
    apiVersion: EGRESS_SELECTOR_API_VERSION,
    kind: 'EgressSelectorConfiguration',
    egressSelections: [
      {
        name: 'cluster',
        connection: { proxyProtocol: 'GRPC', transport: { uds: { udsName: KONNECTIVITY_SOCKET } } },
      },
    ],
  };
}

export function egressSelectorYaml(): string {
  return stringify(egressSelectorConfiguration());
}

/** The server's flags, kubeadm's documented set plus HA (server count) and per-node routing (destHost). */
export function konnectivityServerFlags(tenant: Tenant, pkiDir: string): FlagMap {
  return new Map([
    ['logtostderr', 'true'],
    ['v', '2'],
    ['mode', 'grpc'],
    ['uds-name', KONNECTIVITY_SOCKET],
    ['delete-existing-uds-file', 'true'],
    ['server-port', '0'],
    ['agent-port', String(PORTS.konnectivityAgent)],
    ['admin-port', String(PORTS.konnectivityAdmin)],
    ['health-port', String(PORTS.konnectivityHealth)],
    ['cluster-cert', `${pkiDir}/apiserver.crt`],
    ['cluster-key', `${pkiDir}/apiserver.key`],
    ['tls-min-version', 'VersionTLS12'],
    ['kubeconfig', KONNECTIVITY_SERVER_KUBECONFIG],
    ['agent-namespace', KONNECTIVITY.agentNamespace],
    ['agent-service-account', KONNECTIVITY.agentServiceAccount],
    ['authentication-audience', KONNECTIVITY.audience],
    // Each agent connects until it holds a tunnel to this many distinct servers (one per apiserver pod).
    ['server-count', String(tenant.spec.controlPlane.replicas)],
    // A kubelet's address goes to the agent on that node (agents name their node IP); anything else
    // (Service and pod IPs of webhooks, aggregated APIs) to any agent.
    ['proxy-strategies', 'destHost,default'],
  ]);
}

/** The sidecar. No readiness probe: the server is "ready" only with an agent connected, and a control plane without workers must serve. */
export function konnectivityServerContainer(tenant: Tenant, options: ResolvedOptions, pkiDir: string): IContainer {
  return {
    name: CONTAINERS.konnectivityServer,
    image: konnectivityServerImage(options.imageRegistry, options.konnectivityVersion),
    imagePullPolicy: options.imagePullPolicy,
    command: ['/proxy-server'],
    args: flagsToArgs(konnectivityServerFlags(tenant, pkiDir)),
    ports: [
      { name: 'konnectivity', containerPort: PORTS.konnectivityAgent, protocol: 'TCP' },
      { name: 'probe-konn', containerPort: PORTS.konnectivityHealth, protocol: 'TCP' },
    ],
    resources: { requests: { cpu: '50m', memory: '64Mi' } },
    livenessProbe: { httpGet: { path: '/healthz', port: 'probe-konn', scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    lifecycle: { preStop: { sleep: { seconds: KONNECTIVITY_PRESTOP_SLEEP_SECONDS } } },
    securityContext: containerSecurityContext(),
    volumeMounts: [
      { name: KONNECTIVITY_VOLUMES.files, mountPath: KONNECTIVITY_SERVER_DIR, readOnly: true },
      { name: KONNECTIVITY_VOLUMES.socket, mountPath: KONNECTIVITY_SOCKET_DIR },
    ],
  };
}

/** The socket volume: small, in memory (it only ever holds the socket). */
export function konnectivitySocketVolume(): IVolume {
  return { name: KONNECTIVITY_VOLUMES.socket, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } };
}
