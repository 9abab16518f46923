// Where usage periods (usage.ts) live. Every write is compare-and-swap: a create fails when the period
// exists, a replace when the period changed since it was read (the version). That, with the watermark
// in each period, is what makes concurrent or repeated metering passes add every second exactly once.
// host/usage-store.ts keeps them in ConfigMaps; MemoryUsageStore here, for unit tests.
import { monthEnd, type UsagePeriod } from './usage.ts';

export interface StoredPeriod {
  period: UsagePeriod;
  /** Opaque version for compare-and-swap (a resourceVersion in the host). */
  version: string;
}

/** A create found the period there, or a replace found it changed. */
export class UsageConflictError extends Error {
  constructor(what: string) {
    super(`usage period ${what} changed concurrently`);
    this.name = 'UsageConflictError';
  }
}

export interface UsageStore {
  /** The periods that are not final: each live cluster's cursor (two across an interrupted month change). */
  listOpen(): Promise<StoredPeriod[]>;
  /** One cluster's periods that are not final. */
  listOpenOf(clusterId: string): Promise<StoredPeriod[]>;
  /** An account's periods in these months, and every open one of the account (wherever its month). */
  listAccount(account: string, months: string[]): Promise<UsagePeriod[]>;
  /** Every period of one cluster of the account. */
  listCluster(account: string, clusterId: string): Promise<UsagePeriod[]>;
  /** Whether any period of the cluster exists (migration: already folded in). */
  hasCluster(clusterId: string): Promise<boolean>;
  /** UsageConflictError when it exists. */
  create(period: UsagePeriod): Promise<StoredPeriod>;
  /** UsageConflictError when the stored version is not `version`. */
  replace(period: UsagePeriod, version: string): Promise<StoredPeriod>;
  /** Deletes final periods of months that ended before `before` (retention); returns how many. */
  deleteFinalBefore(before: number): Promise<number>;
}

const keyOf = (p: { clusterId: string; month: string }) => `${p.clusterId}/${p.month}`;

/** In memory, with the same compare-and-swap rules; `failNext` injects faults for tests. */
export class MemoryUsageStore implements UsageStore {
  readonly #periods = new Map<string, StoredPeriod>();
  #version = 0;
  /** Called before every write; throw from it to make that write fail. */
  beforeWrite: (period: UsagePeriod) => void = () => {};

  #copy(stored: StoredPeriod): StoredPeriod {
    return structuredClone(stored);
  }

  all(): UsagePeriod[] {
    return [...this.#periods.values()].map((s) => structuredClone(s.period));
  }

  async listOpen(): Promise<StoredPeriod[]> {
    return [...this.#periods.values()].filter((s) => !s.period.final).map((s) => this.#copy(s));
  }

  async listOpenOf(clusterId: string): Promise<StoredPeriod[]> {
    return (await this.listOpen()).filter((s) => s.period.clusterId === clusterId);
  }

  async listAccount(account: string, months: string[]): Promise<UsagePeriod[]> {
    return this.all().filter((p) => p.account === account && (months.includes(p.month) || !p.final));
  }

  async listCluster(account: string, clusterId: string): Promise<UsagePeriod[]> {
    return this.all().filter((p) => p.account === account && p.clusterId === clusterId);
  }

  async hasCluster(clusterId: string): Promise<boolean> {
    return [...this.#periods.values()].some((s) => s.period.clusterId === clusterId);
  }

  async create(period: UsagePeriod): Promise<StoredPeriod> {
    this.beforeWrite(period);
    if (this.#periods.has(keyOf(period))) throw new UsageConflictError(keyOf(period));
    const stored = { period: structuredClone(period), version: String(++this.#version) };
    this.#periods.set(keyOf(period), stored);
    return this.#copy(stored);
  }

  async replace(period: UsagePeriod, version: string): Promise<StoredPeriod> {
    this.beforeWrite(period);
    if (this.#periods.get(keyOf(period))?.version !== version) throw new UsageConflictError(keyOf(period));
    const stored = { period: structuredClone(period), version: String(++this.#version) };
    this.#periods.set(keyOf(period), stored);
    return this.#copy(stored);
  }

  async deleteFinalBefore(before: number): Promise<number> {
    let deleted = 0;
    for (const [key, stored] of this.#periods) {
      if (stored.period.final && monthEnd(stored.period.month) <= before) {
        this.#periods.delete(key);
        deleted++;
      }
    }
    return deleted;
  }
}
