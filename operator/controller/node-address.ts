// Where NodePort tenants are reached when the spec names no address: a host node's InternalIP.
import type { KubeClient } from '../../core/index.ts';

interface NodeList {
  items: { status?: { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] } }[];
}

export function firstNodeAddress(client: KubeClient): () => Promise<string | undefined> {
  let cached: string | undefined;
  return async () => {
    if (cached) return cached;
    const nodes = await client.request<NodeList>('GET', '/api/v1/nodes');
    const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    for (const node of [...ready, ...nodes.items]) {
      const address = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      if (address) return (cached = address);
    }
    return undefined;
  };
}
