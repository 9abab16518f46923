// The test bed's "public" network: one L2 segment, as a provider's public LAN. A switch (bridge pub0 in the
// network namespace kctb-pub) has a port per member: the host node (veth kctbpub in the root namespace), each
// node machine (its second interface, eth1), the customer and the NAT router. MetalLB answers ARP for the
// pool's addresses on it and keepalived moves the VIP over it. Everything here is idempotent; `down`
// removes it with the test bed's namespaces (the veths die with them) and its iptables chains.
import { existsSync } from 'node:fs';
import { run, tryRun } from './exec.ts';
import { testbedConfig as c } from './config.ts';

const pub = c.public;

/** The mangle chain that drops packets from the public network to the host's pod and Service ranges. */
export const PUBLIC_GUARD_CHAIN = 'KCTB-PUBLIC';

/** A member of the public network: where its interface lives and which address it has there. */
export interface PublicMember {
  /** Short name: the switch port is `p-<name>`. */
  name: string;
  /** Network namespace of the member's interface; undefined: the root namespace. */
  netns?: string;
  ifname: string;
  ip: string;
}

export const switchPort = (member: string): string => `p-${member}`;
const inNetns = (netns: string | undefined, ...args: string[]): string[] => (netns ? ['-n', netns, ...args] : args);
export const netnsExists = (netns: string): boolean => existsSync(`/run/netns/${netns}`);

async function linkIn(netns: string | undefined, name: string): Promise<boolean> {
  return tryRun('ip', inNetns(netns, 'link', 'show', name));
}

/** The switch: its namespace and bridge. Multicast snooping off so VRRP and ARP reach every port. */
export async function ensureSwitch(): Promise<void> {
  if (!netnsExists(pub.switchNetns)) await run('ip', ['netns', 'add', pub.switchNetns]);
  if (!(await linkIn(pub.switchNetns, pub.bridge))) {
    await run('ip', ['-n', pub.switchNetns, 'link', 'add', pub.bridge, 'type', 'bridge', 'mcast_snooping', '0']);
  }
  await run('ip', ['-n', pub.switchNetns, 'link', 'set', pub.bridge, 'up']);
}

/** Plugs a member into the switch: a veth from port p-<name> to the member's interface, with its address. */
export async function plugIntoPublic(m: PublicMember): Promise<void> {
  await ensureSwitch();
  const port = switchPort(m.name);
  // A port whose other end is gone: the member's namespace was deleted and made again, and the kernel
  // removes the old pair only a moment later (namespace cleanup is asynchronous). Delete it now.
  if ((await linkIn(pub.switchNetns, port)) && !(await linkIn(m.netns, m.ifname))) await unplugFromPublic(m.name);
  if (!(await linkIn(pub.switchNetns, port))) {
    await tryRun('ip', inNetns(m.netns, 'link', 'delete', m.ifname)); // a half-made pair from an interrupted run
    if (m.netns) await run('ip', ['-n', pub.switchNetns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', m.ifname, 'netns', m.netns]);
    else await run('ip', ['link', 'add', m.ifname, 'type', 'veth', 'peer', 'name', port, 'netns', pub.switchNetns]);
    await run('ip', ['-n', pub.switchNetns, 'link', 'set', port, 'master', pub.bridge]);
  }
  await run('ip', ['-n', pub.switchNetns, 'link', 'set', port, 'up']);
  await run('ip', inNetns(m.netns, 'addr', 'replace', `${m.ip}/${pub.prefixLength}`, 'dev', m.ifname));
  await run('ip', inNetns(m.netns, 'link', 'set', m.ifname, 'up'));
}

/** Removes a member's port from the switch (and so its interface: a veth pair goes as a whole). */
export async function unplugFromPublic(member: string): Promise<void> {
  if (netnsExists(pub.switchNetns)) await tryRun('ip', ['-n', pub.switchNetns, 'link', 'delete', switchPort(member)]);
}

/** Pulls a member's cable (`up` false) or plugs it back: the switch port goes down, the member loses carrier. */
export async function setPublicPort(member: string, up: boolean): Promise<void> {
  await run('ip', ['-n', pub.switchNetns, 'link', 'set', switchPort(member), up ? 'up' : 'down']);
}

/**
 * Drops packets that come from the public network and are addressed to the host's pod or Service ranges,
 * in the mangle table (before kube-proxy's DNAT: traffic to a load balancer address, DNATed to a pod, still
 * passes). A customer that adds a static route through a node still reaches nothing inside.
 */
export async function installPublicGuard(netns?: string): Promise<void> {
  const argv = (args: string[]): [string, string[]] => (netns ? ['ip', ['netns', 'exec', netns, 'iptables', ...args]] : ['iptables', args]);
  const ipt = (...args: string[]) => run(...argv(['-t', 'mangle', ...args]));
  const tryIpt = (...args: string[]) => tryRun(...argv(['-t', 'mangle', ...args]));
  await tryIpt('-N', PUBLIC_GUARD_CHAIN);
  await ipt('-F', PUBLIC_GUARD_CHAIN);
  for (const range of [c.podCIDR, c.serviceCIDR]) await ipt('-A', PUBLIC_GUARD_CHAIN, '-s', pub.cidr, '-d', range, '-j', 'DROP');
  if (!(await tryIpt('-C', 'PREROUTING', '-j', PUBLIC_GUARD_CHAIN))) await ipt('-I', 'PREROUTING', '1', '-j', PUBLIC_GUARD_CHAIN);
}

/** The host node on the public network: veth kctbpub with 10.196.0.1, and the guard in the root namespace. */
export async function ensureHostOnPublic(): Promise<void> {
  await plugIntoPublic({ name: 'host', ifname: pub.hostLink, ip: pub.nodeAddresses[c.nodeName]! });
  await installPublicGuard();
}

/** The customer: a namespace on the public network with no route beyond it (no default route). */
export async function ensureCustomer(): Promise<void> {
  const ns = pub.customer.netns;
  if (!netnsExists(ns)) await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await plugIntoPublic({ name: 'customer', netns: ns, ifname: 'eth0', ip: pub.customer.ip });
}

/**
 * The NAT router: on the public network (eth0) and the gateway of the NAT'd workers' links (their host
 * side veths end here, machine.ts). It masquerades what leaves for the public network and forwards back
 * only replies: nothing outside can open a connection inward. It has no default route.
 */
export async function ensureRouter(): Promise<void> {
  const ns = pub.router.netns;
  if (!netnsExists(ns)) await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await plugIntoPublic({ name: 'router', netns: ns, ifname: 'eth0', ip: pub.router.ip });
  const ipt = (...args: string[]) => run('ip', ['netns', 'exec', ns, 'iptables', ...args]);
  await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await ipt('-t', 'nat', '-F', 'POSTROUTING');
  await ipt('-t', 'nat', '-A', 'POSTROUTING', '-s', pub.router.insideCIDR, '-o', 'eth0', '-j', 'MASQUERADE');
  await ipt('-F', 'FORWARD');
  await ipt('-P', 'FORWARD', 'DROP');
  await ipt('-A', 'FORWARD', '-i', 'eth0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
  await ipt('-A', 'FORWARD', '-o', 'eth0', '-s', pub.router.insideCIDR, '-j', 'ACCEPT');
}

/** The public network's own namespaces and the host's veth, for `down`'s leak check. */
export async function publicLeftovers(): Promise<string[]> {
  const left: string[] = [];
  if (await linkIn(undefined, pub.hostLink)) left.push(`link ${pub.hostLink}`);
  return left;
}
