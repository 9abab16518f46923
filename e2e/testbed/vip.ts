// The public network's stable VIP (10.196.0.10) for NodePort tenants: keepalived from Debian (VRRP, unicast
// between the nodes' public addresses) on every host node; the live node of highest priority holds it
// (n2 150, n3 140, the host node 50), so an endpoint handed out on the VIP survives the loss of a node.
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { run } from './exec.ts';
import { DaemonSet, waitFor } from './daemons.ts';
import { testbedConfig as c } from './config.ts';
import { inMachine, machineDaemons, machineFor, type Machine } from './machine.ts';

const pub = c.public;
const VRID = 96;

/** Where keepalived runs for one node: its machine (undefined: the host node) and its public interface. */
export interface VipNode {
  nodeName: string;
  machine?: Machine;
  ifname: string;
}

/** keepalived.conf of one node: one VRRP instance, unicast to the other nodes, the VIP on its public interface. */
export function keepalivedConfig(nodeName: string, ifname: string): string {
  const self = pub.nodeAddresses[nodeName];
  const priority = pub.vipPriorities[nodeName];
  if (!self || priority === undefined) throw new Error(`${nodeName} has no public address or VRRP priority in testbedConfig.public`);
  const peers = Object.entries(pub.nodeAddresses).filter(([n]) => n !== nodeName).map(([, ip]) => ip);
  return `global_defs {
  router_id ${nodeName}
  vrrp_garp_master_delay 1
  vrrp_garp_master_refresh 10
}
vrrp_instance kctb_public_vip {
  state BACKUP
  interface ${ifname}
  virtual_router_id ${VRID}
  priority ${priority}
  advert_int 1
  unicast_src_ip ${self}
  unicast_peer {
${peers.map((p) => `    ${p}`).join('\n')}
  }
  virtual_ipaddress {
    ${pub.vip}/32 dev ${ifname}
  }
}
`;
}

/** Every host node as a VRRP member: the host node on kctbpub, node machine n<i> on its eth1. */
export function vipNodes(): VipNode[] {
  return [
    { nodeName: c.nodeName, ifname: pub.hostLink },
    ...c.hostNodeIndexes.map((i) => ({ nodeName: `${c.nodeName}-${i}`, machine: machineFor('n', c.hostNodeLinkOctet, i), ifname: 'eth1' })),
  ];
}

const daemonName = (v: VipNode): string => (v.machine ? `${v.machine.name}-keepalived` : 'keepalived');

/** Starts keepalived for the node (idempotent: a running one is kept). */
export async function startKeepalived(v: VipNode, daemons: DaemonSet): Promise<void> {
  const dir = join(c.runDir, 'keepalived', v.machine?.name ?? 'host');
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'keepalived.conf');
  await writeFile(conf, keepalivedConfig(v.nodeName, v.ifname));
  const args = ['--dont-fork', '--log-console', '--no-syslog', '--vrrp', `--use-file=${conf}`,
    `--pid=${join(dir, 'keepalived.pid')}`, `--vrrp_pid=${join(dir, 'vrrp.pid')}`, `--checkers_pid=${join(dir, 'checkers.pid')}`];
  const name = daemonName(v);
  const spec = v.machine ? inMachine(v.machine, name, 'keepalived', args) : { name, command: 'keepalived', args };
  await (v.machine ? machineDaemons : daemons).start(spec);
}

async function holdsVip(netns: string | undefined, ifname: string): Promise<boolean> {
  const { stdout } = await run('ip', [...(netns ? ['-n', netns] : []), '-o', '-4', 'addr', 'show', 'dev', ifname]).catch(() => ({ stdout: '' }));
  return stdout.includes(` ${pub.vip}/`);
}

/** The nodes that hold the VIP now (more than one only for a moment while a node comes back). */
export async function vipHolders(nodes: VipNode[] = vipNodes()): Promise<string[]> {
  const held = await Promise.all(nodes.map(async (v) => ((await holdsVip(v.machine?.netns, v.ifname)) ? v.nodeName : undefined)));
  return held.filter((n): n is string => n !== undefined);
}

/** The Kubernetes node name of the machine that holds the VIP now, or undefined when none does. */
export async function vipHolderNode(): Promise<string | undefined> {
  return (await vipHolders())[0];
}

/** Waits until some node holds the VIP. */
export async function waitForVip(nodes: VipNode[] = vipNodes(), timeoutMs = 30_000): Promise<void> {
  await waitFor(`a node to hold the VIP ${pub.vip}`, async () => (await vipHolders(nodes)).length > 0, timeoutMs, 200);
}
