// Per-account limits in the host: the ConfigMap `kubeception-account-limits` in the API's namespace
// maps an account to a JSON object of overrides, e.g. `acme: {"maxClusters": 50}`; accounts without
// an entry (or no ConfigMap at all) get the server's defaults (flags). Re-read at most every 10 s,
// so a change takes effect within that on every replica. The API only reads it; operators write it
// (kubectl), so a key-store change never touches limits and the reverse.
import type { FastifyBaseLogger } from 'fastify';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { parseLimitOverrides, type AccountLimits, type AccountLimitsSource } from '../quotas.ts';
import { systemClock, type Clock } from '../types.ts';
import { isStatus, onHost, type KubeClient } from './kube.ts';

export const ACCOUNT_LIMITS_CONFIGMAP = 'kubeception-account-limits';

/** Parses every entry; a malformed one is reported and its account keeps the defaults. */
export function parseLimitsConfigMap(configMap: V1ConfigMap | undefined, onBad?: (account: string, error: Error) => void): Map<string, Partial<AccountLimits>> {
  const overrides = new Map<string, Partial<AccountLimits>>();
  for (const [account, value] of Object.entries(configMap?.data ?? {})) {
    try {
      overrides.set(account, parseLimitOverrides(JSON.parse(value)));
    } catch (error) {
      onBad?.(account, error as Error);
    }
  }
  return overrides;
}

export interface KubeAccountLimitsOptions {
  client: KubeClient;
  namespace: string;
  defaults: AccountLimits;
  clock?: Clock;
  log?: FastifyBaseLogger;
  /** How long a read is used (default 10 s). */
  refreshMs?: number;
}

export class KubeAccountLimits implements AccountLimitsSource {
  readonly #options: KubeAccountLimitsOptions;
  readonly #clock: Clock;
  #overrides = new Map<string, Partial<AccountLimits>>();
  #loadedAt = -Infinity;
  #loading: Promise<void> | undefined;

  constructor(options: KubeAccountLimitsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  #load(): Promise<void> {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.#options.namespace)}/configmaps/${ACCOUNT_LIMITS_CONFIGMAP}`;
    this.#loading ??= onHost(() =>
      this.#options.client.request<V1ConfigMap>('GET', path).catch((error: unknown) => {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }),
    )
      .then((configMap) => {
        this.#overrides = parseLimitsConfigMap(configMap, (account, error) =>
          this.#options.log?.error({ account, err: error }, `ignoring the malformed entry of ${ACCOUNT_LIMITS_CONFIGMAP}; the account gets the default limits`),
        );
        this.#loadedAt = this.#clock.now().getTime();
      })
      .finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async limitsFor(account: string): Promise<AccountLimits> {
    if (this.#clock.now().getTime() - this.#loadedAt > (this.#options.refreshMs ?? 10_000)) {
      try {
        await this.#load();
      } catch (error) {
        // Never read: no limits can be known, refuse (503). Read before: a host hiccup keeps the last ones.
        if (this.#loadedAt === -Infinity) throw error;
        this.#options.log?.warn({ err: error }, `could not re-read ${ACCOUNT_LIMITS_CONFIGMAP}; using the limits read before`);
      }
    }
    return { ...this.#options.defaults, ...this.#overrides.get(account) };
  }
}
