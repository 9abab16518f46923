// The host cluster's other nodes: machines (machine.ts) with their own containerd, kubelet and kube-proxy,
// registered with certificates of the test bed's CA like the host node. Their pod ranges are routed by the
// host, so the host cluster has one flat pod network across its nodes, as a CNI would give it; replicas spread
// over nodes, and a node can be lost (cutHostNode) and brought back.
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { run, tryRun } from './exec.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { nodeReady } from './host-kubectl.ts';
import { log } from './log.ts';
import { testbedConfig as c } from './config.ts';
import { hostNodes, kubeletConfig, kubeProxyConfig, type HostNode } from './components.ts';
import { cutMachine, existingMachineNames, inMachine, machineFor, machineDaemons, machineImageTarget, removeMachine, startMachine, type Machine } from './machine.ts';
import { testbedNode, type ImageTarget } from './images.ts';
import { installPublicGuard, plugIntoPublic, setPublicPort, unplugFromPublic } from './public-network.ts';
import { startKeepalived } from './vip.ts';

export interface HostNodeMachine {
  index: number;
  node: HostNode;
  machine: Machine;
}

export function hostNodeMachines(): HostNodeMachine[] {
  return hostNodes(c).map((node, i) => {
    const index = c.hostNodeIndexes[i]!;
    return { index, node, machine: machineFor('n', c.hostNodeLinkOctet, index) };
  });
}

export function hostNodeMachine(nodeName: string): HostNodeMachine {
  const found = hostNodeMachines().find((h) => h.node.nodeName === nodeName);
  if (!found) throw new Error(`${nodeName} is not one of the test bed's node machines (${hostNodeMachines().map((h) => h.node.nodeName).join(', ')})`);
  return found;
}

/** Kubeconfigs and config files of every node machine (they read them from the host's folders). */
export async function writeHostNodeFiles(): Promise<void> {
  const server = `https://${c.hostIP}:${c.apiserverPort}`;
  for (const { node } of hostNodeMachines()) {
    await writeKubeconfig(node.kubeletKubeconfig, { server, pkiDir: c.pkiDir, cert: node.clientCert, user: `system:node:${node.nodeName}` });
    await writeFile(node.kubeletConfigFile, kubeletConfig(c, node));
    await writeFile(node.kubeProxyConfigFile, kubeProxyConfig(c, node));
  }
}

/** kube-proxy's health endpoint inside the machine's network namespace. */
async function kubeProxyHealthy(m: Machine): Promise<boolean> {
  return tryRun('ip', ['netns', 'exec', m.netns, process.execPath, '-e',
    "fetch('http://127.0.0.1:10256/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]);
}

/** Starts one node machine and waits until its node is Ready and its kube-proxy serves. */
export async function startHostNode({ node, machine: m }: HostNodeMachine): Promise<void> {
  const started = Date.now();
  await startMachine(m, { podSubnet: node.podSubnet, masquerade: false });
  // the link up again if a test that cut it (setNodeLinks) was interrupted; then the host routes the node's
  // pod range to it: one pod network across the host's nodes
  await run('ip', ['link', 'set', `${m.netns}h`, 'up']);
  await run('ip', ['route', 'replace', node.podSubnet, 'via', m.ip]);
  // its second interface on the public network, the guard keeping the public side out of pods and Services, the VIP
  await plugIntoPublic({ name: m.name, netns: m.netns, ifname: 'eth1', ip: publicAddress(node.nodeName) });
  await installPublicGuard(m.netns);
  await startKeepalived({ nodeName: node.nodeName, machine: m, ifname: 'eth1' }, machineDaemons);
  await machineDaemons.startAndWait(inMachine(m, `${m.name}-kubelet`, join(c.bin.kubernetes, 'kubelet'), [
    `--config=${node.kubeletConfigFile}`, `--kubeconfig=${node.kubeletKubeconfig}`, `--hostname-override=${node.nodeName}`,
    `--node-ip=${node.ip}`, `--cgroup-root=${m.cgroupRoot}`, '--v=1',
  ]), () => nodeReady(node.nodeName), 120_000);
  await machineDaemons.startAndWait(inMachine(m, `${m.name}-kube-proxy`, join(c.bin.kubernetes, 'kube-proxy'), [`--config=${node.kubeProxyConfigFile}`, '--v=1']),
    () => kubeProxyHealthy(m), 60_000);
  log.info({ node: node.nodeName, ip: node.ip, ms: Date.now() - started }, 'host node machine is up');
}

/** The node's address on the public network (testbedConfig.public.nodeAddresses). */
export function publicAddress(nodeName: string): string {
  const ip = c.public.nodeAddresses[nodeName];
  if (!ip) throw new Error(`${nodeName} has no address on the public network`);
  return ip;
}

/** Loses a node at once (both links down, every process killed), as a power cut would. */
export async function cutHostNode(h: HostNodeMachine): Promise<void> {
  await setPublicPort(h.machine.name, false).catch(() => undefined);
  await cutMachine(h.machine);
}

/**
 * Pulls the node's public cable (`connected` false) or plugs it back; its cluster link and processes stay.
 * MetalLB's L2 leader election runs over memberlist on the cluster link, so this alone moves no load balancer
 * address; keepalived's VRRP runs on the public network, so the VIP does move.
 */
export const setPublicLink = (nodeName: string, connected: boolean): Promise<void> => setPublicPort(publicPortOf(nodeName), connected);

/**
 * Cuts (`connected` false) or restores both links of a node, its processes running on: a node whose network
 * failed. The speakers' memberlist then loses it, and another announcer takes its addresses over.
 */
export async function setNodeLinks(nodeName: string, connected: boolean): Promise<void> {
  if (nodeName === c.nodeName) throw new Error('the host node has no cluster link to cut');
  const { node, machine } = hostNodeMachine(nodeName);
  await setPublicPort(publicPortOf(nodeName), connected);
  await run('ip', ['link', 'set', `${machine.netns}h`, connected ? 'up' : 'down']);
  // the kernel dropped the routes through the link when it went down
  if (connected) await run('ip', ['route', 'replace', node.podSubnet, 'via', machine.ip]);
}

const publicPortOf = (nodeName: string): string => (nodeName === c.nodeName ? 'host' : hostNodeMachine(nodeName).machine.name);

/** Stops a node machine; its image store is kept for the next start. */
export async function removeHostNode(h: HostNodeMachine): Promise<void> {
  await unplugFromPublic(h.machine.name);
  await removeMachine(h.machine, { keepImages: true });
  await tryRun('ip', ['route', 'del', h.node.podSubnet]);
}

/** Node machines with state on this host (also those of a test bed configured with more of them). */
export function existingHostNodeMachines(): Machine[] {
  return existingMachineNames(/^n\d+$/).map((n) => machineFor('n', c.hostNodeLinkOctet, Number(n.slice(1))));
}

/** Every node of the host cluster as a place to import images into: the host node and the node machines. */
export function hostNodeImageTargets(): ImageTarget[] {
  return [testbedNode(c), ...hostNodeMachines().map((h) => machineImageTarget(h.machine))];
}
