// Machines of the test bed other than the host itself: each is a network namespace with its own address (as a
// separate machine would have, reaching the host only through its link) and a mount namespace of its own, in
// which /etc/kubernetes, /var/lib/kubelet and the container logs are the machine's folders, and its own
// containerd. Two kinds are built on it: tenant worker machines (worker.ts, joined with `kubeadm join`) and the
// host cluster's extra nodes (host-nodes.ts).
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, rmdir, symlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonSet, waitFor, type DaemonSpec } from './daemons.ts';
import { run, tryRun } from './exec.ts';
import { loadImages, type ImageTarget } from './images.ts';
import { log } from './log.ts';
import { testbedConfig as c } from './config.ts';
import { containerdConfig } from './components.ts';
import { killContainers, mountsUnder, unmountAll } from './node-cleanup.ts';

export interface Machine {
  name: string;
  netns: string;
  /** The machine's own address; the host is at hostSideIP on the same link. */
  ip: string;
  hostSideIP: string;
  dir: string;
  containerdSocket: string;
  /** cgroup parent of the machine's pods, apart from the host node's /kubepods. */
  cgroupRoot: string;
  /**
   * The network namespace at the other end of the machine's link (hostSideIP lives there); undefined: the
   * host's root namespace. A NAT'd worker's link ends in the NAT router (nat-worker.ts).
   */
  uplinkNetns?: string;
}

/**
 * Fixed paths kubeadm and kubelet use -> the machine's own folder for them. The container logs too: the
 * host node's kubelet garbage-collects every directory under /var/log/pods whose pod it does not run,
 * so a machine sharing the host's folder lost its pods' logs within a minute (`kubectl logs` empty).
 */
export const MACHINE_PATHS = {
  '/etc/kubernetes': 'etc-kubernetes',
  '/var/lib/kubelet': 'var-lib-kubelet',
  '/var/log/pods': 'var-log-pods',
  '/var/log/containers': 'var-log-containers',
  // The CNI paths of a kubeadm node, where containerd looks by default and where a CNI add-on's DaemonSet
  // (flannel's init containers) writes its plugin and conflist through hostPath volumes: the machine's own.
  '/etc/cni/net.d': 'cni/net.d',
  '/opt/cni/bin': 'cni/bin',
  // The plugins' state (host-local leases, flannel's delegate configs, libcni's result cache).
  '/var/lib/cni': 'var-lib-cni',
  // flanneld's subnet.env, which the flannel CNI plugin reads: per node, as /run is on a real machine.
  '/run/flannel': 'run-flannel',
} as const;

/** A machine named `<prefix><index>` on the link 10.<octet>.<index>.0/24 (the host .1, the machine .2). */
export function machineFor(prefix: string, linkOctet: number, index: number): Machine {
  const name = `${prefix}${index}`;
  return {
    name,
    netns: `kctb-${name}`,
    ip: `10.${linkOctet}.${index}.2`,
    hostSideIP: `10.${linkOctet}.${index}.1`,
    dir: join(c.stateDir, 'machines', name),
    containerdSocket: join(c.runDir, 'machines', name, 'containerd.sock'),
    cgroupRoot: `/kctb-${name}`,
  };
}

export const machineDaemons = new DaemonSet(c.runDir, c.logDir);

/** The machine's mount namespace is held by a process of its own; everything of the machine enters it. */
function machinePid(m: Machine): number {
  const pid = machineDaemons.pid(`${m.name}-machine`);
  if (!pid) throw new Error(`machine ${m.name} is not running`);
  return pid;
}

/** A command run inside the machine (its mount and network namespaces). */
export function inMachine(m: Machine, name: string, cmd: string, args: string[]): DaemonSpec {
  return {
    name,
    command: 'nsenter',
    args: ['--target', String(machinePid(m)), '--mount', `--net=/run/netns/${m.netns}`, '--', cmd, ...args],
  };
}

export const machinePath = (m: Machine, path: keyof typeof MACHINE_PATHS, ...rest: string[]) => join(m.dir, MACHINE_PATHS[path], ...rest);

/** containerd runs inside the machine's mount namespace: its CNI dirs are the kubeadm node's paths, the machine's folders. */
function containerdLayout(m: Machine) {
  return { root: join(m.dir, 'containerd'), state: join(c.runDir, 'machines', m.name), socket: m.containerdSocket, cniConfDir: '/etc/cni/net.d', cniBinDir: '/opt/cni/bin' };
}

/**
 * The test bed's own pod network file: after any conflist a CNI add-on writes (flannel's 10-flannel.conflist),
 * since containerd uses the first file in name order and picks up new files as they appear.
 */
export const TESTBED_CNI_CONFLIST = '99-testbed-bridge.conflist';

/**
 * The machine's /opt/cni/bin as a kubeadm node has it (the kubernetes-cni package: bridge, host-local,
 * portmap, loopback, ...): links to Debian's plugins, beside which a CNI add-on puts its own.
 */
async function installCniPlugins(m: Machine): Promise<void> {
  const dir = machinePath(m, '/opt/cni/bin');
  await mkdir(dir, { recursive: true });
  for (const plugin of await readdir(c.bin.cni)) {
    const link = join(dir, plugin);
    if (!existsSync(link)) await symlink(join(c.bin.cni, plugin), link);
  }
}

/**
 * The pod network of the machine: a bridge and host-local addresses from `podSubnet`. `masquerade`: pod
 * traffic leaving the machine carries the machine's address (a tenant worker behind its own network); off for
 * host nodes, whose pod ranges the host routes (one flat pod network, as a CNI would make it).
 */
function cniConfig(m: Machine, podSubnet: string, masquerade: boolean): string {
  const gateway = podSubnet.replace(/\.0\/\d+$/, '.1');
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: `machine-${m.name}`,
    plugins: [
      {
        type: 'bridge', bridge: `kcb${m.name}`, isGateway: true, ipMasq: masquerade, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: podSubnet, gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(m.dir, 'cni', 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2);
}

function cgroupHierarchies(): string[] {
  return readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h)).filter((p) => existsSync(join(p, 'cgroup.procs')));
}

export interface MachineOptions {
  /**
   * The test bed's bridge network for the machine's pods, addresses from this range. Undefined: none, as on
   * a fresh kubeadm node: the node is NotReady until a CNI add-on (the tenant's flannel) writes its conflist.
   */
  podSubnet?: string;
  masquerade: boolean;
  /** Which of the test bed's images the machine gets (default: all). */
  images?: (ref: string) => boolean;
}

/** `ip` arguments that act in the namespace holding the host side of the machine's link. */
export const uplinkIp = (m: Machine, ...args: string[]): string[] => (m.uplinkNetns ? ['-n', m.uplinkNetns, ...args] : args);

async function ensureLink(m: Machine): Promise<void> {
  if (existsSync(`/run/netns/${m.netns}`)) return;
  await run('ip', ['netns', 'add', m.netns]);
  await run('ip', uplinkIp(m, 'link', 'add', `${m.netns}h`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m.netns));
  await run('ip', uplinkIp(m, 'addr', 'add', `${m.hostSideIP}/24`, 'dev', `${m.netns}h`));
  await run('ip', uplinkIp(m, 'link', 'set', `${m.netns}h`, 'up'));
  await run('ip', ['-n', m.netns, 'addr', 'add', `${m.ip}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', m.netns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', m.netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', m.netns, 'route', 'add', 'default', 'via', m.hostSideIP]);
  await run('ip', ['netns', 'exec', m.netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await tryRun('ip', ['netns', 'exec', m.netns, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1']);
}

async function ensureMountNamespace(m: Machine): Promise<void> {
  if (!machineDaemons.pid(`${m.name}-machine`)) {
    await machineDaemons.start({ name: `${m.name}-machine`, command: 'unshare', args: ['--mount', '--propagation', 'private', 'sleep', 'infinity'] });
    await waitFor(`${m.name} mount namespace`, async () => {
      const pid = machinePid(m);
      return (await run('readlink', [`/proc/${pid}/ns/mnt`])).stdout !== (await run('readlink', ['/proc/self/ns/mnt'])).stdout;
    }, 5000, 50);
  }
  // Each path once: a machine started by an older test bed gets the paths added since.
  for (const [path, dir] of Object.entries(MACHINE_PATHS)) {
    if (await tryRun('nsenter', ['--target', String(machinePid(m)), '--mount', '--', 'mountpoint', '-q', path])) continue;
    await mkdir(path, { recursive: true }); // the mount point, empty on the host
    await mkdir(join(m.dir, dir), { recursive: true });
    await run('nsenter', ['--target', String(machinePid(m)), '--mount', '--', 'mount', '--bind', join(m.dir, dir), path]);
  }
}

/** Brings up the machine: network namespace and link, containerd, images. Nothing of Kubernetes yet. */
export async function startMachine(m: Machine, options: MachineOptions): Promise<void> {
  await ensureLink(m);
  for (const h of cgroupHierarchies()) await mkdir(join(h, m.cgroupRoot), { recursive: true });
  await ensureMountNamespace(m);
  await installCniPlugins(m);
  await mkdir(join(c.runDir, 'machines', m.name), { recursive: true });
  await writeFile(join(m.dir, 'containerd.toml'), containerdConfig(c, containerdLayout(m)));
  if (options.podSubnet !== undefined) await writeFile(machinePath(m, '/etc/cni/net.d', TESTBED_CNI_CONFLIST), cniConfig(m, options.podSubnet, options.masquerade));
  await machineDaemons.startAndWait(inMachine(m, `${m.name}-containerd`, 'containerd', [`--config=${join(m.dir, 'containerd.toml')}`]),
    () => tryRun('ctr', ['--address', m.containerdSocket, 'version']), 30_000);
  await loadImages(c, machineImageTarget(m), options.images);
  log.info({ machine: m.name, ip: m.ip }, 'machine is up');
}

export const machineImageTarget = (m: Machine): ImageTarget => ({ name: m.name, socket: m.containerdSocket });

async function removeCgroup(path: string): Promise<void> {
  if (!existsSync(path)) return;
  for (const entry of await readdir(path, { withFileTypes: true })) if (entry.isDirectory()) await removeCgroup(join(path, entry.name));
  await rmdir(path).catch(() => undefined);
}

/** Daemons of the machine other than its containerd and mount namespace (kubelet, kube-proxy, ...). */
async function kubernetesDaemons(m: Machine): Promise<string[]> {
  const fixed = new Set([`${m.name}-containerd`, `${m.name}-machine`]);
  return (await machineDaemons.names()).filter((n) => n.startsWith(`${m.name}-`) && !fixed.has(n));
}

/**
 * Stops everything of the machine and removes its namespace, mounts, cgroups and state. `keepImages`: the
 * containerd root (its image store) survives, so the next start imports nothing.
 */
export async function removeMachine(m: Machine, options: { keepImages?: boolean } = {}): Promise<void> {
  for (const name of await kubernetesDaemons(m)) await machineDaemons.stop(name);
  if (machineDaemons.pid(`${m.name}-containerd`)) await killContainers(m.containerdSocket);
  await machineDaemons.stop(`${m.name}-containerd`);
  await machineDaemons.stop(`${m.name}-machine`); // its mount namespace, and every mount in it, goes with it
  await unmountAll(mountsUnder([m.dir, join(c.runDir, 'machines', m.name)]));
  if (existsSync(`/run/netns/${m.netns}`)) await tryRun('ip', ['netns', 'delete', m.netns]);
  await tryRun('ip', uplinkIp(m, 'link', 'delete', `${m.netns}h`));
  for (const h of cgroupHierarchies()) await removeCgroup(join(h, m.cgroupRoot));
  // the empty mount point the test bed made on the host
  if (existsSync('/etc/kubernetes') && (await readdir('/etc/kubernetes')).length === 0) await rmdir('/etc/kubernetes');
  if (options.keepImages && existsSync(m.dir)) {
    for (const entry of await readdir(m.dir)) if (entry !== 'containerd') await rm(join(m.dir, entry), { recursive: true, force: true });
  } else {
    await rm(m.dir, { recursive: true, force: true });
  }
  await rm(join(c.runDir, 'machines', m.name), { recursive: true, force: true });
  log.info({ machine: m.name }, 'machine removed');
}

/**
 * A machine lost at once, as a power cut would: its link goes down and every process of it is SIGKILLed
 * (kubelet, kube-proxy, containerd and the containers), with nothing cleaned up. `removeMachine` clears up after.
 */
export async function cutMachine(m: Machine): Promise<void> {
  await tryRun('ip', uplinkIp(m, 'link', 'set', `${m.netns}h`, 'down'));
  for (const name of await kubernetesDaemons(m)) {
    const pid = machineDaemons.pid(name);
    // the whole process group: a daemon's children (keepalived's VRRP process) go with it
    if (pid) killGroup(pid);
  }
  if (machineDaemons.pid(`${m.name}-containerd`)) await killContainers(m.containerdSocket);
  const pid = machineDaemons.pid(`${m.name}-containerd`);
  if (pid) process.kill(pid, 'SIGKILL');
  log.info({ machine: m.name }, 'machine cut off (link down, processes killed)');
}

/** SIGKILLs a daemon's process group (daemons are started detached: each leads its own), or the process alone. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}

/** Names of the machines with state on this host whose name matches `pattern`. */
export function existingMachineNames(pattern: RegExp): string[] {
  const dir = join(c.stateDir, 'machines');
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const fromNetns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith('kctb-')).map((n) => n.slice(5)) : [];
  return [...new Set([...names, ...fromNetns])].filter((n) => pattern.test(n));
}
