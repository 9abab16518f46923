// Usage ledgers as ConfigMaps in the API's namespace: `kubeception-usage-<account>`, one data entry
// per cluster id holding its interval record (usage.ts). Writes are read-modify-write with the
// object's resourceVersion, retried on conflict, so the metering loop and routes of any number of
// API replicas never lose each other's intervals.
import type { FastifyBaseLogger } from 'fastify';
import type { V1ConfigMap, V1ConfigMapList } from '@kubernetes/client-node';
import { ACCOUNT_PATTERN } from '../types.ts';
import { parseUsageRecord, type ClusterUsageRecord, type UsageLedger } from '../usage.ts';
import { isStatus, onHost, type KubeClient } from './kube.ts';
import { CREATED_BY_API, LABELS } from '../../core/index.ts';

/** ConfigMaps hold at most 1 MiB; warn well before. At ~400 bytes a record this is ~2000 clusters. */
const SIZE_WARNING_BYTES = 800 * 1024;

export interface KubeUsageLedgerOptions {
  client: KubeClient;
  namespace: string;
  log?: FastifyBaseLogger;
}

export class KubeUsageLedger implements UsageLedger {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #log: FastifyBaseLogger | undefined;

  constructor(options: KubeUsageLedgerOptions) {
    this.#client = options.client;
    this.#namespace = options.namespace;
    this.#log = options.log;
  }

  #collection(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/configmaps`;
  }

  #name(account: string): string {
    if (!ACCOUNT_PATTERN.test(account)) throw new Error(`invalid account ${JSON.stringify(account)}`);
    return `kubeception-usage-${account}`;
  }

  async #get(account: string): Promise<V1ConfigMap | undefined> {
    try {
      return await this.#client.request<V1ConfigMap>('GET', `${this.#collection()}/${this.#name(account)}`);
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  #parse(account: string, configMap: V1ConfigMap | undefined): Map<string, ClusterUsageRecord> {
    const records = new Map<string, ClusterUsageRecord>();
    for (const [id, raw] of Object.entries(configMap?.data ?? {})) {
      try {
        records.set(id, parseUsageRecord(JSON.parse(raw)));
      } catch (error) {
        // Kept as it is in the ConfigMap (see update), just not counted: a person has to look at it.
        this.#log?.error({ account, cluster: id, err: error }, 'malformed usage record');
      }
    }
    return records;
  }

  async read(account: string): Promise<Map<string, ClusterUsageRecord>> {
    return this.#parse(account, await onHost(() => this.#get(account)));
  }

  async update(account: string, change: (records: Map<string, ClusterUsageRecord>) => Map<string, ClusterUsageRecord> | undefined): Promise<void> {
    await onHost(async () => {
      for (let attempt = 0; attempt < 10; attempt++) {
        const current = await this.#get(account);
        const before = this.#parse(account, current);
        const after = change(new Map(before));
        if (after === undefined) return;
        // Start from the raw data so entries we could not parse survive; drop only what `change` dropped.
        const data: Record<string, string> = { ...current?.data };
        for (const id of before.keys()) if (!after.has(id)) delete data[id];
        for (const [id, record] of after) data[id] = JSON.stringify(record);
        const size = Object.entries(data).reduce((sum, [k, v]) => sum + k.length + v.length, 0);
        if (size > SIZE_WARNING_BYTES) this.#log?.warn({ account, bytes: size }, 'usage ledger is getting close to the 1 MiB ConfigMap limit');
        try {
          if (current === undefined) {
            await this.#client.request('POST', this.#collection(), {
              body: {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: {
                  name: this.#name(account),
                  namespace: this.#namespace,
                  labels: { [LABELS.createdBy]: CREATED_BY_API, [LABELS.usageLedger]: 'true', [LABELS.account]: account },
                },
                data,
              } satisfies V1ConfigMap,
            });
          } else {
            await this.#client.request('PUT', `${this.#collection()}/${this.#name(account)}`, { body: { ...current, data } });
          }
          return;
        } catch (error) {
          // Someone wrote in between (409 on create or on the resourceVersion): read again.
          if (!isStatus(error, 409)) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * (attempt + 1)));
        }
      }
      throw new Error(`usage ledger of ${account} kept changing under 10 attempts to update it`);
    });
  }

  async accounts(): Promise<string[]> {
    const list = await onHost(() =>
      this.#client.request<V1ConfigMapList>('GET', this.#collection(), { query: { labelSelector: `${LABELS.usageLedger}=true` } }),
    );
    return list.items.map((cm) => cm.metadata?.labels?.[LABELS.account]).filter((a): a is string => a !== undefined && ACCOUNT_PATTERN.test(a));
  }
}
