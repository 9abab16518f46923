// The API's view of the host cluster's TenantControlPlane objects. Routes talk to this interface;
// host/cluster-store.ts implements it over the Kubernetes API, MemoryClusterStore in memory for unit
// tests and the in-process benchmark.
import { randomUUID } from 'node:crypto';
import { accountOf, type TenantControlPlane } from './tcp.ts';
import { systemClock, type Clock } from './types.ts';

/** Creating a tcp whose id is taken. */
export class ClusterExistsError extends Error {
  constructor(id: string) {
    super(`cluster ${id} already exists`);
    this.name = 'ClusterExistsError';
  }
}

/** An update lost a race with another change (resourceVersion moved on). */
export class ClusterConflictError extends Error {
  constructor(id: string) {
    super(`cluster ${id} was changed concurrently`);
    this.name = 'ClusterConflictError';
  }
}

export interface ClusterStore {
  /** Host namespace of a cluster's objects. */
  namespaceFor(id: string): string;
  /** Creates the tcp (and its namespace when there is one per cluster); ClusterExistsError when taken. */
  create(tcp: TenantControlPlane): Promise<TenantControlPlane>;
  get(id: string): Promise<TenantControlPlane | undefined>;
  /** One account's tcps, or every tcp the API manages when account is undefined (metering). */
  list(account?: string): Promise<TenantControlPlane[]>;
  /**
   * One account's tcps as the host has them now, never from a cache: what a quota check that must
   * hold across replicas counts (a replica's cache may not show another replica's create yet).
   */
  listCurrent(account: string): Promise<TenantControlPlane[]>;
  /** JSON merge patch; ClusterConflictError on a resourceVersion mismatch, undefined when gone. */
  patch(id: string, patch: Record<string, unknown>): Promise<TenantControlPlane | undefined>;
  /** Requests deletion; the operator's finalizer may keep the object (phase Deleting) for a while. */
  delete(id: string): Promise<{ found: boolean; gone: boolean }>;
  /** Throws when the host API or the CRD is not usable. */
  ready(): Promise<void>;
  /**
   * Calls `handler` with the last state of every tcp that leaves the store and when it was seen
   * leaving (metering bills a tcp deleted between two passes up to its deletion, not up to the
   * next pass). Returns the unsubscribe function.
   */
  onRemoved?(handler: (tcp: TenantControlPlane, at: Date) => void): () => void;
}

/** The tcp if it exists and belongs to the account: the one rule of object-level authorization. */
export async function getOwned(store: ClusterStore, account: string, id: string): Promise<TenantControlPlane | undefined> {
  const tcp = await store.get(id);
  return tcp !== undefined && accountOf(tcp) === account ? tcp : undefined;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const base: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * In-memory tcps with the API server's bookkeeping (uid, resourceVersion, generation, timestamps).
 * Stored objects are deep-frozen and handed out as they are: no copy per read (the benchmark lists
 * 500 of them per request), and a caller that tried to modify one would throw instead of silently
 * changing the "server" state.
 */
export class MemoryClusterStore implements ClusterStore {
  readonly #objects = new Map<string, TenantControlPlane>();
  readonly #clock: Clock;
  #revision = 0;

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  namespaceFor(id: string): string {
    return `kc-${id}`;
  }

  async create(tcp: TenantControlPlane): Promise<TenantControlPlane> {
    const id = tcp.metadata.name;
    if (this.#objects.has(id)) throw new ClusterExistsError(id);
    const stored: TenantControlPlane = structuredClone(tcp);
    stored.metadata.uid = randomUUID();
    stored.metadata.resourceVersion = String(++this.#revision);
    stored.metadata.generation = 1;
    stored.metadata.creationTimestamp = this.#clock.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.#objects.set(id, deepFreeze(stored));
    return stored;
  }

  async get(id: string): Promise<TenantControlPlane | undefined> {
    return this.#objects.get(id);
  }

  async list(account?: string): Promise<TenantControlPlane[]> {
    return [...this.#objects.values()].filter((tcp) => account === undefined || accountOf(tcp) === account);
  }

  listCurrent(account: string): Promise<TenantControlPlane[]> {
    return this.list(account);
  }

  async patch(id: string, patch: Record<string, unknown>): Promise<TenantControlPlane | undefined> {
    const current = this.#objects.get(id);
    if (current === undefined) return undefined;
    const wanted = (patch.metadata as Record<string, unknown> | undefined)?.resourceVersion;
    if (wanted !== undefined && wanted !== current.metadata.resourceVersion) throw new ClusterConflictError(id);
    const next = mergePatch(current, patch) as TenantControlPlane;
    next.metadata = { ...next.metadata, resourceVersion: String(++this.#revision) };
    if (JSON.stringify(next.spec) !== JSON.stringify(current.spec)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    this.#objects.set(id, deepFreeze(next));
    return next;
  }

  async delete(id: string): Promise<{ found: boolean; gone: boolean }> {
    const last = this.#objects.get(id);
    const found = this.#objects.delete(id);
    if (last !== undefined) for (const handler of this.#removedHandlers) handler(last, this.#clock.now());
    return { found, gone: true };
  }

  readonly #removedHandlers = new Set<(tcp: TenantControlPlane, at: Date) => void>();

  onRemoved(handler: (tcp: TenantControlPlane, at: Date) => void): () => void {
    this.#removedHandlers.add(handler);
    return () => this.#removedHandlers.delete(handler);
  }

  async ready(): Promise<void> {}

  /** Test helper: what the operator would write into status. */
  setStatus(id: string, status: TenantControlPlane['status']): void {
    const tcp = this.#objects.get(id);
    if (tcp === undefined) throw new Error(`no cluster ${id}`);
    const next: TenantControlPlane = { ...tcp, metadata: { ...tcp.metadata, resourceVersion: String(++this.#revision) }, status: structuredClone(status) };
    this.#objects.set(id, deepFreeze(next));
  }
}
