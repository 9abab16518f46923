// Wires the host-cluster implementations of every store into AppDependencies: what server.ts runs
// and what the e2e tests run against the real test bed.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AppDependencies } from '../app.ts';
import { validateWithCrd } from '../tcp-validation.ts';
import { systemClock, type Clock } from '../types.ts';
import { KubeAuthStore } from './auth-store.ts';
import { CachedClusterStore } from './cached-cluster-store.ts';
import { KubeClusterStore, type NamespaceLayout } from './cluster-store.ts';
import { KubeIdempotencyStore } from './idempotency-store.ts';
import { KubeClient } from './kube.ts';
import { HostTenantAccess } from './tenant-access.ts';
import { KubeUsageLedger } from './usage-ledger.ts';

export interface HostDependencies extends AppDependencies {
  client: KubeClient;
  clusters: KubeClusterStore | CachedClusterStore;
  auth: KubeAuthStore;
  idempotency: KubeIdempotencyStore;
  ledger: KubeUsageLedger;
  tenants: HostTenantAccess;
  /** Starts the cluster cache (when enabled) and waits for its first complete list. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface HostSettings {
  kubeConfig: KubeConfig;
  /** Namespace of the API's own state (keys, idempotency records, ledgers); must exist. */
  namespace: string;
  layout: NamespaceLayout;
  clock?: Clock;
  logger?: Logger;
  /** Serve reads from a watch-fed cache of the tcps (default true); false reads the host on every request. */
  cache?: boolean;
}

export function hostDependencies(settings: HostSettings): HostDependencies {
  const clock = settings.clock ?? systemClock;
  const client = new KubeClient(settings.kubeConfig);
  const log = settings.logger;
  const direct = new KubeClusterStore({ client, layout: settings.layout });
  const cached = settings.cache === false ? undefined : new CachedClusterStore({ client, inner: direct, ...(log ? { logger: log } : {}) });
  const clusters = cached ?? direct;
  const auth = new KubeAuthStore({ client, namespace: settings.namespace, clock, ...(log ? { log } : {}) });
  const tenants = new HostTenantAccess({ host: client, clusters, clock });
  return {
    client,
    clusters,
    auth,
    idempotency: new KubeIdempotencyStore({ client, namespace: settings.namespace }),
    ledger: new KubeUsageLedger({ client, namespace: settings.namespace, ...(log ? { log } : {}) }),
    tenants,
    clock,
    ...(log ? { logger: log } : {}),
    validateTcp: validateWithCrd,
    checkReady: () => auth.load(),
    async start() {
      await cached?.start();
    },
    async close() {
      await cached?.stop();
      await tenants.close();
      await client.close();
    },
  };
}
