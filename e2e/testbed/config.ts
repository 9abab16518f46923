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
  },
  bin: {
    kubernetes: join(cacheRoot, 'kubernetes', versions.KUBE_VERSION!, 'bin'),
    etcd: join(cacheRoot, 'etcd', versions.ETCD_VERSION!, 'bin'),
    coredns: join(cacheRoot, 'coredns', versions.COREDNS_VERSION!, 'bin'),
    /** Folder of the `helm` binary (manifests/kubeception: lint, template, install). */
    helm: join(cacheRoot, 'helm', versions.HELM_VERSION!, 'bin'),
    /** proxy-server and proxy-agent (apiserver-network-proxy): the tenants' konnectivity images. */
    konnectivity: join(cacheRoot, 'konnectivity', versions.KONNECTIVITY_VERSION!, 'bin'),
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
} as const;

export type TestbedConfig = typeof testbedConfig;

export const pauseImage = `registry.k8s.io/pause:${testbedConfig.versions.pause}`;
