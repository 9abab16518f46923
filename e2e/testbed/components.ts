// Command lines and config files of the host test bed's components. Pure functions of the config:
// what each process is started with is readable in one place.
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { DaemonSpec } from './daemons.ts';
import type { LeafSpec } from './host-pki.ts';
import { pauseImage, type TestbedConfig } from './config.ts';

export const hostLeaves = (c: TestbedConfig): LeafSpec[] => [
  { name: 'etcd-server', commonName: 'testbed-etcd', dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'both', ca: 'etcd-ca' },
  { name: 'apiserver-etcd-client', commonName: 'kube-apiserver-etcd-client', usage: 'client', ca: 'etcd-ca' },
  {
    name: 'apiserver',
    commonName: 'kube-apiserver',
    dnsNames: ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${c.clusterDomain}`, 'localhost'],
    ips: ['127.0.0.1', c.hostIP, c.kubernetesServiceIP],
    usage: 'server',
  },
  { name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], usage: 'client' },
  { name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' },
  { name: 'controller-manager', commonName: 'system:kube-controller-manager', usage: 'client' },
  { name: 'scheduler', commonName: 'system:kube-scheduler', usage: 'client' },
  { name: 'kubelet-client', commonName: `system:node:${c.nodeName}`, organizations: ['system:nodes'], usage: 'client' },
  { name: 'kubelet-server', commonName: c.nodeName, dnsNames: [c.nodeName, 'localhost'], ips: [c.hostIP, '127.0.0.1'], usage: 'server' },
  { name: 'kube-proxy', commonName: 'system:kube-proxy', usage: 'client' },
  { name: 'coredns', commonName: 'kubeception:testbed-coredns', usage: 'client' },
  ...hostNodes(c).flatMap((node): LeafSpec[] => [
    { name: node.clientCert, commonName: `system:node:${node.nodeName}`, organizations: ['system:nodes'], usage: 'client' },
    { name: node.serverCert, commonName: node.nodeName, dnsNames: [node.nodeName], ips: [node.ip], usage: 'server' },
  ]),
];

/** One node of the host cluster: its name, address, pod range, certificates and where it runs. */
export interface HostNode {
  nodeName: string;
  ip: string;
  podSubnet: string;
  clientCert: string;
  serverCert: string;
  containerdSocket: string;
  kubeletConfigFile: string;
  kubeletKubeconfig: string;
  kubeProxyConfigFile: string;
  kubeProxyKubeconfig: string;
}

/** The host cluster's extra nodes (the machines n<i> of config.hostNodeIndexes), as the components see them. */
export function hostNodes(c: TestbedConfig): HostNode[] {
  return c.hostNodeIndexes.map((i) => ({
    nodeName: `${c.nodeName}-${i}`,
    ip: `10.${c.hostNodeLinkOctet}.${i}.2`,
    podSubnet: `10.200.${i}.0/24`,
    clientCert: `kubelet-client-n${i}`,
    serverCert: `kubelet-server-n${i}`,
    containerdSocket: join(c.runDir, 'machines', `n${i}`, 'containerd.sock'),
    kubeletConfigFile: join(c.stateDir, `kubelet-n${i}.yaml`),
    kubeletKubeconfig: join(c.stateDir, `kubelet-n${i}.kubeconfig`),
    kubeProxyConfigFile: join(c.stateDir, `kube-proxy-n${i}.yaml`),
    kubeProxyKubeconfig: join(c.stateDir, 'kube-proxy.kubeconfig'),
  }));
}

/** The host node itself (node 1: the machine the test bed runs on), in the same shape. */
export function firstHostNode(c: TestbedConfig): HostNode {
  return {
    nodeName: c.nodeName,
    ip: c.hostIP,
    podSubnet: c.nodePodSubnet,
    clientCert: 'kubelet-client',
    serverCert: 'kubelet-server',
    containerdSocket: c.containerdSocket,
    kubeletConfigFile: join(c.stateDir, 'kubelet.yaml'),
    kubeletKubeconfig: join(c.stateDir, 'kubelet.kubeconfig'),
    kubeProxyConfigFile: join(c.stateDir, 'kube-proxy.yaml'),
    kubeProxyKubeconfig: join(c.stateDir, 'kube-proxy.kubeconfig'),
  };
}

/** Kubeconfig file name -> (client certificate, user) */
export const hostKubeconfigs = {
  'admin.kubeconfig': { cert: 'admin', user: 'kubernetes-admin' },
  'controller-manager.kubeconfig': { cert: 'controller-manager', user: 'system:kube-controller-manager' },
  'scheduler.kubeconfig': { cert: 'scheduler', user: 'system:kube-scheduler' },
  'kubelet.kubeconfig': { cert: 'kubelet-client', user: `system:node` },
  'kube-proxy.kubeconfig': { cert: 'kube-proxy', user: 'system:kube-proxy' },
  'coredns.kubeconfig': { cert: 'coredns', user: 'kubeception:testbed-coredns' },
} as const;

export function etcdDaemon(c: TestbedConfig): DaemonSpec {
  const p = (f: string) => join(c.pkiDir, f);
  return {
    name: 'etcd',
    command: join(c.bin.etcd, 'etcd'),
    args: [
      '--name=testbed', `--data-dir=${join(c.stateDir, 'etcd')}`,
      `--listen-client-urls=https://127.0.0.1:${c.etcdClientPort}`, `--advertise-client-urls=https://127.0.0.1:${c.etcdClientPort}`,
      `--listen-peer-urls=https://127.0.0.1:${c.etcdPeerPort}`, `--initial-advertise-peer-urls=https://127.0.0.1:${c.etcdPeerPort}`,
      `--initial-cluster=testbed=https://127.0.0.1:${c.etcdPeerPort}`, '--listen-metrics-urls=http://127.0.0.1:2381',
      `--cert-file=${p('etcd-server.crt')}`, `--key-file=${p('etcd-server.key')}`, `--trusted-ca-file=${p('etcd-ca.crt')}`, '--client-cert-auth',
      `--peer-cert-file=${p('etcd-server.crt')}`, `--peer-key-file=${p('etcd-server.key')}`, `--peer-trusted-ca-file=${p('etcd-ca.crt')}`, '--peer-client-cert-auth',
      '--snapshot-count=10000', '--quota-backend-bytes=4294967296',
    ],
  };
}

export function apiserverDaemon(c: TestbedConfig): DaemonSpec {
  const p = (f: string) => join(c.pkiDir, f);
  return {
    name: 'kube-apiserver',
    command: join(c.bin.kubernetes, 'kube-apiserver'),
    args: [
      `--advertise-address=${c.hostIP}`, '--bind-address=0.0.0.0', `--secure-port=${c.apiserverPort}`,
      `--etcd-servers=https://127.0.0.1:${c.etcdClientPort}`, `--etcd-cafile=${p('etcd-ca.crt')}`,
      `--etcd-certfile=${p('apiserver-etcd-client.crt')}`, `--etcd-keyfile=${p('apiserver-etcd-client.key')}`,
      `--client-ca-file=${p('ca.crt')}`, `--tls-cert-file=${p('apiserver.crt')}`, `--tls-private-key-file=${p('apiserver.key')}`,
      `--service-cluster-ip-range=${c.serviceCIDR}`, '--service-node-port-range=30000-32767',
      `--service-account-issuer=https://kubernetes.default.svc.${c.clusterDomain}`,
      `--service-account-key-file=${p('sa.pub')}`, `--service-account-signing-key-file=${p('sa.key')}`,
      '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true',
      `--kubelet-client-certificate=${p('apiserver-kubelet-client.crt')}`, `--kubelet-client-key=${p('apiserver-kubelet-client.key')}`,
      `--kubelet-certificate-authority=${p('ca.crt')}`, '--kubelet-preferred-address-types=InternalIP',
      '--profiling=false', '--tls-min-version=VersionTLS12', '--v=1',
    ],
  };
}

function kubeComponentDaemon(c: TestbedConfig, name: 'kube-controller-manager' | 'kube-scheduler', extra: string[]): DaemonSpec {
  const kubeconfig = join(c.stateDir, name === 'kube-scheduler' ? 'scheduler.kubeconfig' : 'controller-manager.kubeconfig');
  return {
    name,
    command: join(c.bin.kubernetes, name),
    args: [`--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false', '--bind-address=127.0.0.1', '--v=1', ...extra],
  };
}

export function controllerManagerDaemon(c: TestbedConfig): DaemonSpec {
  const p = (f: string) => join(c.pkiDir, f);
  return kubeComponentDaemon(c, 'kube-controller-manager', [
    `--service-account-private-key-file=${p('sa.key')}`, `--root-ca-file=${p('ca.crt')}`,
    `--cluster-signing-cert-file=${p('ca.crt')}`, `--cluster-signing-key-file=${p('ca.key')}`,
    '--use-service-account-credentials=true', `--cluster-cidr=${c.podCIDR}`, `--service-cluster-ip-range=${c.serviceCIDR}`,
    // a lost node is noticed after 20 s (default 50 s): node-loss tests then take a minute, not several
    '--node-monitor-grace-period=20s',
  ]);
}

export const schedulerDaemon = (c: TestbedConfig): DaemonSpec => kubeComponentDaemon(c, 'kube-scheduler', []);

export interface ContainerdLayout {
  /** Images, snapshots, content. */
  root: string;
  /** Runtime state (sockets of shims, runc's state under <state>/runc). */
  state: string;
  socket: string;
  cniConfDir: string;
  /** Where containerd finds CNI plugins; default Debian's /usr/lib/cni. */
  cniBinDir?: string;
}

/** containerd 1.6 config for one node of the test bed (the host node or a worker machine). */
export function containerdConfig(c: TestbedConfig, layout: ContainerdLayout): string {
  return `version = 2
root = "${layout.root}"
state = "${layout.state}/containerd"
[grpc]
  address = "${layout.socket}"
[ttrpc]
  address = "${layout.socket}.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  # This VM withholds CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj (containerd asks -998 for
  # sandboxes): clamp every request to containerd's own value instead of failing the pod.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${layout.state}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${layout.cniBinDir ?? c.bin.cni}"
    conf_dir = "${layout.cniConfDir}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${layout.root}/opt"
`;
}

/** The host node's containerd: state under the test bed's folders, its own socket. */
export function hostContainerdLayout(c: TestbedConfig): ContainerdLayout {
  const dir = join(c.stateDir, 'containerd');
  return { root: join(dir, 'root'), state: c.runDir, socket: c.containerdSocket, cniConfDir: join(dir, 'cni', 'net.d') };
}

export function cniConfig(c: TestbedConfig): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'testbed',
    plugins: [
      {
        type: 'bridge', bridge: c.bridge, isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: c.nodePodSubnet, gateway: c.bridgeGateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(c.stateDir, 'cni', 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2);
}

export function containerdDaemon(c: TestbedConfig): DaemonSpec {
  return { name: 'containerd', command: 'containerd', args: [`--config=${join(c.stateDir, 'containerd', 'config.toml')}`] };
}

export function kubeletConfig(c: TestbedConfig, node: HostNode = firstHostNode(c)): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: join(c.pkiDir, 'ca.crt') } },
    authorization: { mode: 'Webhook' },
    tlsCertFile: join(c.pkiDir, `${node.serverCert}.crt`),
    tlsPrivateKeyFile: join(c.pkiDir, `${node.serverCert}.key`),
    containerRuntimeEndpoint: `unix://${node.containerdSocket}`,
    // This VM mounts cgroup v1 hierarchies: kubelet >= 1.35 refuses them unless told otherwise, and
    // Debian's containerd 1.6 cannot tell kubelet its cgroup driver, so it is named here.
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    failSwapOn: false,
    clusterDNS: [c.hostIP],
    clusterDomain: c.clusterDomain,
    resolvConf: '',
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    serializeImagePulls: false,
    rotateCertificates: false,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    maxPods: 110,
  });
}

export function kubeletDaemon(c: TestbedConfig): DaemonSpec {
  return {
    name: 'kubelet',
    command: join(c.bin.kubernetes, 'kubelet'),
    args: [`--config=${join(c.stateDir, 'kubelet.yaml')}`, `--kubeconfig=${join(c.stateDir, 'kubelet.kubeconfig')}`,
      `--hostname-override=${c.nodeName}`, `--node-ip=${c.hostIP}`, `--root-dir=${join(c.stateDir, 'kubelet')}`, '--v=1'],
  };
}

export function kubeProxyConfig(c: TestbedConfig, node: HostNode = firstHostNode(c)): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: node.kubeProxyKubeconfig },
    mode: 'iptables',
    clusterCIDR: c.podCIDR,
    hostnameOverride: node.nodeName,
    metricsBindAddress: '127.0.0.1:10249',
    healthzBindAddress: '127.0.0.1:10256',
    // leave the kernel's conntrack settings alone: this VM may not expose them
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}

export function kubeProxyDaemon(c: TestbedConfig): DaemonSpec {
  return {
    name: 'kube-proxy',
    command: join(c.bin.kubernetes, 'kube-proxy'),
    args: [`--config=${join(c.stateDir, 'kube-proxy.yaml')}`, '--v=1'],
  };
}

export function corefile(c: TestbedConfig): string {
  return `.:53 {
    bind ${c.hostIP}
    errors
    health 127.0.0.1:10280
    ready 127.0.0.1:10281
    kubernetes ${c.clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${join(c.stateDir, 'coredns.kubeconfig')} testbed
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`;
}

export function corednsDaemon(c: TestbedConfig): DaemonSpec {
  return { name: 'coredns', command: join(c.bin.coredns, 'coredns'), args: ['-conf', join(c.stateDir, 'Corefile')] };
}

export function provisionerDaemon(c: TestbedConfig): DaemonSpec {
  return {
    name: 'local-provisioner',
    command: process.execPath,
    args: [join(c.repoRoot, 'e2e', 'testbed', 'local-provisioner.ts'), c.adminKubeconfig, c.volumesDir, c.storageClass],
  };
}

/** Objects every test bed has: DNS's read access, the default StorageClass. */
export function bootstrapManifests(c: TestbedConfig): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'kubeception:testbed-coredns' },
        rules: [
          { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'kubeception:testbed-coredns' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubeception:testbed-coredns' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kubeception:testbed-coredns' }],
      },
      {
        apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
        metadata: { name: c.storageClass, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: 'kubeception.io/testbed-hostpath', reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate',
      },
    ],
  });
}
