// Wires the host-cluster implementations of every store into AppDependencies: what server.ts runs
// and what the e2e tests run against the real test bed.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AppDependencies } from '../app.ts';
import { validateWithCrd } from '../tcp-validation.ts';
import { systemClock, type Clock } from '../types.ts';
import { DEFAULT_ACCOUNT_LIMITS, type AccountLimits } from '../quotas.ts';
import { KubeAccountLimits } from './account-limits.ts';
import { KubeAuthStore } from './auth-store.ts';
import { CachedClusterStore } from './cached-cluster-store.ts';
import { KubeClusterStore, type NamespaceLayout } from './cluster-store.ts';
import { KubeIdempotencyStore } from './idempotency-store.ts';
import { KubeKeyUsageWriter } from './key-usage-store.ts';
import { CoarseKeyUsage } from '../key-usage.ts';
import { KubeIssuanceCounter } from './issuance-counter.ts';
import { KubeClient } from './kube.ts';
import { HostTenantAccess } from './tenant-access.ts';
import { KubeUsageStore } from './usage-store.ts';

export interface HostDependencies extends AppDependencies {
  client: KubeClient;
  clusters: KubeClusterStore | CachedClusterStore;
  auth: KubeAuthStore;
  keyUsage: CoarseKeyUsage;
  idempotency: KubeIdempotencyStore;
  usage: KubeUsageStore;
  tenants: HostTenantAccess;
  accountLimits: KubeAccountLimits;
  issuance: KubeIssuanceCounter;
  /** Starts the cluster cache (when enabled) and waits for its first complete list. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface HostSettings {
  kubeConfig: KubeConfig;
  /** Namespace of the API's own state (keys, idempotency records, usage periods, the metering Lease); must exist. */
  namespace: string;
  layout: NamespaceLayout;
  clock?: Clock;
  logger?: Logger;
  /** Limits of accounts without an entry in the account-limits ConfigMap (default DEFAULT_ACCOUNT_LIMITS). */
  defaultLimits?: AccountLimits;
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
  const tenants = new HostTenantAccess({ host: client, clusters, clock, ...(log ? { log } : {}) });
  const keyUsage = new CoarseKeyUsage({
    writer: new KubeKeyUsageWriter({ client, namespace: settings.namespace }),
    onError: (error, keyId) => log?.warn({ err: error, keyId: keyId.slice(0, 12) }, 'could not record the last use of an API key'),
  });
  const usage = new KubeUsageStore({ client, namespace: settings.namespace, ...(log ? { log } : {}) });
  return {
    client,
    clusters,
    auth,
    keyUsage,
    idempotency: new KubeIdempotencyStore({ client, namespace: settings.namespace }),
    usage,
    legacyUsage: usage,
    tenants,
    accountLimits: new KubeAccountLimits({ client, namespace: settings.namespace, defaults: settings.defaultLimits ?? DEFAULT_ACCOUNT_LIMITS, clock, ...(log ? { log } : {}) }),
    issuance: new KubeIssuanceCounter({ client, namespace: settings.namespace }),
    clock,
    ...(log ? { logger: log } : {}),
    validateTcp: validateWithCrd,
    checkReady: () => auth.load(),
    async start() {
      await cached?.start();
    },
    async close() {
      await keyUsage.flush();
      await cached?.stop();
      await tenants.close();
      await client.close();
    },
  };
}
