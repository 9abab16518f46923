// Where the test bed keeps its state, which addresses it uses and which versions it runs.
// Everything here is a fact the other test bed modules share; nothing here does I/O but reading versions.env.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..', '..');

function readVersions(): Record<string, string> {
  const text = readFileSync(join(repoRoot, 'e2e', 'build', 'versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(\S+)/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const versions = readVersions();
const cacheRoot = process.env.KUBECEPTION_CACHE ?? join(homedir(), '.cache', 'kubeception');
const stateDir = process.env.KUBECEPTION_TESTBED_DIR ?? '/var/lib/kubeception/testbed';
const runDir = '/run/kubeception-testbed';

export const testbedConfig = {
  repoRoot,
  versions: {
    kubernetes: versions.KUBE_VERSION!,
    etcd: versions.ETCD_VERSION!,
    coredns: versions.COREDNS_VERSION!,
    pause: versions.PAUSE_VERSION!,
    helm: versions.HELM_VERSION!,
    konnectivity: versions.KONNECTIVITY_VERSION!,
    metallb: versions.METALLB_VERSION!,
    flannel: versions.FLANNEL_VERSION!,
    flannelCNIPlugin: versions.FLANNEL_CNI_PLUGIN_VERSION!,
  },
  bin: {
    kubernetes: join(cacheRoot, 'kubernetes', versions.KUBE_VERSION!, 'bin'),
    etcd: join(cacheRoot, 'etcd', versions.ETCD_VERSION!, 'bin'),
    coredns: join(cacheRoot, 'coredns', versions.COREDNS_VERSION!, 'bin'),
    /** Folder of the `helm` binary (manifests/kubeception: lint, template, install). */
    helm: join(cacheRoot, 'helm', versions.HELM_VERSION!, 'bin'),
    /** proxy-server and proxy-agent (apiserver-network-proxy): the tenants' konnectivity images. */
    konnectivity: join(cacheRoot, 'konnectivity', versions.KONNECTIVITY_VERSION!, 'bin'),
    /** MetalLB's controller and speaker; its CRDs and upstream manifest are beside it (../crd, ../manifests). */
    metallb: join(cacheRoot, 'metallb', versions.METALLB_VERSION!, 'bin'),
    /** flanneld and install-conf, and the `flannel` CNI plugin: the tenants' CNI add-on images. */
    flannel: join(cacheRoot, 'flannel', versions.FLANNEL_VERSION!, 'bin'),
    flannelCNIPlugin: join(cacheRoot, 'flannel-cni-plugin', versions.FLANNEL_CNI_PLUGIN_VERSION!, 'bin'),
    cni: '/usr/lib/cni',
  },
  cacheRoot,
  stateDir,
  runDir,
  pkiDir: join(stateDir, 'pki'),
  logDir: join(stateDir, 'logs'),
  imagesDir: join(cacheRoot, 'images'),
  adminKubeconfig: join(stateDir, 'admin.kubeconfig'),
  containerdSocket: join(runDir, 'containerd.sock'),
  nodeName: 'testbed-node',
  /**
   * The host cluster's other nodes: machine n<i> (a network namespace, machine.ts) is node testbed-node-<i> at
   * 10.197.<i>.2 with pods in 10.200.<i>.0/24, routed by the host. The host node is number 1.
   */
  hostNodeIndexes: [2, 3],
  hostNodeLinkOctet: 197,
  /** The host's address on the pod bridge: pods and workers reach the API server and DNS there. */
  hostIP: '10.199.0.1',
  bridge: 'kctb0',
  podCIDR: '10.200.0.0/16',
  nodePodSubnet: '10.200.0.0/24',
  bridgeGateway: '10.200.0.1',
  serviceCIDR: '10.201.0.0/16',
  kubernetesServiceIP: '10.201.0.1',
  clusterDomain: 'cluster.local',
  apiserverPort: 6443,
  etcdClientPort: 2379,
  etcdPeerPort: 2380,
  storageClass: 'standard',
  volumesDir: join(stateDir, 'volumes'),
  /**
   * The "public" network: one L2 segment (bridge pub0 in the switch namespace kctb-pub) that the host's
   * nodes, the customer and the NAT router are plugged into, as machines on a provider's public LAN.
   * The host node is on it with a veth (kctbpub), the node machines with a second interface (eth1).
   */
  public: {
    cidr: '10.196.0.0/24',
    prefixLength: 24,
    switchNetns: 'kctb-pub',
    bridge: 'pub0',
    /** The host node's veth in the root namespace. */
    hostLink: 'kctbpub',
    /** Node name -> its address on the public network. */
    nodeAddresses: { 'testbed-node': '10.196.0.1', 'testbed-node-2': '10.196.0.2', 'testbed-node-3': '10.196.0.3' } as Record<string, string>,
    /** keepalived's VRRP address for NodePort tenants: a stable address that moves to a live node. */
    vip: '10.196.0.10',
    /** VRRP priorities: the highest live one holds the VIP. */
    vipPriorities: { 'testbed-node-2': 150, 'testbed-node-3': 140, 'testbed-node': 50 } as Record<string, number>,
    /** MetalLB's address pool (IPAddressPool `public`). */
    pool: { name: 'public', first: '10.196.0.200', last: '10.196.0.239' },
    /** Only these nodes answer ARP for pool addresses (L2Advertisement nodeSelectors): two, so one can be lost. */
    announcers: ['testbed-node-2', 'testbed-node-3'] as string[],
    customer: { netns: 'kctb-customer', ip: '10.196.0.100' },
    /** The NAT router: on the public network, and the gateway of the NAT'd workers' links 192.168.<76+i>.0/24. */
    router: { netns: 'kctb-router', ip: '10.196.0.101', insideCIDR: '192.168.0.0/16' },
  },
  metallbNamespace: 'metallb-system',
} as const;

export type TestbedConfig = typeof testbedConfig;

export const pauseImage = `registry.k8s.io/pause:${testbedConfig.versions.pause}`;
