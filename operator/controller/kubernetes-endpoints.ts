// The endpoints of the tenant's own `default/kubernetes` Service. The apiservers run with
// --endpoint-reconciler-type=none (their pod IPs are not what workers reach), so the operator publishes the
// public endpoint there instead, as kube-apiserver's own reconciler would publish its advertise address:
// an EndpointSlice and the v1 Endpoints with the same addresses and port (port name `https`). The Endpoints
// carries `endpointslice.kubernetes.io/skip-mirror: "true"` like kube-apiserver's, so the controller-manager's
// EndpointSliceMirroring does not make a second slice of it (clients and the conformance suite expect exactly
// one slice labelled `kubernetes.io/service-name=kubernetes`). The apiserver's service proxy reads the
// Endpoints: without it `.../services/https:kubernetes:443/proxy/...` answers NotFound.
//
// A DNS-name endpoint: Endpoints can hold IPs only, and kube-proxy ignores FQDN slices, so the operator
// resolves the name on every bootstrap pass and publishes its addresses (IPv4 if it has any, else IPv6; a
// slice holds one family) in both objects. If the name does not resolve, the slice names the host (FQDN) and
// the Endpoints has no subsets (an existing Service with no endpoints), until a later pass resolves it.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parseServerUrl } from '../../core/index.ts';

/** Where the `kubernetes` Service leads: the addresses of one family (or a DNS name that did not resolve) and the port. */
export interface KubernetesServiceTarget {
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  addresses: string[];
  port: number;
}

export type ResolveHost = (host: string) => Promise<string[]>;

/** All addresses of a name from the system resolver (getaddrinfo, as the operator's own connections use). */
export const resolveWithSystem: ResolveHost = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/** The endpoint's host and port; a DNS name resolved through `resolve` (failures and no answer fall back to FQDN). */
export async function kubernetesServiceTarget(endpoint: string, resolve: ResolveHost = resolveWithSystem): Promise<KubernetesServiceTarget> {
  const { host, port } = parseServerUrl(endpoint, 'the tenant endpoint');
  const family = isIP(host);
  if (family === 4) return { addressType: 'IPv4', addresses: [host], port };
  if (family === 6) return { addressType: 'IPv6', addresses: [host], port };
  const resolved = await resolve(host).catch((): string[] => []);
  const unique = (xs: string[]) => [...new Set(xs)].sort();
  const v4 = unique(resolved.filter((a) => isIP(a) === 4));
  if (v4.length > 0) return { addressType: 'IPv4', addresses: v4, port };
  const v6 = unique(resolved.filter((a) => isIP(a) === 6));
  if (v6.length > 0) return { addressType: 'IPv6', addresses: v6, port };
  return { addressType: 'FQDN', addresses: [host], port };
}

/** The EndpointSlice of `default/kubernetes`. */
export function kubernetesEndpointSlice(target: KubernetesServiceTarget) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'kubeception.io' },
    },
    addressType: target.addressType,
    endpoints: target.addresses.map((address) => ({ addresses: [address], conditions: { ready: true } })),
    ports: [{ name: 'https', protocol: 'TCP', port: target.port }],
  };
}

/** The v1 Endpoints of `default/kubernetes`, in step with the slice (no subsets for an unresolved DNS name). */
export function kubernetesEndpoints(target: KubernetesServiceTarget) {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets:
      target.addressType === 'FQDN'
        ? []
        : [{ addresses: target.addresses.map((ip) => ({ ip })), ports: [{ name: 'https', protocol: 'TCP', port: target.port }] }],
  };
}
