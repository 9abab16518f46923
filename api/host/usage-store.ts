// Usage periods as ConfigMaps in the API's namespace: `kubeception-usage-period-<cluster>-<YYYY-MM>`,
// the period as JSON under `period`, labelled with the account, cluster, month and whether it is open.
// One object per cluster and month stays small (at most 744 hourly buckets, ~25 KiB) however often the
// cluster changes, and a pass lists only the open ones (one per live cluster). Writes are
// compare-and-swap: create fails with 409 when the period exists, a replace when its resourceVersion
// moved; both become UsageConflictError, on which the meter re-reads and recomputes.
//
// Also reads the old per-account ledgers (`kubeception-usage-<account>`, label usage-ledger=true) once
// and folds them in (usage-migration.ts).
import type { FastifyBaseLogger } from 'fastify';
import type { V1ConfigMap, V1ConfigMapList } from '@kubernetes/client-node';
import { CREATED_BY_API, LABELS } from '../../core/index.ts';
import type { LegacyUsage } from '../metering.ts';
import { ACCOUNT_PATTERN } from '../types.ts';
import { monthEnd, parseUsagePeriod, type UsagePeriod } from '../usage.ts';
import { parseLegacyRecord, periodsFromLegacy } from '../usage-migration.ts';
import { UsageConflictError, type StoredPeriod, type UsageStore } from '../usage-store.ts';
import { isStatus, onHost, type KubeClient } from './kube.ts';

export interface KubeUsageStoreOptions {
  client: KubeClient;
  namespace: string;
  log?: FastifyBaseLogger;
}

/** Label values are at most 63 characters of [A-Za-z0-9._-]; cluster ids and accounts are DNS labels. */
const LABEL_VALUE = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

export function periodName(clusterId: string, month: string): string {
  return `kubeception-usage-period-${clusterId}-${month}`;
}

export class KubeUsageStore implements UsageStore, LegacyUsage {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #log: FastifyBaseLogger | undefined;

  constructor(options: KubeUsageStoreOptions) {
    this.#client = options.client;
    this.#namespace = options.namespace;
    this.#log = options.log;
  }

  #collection(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/configmaps`;
  }

  async #list(labelSelector: string, limit?: number): Promise<V1ConfigMap[]> {
    const list = await onHost(() =>
      this.#client.request<V1ConfigMapList>('GET', this.#collection(), { query: { labelSelector, ...(limit === undefined ? {} : { limit }) } }),
    );
    return list.items;
  }

  #parse(configMap: V1ConfigMap): StoredPeriod | undefined {
    try {
      return { period: parseUsagePeriod(JSON.parse(configMap.data?.['period'] ?? '')), version: configMap.metadata?.resourceVersion ?? '' };
    } catch (error) {
      // Left as it is for a person to look at; its cluster is not metered meanwhile (never counted twice).
      this.#log?.error({ configMap: configMap.metadata?.name, err: error }, 'malformed usage period');
      return undefined;
    }
  }

  #parseAll(configMaps: V1ConfigMap[]): StoredPeriod[] {
    return configMaps.map((cm) => this.#parse(cm)).filter((p): p is StoredPeriod => p !== undefined);
  }

  #object(period: UsagePeriod, resourceVersion?: string): V1ConfigMap {
    if (!LABEL_VALUE.test(period.clusterId) || !ACCOUNT_PATTERN.test(period.account)) {
      throw new Error(`cannot store usage of cluster ${JSON.stringify(period.clusterId)} of account ${JSON.stringify(period.account)}`);
    }
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: periodName(period.clusterId, period.month),
        namespace: this.#namespace,
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
        labels: {
          [LABELS.createdBy]: CREATED_BY_API,
          [LABELS.account]: period.account,
          [LABELS.cluster]: period.clusterId,
          [LABELS.usageMonth]: period.month,
          [LABELS.usageOpen]: String(!period.final),
        },
      },
      data: { period: JSON.stringify(period) },
    };
  }

  async listOpen(): Promise<StoredPeriod[]> {
    return this.#parseAll(await this.#list(`${LABELS.usageOpen}=true`));
  }

  async listOpenOf(clusterId: string): Promise<StoredPeriod[]> {
    if (!LABEL_VALUE.test(clusterId)) return [];
    return this.#parseAll(await this.#list(`${LABELS.usageOpen}=true,${LABELS.cluster}=${clusterId}`));
  }

  async listAccount(account: string, months: string[]): Promise<UsagePeriod[]> {
    const [inMonths, open] = await Promise.all([
      months.length === 0 ? [] : this.#list(`${LABELS.account}=${account},${LABELS.usageMonth} in (${months.join(',')})`),
      this.#list(`${LABELS.account}=${account},${LABELS.usageOpen}=true`),
    ]);
    const byName = new Map([...inMonths, ...open].map((cm) => [cm.metadata?.name, cm]));
    return this.#parseAll([...byName.values()]).map((s) => s.period);
  }

  async listCluster(account: string, clusterId: string): Promise<UsagePeriod[]> {
    if (!LABEL_VALUE.test(clusterId)) return [];
    return this.#parseAll(await this.#list(`${LABELS.account}=${account},${LABELS.cluster}=${clusterId},${LABELS.usageMonth}`)).map((s) => s.period);
  }

  async hasCluster(clusterId: string): Promise<boolean> {
    if (!LABEL_VALUE.test(clusterId)) return false;
    return (await this.#list(`${LABELS.cluster}=${clusterId},${LABELS.usageMonth}`, 1)).length > 0;
  }

  #stored(configMap: V1ConfigMap, period: UsagePeriod): StoredPeriod {
    return { period, version: configMap.metadata?.resourceVersion ?? '' };
  }

  async create(period: UsagePeriod): Promise<StoredPeriod> {
    try {
      return this.#stored(await onHost(() => this.#client.request<V1ConfigMap>('POST', this.#collection(), { body: this.#object(period) })), period);
    } catch (error) {
      if (isStatus(error, 409)) throw new UsageConflictError(periodName(period.clusterId, period.month));
      throw error;
    }
  }

  async replace(period: UsagePeriod, version: string): Promise<StoredPeriod> {
    const path = `${this.#collection()}/${periodName(period.clusterId, period.month)}`;
    try {
      return this.#stored(await onHost(() => this.#client.request<V1ConfigMap>('PUT', path, { body: this.#object(period, version) })), period);
    } catch (error) {
      // 409: the resourceVersion moved; 404: deleted meanwhile (retention never deletes open periods).
      if (isStatus(error, 409, 404)) throw new UsageConflictError(periodName(period.clusterId, period.month));
      throw error;
    }
  }

  async deleteFinalBefore(before: number): Promise<number> {
    let deleted = 0;
    for (const stored of this.#parseAll(await this.#list(`${LABELS.usageOpen}=false`))) {
      if (monthEnd(stored.period.month) > before) continue;
      const path = `${this.#collection()}/${periodName(stored.period.clusterId, stored.period.month)}`;
      await onHost(() => this.#client.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: stored.version } } })).catch((error: unknown) => {
        if (!isStatus(error, 404, 409)) throw error;
      });
      deleted++;
    }
    return deleted;
  }

  // ---- the old per-account ledgers ----------------------------------------------------------

  async accounts(): Promise<string[]> {
    const ledgers = await this.#list(`${LABELS.usageLedger}=true`);
    return ledgers.map((cm) => cm.metadata?.labels?.[LABELS.account]).filter((a): a is string => a !== undefined && ACCOUNT_PATTERN.test(a));
  }

  async migrate(account: string, now: number): Promise<void> {
    const path = `${this.#collection()}/kubeception-usage-${account}`;
    let ledger: V1ConfigMap;
    try {
      ledger = await onHost(() => this.#client.request<V1ConfigMap>('GET', path));
    } catch (error) {
      if (isStatus(error, 404)) return;
      throw error;
    }
    const unreadable: Record<string, string> = {};
    for (const [clusterId, raw] of Object.entries(ledger.data ?? {})) {
      let periods: UsagePeriod[];
      try {
        periods = periodsFromLegacy(parseLegacyRecord(JSON.parse(raw)), account, now);
      } catch (error) {
        this.#log?.error({ account, cluster: clusterId, err: error }, 'malformed record in an old usage ledger: kept for a person to look at');
        unreadable[clusterId] = raw;
        continue;
      }
      // Oldest first; a period already there (an earlier, interrupted migration) is left as it is.
      for (const period of periods) await this.create(period).catch((error: unknown) => {
        if (!(error instanceof UsageConflictError)) throw error;
      });
    }
    const resourceVersion = ledger.metadata?.resourceVersion;
    if (Object.keys(unreadable).length === 0) {
      await onHost(() => this.#client.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion } } }));
    } else {
      // Out of the migration's sight (label changed), the unreadable entries kept.
      const labels = { ...ledger.metadata?.labels, [LABELS.usageLedger]: 'unreadable' };
      await onHost(() => this.#client.request('PUT', path, { body: { ...ledger, metadata: { ...ledger.metadata, labels }, data: unreadable } }));
    }
    this.#log?.info({ account, unreadable: Object.keys(unreadable).length }, 'folded an old usage ledger into usage periods');
  }
}
