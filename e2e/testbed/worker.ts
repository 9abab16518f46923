// External worker machines for the tenants: each is a network namespace with its own address (as a
// separate machine would have, reaching the host only through its link) and a mount namespace of its
// own, in which /etc/kubernetes and /var/lib/kubelet are the machine's folders: the real `kubeadm join`
// writes there, the machine's containerd and kubelet run there, and nothing collides with the host
// node's kubelet (which also uses fixed paths under /var/lib/kubelet).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonSet, waitFor, GiveUp } from './daemons.ts';
import { run, tryRun } from './exec.ts';
import { loadImages, helloImage, type ImageTarget } from './images.ts';
import { log } from './log.ts';
import { pauseImage, testbedConfig as c } from './config.ts';
import { containerdConfig } from './components.ts';
import { killContainers, mountsUnder, unmountAll } from './node-cleanup.ts';

export interface Worker {
  name: string;
  netns: string;
  /** The worker's own address; the host is at hostSideIP on the same link. */
  ip: string;
  hostSideIP: string;
  dir: string;
  containerdSocket: string;
  /** cgroup parent of the worker's pods, apart from the host node's /kubepods. */
  cgroupRoot: string;
}

/**
 * Fixed paths kubeadm and kubelet use -> the machine's own folder for them. The container logs too: the
 * host node's kubelet garbage-collects every directory under /var/log/pods whose pod it does not run,
 * so a worker sharing the host's folder lost its pods' logs within a minute (`kubectl logs` empty).
 */
const MACHINE_PATHS = {
  '/etc/kubernetes': 'etc-kubernetes',
  '/var/lib/kubelet': 'var-lib-kubelet',
  '/var/log/pods': 'var-log-pods',
  '/var/log/containers': 'var-log-containers',
} as const;

export function workerFor(index: number): Worker {
  const name = `w${index}`;
  return {
    name,
    netns: `kctb-${name}`,
    ip: `10.198.${index}.2`,
    hostSideIP: `10.198.${index}.1`,
    dir: join(c.stateDir, 'workers', name),
    containerdSocket: join(c.runDir, 'workers', name, 'containerd.sock'),
    cgroupRoot: `/kctb-${name}`,
  };
}

const daemons = new DaemonSet(c.runDir, c.logDir);

/** The machine's mount namespace is held by a process of its own; everything of the machine enters it. */
function machinePid(w: Worker): number {
  const pid = daemons.pid(`${w.name}-machine`);
  if (!pid) throw new Error(`worker ${w.name} is not running`);
  return pid;
}

const inMachine = (w: Worker, cmd: string, args: string[]) => ({
  command: 'nsenter',
  args: ['--target', String(machinePid(w)), '--mount', `--net=/run/netns/${w.netns}`, '--', cmd, ...args],
});
const machinePath = (w: Worker, path: keyof typeof MACHINE_PATHS, ...rest: string[]) => join(w.dir, MACHINE_PATHS[path], ...rest);

function containerdLayout(w: Worker) {
  return { root: join(w.dir, 'containerd'), state: join(c.runDir, 'workers', w.name), socket: w.containerdSocket, cniConfDir: join(w.dir, 'cni', 'net.d') };
}

function cniConfig(w: Worker, podSubnet: string): string {
  const gateway = podSubnet.replace(/\.0\/\d+$/, '.1');
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: `worker-${w.name}`,
    plugins: [
      {
        // ipMasq: pod traffic leaving the machine carries the machine's address, as on a real node
        type: 'bridge', bridge: `kcw${w.name.slice(1)}`, isGateway: true, ipMasq: true, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: podSubnet, gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(w.dir, 'cni', 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2);
}

function cgroupHierarchies(): string[] {
  return readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h)).filter((p) => existsSync(join(p, 'cgroup.procs')));
}

/** Brings up the machine: network namespace and link, containerd, images. Nothing of Kubernetes yet. */
export async function startWorker(w: Worker, podSubnet: string): Promise<void> {
  if (!existsSync(`/run/netns/${w.netns}`)) {
    await run('ip', ['netns', 'add', w.netns]);
    await run('ip', ['link', 'add', `${w.netns}h`, 'type', 'veth', 'peer', 'name', `${w.netns}n`]);
    await run('ip', ['link', 'set', `${w.netns}n`, 'netns', w.netns]);
    await run('ip', ['-n', w.netns, 'link', 'set', `${w.netns}n`, 'name', 'eth0']);
    await run('ip', ['addr', 'add', `${w.hostSideIP}/24`, 'dev', `${w.netns}h`]);
    await run('ip', ['link', 'set', `${w.netns}h`, 'up']);
    await run('ip', ['-n', w.netns, 'addr', 'add', `${w.ip}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', w.netns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', w.netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', w.netns, 'route', 'add', 'default', 'via', w.hostSideIP]);
    await run('ip', ['netns', 'exec', w.netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await tryRun('ip', ['netns', 'exec', w.netns, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1']);
  }
  for (const h of cgroupHierarchies()) await mkdir(join(h, w.cgroupRoot), { recursive: true });
  if (!daemons.pid(`${w.name}-machine`)) {
    await daemons.start({ name: `${w.name}-machine`, command: 'unshare', args: ['--mount', '--propagation', 'private', 'sleep', 'infinity'] });
    await waitFor(`${w.name} mount namespace`, async () => {
      const pid = machinePid(w);
      return (await run('readlink', [`/proc/${pid}/ns/mnt`])).stdout !== (await run('readlink', ['/proc/self/ns/mnt'])).stdout;
    }, 5000, 50);
    for (const [path, dir] of Object.entries(MACHINE_PATHS)) {
      await mkdir(path, { recursive: true }); // the mount point, empty on the host
      await mkdir(join(w.dir, dir), { recursive: true });
      await run('nsenter', ['--target', String(machinePid(w)), '--mount', '--', 'mount', '--bind', join(w.dir, dir), path]);
    }
  }
  await mkdir(join(w.dir, 'cni', 'net.d'), { recursive: true });
  await mkdir(join(c.runDir, 'workers', w.name), { recursive: true });
  await writeFile(join(w.dir, 'containerd.toml'), containerdConfig(c, containerdLayout(w)));
  await writeFile(join(w.dir, 'cni', 'net.d', '10-worker.conflist'), cniConfig(w, podSubnet));
  const containerd = `${w.name}-containerd`;
  await daemons.start({ name: containerd, ...inMachine(w, 'containerd', [`--config=${join(w.dir, 'containerd.toml')}`]) });
  await waitFor(`${containerd} to answer`, async () => {
    if (!daemons.pid(containerd)) throw new GiveUp(`${containerd} exited:\n${await daemons.tail(containerd)}`);
    return tryRun('ctr', ['--address', w.containerdSocket, 'version']);
  }, 30_000);
  const target: ImageTarget = { name: w.name, socket: w.containerdSocket };
  const needed = new Set([pauseImage, helloImage, `registry.k8s.io/kube-proxy:${c.versions.kubernetes}`, `registry.k8s.io/coredns/coredns:${c.versions.coredns}`]);
  await loadImages(c, target, (ref) => needed.has(ref));
  log.info({ worker: w.name, ip: w.ip }, 'worker machine is up');
}

/** Flags this machine needs whatever the cluster's kubelet-config says: cgroup v1 and a cgroup parent of its own. */
function machineKubeletFlags(w: Worker): string[] {
  return ['--cgroup-driver=cgroupfs', '--fail-cgroupv1=false', '--fail-swap-on=false', `--cgroup-root=${w.cgroupRoot}`, `--node-ip=${w.ip}`];
}

function kubeadmKubeletFlags(w: Worker): string[] {
  const file = machinePath(w, '/var/lib/kubelet', 'kubeadm-flags.env');
  const m = /KUBELET_KUBEADM_ARGS="([^"]*)"/.exec(readFileSync(file, 'utf8'));
  return m?.[1]?.split(/\s+/).filter(Boolean) ?? [];
}

/**
 * Runs the real `kubeadm join` on the machine. kubeadm writes the kubelet's files and then waits for the
 * kubelet's TLS bootstrap; with no systemd here, the machine starts the kubelet itself once kubeadm has
 * written them, exactly as the kubelet unit of a kubeadm install would.
 */
export async function joinWorker(w: Worker, joinCommand: string): Promise<{ output: string }> {
  const args = joinCommand.trim().split(/\s+/);
  if (args[0] !== 'kubeadm' || args[1] !== 'join') throw new Error(`not a kubeadm join command: ${joinCommand}`);
  const kubeadm = join(c.bin.kubernetes, 'kubeadm');
  const { command, args: fullArgs } = inMachine(w, kubeadm, [...args.slice(1), `--node-name=${w.netns}`,
    `--cri-socket=unix://${w.containerdSocket}`, '--ignore-preflight-errors=all', '--v=1']);
  let output = '';
  const child = spawn(command, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  let code: number | undefined;
  void exited.then((x) => (code = x));
  await waitFor('kubeadm to write the kubelet configuration', async () => {
    if (code !== undefined) throw new GiveUp(`kubeadm join exited ${code} before configuring the kubelet:\n${output}`);
    return existsSync(machinePath(w, '/var/lib/kubelet', 'config.yaml')) && existsSync(machinePath(w, '/var/lib/kubelet', 'kubeadm-flags.env'))
      && existsSync(machinePath(w, '/etc/kubernetes', 'bootstrap-kubelet.conf'));
  }, 120_000);
  await daemons.start({
    name: `${w.name}-kubelet`,
    ...inMachine(w, join(c.bin.kubernetes, 'kubelet'), [
      '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf', '--kubeconfig=/etc/kubernetes/kubelet.conf',
      '--config=/var/lib/kubelet/config.yaml', ...kubeadmKubeletFlags(w), ...machineKubeletFlags(w), '--v=1',
    ]),
  });
  const result = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-1), 240_000))]);
  if (result !== 0) throw new Error(`kubeadm join ${result === -1 ? 'timed out' : `exited ${result}`}:\n${output}\nkubelet:\n${await daemons.tail(`${w.name}-kubelet`)}`);
  log.info({ worker: w.name }, 'kubeadm join succeeded');
  return { output };
}

async function removeCgroup(path: string): Promise<void> {
  if (!existsSync(path)) return;
  for (const entry of await readdir(path, { withFileTypes: true })) if (entry.isDirectory()) await removeCgroup(join(path, entry.name));
  await rmdir(path).catch(() => undefined);
}

/** Stops everything of the machine and removes its namespace, mounts, cgroups and kubeadm's files. */
export async function removeWorker(w: Worker): Promise<void> {
  await daemons.stop(`${w.name}-kubelet`);
  if (daemons.pid(`${w.name}-containerd`)) await killContainers(w.containerdSocket);
  await daemons.stop(`${w.name}-containerd`);
  await daemons.stop(`${w.name}-machine`); // its mount namespace, and every mount in it, goes with it
  await unmountAll(mountsUnder([w.dir, join(c.runDir, 'workers', w.name)]));
  if (existsSync(`/run/netns/${w.netns}`)) await tryRun('ip', ['netns', 'delete', w.netns]);
  await tryRun('ip', ['link', 'delete', `${w.netns}h`]);
  for (const h of cgroupHierarchies()) await removeCgroup(join(h, w.cgroupRoot));
  // the empty mount point the test bed made on the host
  if (existsSync('/etc/kubernetes') && (await readdir('/etc/kubernetes')).length === 0) await rmdir('/etc/kubernetes');
  await rm(w.dir, { recursive: true, force: true });
  await rm(join(c.runDir, 'workers', w.name), { recursive: true, force: true });
  log.info({ worker: w.name }, 'worker machine removed');
}

/** Every worker machine that has state on this host. */
export function existingWorkers(): Worker[] {
  const dir = join(c.stateDir, 'workers');
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const fromNetns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => /^kctb-w\d+$/.test(n)).map((n) => n.slice(5)) : [];
  return [...new Set([...names, ...fromNetns])].filter((n) => /^w\d+$/.test(n)).map((n) => workerFor(Number(n.slice(1))));
}
