// The CEL rules of the TenantControlPlane schema, each with its TypeScript mirror (see cel.ts). The schema
// in tenant-control-plane.ts places them; the messages are what a user sees from `kubectl apply` and from
// the REST API alike, so they say what to fix.
import { KONNECTIVITY } from '../../core/contract.ts';
import { field, has, isPlainObject, stringField, type CelRule } from './cel.ts';
import {
  cidrsOverlap,
  containsIP,
  isNetworkAddress,
  networkAddress,
  parseCIDR,
  parseIP,
} from './net.ts';
import { compareQuantities, parseQuantity } from './quantity.ts';
import { checkVersionChange, isVersion, type VersionChange } from './versions.ts';

/** Quotes a string as a CEL string literal. */
function celString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function celList(values: readonly string[]): string {
  return `[${values.map(celString).join(', ')}]`;
}

// ---------------------------------------------------------------------------------------------------------
// Names

/** A tenant's name prefixes its Services (`<name>-apiserver`, DNS-1035 labels of at most 63 characters) and
 * its etcd StatefulSet, whose pods' `controller-revision-hash` label is `<name>-etcd-<hash>` (63 at most). */
export const MAX_TENANT_NAME_LENGTH = 40;
export const TENANT_NAME_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A certificate DNS SAN: a DNS subdomain, optionally with a leading `*.` wildcard. */
export const SAN_DNS_PATTERN = '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const FLAG_NAME_PATTERN = '^[a-z0-9]+(-[a-z0-9]+)*$';

const tenantName = new RegExp(TENANT_NAME_PATTERN);
const dnsSubdomain = new RegExp(DNS_SUBDOMAIN_PATTERN);
const sanDNS = new RegExp(SAN_DNS_PATTERN);
const flagName = new RegExp(FLAG_NAME_PATTERN);

function isTenantName(name: unknown): boolean {
  return typeof name === 'string' && name.length <= MAX_TENANT_NAME_LENGTH && tenantName.test(name);
}

export const tenantNameRule: CelRule = {
  rule: `self.metadata.name.size() <= ${MAX_TENANT_NAME_LENGTH} && self.metadata.name.matches(${celString(TENANT_NAME_PATTERN)})`,
  message:
    `metadata.name must be at most ${MAX_TENANT_NAME_LENGTH} characters of lowercase letters, digits and '-', ` +
    `starting with a letter and ending with a letter or digit: it prefixes the tenant's Service and StatefulSet names`,
  // No fieldPath: the API server accepts only paths declared in the schema, and metadata.name is not.
  holds: (self) => isTenantName(field(field(self, 'metadata'), 'name')),
};

// ---------------------------------------------------------------------------------------------------------
// Version

/** The version change the transition rules judge, or undefined where the enum check has the last word. */
function versionChange(self: unknown, oldSelf: unknown): VersionChange | undefined {
  if (typeof self !== 'string' || typeof oldSelf !== 'string' || !isVersion(self) || !isVersion(oldSelf)) return undefined;
  return checkVersionChange(oldSelf, self);
}

function versionRule(problem: 'lowered' | 'skips-minor', cel: Omit<CelRule, 'holds' | 'messageFor'>): CelRule {
  return {
    ...cel,
    holds: (self, oldSelf) => {
      const change = versionChange(self, oldSelf);
      return !change || change.ok || change.problem !== problem;
    },
    messageFor: (self, oldSelf) => {
      const change = versionChange(self, oldSelf);
      return change && !change.ok ? change.reason : (cel.message ?? '');
    },
  };
}

export const versionNotLoweredRule = versionRule('lowered', {
  rule: '!isSemver(self, true) || !isSemver(oldSelf, true) || !semver(self, true).isLessThan(semver(oldSelf, true))',
  message: 'version may not be lowered: downgrades are not supported',
  messageExpression: `'version may not be lowered (from ' + oldSelf + ' to ' + self + '): downgrades are not supported'`,
});

export const versionOneMinorAtATimeRule = versionRule('skips-minor', {
  rule:
    '!isSemver(self, true) || !isSemver(oldSelf, true) || semver(self, true).isLessThan(semver(oldSelf, true)) || ' +
    '(semver(self, true).major() == semver(oldSelf, true).major() && semver(self, true).minor() - semver(oldSelf, true).minor() <= 1)',
  message: 'version may be raised by one minor version at a time',
  messageExpression: `'version may be raised by one minor version at a time (from ' + oldSelf + ' to ' + self + ')'`,
});

// ---------------------------------------------------------------------------------------------------------
// Resources

function quantityOf(value: unknown): ReturnType<typeof parseQuantity> {
  return typeof value === 'string' || typeof value === 'number' ? parseQuantity(value) : undefined;
}

export const quantityRule: CelRule = {
  rule: "isQuantity(string(self)) && !string(self).startsWith('-')",
  message: 'must be a non-negative quantity such as 250m, 1, 256Mi or 1Gi',
  holds: (self) => {
    const q = quantityOf(self);
    return q !== undefined && !String(self).startsWith('-');
  },
};

/** limits.<resource> >= requests.<resource>, as the API server demands of every container. */
export function limitNotBelowRequestRule(resource: 'cpu' | 'memory'): CelRule {
  const limit = `self.limits.${resource}`;
  const request = `self.requests.${resource}`;
  return {
    rule:
      `!has(self.limits) || !has(self.requests) || !has(${limit}) || !has(${request}) || ` +
      `!isQuantity(string(${limit})) || !isQuantity(string(${request})) || ` +
      `quantity(string(${limit})).compareTo(quantity(string(${request}))) >= 0`,
    message: `limits.${resource} must not be lower than requests.${resource}`,
    messageExpression:
      `'limits.${resource} (' + string(${limit}) + ') must not be lower than requests.${resource} (' + string(${request}) + ')'`,
    fieldPath: `.limits.${resource}`,
    holds: (self) => {
      const l = quantityOf(field(field(self, 'limits'), resource));
      const r = quantityOf(field(field(self, 'requests'), resource));
      return !l || !r || compareQuantities(l, r) >= 0;
    },
    messageFor: (self) =>
      `limits.${resource} (${String(field(field(self, 'limits'), resource))}) must not be lower than ` +
      `requests.${resource} (${String(field(field(self, 'requests'), resource))})`,
  };
}

export const storageSizePositiveRule: CelRule = {
  rule: "!isQuantity(string(self)) || quantity(string(self)).isGreaterThan(quantity('0'))",
  message: 'etcd storage size must be greater than zero, e.g. 1Gi',
  holds: (self) => {
    const q = quantityOf(self);
    return !q || q.mantissa > 0n;
  },
};

export const storageSizeNotShrunkRule: CelRule = {
  rule:
    '!isQuantity(string(self)) || !isQuantity(string(oldSelf)) || ' +
    'quantity(string(self)).compareTo(quantity(string(oldSelf))) >= 0',
  message: 'etcd storage size may not shrink: volumes can only grow',
  messageExpression: `'etcd storage size may not shrink (from ' + string(oldSelf) + ' to ' + string(self) + '): volumes can only grow'`,
  holds: (self, oldSelf) => {
    const now = quantityOf(self);
    const before = quantityOf(oldSelf);
    return !now || !before || compareQuantities(now, before) >= 0;
  },
  messageFor: (self, oldSelf) =>
    `etcd storage size may not shrink (from ${String(oldSelf)} to ${String(self)}): volumes can only grow`,
};

/** Going from 1 to 3 members (or back) needs etcd member changes the operator does not make yet. */
export const etcdReplicasImmutableRule: CelRule = {
  rule: 'self == oldSelf',
  message: 'etcd.replicas cannot change after creation: adding or removing etcd members is not supported yet',
  holds: (self, oldSelf) => self === oldSelf,
};

export const storageClassImmutableRule: CelRule = {
  rule:
    '(has(self.storageClassName) == has(oldSelf.storageClassName)) && ' +
    '(!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
  message: 'etcd storageClassName is immutable: the etcd volumes already exist',
  fieldPath: '.storageClassName',
  holds: (self, oldSelf) => field(self, 'storageClassName') === field(oldSelf, 'storageClassName'),
};

export const storageClassNameRule: CelRule = {
  rule: `self.matches(${celString(DNS_SUBDOMAIN_PATTERN)})`,
  message: 'storageClassName must be a DNS subdomain name (lowercase letters, digits, - and .)',
  holds: (self) => typeof self !== 'string' || dnsSubdomain.test(self),
};

// ---------------------------------------------------------------------------------------------------------
// extraArgs

/**
 * Flags the operator sets and users may not override through extraArgs: they carry the control plane's
 * identity, certificates and authorization. A name listed here or starting with a listed prefix is refused.
 */
export const PROTECTED_FLAGS = {
  apiServer: {
    names: [
      'admission-control',
      'advertise-address',
      'anonymous-auth',
      'audit-log-path',
      'audit-policy-file',
      'authentication-config',
      'authorization-config',
      'authorization-mode',
      'bind-address',
      'cert-dir',
      'client-ca-file',
      'disable-admission-plugins',
      'enable-admission-plugins',
      'enable-bootstrap-token-auth',
      'endpoint-reconciler-type',
      'kubelet-certificate-authority',
      'profiling',
      'secure-port',
      'service-cluster-ip-range',
      'token-auth-file',
    ],
    // oidc-*: the operator configures authentication with --authentication-config, which excludes them.
    prefixes: ['etcd-', 'kubelet-client-', 'oidc-', 'proxy-client-', 'requestheader-', 'service-account-', 'tls-'],
  },
  controllerManager: {
    names: [
      'allocate-node-cidrs',
      'authentication-kubeconfig',
      'authorization-kubeconfig',
      'bind-address',
      'cert-dir',
      'client-ca-file',
      'cluster-cidr',
      'controllers',
      'kubeconfig',
      'leader-elect',
      'profiling',
      'root-ca-file',
      'secure-port',
      'service-cluster-ip-range',
      'use-service-account-credentials',
    ],
    prefixes: ['cluster-signing-', 'requestheader-', 'service-account-', 'tls-'],
  },
  scheduler: {
    names: [
      'authentication-kubeconfig',
      'authorization-kubeconfig',
      'bind-address',
      'cert-dir',
      'client-ca-file',
      'kubeconfig',
      'leader-elect',
      'profiling',
      'secure-port',
    ],
    prefixes: ['requestheader-', 'tls-'],
  },
} as const satisfies Record<string, { names: readonly string[]; prefixes: readonly string[] }>;

export type ControlPlaneComponent = keyof typeof PROTECTED_FLAGS;

export function isProtectedFlag(component: ControlPlaneComponent, flag: string): boolean {
  const { names, prefixes } = PROTECTED_FLAGS[component];
  return (names as readonly string[]).includes(flag) || prefixes.some((p) => flag.startsWith(p));
}

export function noProtectedFlagsRule(component: ControlPlaneComponent): CelRule {
  const { names, prefixes } = PROTECTED_FLAGS[component];
  const isProtected = `(k in ${celList(names)} || ${celList(prefixes)}.exists(p, k.startsWith(p)))`;
  const why = ': the operator sets these flags to keep the control plane secure';
  const keysOf = (self: unknown): string[] =>
    isPlainObject(self) ? Object.keys(self).filter((k) => isProtectedFlag(component, k)).sort() : [];
  return {
    rule: `self.all(k, !${isProtected})`,
    message: 'extraArgs may not override flags the operator sets to keep the control plane secure',
    // Map keys come in no particular order; sort for a stable message.
    messageExpression: `'extraArgs may not override --' + self.filter(k, ${isProtected}).sort()[0] + '${why}'`,
    reason: 'FieldValueForbidden',
    holds: (self) => keysOf(self).length === 0,
    messageFor: (self) => `extraArgs may not override --${keysOf(self)[0]}${why}`,
  };
}

export const flagNamesRule: CelRule = {
  rule: `self.all(k, k.matches(${celString(FLAG_NAME_PATTERN)}))`,
  message: 'extraArgs keys are flag names without the leading --, in lowercase, e.g. audit-log-maxage',
  holds: (self) => !isPlainObject(self) || Object.keys(self).every((k) => flagName.test(k)),
};

// ---------------------------------------------------------------------------------------------------------
// Network

export const SERVICE_CIDR_MAX_SIZE = { ipv4: 12, ipv6: 108 } as const;
export const POD_CIDR_PREFIX = { ipv4Max: 24, ipv6Min: 48, ipv6Max: 64 } as const;

export function cidrSyntaxRule(fieldName: string, example: string): CelRule {
  return {
    rule: 'isCIDR(self)',
    message: `${fieldName} must be a CIDR such as ${example}`,
    holds: (self) => typeof self !== 'string' || parseCIDR(self) !== undefined,
  };
}

export function cidrMaskedRule(fieldName: string, example: string): CelRule {
  return {
    rule: '!isCIDR(self) || cidr(self) == cidr(self).masked()',
    message: `${fieldName} must be a network address with no host bits set, such as ${example}`,
    holds: (self) => {
      const c = typeof self === 'string' ? parseCIDR(self) : undefined;
      return !c || isNetworkAddress(c);
    },
  };
}

export function immutableRule(fieldName: string, why: string): CelRule {
  return {
    rule: 'self == oldSelf',
    message: `${fieldName} is immutable: ${why}`,
    holds: (self, oldSelf) => self === oldSelf,
  };
}

export const serviceCIDRSizeRule: CelRule = {
  rule:
    `!isCIDR(self) || cidr(self).prefixLength() >= ` +
    `(cidr(self).ip().family() == 4 ? ${SERVICE_CIDR_MAX_SIZE.ipv4} : ${SERVICE_CIDR_MAX_SIZE.ipv6})`,
  message:
    `serviceCIDR is too large: kube-apiserver accepts at most a /${SERVICE_CIDR_MAX_SIZE.ipv4} for IPv4 ` +
    `and a /${SERVICE_CIDR_MAX_SIZE.ipv6} for IPv6`,
  holds: (self) => {
    const c = typeof self === 'string' ? parseCIDR(self) : undefined;
    if (!c) return true;
    return c.prefixLength >= (c.address.family === 4 ? SERVICE_CIDR_MAX_SIZE.ipv4 : SERVICE_CIDR_MAX_SIZE.ipv6);
  },
};

export const podCIDRSizeRule: CelRule = {
  rule:
    `!isCIDR(self) || (cidr(self).ip().family() == 4 ? cidr(self).prefixLength() <= ${POD_CIDR_PREFIX.ipv4Max} : ` +
    `cidr(self).prefixLength() >= ${POD_CIDR_PREFIX.ipv6Min} && cidr(self).prefixLength() <= ${POD_CIDR_PREFIX.ipv6Max})`,
  message:
    `podCIDR must be a /${POD_CIDR_PREFIX.ipv4Max} or larger for IPv4, or between /${POD_CIDR_PREFIX.ipv6Min} and ` +
    `/${POD_CIDR_PREFIX.ipv6Max} for IPv6: every node gets a /24 (IPv4) or /64 (IPv6) of it`,
  holds: (self) => {
    const c = typeof self === 'string' ? parseCIDR(self) : undefined;
    if (!c) return true;
    return c.address.family === 4
      ? c.prefixLength <= POD_CIDR_PREFIX.ipv4Max
      : c.prefixLength >= POD_CIDR_PREFIX.ipv6Min && c.prefixLength <= POD_CIDR_PREFIX.ipv6Max;
  },
};

export const dnsServiceIPSyntaxRule: CelRule = {
  rule: 'isIP(self)',
  message: 'dnsServiceIP must be an IP address such as 10.96.0.10',
  holds: (self) => typeof self !== 'string' || parseIP(self) !== undefined,
};

export const clusterDomainRule: CelRule = {
  rule: `self.matches(${celString(DNS_SUBDOMAIN_PATTERN)})`,
  message: 'clusterDomain must be a DNS name such as cluster.local',
  holds: (self) => typeof self !== 'string' || dnsSubdomain.test(self),
};

export const addressRule: CelRule = {
  rule: `isIP(self) || self.matches(${celString(DNS_SUBDOMAIN_PATTERN)})`,
  message:
    'address must be an IP address (such as 203.0.113.10 or 2001:db8::10) or a lowercase DNS name (such as ' +
    'api.example.com), without scheme, port or path: clients reach the API server there',
  holds: (self) => typeof self !== 'string' || parseIP(self) !== undefined || dnsSubdomain.test(self),
};

export const certSANRule: CelRule = {
  rule: `isIP(self) || self.matches(${celString(SAN_DNS_PATTERN)})`,
  message: 'certSANs entries must be IP addresses or DNS names (a leading *. wildcard is allowed)',
  holds: (self) => typeof self !== 'string' || parseIP(self) !== undefined || sanDNS.test(self),
};

function cidrsOf(self: unknown) {
  const service = stringField(self, 'serviceCIDR');
  const pod = stringField(self, 'podCIDR');
  return {
    service: service === undefined ? undefined : parseCIDR(service),
    pod: pod === undefined ? undefined : parseCIDR(pod),
  };
}

export const nodePortRequiresNodePortRule: CelRule = {
  rule: "!has(self.nodePort) || self.serviceType == 'NodePort'",
  message: 'nodePort may only be set when serviceType is NodePort',
  fieldPath: '.nodePort',
  reason: 'FieldValueForbidden',
  holds: (self) => !has(self, 'nodePort') || field(self, 'serviceType') === 'NodePort',
};

export const dnsServiceIPInServiceCIDRRule: CelRule = {
  rule:
    '!has(self.serviceCIDR) || !has(self.dnsServiceIP) || !isCIDR(self.serviceCIDR) || !isIP(self.dnsServiceIP) || ' +
    'cidr(self.serviceCIDR).containsIP(self.dnsServiceIP)',
  message: 'dnsServiceIP must lie inside serviceCIDR',
  messageExpression: `'dnsServiceIP ' + self.dnsServiceIP + ' must lie inside serviceCIDR ' + self.serviceCIDR`,
  fieldPath: '.dnsServiceIP',
  holds: (self) => {
    const { service } = cidrsOf(self);
    const dns = parseIP(stringField(self, 'dnsServiceIP') ?? '');
    return !service || !dns || containsIP(service, dns);
  },
  messageFor: (self) =>
    `dnsServiceIP ${stringField(self, 'dnsServiceIP')} must lie inside serviceCIDR ${stringField(self, 'serviceCIDR')}`,
};

export const dnsServiceIPNotNetworkAddressRule: CelRule = {
  rule:
    '!has(self.serviceCIDR) || !has(self.dnsServiceIP) || !isCIDR(self.serviceCIDR) || !isIP(self.dnsServiceIP) || ' +
    '!(cidr(self.serviceCIDR).masked().ip() == ip(self.dnsServiceIP))',
  message: 'dnsServiceIP may not be the network address of serviceCIDR: no Service can have that address',
  fieldPath: '.dnsServiceIP',
  holds: (self) => {
    const { service } = cidrsOf(self);
    const dns = parseIP(stringField(self, 'dnsServiceIP') ?? '');
    if (!service || !dns) return true;
    const net = networkAddress(service);
    return !(net.family === dns.family && net.value === dns.value);
  },
};

export const cidrFamiliesMatchRule: CelRule = {
  rule:
    '!has(self.serviceCIDR) || !has(self.podCIDR) || !isCIDR(self.serviceCIDR) || !isCIDR(self.podCIDR) || ' +
    'cidr(self.serviceCIDR).ip().family() == cidr(self.podCIDR).ip().family()',
  message: 'podCIDR and serviceCIDR must be of the same IP family (both IPv4 or both IPv6)',
  fieldPath: '.podCIDR',
  holds: (self) => {
    const { service, pod } = cidrsOf(self);
    return !service || !pod || service.address.family === pod.address.family;
  },
};

export const podCIDRDisjointRule: CelRule = {
  rule:
    '!has(self.serviceCIDR) || !has(self.podCIDR) || !isCIDR(self.serviceCIDR) || !isCIDR(self.podCIDR) || ' +
    '!(cidr(self.serviceCIDR).containsCIDR(self.podCIDR) || cidr(self.podCIDR).containsCIDR(self.serviceCIDR))',
  message: 'podCIDR must not overlap serviceCIDR: pod and Service addresses must be distinct',
  messageExpression:
    `'podCIDR ' + self.podCIDR + ' overlaps serviceCIDR ' + self.serviceCIDR + ': pod and Service addresses must be distinct'`,
  fieldPath: '.podCIDR',
  holds: (self) => {
    const { service, pod } = cidrsOf(self);
    return !service || !pod || !cidrsOverlap(service, pod);
  },
  messageFor: (self) =>
    `podCIDR ${stringField(self, 'podCIDR')} overlaps serviceCIDR ${stringField(self, 'serviceCIDR')}: pod and Service addresses must be distinct`,
};

const FIX = 'choose an address outside the Service and pod ranges of the tenant';

/**
 * An address inside the tenant's own Service or pod range is taken inside the tenant: its pods and nodes
 * would reach a Service or a pod there, not the API server, and kubeadm join and in-cluster clients use it.
 */
function addressOutsideRangeRule(range: 'serviceCIDR' | 'podCIDR', why: string): CelRule {
  const explain = (address: string | undefined, cidr: string | undefined) =>
    `address ${address} lies inside ${range} ${cidr}: ${why}; ${FIX}`;
  return {
    rule:
      `!has(self.address) || !has(self.${range}) || !isIP(self.address) || !isCIDR(self.${range}) || ` +
      `!cidr(self.${range}).containsIP(self.address)`,
    message: `address may not lie inside ${range}: ${why}`,
    messageExpression:
      `'address ' + self.address + ' lies inside ${range} ' + self.${range} + ': ${why}; ${FIX}'`,
    fieldPath: '.address',
    holds: (self) => {
      const cidr = parseCIDR(stringField(self, range) ?? '');
      const address = parseIP(stringField(self, 'address') ?? '');
      return !cidr || !address || !containsIP(cidr, address);
    },
    messageFor: (self) => explain(stringField(self, 'address'), stringField(self, range)),
  };
}

export const addressOutsideServiceCIDRRule = addressOutsideRangeRule(
  'serviceCIDR',
  'inside the tenant cluster that address belongs to a Service, so nodes and pods would not reach the API server',
);

export const addressOutsidePodCIDRRule = addressOutsideRangeRule(
  'podCIDR',
  'inside the tenant cluster that address belongs to a pod, so nodes and pods would not reach the API server',
);

/** The konnectivity server's agent port: the API Service's second port when konnectivity is on. */
const KONNECTIVITY_SERVICE_PORT = KONNECTIVITY.agentPort;

/** With konnectivity on, the API Service has a second port 8132: the API port may not be the same. */
export const apiPortNotKonnectivityPortRule: CelRule = {
  rule:
    `!has(self.networkProfile) || !has(self.networkProfile.port) || self.networkProfile.port != ${KONNECTIVITY_SERVICE_PORT} || ` +
    '(has(self.addons) && has(self.addons.konnectivity) && has(self.addons.konnectivity.enabled) && !self.addons.konnectivity.enabled)',
  message: `networkProfile.port may not be ${KONNECTIVITY_SERVICE_PORT} while addons.konnectivity is enabled: the API Service serves konnectivity on that port`,
  fieldPath: '.networkProfile.port',
  reason: 'FieldValueInvalid',
  holds: (self) => {
    const net = field(self, 'networkProfile');
    if (field(net, 'port') !== KONNECTIVITY_SERVICE_PORT) return true;
    return field(field(field(self, 'addons'), 'konnectivity'), 'enabled') === false;
  },
};
