// Where NodePort tenants are reached when the spec names no address. A configured address (--node-address:
// a VIP, a DNS name, a load balancer in front of the nodes) always wins: it does not depend on one node.
// Without one, the endpoint is a Ready node's InternalIP, and it stays where customers already hold it for
// as long as that node is Ready; only when it is lost does the endpoint follow to another Ready node.
import type { KubeClient } from '../../core/index.ts';

interface NodeList {
  items: { status?: { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] } }[];
}

/** InternalIPs of the nodes, the Ready ones first (pure). */
export function nodeAddresses(nodes: NodeList): { ready: string[]; all: string[] } {
  const internalIP = (n: NodeList['items'][number]) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const isReady = (n: NodeList['items'][number]) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const defined = (a: string | undefined): a is string => Boolean(a);
  return { ready: nodes.items.filter(isReady).map(internalIP).filter(defined), all: nodes.items.map(internalIP).filter(defined) };
}

/** The address a NodePort tenant is published at, given the one it has now (its status.endpoint's host), if any (pure). */
export function chooseNodeAddress(nodes: { ready: string[]; all: string[] }, held: string | undefined): string | undefined {
  if (held !== undefined && nodes.ready.includes(held)) return held;
  return nodes.ready[0] ?? (held !== undefined && nodes.all.includes(held) ? held : nodes.all[0]);
}

export type NodeAddressSource = (held: string | undefined) => Promise<string | undefined>;

/** The configured address when there is one, else a Ready node's address, kept while its node is Ready. */
export function nodePortAddress(options: { configured?: string; client: KubeClient }): NodeAddressSource {
  const { configured, client } = options;
  if (configured) return async () => configured;
  return async (held) => chooseNodeAddress(nodeAddresses(await client.request<NodeList>('GET', '/api/v1/nodes')), held);
}
