// Why a tenant has no address yet, in words the user can act on. A LoadBalancer Service without ingress
// says nothing itself; the load balancer implementation reports its refusal as a Warning Event on the
// Service (MetalLB: AllocationFailed, "no available IPs"), so the newest one is copied into the condition.
import type { KubeClient, Tenant } from '../../core/index.ts';
import { objectNames } from '../../core/index.ts';
import type { EndpointState } from './endpoint-state.ts';

interface CoreEvent {
  reason?: string;
  message?: string;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  metadata?: { creationTimestamp?: string };
}

/** The newest Warning Event about the Service, as "Reason: message", if any (pure). */
export function newestWarning(events: readonly CoreEvent[]): string | undefined {
  const time = (e: CoreEvent) => Date.parse(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '') || 0;
  const newest = [...events].sort((a, b) => time(b) - time(a))[0];
  return newest ? `${newest.reason ?? 'Warning'}: ${(newest.message ?? '').trim()}` : undefined;
}

async function serviceWarnings(client: KubeClient, tenant: Tenant, signal: AbortSignal): Promise<string | undefined> {
  const name = objectNames(tenant.name).apiServerService;
  const list = await client.request<{ items: CoreEvent[] }>('GET', `/api/v1/namespaces/${tenant.namespace}/events`, {
    query: { fieldSelector: `involvedObject.kind=Service,involvedObject.name=${name},type=Warning` },
    signal,
  });
  return newestWarning(list.items);
}

/** The pending state of a tenant whose Service has no usable address; the Event lookup is best effort. */
export async function pendingEndpoint(client: KubeClient, tenant: Tenant, signal: AbortSignal): Promise<EndpointState> {
  const net = tenant.spec.networkProfile;
  const service = `Service ${objectNames(tenant.name).apiServerService}`;
  if (net.serviceType === 'NodePort') {
    return {
      state: 'pending',
      reason: 'NodeAddressUnknown',
      message: `no host node has a Ready InternalIP for ${service}; set the operator's --node-address or spec.networkProfile.address`,
    };
  }
  // Reading Events needs `list` on core events; without it the condition still says what is missing.
  const warning = await serviceWarnings(client, tenant, signal).catch(() => undefined);
  return {
    state: 'pending',
    reason: 'AddressPending',
    message: `the load balancer has not assigned an address to ${service}${warning ? `; it reported ${warning}` : ' yet'}`,
  };
}
