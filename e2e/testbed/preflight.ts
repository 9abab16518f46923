// What the test bed needs from the machine, checked before anything is built (a cold Kubernetes build
// takes 15 minutes; a missing package would otherwise show up only after it). As root, missing Debian
// packages are installed with apt-get; otherwise one error names everything that is missing and the
// command that installs it. planPreflight is the pure part (facts in, action out); preflight() probes and acts.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { log } from './log.ts';

const execFileAsync = promisify(execFile);

/** The Debian packages the test bed uses, and what for. */
export const TESTBED_PACKAGES: Readonly<Record<string, string>> = {
  containerd: 'the container runtime of the test bed node and the e2e workers; ctr imports the images',
  runc: "containerd's OCI runtime",
  'containernetworking-plugins': 'the CNI bridge, host-local and loopback plugins (/usr/lib/cni)',
  iptables: "kube-proxy's rules, the guard that keeps test bed traffic off the uplink, the kube-proxy image",
  conntrack: 'kube-proxy clears conntrack entries of deleted Services',
  iproute2: 'ip: network namespaces, the bridge, the worker links',
  openssl: 'the e2e tests read certificates with it',
  kmod: 'modprobe: kube-proxy and the CNI bridge load kernel modules',
  procps: 'sysctl: IP forwarding inside the worker namespaces',
  'ca-certificates': 'Go fetches modules from proxy.golang.org over HTTPS',
  keepalived: "VRRP: the public network's stable VIP for NodePort tenants moves to a live node",
};

export interface MachineFacts {
  platform: NodeJS.Platform;
  isRoot: boolean;
  /** dpkg-query is on the PATH (a Debian machine). */
  dpkg: boolean;
  /** Packages dpkg reports as installed. */
  installed: ReadonlySet<string>;
  /** `go version`, or undefined when go is not on the PATH. */
  go: string | undefined;
}

export type PreflightPlan =
  | { action: 'none' }
  | { action: 'install'; packages: string[] }
  | { action: 'fail'; message: string };

export function aptCommand(packages: readonly string[]): string {
  return `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(' ')}`;
}

/** What to do about the machine: nothing, install packages (as root), or stop with one message naming every problem. */
export function planPreflight(facts: MachineFacts, packages: readonly string[] = Object.keys(TESTBED_PACKAGES)): PreflightPlan {
  if (facts.platform !== 'linux') {
    return { action: 'fail', message: `The test bed runs on Linux only (Debian 12, as root); this is ${facts.platform}. Set KUBECONFIG to use another cluster with npm start.` };
  }
  const missing = facts.dpkg ? packages.filter((p) => !facts.installed.has(p)) : [...packages];
  const problems: string[] = [];
  if (!facts.dpkg) {
    problems.push(`dpkg-query is not on the PATH: the test bed expects Debian 12 with these packages: ${packages.join(' ')}`);
  } else if (missing.length) {
    problems.push(`missing Debian packages: ${missing.join(', ')}. Install them as root with:\n      ${aptCommand(missing)}`);
  }
  if (!facts.isRoot) {
    problems.push('not running as root: the test bed creates network namespaces, a bridge, iptables rules, mounts and cgroups');
  }
  if (!facts.go) {
    problems.push('go is not on the PATH: Kubernetes, etcd, CoreDNS and the test images are built from Go modules (install Go 1.26 from https://go.dev/dl/)');
  }
  // As root with only packages missing, installing them is all there is to do.
  if (facts.dpkg && facts.isRoot && facts.go && missing.length) return { action: 'install', packages: missing };
  if (problems.length) {
    return { action: 'fail', message: `The test bed cannot run on this machine:\n${problems.map((p) => `  - ${p}`).join('\n')}` };
  }
  return { action: 'none' };
}

/** Installed package names from `dpkg-query -W -f '${Package}\t${db:Status-Status}\n'` (config-files etc. are not installed). */
export function parseDpkgQuery(output: string): Set<string> {
  const installed = new Set<string>();
  for (const line of output.split('\n')) {
    const [name, status] = line.trim().split('\t');
    if (name && status === 'installed') installed.add(name);
  }
  return installed;
}

async function probe(packages: readonly string[]): Promise<MachineFacts> {
  let dpkg = true;
  let output = '';
  try {
    output = (await execFileAsync('dpkg-query', ['-W', '-f=${Package}\t${db:Status-Status}\n', ...packages])).stdout;
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string };
    if (e.code === 'ENOENT') dpkg = false;
    else output = e.stdout ?? ''; // exit 1 when some package is unknown; the known ones are still listed
  }
  const go = await execFileAsync('go', ['version']).then((r) => r.stdout.trim(), () => undefined);
  return { platform: process.platform, isRoot: process.getuid?.() === 0, dpkg, installed: parseDpkgQuery(output), go };
}

/** Runs apt-get with its output (one line per step) on stderr. */
function aptGet(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('apt-get', args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`apt-get ${args.join(' ')} exited ${code}`))));
  });
}

async function check(packages: readonly string[]): Promise<void> {
  const started = Date.now();
  const facts = await probe(packages);
  const plan = planPreflight(facts, packages);
  if (plan.action === 'fail') throw new Error(plan.message);
  if (plan.action === 'install') {
    log.info({ packages: plan.packages }, 'preflight: installing the Debian packages the test bed needs (apt-get update, then apt-get install)');
    await aptGet(['update', '-q']);
    await aptGet(['install', '-y', '-q', ...plan.packages]);
    const after = planPreflight(await probe(packages), packages);
    if (after.action !== 'none') throw new Error(`preflight: apt-get finished but the machine is still not ready:\n${after.action === 'fail' ? after.message : after.packages.join(', ')}`);
  }
  log.info({ go: facts.go, seconds: (Date.now() - started) / 1000 }, 'preflight: the machine has what the test bed needs');
}

let once: Promise<void> | undefined;

/** Checks (and as root completes) the machine once per process; rejects with a message naming everything missing. */
export function preflight(packages: readonly string[] = Object.keys(TESTBED_PACKAGES)): Promise<void> {
  once ??= check(packages);
  return once;
}
