// The host test bed: a real Kubernetes cluster on this machine (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler on loopback; the host node with containerd + runc + CNI bridge, kubelet, kube-proxy; CoreDNS,
// a hostPath volume provisioner; and node machines in network namespaces, so the host has three nodes),
// started from Go-built binaries and stopped without leftovers.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { run, tryRun } from './exec.ts';
import { ensureHostPki } from './host-pki.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { kubectl, nodeReady } from './host-kubectl.ts';
import { DaemonSet, waitFor, isAlive } from './daemons.ts';
import { setUpNetwork, tearDownNetwork, networkLeftovers } from './network.ts';
import { loadImages } from './images.ts';
import { existingWorkers, removeWorker } from './worker.ts';
import { existingHostNodeMachines, hostNodeMachines, startHostNode, writeHostNodeFiles } from './host-nodes.ts';
import { removeMachine } from './machine.ts';
import { existingNatWorkers, removeNatWorker } from './nat-worker.ts';
import { ensureCustomer, ensureHostOnPublic, ensureRouter, ensureSwitch, publicLeftovers } from './public-network.ts';
import { installMetalLB, metallbDirs, waitForMetalLB } from './metallb.ts';
import { startKeepalived, waitForVip } from './vip.ts';
import { killContainers, mountsUnder, unmountAll } from './node-cleanup.ts';
import { log } from './log.ts';
import { preflight } from './preflight.ts';
import { testbedConfig as c } from './config.ts';
import * as comp from './components.ts';

const daemons = new DaemonSet(c.runDir, c.logDir);
/** Node and worker links, and the tenants' default pod and Service ranges: traffic in them stays on this machine too. */
const WORKER_RANGES = ['10.197.0.0/16', '10.198.0.0/16', '10.244.0.0/16', '10.96.0.0/12', c.public.cidr];
/** Network namespaces that belong to the test bed: pod sandboxes and the e2e worker machines. */
export const NETNS_PREFIXES = ['cni-', 'kctb-'];
const START_ORDER = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'containerd', 'kubelet', 'kube-proxy', 'coredns', 'local-provisioner'];

/** HTTPS status of a health endpoint; `client` false is for the self-signed health ports of kcm and scheduler. */
function httpsStatus(url: string, client = true): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      rejectUnauthorized: client,
      ca: readFileSync(join(c.pkiDir, url.includes(':2379') ? 'etcd-ca.crt' : 'ca.crt')),
      cert: client ? readFileSync(join(c.pkiDir, url.includes(':2379') ? 'apiserver-etcd-client.crt' : 'admin.crt')) : undefined,
      key: client ? readFileSync(join(c.pkiDir, url.includes(':2379') ? 'apiserver-etcd-client.key' : 'admin.key')) : undefined,
      timeout: 2000,
    }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function binariesPresent(): string[] {
  const missing: string[] = [];
  for (const b of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl', 'kubeadm']) {
    if (!existsSync(join(c.bin.kubernetes, b))) missing.push(b);
  }
  if (!existsSync(join(c.bin.etcd, 'etcd'))) missing.push('etcd');
  if (!existsSync(join(c.bin.coredns, 'coredns'))) missing.push('coredns');
  if (!existsSync(join(c.bin.helm, 'helm'))) missing.push('helm');
  for (const b of ['proxy-server', 'proxy-agent']) if (!existsSync(join(c.bin.konnectivity, b))) missing.push(b);
  const metallb = metallbDirs();
  for (const b of ['controller', 'speaker']) if (!existsSync(join(c.bin.metallb, b))) missing.push(`metallb ${b}`);
  if (!existsSync(metallb.crd) || !existsSync(join(metallb.manifests, 'metallb-native.yaml'))) missing.push('metallb CRDs and manifest');
  for (const b of ['flanneld', 'install-conf']) if (!existsSync(join(c.bin.flannel, b))) missing.push(b);
  if (!existsSync(join(c.bin.flannelCNIPlugin, 'flannel'))) missing.push('flannel CNI plugin');
  return missing;
}

/** Checks the machine (preflight: Debian packages, Go, root), then builds the Go binaries if the cache lacks them (cold: 30-60 min; warm: nothing). */
export async function ensureBinaries(): Promise<void> {
  await preflight();
  const missing = binariesPresent();
  if (!missing.length) return;
  log.info({ missing }, 'building Kubernetes binaries, helm, konnectivity, MetalLB and flannel from the Go module proxy (progress below)');
  const { spawn } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [join(c.repoRoot, 'e2e', 'build', 'build-kubernetes.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`build-kubernetes.sh exited ${code}`))));
  });
}

/** Writes only when the content differs: kube-proxy exits when its config file is touched. */
async function writeIfChanged(file: string, content: string): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current !== content) await writeFile(file, content);
}

async function writeConfigFiles(): Promise<void> {
  await mkdir(join(c.stateDir, 'containerd', 'cni', 'net.d'), { recursive: true });
  await mkdir(c.volumesDir, { recursive: true });
  await ensureHostPki(c.pkiDir, comp.hostLeaves(c));
  const server = `https://127.0.0.1:${c.apiserverPort}`;
  for (const [file, { cert, user }] of Object.entries(comp.hostKubeconfigs)) {
    // kubelet and kube-proxy reach the API server at the address pods use, the others on loopback
    const target = file.startsWith('kube') ? `https://${c.hostIP}:${c.apiserverPort}` : server;
    await writeKubeconfig(join(c.stateDir, file), { server: target, pkiDir: c.pkiDir, cert, user });
  }
  await writeIfChanged(join(c.stateDir, 'containerd', 'config.toml'), comp.containerdConfig(c, comp.hostContainerdLayout(c)));
  await writeIfChanged(join(c.stateDir, 'containerd', 'cni', 'net.d', '10-testbed.conflist'), comp.cniConfig(c));
  await writeIfChanged(join(c.stateDir, 'kubelet.yaml'), comp.kubeletConfig(c));
  await writeIfChanged(join(c.stateDir, 'kube-proxy.yaml'), comp.kubeProxyConfig(c));
  await writeIfChanged(join(c.stateDir, 'Corefile'), comp.corefile(c));
  await writeHostNodeFiles();
}

export interface UpResult {
  kubeconfig: string;
  seconds: number;
}

export async function up(): Promise<UpResult> {
  const started = Date.now();
  await ensureBinaries();
  await mkdir(c.stateDir, { recursive: true });
  await mkdir(c.runDir, { recursive: true });
  log.info({ stateDir: c.stateDir }, 'test bed: network');
  await setUpNetwork(c, WORKER_RANGES);
  // the public network: switch, the host node's port, the customer and the NAT router
  await ensureSwitch();
  await ensureHostOnPublic();
  await ensureCustomer();
  await ensureRouter();
  await writeConfigFiles();
  await daemons.startAndWait(comp.etcdDaemon(c), async () => (await httpsStatus(`https://127.0.0.1:${c.etcdClientPort}/health`)) === 200);
  await daemons.startAndWait(comp.apiserverDaemon(c), async () => (await httpsStatus(`https://127.0.0.1:${c.apiserverPort}/readyz`)) === 200, 120_000);
  await daemons.startAndWait(comp.controllerManagerDaemon(c), async () => (await httpsStatus('https://127.0.0.1:10257/healthz', false)) === 200);
  await daemons.startAndWait(comp.schedulerDaemon(c), async () => (await httpsStatus('https://127.0.0.1:10259/healthz', false)) === 200);
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], comp.bootstrapManifests(c));
  await daemons.startAndWait(comp.containerdDaemon(c), async () => tryRun('ctr', ['--address', c.containerdSocket, 'version']));
  log.info('test bed: loading images');
  await loadImages(c);
  await daemons.startAndWait(comp.kubeletDaemon(c), () => nodeReady(c.nodeName), 120_000);
  await daemons.startAndWait(comp.kubeProxyDaemon(c), async () => (await fetch('http://127.0.0.1:10256/healthz')).ok, 60_000);
  await daemons.startAndWait(comp.corednsDaemon(c), async () => (await fetch('http://127.0.0.1:10281/ready')).ok, 60_000);
  await daemons.startAndWait(comp.provisionerDaemon(c), async () => true);
  await startKeepalived({ nodeName: c.nodeName, ifname: c.public.hostLink }, daemons);
  log.info('test bed: MetalLB');
  await installMetalLB(); // its pods start while the node machines come up
  log.info({ nodes: hostNodeMachines().map((h) => h.node.nodeName) }, 'test bed: node machines');
  await Promise.all(hostNodeMachines().map((h) => startHostNode(h)));
  await waitForMetalLB();
  await waitForVip();
  const seconds = (Date.now() - started) / 1000;
  log.info({ kubeconfig: c.adminKubeconfig, seconds }, 'test bed is up');
  return { kubeconfig: c.adminKubeconfig, seconds };
}

/** Stops the pods through kubelet (so CNI tears their network down), then everything else. */
async function drainPods(): Promise<void> {
  if (!daemons.pid('kubelet') || !daemons.pid('kube-apiserver')) return;
  await daemons.stop('kube-controller-manager');
  await daemons.stop('kube-scheduler');
  await kubectl(['delete', 'pods', '--all', '--all-namespaces', '--grace-period=1', '--wait=false']).catch(() => '');
  const sockets = [c.containerdSocket, ...existingHostNodeMachines().map((m) => m.containerdSocket).filter((s) => existsSync(s))];
  await waitFor('pods to be stopped', async () => {
    for (const socket of sockets) {
      const { stdout } = await run('ctr', ['--address', socket, '-n', 'k8s.io', 'tasks', 'ls', '-q']);
      if (stdout.trim() !== '') return false;
    }
    return true;
  }, 60_000, 500).catch((err: unknown) => log.warn({ err: String(err) }, 'some pods did not stop; killing them'));
}

/** Shims of our containerd that outlived it (a shim is its own process group). */
function testbedShims(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes('containerd-shim') && cmd.includes(c.runDir)) pids.push(Number(entry));
    } catch { /* process ended meanwhile */ }
  }
  return pids;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Mount points under the test bed's folders and its network namespaces, deepest first. */
const testbedMounts = () => mountsUnder([c.stateDir, c.runDir, ...NETNS_PREFIXES.map((p) => `/run/netns/${p}`)]);

/** State that `down --purge` removes: the cluster's data. Kept: PKI is remade anyway, the image store is a cache. */
const PURGED = ['etcd', 'kubelet', 'volumes', 'cni', 'logs', 'pki'];

export async function down(options: { purge?: boolean } = {}): Promise<void> {
  for (const worker of existingWorkers()) await removeWorker(worker);
  for (const worker of existingNatWorkers()) await removeNatWorker(Number(worker.name.slice(2)));
  await drainPods();
  for (const machine of existingHostNodeMachines()) await removeMachine(machine, { keepImages: true });
  for (const name of ['local-provisioner', 'coredns', 'kube-proxy', 'kubelet']) await daemons.stop(name);
  if (daemons.pid('containerd')) await killContainers(c.containerdSocket);
  await daemons.stop('containerd');
  for (const pid of testbedShims()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const name of ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) await daemons.stop(name);
  for (const name of await daemons.names()) await daemons.stop(name); // anything started by a later issue
  if (existsSync(join(c.bin.kubernetes, 'kube-proxy'))) await tryRun(join(c.bin.kubernetes, 'kube-proxy'), ['--cleanup']);
  await unmountAll(testbedMounts());
  await tearDownNetwork(c, NETNS_PREFIXES);
  await rm(c.runDir, { recursive: true, force: true });
  if (options.purge) for (const dir of PURGED) await rm(join(c.stateDir, dir), { recursive: true, force: true });
  const left = await leftovers();
  if (left.length) throw new Error(`test bed down left behind: ${left.join(', ')}`);
  log.info('test bed is down; nothing left behind');
}

/** Processes, mounts and network devices of the test bed that still exist. */
export async function leftovers(): Promise<string[]> {
  const left: string[] = [];
  for (const name of await daemons.names()) if (daemons.pid(name)) left.push(`process ${name}`);
  const shims = testbedShims();
  if (shims.length) left.push(`${shims.length} containerd shims`);
  const workers = [...existingWorkers(), ...existingNatWorkers()];
  if (workers.length) left.push(`workers ${workers.map((w) => w.name).join(', ')}`);
  const nodeMachines = existingHostNodeMachines().filter((m) => existsSync(`/run/netns/${m.netns}`));
  if (nodeMachines.length) left.push(`node machines ${nodeMachines.map((m) => m.name).join(', ')}`);
  const mounts = testbedMounts();
  if (mounts.length) left.push(`${mounts.length} mounts`);
  left.push(...(await networkLeftovers(c, NETNS_PREFIXES)));
  left.push(...(await publicLeftovers()));
  return left;
}

export interface Status {
  up: boolean;
  kubeconfig: string;
  components: { name: string; pid?: number; rssMiB?: number }[];
  totalRssMiB: number;
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Memory charged to the pods of the host's nodes (cgroup v1 memory controller, as kubelet's cgroupfs driver lays it out). */
function podsMemoryMiB(): number {
  const roots = ['', ...existingHostNodeMachines().map((m) => m.cgroupRoot)];
  let bytes = 0;
  for (const root of roots) {
    try {
      const stat = readFileSync(`/sys/fs/cgroup/memory${root}/kubepods/memory.stat`, 'utf8');
      bytes += Number(/^total_rss (\d+)$/m.exec(stat)?.[1] ?? 0);
    } catch { /* no pods there yet */ }
  }
  return Math.round(bytes / 1024 / 1024);
}

export async function status(): Promise<Status> {
  // the host's own daemons in start order, then the node and worker machines' (kubelet, containerd, ...)
  const machineDaemonNames = (await daemons.names()).filter((n) => !START_ORDER.includes(n)).sort();
  const components = [...START_ORDER, ...machineDaemonNames].map((name) => {
    const pid = daemons.pid(name);
    return { name, pid, rssMiB: pid ? rssMiB(pid) : undefined };
  });
  const shimRss = testbedShims().reduce((sum, pid) => sum + rssMiB(pid), 0);
  components.push({ name: 'containerd-shims', pid: undefined, rssMiB: shimRss });
  components.push({ name: 'pods (kubepods cgroups of every host node)', pid: undefined, rssMiB: podsMemoryMiB() });
  let healthy = components.slice(0, START_ORDER.length).every((x) => x.pid);
  if (healthy) healthy = await httpsStatus(`https://127.0.0.1:${c.apiserverPort}/readyz`).then((s) => s === 200, () => false);
  return { up: healthy, kubeconfig: c.adminKubeconfig, components, totalRssMiB: components.reduce((s, x) => s + (x.rssMiB ?? 0), 0) };
}

export { c as config, kubectl, readFile };
