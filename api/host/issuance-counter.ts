// Kubeconfig issuance counts shared by every API replica: one ConfigMap per account,
// `kubeception-issuance-<account>` in the API's namespace, holding the current hour's count. A take
// reads it, computes the next count (issuance-counter.ts) and writes it back with the resourceVersion
// it read (or creates it): the API server refuses a write based on a stale read (409), and the take
// starts over, so no two replicas can count the same slot.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { countInWindow, takeFromWindow, type IssuanceCounter, type TakeOutcome, type WindowCount } from '../issuance-counter.ts';
import { isStatus, onHost, type KubeClient } from './kube.ts';
import { CREATED_BY_API, LABELS } from '../../core/index.ts';

export interface KubeIssuanceCounterOptions {
  client: KubeClient;
  namespace: string;
  /** Conflicting writes retried before giving up (default 8). */
  attempts?: number;
}

/** The stored count; an unreadable one counts as none (it can only be an older window or a hand edit). */
export function parseWindowCount(configMap: V1ConfigMap | undefined): WindowCount | undefined {
  const window = configMap?.data?.window;
  const count = Number(configMap?.data?.count);
  if (window === undefined || !Number.isInteger(count) || count < 0) return undefined;
  return { window, count };
}

export class KubeIssuanceCounter implements IssuanceCounter {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #attempts: number;

  constructor(options: KubeIssuanceCounterOptions) {
    this.#client = options.client;
    this.#namespace = options.namespace;
    this.#attempts = options.attempts ?? 8;
  }

  #collection(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/configmaps`;
  }

  #name(account: string): string {
    return `kubeception-issuance-${account}`;
  }

  async peek(account: string, now: Date): Promise<{ count: number; windowEnd: Date }> {
    const stored = await onHost(() =>
      this.#client.request<V1ConfigMap>('GET', `${this.#collection()}/${this.#name(account)}`).catch((error: unknown) => {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }),
    );
    return countInWindow(parseWindowCount(stored), now);
  }

  async take(account: string, max: number, now: Date): Promise<TakeOutcome> {
    const name = this.#name(account);
    return onHost(async () => {
      for (let attempt = 0; attempt < this.#attempts; attempt++) {
        let current: V1ConfigMap | undefined;
        try {
          current = await this.#client.request<V1ConfigMap>('GET', `${this.#collection()}/${name}`);
        } catch (error) {
          if (!isStatus(error, 404)) throw error;
        }
        const { next, outcome } = takeFromWindow(parseWindowCount(current), max, now);
        if (!outcome.allowed) return outcome;
        const data = { window: next.window, count: String(next.count) };
        try {
          if (current === undefined) {
            const labels = { [LABELS.createdBy]: CREATED_BY_API, [LABELS.account]: account };
            await this.#client.request('POST', this.#collection(), { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: this.#namespace, labels }, data } });
          } else {
            // PUT with the resourceVersion read above: 409 when another replica counted in between.
            await this.#client.request('PUT', `${this.#collection()}/${name}`, { body: { ...current, data } });
          }
          return outcome;
        } catch (error) {
          if (!isStatus(error, 409)) throw error;
        }
      }
      throw new Error(`could not count an issuance for account ${account}: the counter keeps changing`);
    });
  }
}
