// Tenant worker machines behind NAT: worker nw<i> (a machine as in machine.ts, with containerd and, once
// joined, its kubelet) sits on its own link 192.168.<76+i>.0/24 whose other end is the NAT router
// (public-network.ts), not the host. It reaches the public network only through the router's masquerade,
// and nothing outside can open a connection to it: the control plane's connections to its kubelet need
// konnectivity. Joined like any worker (worker.ts joinWorker).
import { testbedConfig as c } from './config.ts';
import { existingMachineNames, machineFor, removeMachine } from './machine.ts';
import { ensureRouter } from './public-network.ts';
import { startWorker, type Worker } from './worker.ts';

/** NAT'd worker nw<index>: 192.168.<76+index>.2, its gateway the router at .1 (nw1: 192.168.77.2). */
export function natWorkerFor(index: number): Worker {
  const octet = 76 + index;
  if (!Number.isInteger(index) || index < 1 || octet > 255) throw new Error(`NAT worker index ${index} is not in 1..179`);
  return { ...machineFor('nw', 0, index), ip: `192.168.${octet}.2`, hostSideIP: `192.168.${octet}.1`, uplinkNetns: c.public.router.netns };
}

/**
 * Brings up NAT'd worker nw<index> (the router first, if missing): network, containerd and the worker
 * images (worker.ts workerImages). Nothing of Kubernetes yet: join it with joinWorker and a join command.
 * `podSubnet`: the test bed's bridge network for its pods (startWorker); default none, the tenant's CNI add-on
 * networks them. flannel works on the machine itself, but its VXLAN to other nodes cannot pass the NAT router.
 */
export async function startNatWorker(index: number, podSubnet?: string): Promise<Worker> {
  await ensureRouter();
  const w = natWorkerFor(index);
  await startWorker(w, podSubnet);
  return w;
}

/** Stops everything of nw<index> and removes its namespace, link, mounts, cgroups and state. */
export async function removeNatWorker(index: number): Promise<void> {
  await removeMachine(natWorkerFor(index));
}

/** Every NAT'd worker machine that has state on this host. */
export function existingNatWorkers(): Worker[] {
  return existingMachineNames(/^nw\d+$/).map((n) => natWorkerFor(Number(n.slice(2))));
}
