// Reaching a tenant's API server from the host: a client built from a kubeconfig the operator keeps in a
// host Secret, kept and reused while the tenant exists. Both the operator (bootstrap inside the tenant)
// and the REST API (join tokens, node counts) talk to tenants many times a minute; a new client each time
// costs a TLS handshake and leaks sockets until the agent notices.
import { createHash } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from './kube/kube-client.ts';

/** A KubeConfig from kubeconfig YAML, optionally pointed at another server URL (which the certificate must name). */
export function tenantKubeConfig(kubeconfigYaml: string, server?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml);
  if (server === undefined) return kc;
  const current = kc.getCurrentCluster();
  if (current === null) throw new Error('the kubeconfig has no current cluster');
  kc.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.name === current.name ? { ...c, server } : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return kc;
}

export interface TenantClientsOptions {
  /** Time allowed for one call into a tenant (default 15 s): a tenant that hangs must not hold a worker. */
  timeoutMs?: number;
}

/**
 * One KubeClient per tenant (keyed by `namespace/name` of its tcp), reused while its kubeconfig and server stay the same;
 * a re-issued kubeconfig or a new address replaces it and closes the old one. release() when the tenant
 * goes away, close() when the process stops.
 */
export class TenantClients {
  readonly #clients = new Map<string, { fingerprint: string; client: KubeClient }>();
  readonly #timeoutMs: number;

  constructor(options: TenantClientsOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** The client of tenant `key` for this kubeconfig (and server override). */
  get(key: string, kubeconfigYaml: string, server?: string): KubeClient {
    const fingerprint = createHash('sha256').update(kubeconfigYaml).update('\0').update(server ?? '').digest('hex');
    const cached = this.#clients.get(key);
    if (cached?.fingerprint === fingerprint) return cached.client;
    const client = new KubeClient(tenantKubeConfig(kubeconfigYaml, server), { timeoutMs: this.#timeoutMs });
    this.#clients.set(key, { fingerprint, client });
    // Calls in flight on the old client finish on their own connections; the agent closes them after.
    if (cached) void cached.client.close().catch(() => undefined);
    return client;
  }

  /** Forgets and closes the client of a tenant that no longer exists. */
  async release(key: string): Promise<void> {
    const cached = this.#clients.get(key);
    this.#clients.delete(key);
    await cached?.client.close().catch(() => undefined);
  }

  /** Number of tenants with a client (for tests and metrics). */
  get size(): number {
    return this.#clients.size;
  }

  async close(): Promise<void> {
    const all = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(all.map(({ client }) => client.close().catch(() => undefined)));
  }
}
