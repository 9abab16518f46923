// Kubernetes versions a TenantControlPlane may run, and the versions of the parts that go with each minor.
// The CRD's `spec.version` enum is generated from SUPPORTED_VERSIONS, so adding a version here and running
// `npm run crds` is all it takes to offer it (plus images for the parts below).

/** Versions a tenant control plane may run, oldest first, newest last (the test bed builds the newest). */
export const SUPPORTED_VERSIONS = ['v1.34.4', 'v1.35.4', 'v1.36.5'] as const;

export type SupportedVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The newest supported version: what a tenant gets when a client does not choose. */
export const LATEST_VERSION: SupportedVersion = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]!;

export interface KubernetesVersion {
  major: number;
  minor: number;
  patch: number;
}

// Release versions only (`v1.36.5`): pre-releases are never offered to tenants.
const VERSION_PATTERN = /^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

/** Parses `vMAJOR.MINOR.PATCH`; throws a descriptive error on anything else. */
export function parseVersion(version: string): KubernetesVersion {
  const match = VERSION_PATTERN.exec(version);
  if (!match) {
    throw new Error(`"${version}" is not a Kubernetes release version such as ${LATEST_VERSION}`);
  }
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function isVersion(version: string): boolean {
  return VERSION_PATTERN.test(version);
}

/** Orders two versions: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

export function isSupportedVersion(version: string): version is SupportedVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/** `v1.36.5` -> `1.36`: the key of the per-minor tables below. */
export function minorOf(version: string): string {
  const { major, minor } = parseVersion(version);
  return `${major}.${minor}`;
}

export type VersionChange =
  | { ok: true }
  | { ok: false; problem: 'lowered' | 'skips-minor'; reason: string };

/**
 * Whether a running control plane may move from one version to another. Kubernetes supports neither
 * downgrades (storage versions and etcd data only move forward) nor skipping a minor version
 * (kube-apiserver and controllers must pass every minor), so: same or higher, at most one minor up.
 */
export function checkVersionChange(from: string, to: string): VersionChange {
  const a = parseVersion(from);
  const b = parseVersion(to);
  if (compareVersions(to, from) < 0) {
    return { ok: false, problem: 'lowered', reason: `version may not be lowered (from ${from} to ${to}): downgrades are not supported` };
  }
  if (a.major !== b.major || b.minor - a.minor > 1) {
    return { ok: false, problem: 'skips-minor', reason: `version may be raised by one minor version at a time (from ${from} to ${to})` };
  }
  return { ok: true };
}

// etcd image tags (registry.k8s.io/etcd:<tag>) as kubeadm v1.36.5 pins them per control-plane minor
// (cmd/kubeadm/app/constants SupportedEtcdVersion): 1.34..1.36 all moved to 3.6.8-0 in their patch releases.
const ETCD_VERSION_BY_MINOR: Readonly<Record<string, string>> = {
  '1.34': '3.6.8-0',
  '1.35': '3.6.8-0',
  '1.36': '3.6.8-0',
};

// CoreDNS image tags (registry.k8s.io/coredns/coredns:<tag>) that kubeadm of each minor deploys.
const COREDNS_VERSION_BY_MINOR: Readonly<Record<string, string>> = {
  '1.34': 'v1.12.1',
  '1.35': 'v1.13.1',
  '1.36': 'v1.14.2',
};

function lookupByMinor(table: Readonly<Record<string, string>>, what: string, version: string): string {
  const found = table[minorOf(version)];
  if (found === undefined) {
    throw new Error(`no ${what} version is known for Kubernetes ${version}; supported: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return found;
}

/** etcd image tag for a control plane of this Kubernetes version, e.g. `3.6.8-0`. */
export function etcdVersionFor(version: string): string {
  return lookupByMinor(ETCD_VERSION_BY_MINOR, 'etcd', version);
}

/** CoreDNS image tag for a tenant cluster of this Kubernetes version, e.g. `v1.14.2`. */
export function coreDNSVersionFor(version: string): string {
  return lookupByMinor(COREDNS_VERSION_BY_MINOR, 'CoreDNS', version);
}

/**
 * apiserver-network-proxy (konnectivity) images, `<registry>/kas-network-proxy/proxy-server:<tag>` and
 * `proxy-agent:<tag>`: one release for every supported minor (its protocol does not follow Kubernetes').
 * The test bed builds the same release (e2e/build/versions.env KONNECTIVITY_VERSION, kept equal by a test).
 */
export const KONNECTIVITY_VERSION = 'v0.36.0';

/**
 * The CNI add-on's images under flannel's upstream names (Documentation/kube-flannel.yml):
 * `ghcr.io/flannel-io/flannel:<FLANNEL_VERSION>` (flanneld, install-conf, iptables) and
 * `ghcr.io/flannel-io/flannel-cni-plugin:<FLANNEL_CNI_PLUGIN_VERSION>` (the `flannel` CNI plugin its init
 * container copies onto the node). The test bed builds the same releases (e2e/build/versions.env, kept equal
 * by a test): the plugin is containernetworking/plugins' plugins/meta/flannel, whose last release is v0.9.1.
 */
export const FLANNEL_VERSION = 'v0.28.10';
export const FLANNEL_CNI_PLUGIN_VERSION = 'v0.9.1';
export const FLANNEL_IMAGE_REGISTRY = 'ghcr.io/flannel-io';
