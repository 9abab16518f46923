// The konnectivity agent add-on, as the Kubernetes documentation (tasks/extend-kubernetes/setup-konnectivity)
// and Kamaji deploy it: a ServiceAccount whose token (audience system:konnectivity-server) the agents
// present, the binding that lets the server review such tokens, and a host-network DaemonSet on every node
// that dials OUT to the konnectivity servers beside the tenant's apiservers and keeps the tunnels open. The
// apiservers reach kubelets, webhooks and aggregated APIs inside the tenant through them, so a node behind
// NAT works. Every object carries the add-on label; turning the add-on off removes them all.
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { isIP } from 'node:net';
import { KONNECTIVITY } from '../../core/index.ts';
import type { ResolvedInput } from './input.ts';
import { BUILTIN_CLUSTER_ROLES, KUBEADM_RBAC } from './names.ts';
import { applicable, clusterRoleBinding, metadata, user, type TenantObject } from './objects.ts';

export const KONNECTIVITY_AGENT = 'konnectivity-agent';
const APP_LABELS = { 'k8s-app': KONNECTIVITY_AGENT };
const TOKEN_DIR = '/var/run/secrets/konnectivity-agent';
/** The agent's ports on the node (host network): admin on loopback, health for the kubelet's probes. */
export const AGENT_PORTS = { admin: 8133, health: 8134 } as const;
/** The agents' user id: no root needed (ports above 1024, files readable by the pod's fsGroup). */
const AGENT_UID = 65532;

export function konnectivityAgentImage(input: Pick<ResolvedInput, 'imageRegistry' | 'konnectivityVersion'>): string {
  return `${input.imageRegistry}/kas-network-proxy/proxy-agent:${input.konnectivityVersion}`;
}

/**
 * How the agent names itself to the servers: its node's IP, so the server's destHost strategy sends a
 * connection to a kubelet (the apiserver dials the node's InternalIP) through the agent on that node.
 * The family follows the tenant's pod network (an IPv6 cluster has IPv6 node addresses).
 */
export function agentIdentifiers(podCIDR: string): string {
  const first = podCIDR.split(',')[0]!.split('/')[0]!;
  return `${isIP(first) === 6 ? 'ipv6' : 'ipv4'}=$(HOST_IP)`;
}

export function konnectivityAgentArgs(input: ResolvedInput): string[] {
  return [
    '--logtostderr=true',
    '--v=2',
    `--ca-cert=${TOKEN_DIR}/ca.crt`,
    `--proxy-server-host=${input.konnectivityServer.host}`,
    `--proxy-server-port=${input.konnectivityServer.port}`,
    `--admin-server-port=${AGENT_PORTS.admin}`,
    `--health-server-port=${AGENT_PORTS.health}`,
    `--service-account-token-path=${TOKEN_DIR}/token`,
    `--agent-identifiers=${agentIdentifiers(input.podCIDR)}`,
    // Without --sync-forever an agent dials the servers only until it first holds server-count tunnels:
    // a server replaced in a roll is never dialled again, and the apiserver beside the new one answers
    // "No agent available" for logs/exec/webhooks (seen on the test bed; HyperShift turned it on for the
    // same reason). With it, an agent that lost a tunnel redials every second; one that holds them all
    // backs off to the cap, so a settled agent dials (and costs a TokenReview) twice a minute.
    '--sync-forever',
    '--sync-interval=1s',
    '--sync-interval-cap=30s',
  ];
}

export function renderKonnectivity(input: ResolvedInput): TenantObject[] {
  const addon = 'konnectivity' as const;
  const namespace = KONNECTIVITY.agentNamespace;
  const sa: IServiceAccount = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: metadata(KONNECTIVITY.agentServiceAccount, { namespace, addon }),
    automountServiceAccountToken: false,
  };
  // The server checks each agent's token with a TokenReview as system:konnectivity-server.
  const binding = clusterRoleBinding(KUBEADM_RBAC.konnectivityServer, BUILTIN_CLUSTER_ROLES.authDelegator, [user(KONNECTIVITY.serverUser)], addon);

  const daemonSet: IDaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: metadata(KONNECTIVITY_AGENT, { namespace, addon, labels: APP_LABELS }),
    spec: {
      selector: { matchLabels: APP_LABELS },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: APP_LABELS },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: KONNECTIVITY.agentServiceAccount,
          automountServiceAccountToken: false,
          // The agent dials out from the node itself: it needs no pod network (it runs before the CNI
          // does) and the kubelet it serves is on the node's address.
          hostNetwork: true,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: AGENT_UID,
            runAsGroup: AGENT_UID,
            fsGroup: AGENT_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: KONNECTIVITY_AGENT,
              image: konnectivityAgentImage(input),
              imagePullPolicy: input.imagePullPolicy,
              command: ['/proxy-agent'],
              args: konnectivityAgentArgs(input),
              env: [{ name: 'HOST_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIP' } } }],
              resources: { requests: { cpu: '10m', memory: '32Mi' } },
              // Ready = holds a tunnel to a server: the Konnectivity condition counts ready agents.
              readinessProbe: { httpGet: { path: '/readyz', port: AGENT_PORTS.health }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: '/healthz', port: AGENT_PORTS.health }, initialDelaySeconds: 15, timeoutSeconds: 15 },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                privileged: false,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'konnectivity-agent-token', mountPath: TOKEN_DIR, readOnly: true }],
            },
          ],
          volumes: [
            {
              name: 'konnectivity-agent-token',
              projected: {
                sources: [
                  { serviceAccountToken: { path: 'token', audience: KONNECTIVITY.audience, expirationSeconds: 3600 } },
                  // The tenant CA, which signed the apiserver certificate the servers present to agents.
                  { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                ],
              },
            },
          ],
          // On every node, whatever its taints: a node without an agent serves no logs/exec.
          tolerations: [{ operator: 'Exists' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
        },
      },
    },
  };

  return [sa, binding, daemonSet].map((object) => ({ part: 'konnectivity', policy: 'apply', object: applicable(object) }));
}
