// External worker machines for the tenants (machine.ts): the real `kubeadm join` writes the machine's
// /etc/kubernetes and /var/lib/kubelet, and the machine's kubelet runs there, apart from the host's nodes.
// Their pods' traffic leaves with the machine's address, as from a machine on a network of its own.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, GiveUp } from './daemons.ts';
import { flannelCNIPluginImage, flannelImage, helloImage, konnectivityAgentImage } from './images.ts';
import { log } from './log.ts';
import { pauseImage, testbedConfig as c } from './config.ts';
import { existingMachineNames, inMachine, machineDaemons, machineFor, machinePath, removeMachine, startMachine, type Machine } from './machine.ts';

export type Worker = Machine;

/** Worker w<index>: 10.198.<index>.2. */
export const workerFor = (index: number): Worker => machineFor('w', 198, index);

/**
 * The images every tenant worker machine gets (plain and NAT'd): what a tenant runs on its nodes. One list:
 * an addon image a tenant's nodes run (e.g. the konnectivity agent) is added here, with its recipe in images.ts.
 */
export const workerImages: string[] = [
  pauseImage, helloImage, `registry.k8s.io/kube-proxy:${c.versions.kubernetes}`, `registry.k8s.io/coredns/coredns:${c.versions.coredns}`, konnectivityAgentImage(c),
  flannelImage(c), flannelCNIPluginImage(c),
];

/**
 * Brings up the machine (network, containerd, the images a worker runs). Nothing of Kubernetes yet.
 * Without `podSubnet` the machine has no pod network of its own, like a fresh kubeadm node: the tenant's CNI
 * add-on (flannel) gives it one once the machine joins. With it, the test bed's bridge networks its pods from
 * that range (a tenant whose CNI add-on is off); a CNI add-on's conflist still takes precedence once written.
 */
export async function startWorker(w: Worker, podSubnet?: string): Promise<void> {
  const needed = new Set(workerImages);
  await startMachine(w, { podSubnet, masquerade: true, images: (ref) => needed.has(ref) });
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
  const { command, args: fullArgs } = inMachine(w, 'kubeadm', kubeadm, [...args.slice(1), `--node-name=${w.netns}`,
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
  await machineDaemons.start(inMachine(w, `${w.name}-kubelet`, join(c.bin.kubernetes, 'kubelet'), [
    '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf', '--kubeconfig=/etc/kubernetes/kubelet.conf',
    '--config=/var/lib/kubelet/config.yaml', ...kubeadmKubeletFlags(w), ...machineKubeletFlags(w), '--v=1',
  ]));
  // The deadline is cleared once kubeadm exits: a pending timer would keep a finished run's process alive for minutes.
  let deadline: NodeJS.Timeout | undefined;
  const result = await Promise.race([exited, new Promise<number>((r) => (deadline = setTimeout(() => r(-1), 240_000)))]).finally(() => clearTimeout(deadline));
  if (result !== 0) throw new Error(`kubeadm join ${result === -1 ? 'timed out' : `exited ${result}`}:\n${output}\nkubelet:\n${await machineDaemons.tail(`${w.name}-kubelet`)}`);
  log.info({ worker: w.name }, 'kubeadm join succeeded');
  return { output };
}

/** Stops everything of the machine and removes its namespace, mounts, cgroups and kubeadm's files. */
export const removeWorker = (w: Worker): Promise<void> => removeMachine(w);

/** Every worker machine that has state on this host. */
export function existingWorkers(): Worker[] {
  return existingMachineNames(/^w\d+$/).map((n) => workerFor(Number(n.slice(1))));
}
