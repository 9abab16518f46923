// The test bed's network: the pod bridge (which also holds the host's address), routes for the
// Service range, and a guard so no packet from the test bed's ranges leaves the machine. Teardown
// removes all of it, including the iptables chains kubelet and kube-proxy made.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { run, tryRun } from './exec.ts';
import type { TestbedConfig } from './config.ts';

const GUARD_CHAIN = 'KCTB-GUARD';

async function linkExists(name: string): Promise<boolean> {
  return tryRun('ip', ['link', 'show', name]);
}

async function defaultRouteInterface(): Promise<string | undefined> {
  const { stdout } = await run('ip', ['-o', 'route', 'show', 'default']);
  return /dev (\S+)/.exec(stdout)?.[1];
}

/** Ranges whose packets must stay on this machine. */
function localRanges(c: TestbedConfig, extra: string[]): string[] {
  return [c.podCIDR, c.serviceCIDR, `${c.hostIP}/32`, ...extra];
}

const NETNS_DIR = '/run/netns';

interface MountEntry {
  id: string;
  parent: string;
  point: string;
}

function mounts(): MountEntry[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => {
    const [id = '', parent = '', , , point = ''] = line.split(' ');
    return { id, parent, point };
  });
}

/**
 * /run/netns as a shared mount point of its own, made before the first pod. `ip netns add` (the worker
 * machines) bind-mounts /run/netns onto itself when it is not a mount point yet; the network namespaces
 * of pods created before that stay mounted UNDER the new mount, where nothing can unmount or delete them,
 * and every later `down` reports them as left behind (until a reboot).
 */
export async function ensureNetnsMountPoint(): Promise<void> {
  await mkdir(NETNS_DIR, { recursive: true });
  if (!mounts().some((m) => m.point === NETNS_DIR)) await run('mount', ['--bind', NETNS_DIR, NETNS_DIR]);
  await run('mount', ['--make-rshared', NETNS_DIR]);
}

/**
 * Recovers namespaces hidden under a later /run/netns mount (see ensureNetnsMountPoint; machines set up
 * by an older test bed have them): when /run/netns holds nothing but the test bed's, its own mount is
 * lifted, the hidden namespaces unmounted and removed, and the mount point made again.
 */
async function recoverHiddenNetns(prefixes: string[]): Promise<void> {
  const all = mounts();
  const own = all.filter((m) => m.point === NETNS_DIR).at(-1);
  if (!own) return;
  const ours = (point: string) => prefixes.some((p) => point.startsWith(`${NETNS_DIR}/${p}`));
  const hidden = all.filter((m) => ours(m.point) && m.parent !== own.id);
  if (hidden.length === 0) return;
  const foreign = (await readdir(NETNS_DIR)).filter((n) => !ours(`${NETNS_DIR}/${n}`));
  if (foreign.length) return; // other network namespaces live there: not ours to disturb
  await run('umount', [NETNS_DIR]);
  for (const m of hidden) {
    await tryRun('umount', [m.point]);
    await rm(m.point, { force: true });
  }
  await ensureNetnsMountPoint();
}

export async function setUpNetwork(c: TestbedConfig, extraRanges: string[] = []): Promise<void> {
  await ensureNetnsMountPoint();
  await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  if (existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
    await run('sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=1']);
  }
  // The CNI bridge plugin reuses a bridge of this name; making it now gives the host address and the
  // Service route a device before the first pod starts. The host address lives on the bridge (this
  // kernel has no dummy interfaces), so pods and worker machines reach the API server and DNS there.
  if (!(await linkExists(c.bridge))) {
    await run('ip', ['link', 'add', c.bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${c.bridgeGateway}/${c.nodePodSubnet.split('/')[1]}`, 'dev', c.bridge]);
    await run('ip', ['addr', 'add', `${c.hostIP}/32`, 'dev', c.bridge]);
  }
  await run('ip', ['link', 'set', c.bridge, 'up']);
  // Service IPs are virtual: kube-proxy rewrites them. Until it has, they must not follow the default route.
  await run('ip', ['route', 'replace', c.serviceCIDR, 'dev', c.bridge]);
  await installGuard(c, extraRanges);
}

async function installGuard(c: TestbedConfig, extraRanges: string[]): Promise<void> {
  const uplink = await defaultRouteInterface();
  await tryRun('iptables', ['-N', GUARD_CHAIN]);
  await run('iptables', ['-F', GUARD_CHAIN]);
  if (uplink) {
    for (const range of localRanges(c, extraRanges)) {
      await run('iptables', ['-A', GUARD_CHAIN, '-s', range, '-o', uplink, '-j', 'DROP']);
      await run('iptables', ['-A', GUARD_CHAIN, '-d', range, '-o', uplink, '-j', 'DROP']);
    }
  }
  for (const chain of ['FORWARD', 'OUTPUT']) {
    if (!(await tryRun('iptables', ['-C', chain, '-j', GUARD_CHAIN]))) {
      await run('iptables', ['-I', chain, '1', '-j', GUARD_CHAIN]);
    }
  }
}

/** Removes every chain and rule named KUBE-* (kubelet, kube-proxy), CNI-* and ours, in every table. */
async function removeIptablesState(binary: 'iptables' | 'ip6tables'): Promise<void> {
  const save = await run(`${binary}-save`, []).catch(() => undefined);
  if (!save) return;
  const ours = /(KUBE-|CNI-|KCTB-)/;
  const kept = save.stdout.split('\n').filter((line) => !ours.test(line));
  if (kept.length === save.stdout.split('\n').length) return;
  await run(`${binary}-restore`, [], { input: kept.join('\n') + '\n' });
}

/** Network namespaces the CNI made for pods (cni-<uuid>) and the test bed's own worker namespaces. */
async function testbedNetns(prefixes: string[]): Promise<string[]> {
  if (!existsSync('/run/netns')) return [];
  return (await readdir('/run/netns')).filter((n) => prefixes.some((p) => n.startsWith(p)));
}

export async function tearDownNetwork(c: TestbedConfig, netnsPrefixes: string[]): Promise<void> {
  await recoverHiddenNetns(netnsPrefixes);
  for (const ns of await testbedNetns(netnsPrefixes)) await tryRun('ip', ['netns', 'delete', ns]);
  await tryRun('ip', ['route', 'del', c.serviceCIDR]);
  await tryRun('ip', ['link', 'delete', c.bridge]);
  // veths left by pods whose sandbox was not torn down by the runtime
  const { stdout } = await run('ip', ['-o', 'link', 'show', 'type', 'veth']);
  for (const m of stdout.matchAll(/^\d+: (veth[0-9a-f]+)@/gm)) await tryRun('ip', ['link', 'delete', m[1]!]);
  await removeIptablesState('iptables');
  await removeIptablesState('ip6tables');
}

/** What of the test bed's network is still there (for status and for the leak check of down). */
export async function networkLeftovers(c: TestbedConfig, netnsPrefixes: string[]): Promise<string[]> {
  const left: string[] = [];
  if (await linkExists(c.bridge)) left.push(`link ${c.bridge}`);
  for (const ns of await testbedNetns(netnsPrefixes)) left.push(`netns ${ns}`);
  const save = await run('iptables-save', []).catch(() => ({ stdout: '' }));
  const chains = save.stdout.split('\n').filter((l) => /^:(KUBE-|CNI-|KCTB-)/.test(l));
  if (chains.length) left.push(`${chains.length} iptables chains`);
  return left;
}
