// Whether a tcp's spec.networkProfile.address collides with another tenant's. Pure: the candidate and the
// tenants that exist in, a refusal message (what is taken, by whom, what to do) or undefined out.
//
// Clients reach a tenant at address:port, so a collision is two tenants at the same host AND port. The port
// is part of it because NodePort tenants legitimately share an address (a node's address or a VIP in front
// of the nodes) and differ by node port, which the host allocates once per Service.
import type { TenantControlPlane } from '../../core/index.ts';
import { formatIP, parseIP } from '../../crds/schema/net.ts';

const DEFAULT_PORT = 6443;

/** Where clients reach a tenant: a normalised host and a port; `port` undefined = a port no one else has. */
export interface ClientEndpoint {
  host: string;
  port: number | undefined;
}

/**
 * One spelling per host: IP literals as Go's netip prints them (IPv6 lowercase with `::` for the longest
 * zero run, IPv4-mapped IPv6 as the IPv4 address), DNS names lowercase without a trailing dot.
 */
export function normaliseHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const ip = parseIP(bare) ?? ipv4Mapped(bare);
  if (ip) return formatIP(ip);
  return bare.toLowerCase().replace(/\.$/, '');
}

/** ::ffff:a.b.c.d, which the CRD refuses but another tool may have written into a status: as a.b.c.d. */
function ipv4Mapped(text: string): ReturnType<typeof parseIP> {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  return match ? parseIP(match[1]!) : undefined;
}

/** The endpoint a tcp's spec asks for, or undefined when it names no address. */
export function specEndpoint(tcp: TenantControlPlane): ClientEndpoint | undefined {
  const net = tcp.spec?.networkProfile;
  if (typeof net?.address !== 'string' || net.address === '') return undefined;
  // A NodePort tenant without a fixed node port gets one the host allocates: unique among Services.
  const port = net.serviceType === 'NodePort' ? net.nodePort : (net.port ?? DEFAULT_PORT);
  return { host: normaliseHost(net.address), port };
}

/** The endpoint the operator published in status.endpoint (`https://host:port`), or undefined. */
export function statusEndpoint(tcp: TenantControlPlane): ClientEndpoint | undefined {
  const text = tcp.status?.endpoint;
  if (typeof text !== 'string' || text === '') return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : undefined) : Number(url.port);
  return { host: normaliseHost(url.hostname), port };
}

function samePlace(a: ClientEndpoint, b: ClientEndpoint): boolean {
  return a.host === b.host && a.port !== undefined && a.port === b.port;
}

function identify(tcp: TenantControlPlane): string {
  return `${tcp.metadata?.namespace ?? ''}/${tcp.metadata?.name ?? ''}`;
}

function isSelf(candidate: TenantControlPlane, other: TenantControlPlane): boolean {
  const a = candidate.metadata;
  const b = other.metadata;
  if (a?.uid && b?.uid) return a.uid === b.uid;
  return a?.namespace === b?.namespace && a?.name === b?.name;
}

function whileDeleting(other: TenantControlPlane): string {
  return other.metadata?.deletionTimestamp ? ' (it is being deleted: the address is free once it is gone)' : '';
}

/**
 * The refusal for `candidate` (the tcp being created or updated), or undefined when its address is free:
 * no other tcp, in any namespace of `existing`, asks for the same address and port in its spec, or was
 * given them (status.endpoint: a load balancer's address, a node's address and node port, a cluster IP).
 * The candidate itself (same uid, or same namespace/name) is skipped, so an update does not collide with
 * the stored version of the same object.
 */
export function addressConflict(candidate: TenantControlPlane, existing: readonly TenantControlPlane[]): string | undefined {
  const wanted = specEndpoint(candidate);
  if (!wanted || wanted.port === undefined) return undefined;
  const address = candidate.spec.networkProfile?.address;
  const others = existing.filter((other) => !isSelf(candidate, other));
  for (const other of others) {
    const asked = specEndpoint(other);
    if (asked && samePlace(wanted, asked)) {
      return (
        `spec.networkProfile.address ${address} (port ${wanted.port}) is already the address of TenantControlPlane ` +
        `${identify(other)}${whileDeleting(other)}: clients of both would reach the same API server; choose another address, ` +
        `or another spec.networkProfile.port`
      );
    }
  }
  for (const other of others) {
    const given = statusEndpoint(other);
    if (given && samePlace(wanted, given)) {
      return (
        `spec.networkProfile.address ${address} (port ${wanted.port}) is where TenantControlPlane ${identify(other)} is ` +
        `reached (its status.endpoint ${other.status?.endpoint}, given by its ${other.spec?.networkProfile?.serviceType ?? 'ClusterIP'} ` +
        `Service)${whileDeleting(other)}: clients would reach that tenant's API server; choose another address, or another spec.networkProfile.port`
      );
    }
  }
  return undefined;
}
