// Idempotency records as ConfigMaps in the API's namespace, one per (account, key):
// `kubeception-idem-<keyHash>`. Claiming is a plain create: the API server refuses a second object
// with the same name (409), which is the atomic create-if-absent the semantics need, across any
// number of API replicas.
import type { V1ConfigMap, V1ConfigMapList } from '@kubernetes/client-node';
import type { IdempotencyRecord, IdempotencyStore, StoredResponse } from '../idempotency.ts';
import { isStatus, onHost, type KubeClient } from './kube.ts';
import { CREATED_BY_API, LABELS } from '../../core/index.ts';

const DATA_KEY = 'record.json';

export interface KubeIdempotencyStoreOptions {
  client: KubeClient;
  namespace: string;
}

function parseRecord(configMap: V1ConfigMap): IdempotencyRecord {
  const raw = configMap.data?.[DATA_KEY];
  if (raw === undefined) throw new Error(`idempotency record ${configMap.metadata?.name} has no ${DATA_KEY}`);
  const record = JSON.parse(raw) as IdempotencyRecord;
  for (const field of ['account', 'keyHash', 'fingerprint', 'clusterId', 'createdAt', 'expiresAt'] as const) {
    if (typeof record[field] !== 'string') throw new Error(`idempotency record ${configMap.metadata?.name} lacks ${field}`);
  }
  return record;
}

export class KubeIdempotencyStore implements IdempotencyStore {
  readonly #client: KubeClient;
  readonly #namespace: string;

  constructor(options: KubeIdempotencyStoreOptions) {
    this.#client = options.client;
    this.#namespace = options.namespace;
  }

  #collection(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/configmaps`;
  }

  #name(keyHash: string): string {
    if (!/^[0-9a-f]{40}$/.test(keyHash)) throw new Error('invalid idempotency key hash');
    return `kubeception-idem-${keyHash}`;
  }

  #configMap(record: IdempotencyRecord): V1ConfigMap {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: this.#name(record.keyHash),
        namespace: this.#namespace,
        labels: { [LABELS.createdBy]: CREATED_BY_API, [LABELS.idempotencyRecord]: 'true', [LABELS.account]: record.account },
      },
      data: { [DATA_KEY]: JSON.stringify(record) },
    };
  }

  async claim(record: IdempotencyRecord): Promise<{ record: IdempotencyRecord; created: boolean }> {
    return onHost(async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await this.#client.request('POST', this.#collection(), { body: this.#configMap(record) });
          return { record, created: true };
        } catch (error) {
          if (!isStatus(error, 409)) throw error;
        }
        let existing: V1ConfigMap;
        try {
          existing = await this.#client.request<V1ConfigMap>('GET', `${this.#collection()}/${this.#name(record.keyHash)}`);
        } catch (error) {
          if (isStatus(error, 404)) continue; // released between our create and read: claim again
          throw error;
        }
        const stored = parseRecord(existing);
        if (Date.parse(stored.expiresAt) > Date.parse(record.createdAt)) return { record: stored, created: false };
        // Expired: remove exactly that object (a precondition, so a fresh claim by someone else survives), then claim.
        await this.#deleteExact(existing).catch((error: unknown) => {
          if (!isStatus(error, 404, 409)) throw error;
        });
      }
      throw new Error(`could not claim idempotency key ${record.keyHash}: it keeps changing`);
    });
  }

  async #deleteExact(configMap: V1ConfigMap): Promise<void> {
    await this.#client.request('DELETE', `${this.#collection()}/${configMap.metadata?.name}`, {
      body: {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        preconditions: { uid: configMap.metadata?.uid, resourceVersion: configMap.metadata?.resourceVersion },
      },
    });
  }

  async complete(record: IdempotencyRecord, response: StoredResponse): Promise<void> {
    const body = { data: { [DATA_KEY]: JSON.stringify({ ...record, response }) } };
    await onHost(() =>
      this.#client.request('PATCH', `${this.#collection()}/${this.#name(record.keyHash)}`, { body, contentType: 'application/merge-patch+json' }),
    );
  }

  async release(record: IdempotencyRecord): Promise<void> {
    await onHost(async () => {
      try {
        await this.#client.request('DELETE', `${this.#collection()}/${this.#name(record.keyHash)}`);
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    });
  }

  async expire(now: Date): Promise<number> {
    const list = await onHost(() =>
      this.#client.request<V1ConfigMapList>('GET', this.#collection(), { query: { labelSelector: `${LABELS.idempotencyRecord}=true` } }),
    );
    let removed = 0;
    for (const configMap of list.items) {
      let expired = true;
      try {
        expired = Date.parse(parseRecord(configMap).expiresAt) <= now.getTime();
      } catch {
        // unreadable records cannot be honoured; dropping them lets the key be used again
      }
      if (!expired) continue;
      try {
        await this.#deleteExact(configMap);
        removed++;
      } catch (error) {
        if (!isStatus(error, 404, 409)) throw error;
      }
    }
    return removed;
  }
}
