// Where clients outside the host cluster's pod network reach a tenant's API: the address for
// `status.endpoint`, kubeconfigs, and the EndpointSlice of the tenant's own `kubernetes` Service
// (the apiservers run with --endpoint-reconciler-type=none, see control-plane.ts).
import { isIP } from 'node:net';
import { konnectivityEnabled } from './konnectivity.ts';
import type { ResolvedOptions } from './options.ts';
import { KONNECTIVITY, type Tenant } from '../../core/index.ts';

export interface PublicEndpoint {
  host: string;
  port: number;
  /** `https://host:port`, IPv6 hosts in brackets. */
  url: string;
  /** True when host is an IP literal (an EndpointSlice needs one; a DNS name must be resolved first). */
  hostIsIP: boolean;
  /**
   * Where the tenant's konnectivity agents reach the konnectivity servers at `host`: the Service's
   * `konnectivity` port, or its node port for NodePort tenants. Undefined with konnectivity off, or while
   * the node port is not known yet.
   */
  konnectivityPort?: number;
}

/**
 * The public endpoint once it is known, else undefined (a LoadBalancer without an address yet, a NodePort
 * without spec.networkProfile.address). Precedence: the user's address (for a LoadBalancer, once it has one),
 * then the load balancer's, then for ClusterIP the Service's cluster IP (reachable only inside the host).
 */
export function publicEndpoint(tenant: Tenant, options: Pick<ResolvedOptions, 'apiService'>): PublicEndpoint | undefined {
  const net = tenant.spec.networkProfile;
  const observed = options.apiService;
  let host: string | undefined;
  let port: number | undefined = net.port;
  switch (net.serviceType) {
    case 'ClusterIP':
      host = net.address ?? observed.clusterIP;
      break;
    case 'LoadBalancer':
      // Only once the load balancer assigned an address: the user's address (its IP asked of the load
      // balancer, see api-service.ts, or a DNS name pointing at it) leads nowhere before that.
      host = observed.loadBalancerAddress === undefined ? undefined : net.address ?? observed.loadBalancerAddress;
      break;
    case 'NodePort':
      // A node address is outside what the renderer knows: the user names it in spec.networkProfile.address.
      host = net.address;
      port = net.nodePort ?? observed.nodePort;
      break;
  }
  if (host === undefined || host === '' || port === undefined) return undefined;
  const v6 = isIP(host) === 6;
  const konnectivityPort = !konnectivityEnabled(tenant.spec)
    ? undefined
    : net.serviceType === 'NodePort' ? observed.konnectivityNodePort : KONNECTIVITY.agentPort;
  return {
    host,
    port,
    url: `https://${v6 ? `[${host}]` : host}:${port}`,
    hostIsIP: isIP(host) !== 0,
    ...(konnectivityPort === undefined ? {} : { konnectivityPort }),
  };
}
