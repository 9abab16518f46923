// What is known of a tenant's public endpoint, from "no address yet" to "answers through it", and how that
// reads on the Endpoint condition and in status.endpoint (pure). The operator checks the endpoint by
// talking to the tenant through it (tenant-bootstrap.ts): an address that was assigned but does not route
// (a load balancer that announces nowhere, a node address behind a firewall) must not be handed to customers.
import { CONDITIONS, type TenantControlPlaneStatus } from '../../core/index.ts';
import type { ConditionInput } from '../runtime/conditions.ts';

export type EndpointState =
  /** No address yet: a LoadBalancer without ingress, a NodePort tenant without a node address. */
  | { state: 'pending'; reason: 'AddressPending' | 'NodeAddressUnknown'; message: string }
  /** An address, not checked yet: the API server does not serve, so there is nothing to check it with. */
  | { state: 'unverified'; url: string }
  /** An address, and nothing checks it (the operator runs without the tenant bootstrap). */
  | { state: 'assigned'; url: string }
  /** The API server serves, but not through this address. */
  | { state: 'unreachable'; url: string; message: string }
  | { state: 'reachable'; url: string };

export function endpointCondition(endpoint: EndpointState, generation: number): ConditionInput {
  const c = (status: 'True' | 'False', reason: string, message: string): ConditionInput =>
    ({ type: CONDITIONS.endpoint, status, reason, message, observedGeneration: generation });
  switch (endpoint.state) {
    case 'pending': return c('False', endpoint.reason, endpoint.message);
    case 'unverified': return c('False', 'NotVerified', `${endpoint.url} is assigned; it is checked once the API server serves`);
    case 'assigned': return c('True', 'Assigned', endpoint.url);
    case 'unreachable': return c('False', 'Unreachable', `${endpoint.url} does not reach the API server: ${endpoint.message}`);
    case 'reachable': return c('True', 'Reachable', endpoint.url);
  }
}

/**
 * status.endpoint: the address once it is known to work. Until then the one customers already hold stays
 * (a tenant whose check fails for a while keeps its published address; a new address replaces it only
 * once it answers); a tenant that never reached one shows none.
 */
export function publishedEndpoint(endpoint: EndpointState, previous: TenantControlPlaneStatus | undefined): string | undefined {
  if (endpoint.state === 'reachable' || endpoint.state === 'assigned') return endpoint.url;
  return previous?.endpoint;
}

/** The Warning Event a transition into this state deserves, once: not for each reconcile that finds it so. */
export function endpointEvent(endpoint: EndpointState, previous: TenantControlPlaneStatus | undefined): { reason: string; message: string } | undefined {
  const before = previous?.conditions?.find((c) => c.type === CONDITIONS.endpoint);
  const now = endpointCondition(endpoint, 0);
  if (before?.status === now.status && before.reason === now.reason) return undefined;
  if (endpoint.state === 'pending') return { reason: 'EndpointPending', message: now.message };
  if (endpoint.state === 'unreachable') return { reason: 'EndpointUnreachable', message: now.message };
  return undefined;
}
