// Idempotency-Key for creates (draft-ietf-httpapi-idempotency-key-header): the same key with the
// same body returns the first result; the same key with another body is 422.
//
// How one key makes one cluster, even across API replicas: the first request durably claims the key
// with a create-if-absent write (the API server makes `create` atomic), and the claim already holds
// the cluster id. Whoever holds the claim, and every retry after a crash, creates the tcp under that
// one id, so at most one cluster can exist for the key; a create that finds the tcp already there is
// the same cluster. An in-process lock per key keeps concurrent requests to one replica from all
// racing the host at once: they wait and replay the stored response.
//
// A claim is released only when the create certainly left no cluster behind (perform says so by
// throwing NothingCreated). Any other failure, above all a timeout of the host call, may have
// created the tcp: the claim stays, and the retry creates under the same id and finds that cluster.
import { createHash } from 'node:crypto';
import { problems } from './problems.ts';
import { systemClock, type Clock } from './types.ts';

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface IdempotencyRecord {
  account: string;
  /** sha256(account, key), hex, 40 characters: the record's identity (and a label value). */
  keyHash: string;
  /** sha256 of the canonical request (method, route, body). */
  fingerprint: string;
  /** The id the create uses, fixed at claim time. */
  clusterId: string;
  createdAt: string;
  expiresAt: string;
  /** Set once the create has succeeded: replays return it. */
  response?: StoredResponse;
}

export interface IdempotencyStore {
  /** Stores the record unless one exists for its keyHash (atomically); returns what is stored. */
  claim(record: IdempotencyRecord): Promise<{ record: IdempotencyRecord; created: boolean }>;
  /** Records the response of a finished create. */
  complete(record: IdempotencyRecord, response: StoredResponse): Promise<void>;
  /** Forgets a claim whose create certainly made nothing, so that the key can be retried (with a new id). */
  release(record: IdempotencyRecord): Promise<void>;
  /** Deletes expired records; returns how many. */
  expire(now: Date): Promise<number>;
}

/** Printable ASCII, 1..255 characters: keys end up in logs and labels (hashed), never in names raw. */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7e]{1,255}$';

export function idempotencyKeyHash(account: string, key: string): string {
  return createHash('sha256').update(`${account}\u0000${key}`, 'utf8').digest('hex').slice(0, 40);
}

/** JSON with object keys sorted, so that `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function requestFingerprint(method: string, route: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${route}\n${canonicalJson(body)}`, 'utf8').digest('hex');
}

/** Runs one task per key at a time within this process; other keys run in parallel. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const current = previous.catch(() => {}).then(task);
    const tail = current.catch(() => {});
    this.#tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  get size(): number {
    return this.#tails.size;
  }
}

/**
 * What perform throws when it knows no cluster exists under the claimed id: it failed before writing
 * anything (validation, quotas), or what it wrote is deleted again. The claim is released and
 * `problem` is what the caller sees.
 */
export class NothingCreated extends Error {
  readonly problem: unknown;

  constructor(problem: unknown) {
    super(problem instanceof Error ? problem.message : String(problem));
    this.name = 'NothingCreated';
    this.problem = problem;
  }
}

/** Runs a step that writes nothing: any failure of it means nothing was created. */
export async function beforeCreate<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw error instanceof NothingCreated ? error : new NothingCreated(error);
  }
}

export interface IdempotentResult extends StoredResponse {
  /** True when this is a stored or converged result rather than a fresh create. */
  replayed: boolean;
}

export interface IdempotentCreateInput {
  account: string;
  key: string;
  fingerprint: string;
  newId: () => string;
  /**
   * Creates (or finds) the cluster with this id; must converge when called twice with one id. Throws
   * NothingCreated when it knows no cluster exists; any other error keeps the claim (it may have).
   */
  perform: (clusterId: string, keyHash: string) => Promise<StoredResponse>;
}

export class IdempotentCreates {
  readonly #store: IdempotencyStore;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #locks = new KeyedMutex();

  constructor(options: { store: IdempotencyStore; clock?: Clock; ttlSeconds?: number }) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#ttlMs = (options.ttlSeconds ?? 24 * 60 * 60) * 1000;
  }

  run(input: IdempotentCreateInput): Promise<IdempotentResult> {
    const keyHash = idempotencyKeyHash(input.account, input.key);
    return this.#locks.run(keyHash, async () => {
      const now = this.#clock.now();
      const { record, created } = await this.#store.claim({
        account: input.account,
        keyHash,
        fingerprint: input.fingerprint,
        clusterId: input.newId(),
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + this.#ttlMs).toISOString(),
      });
      if (record.fingerprint !== input.fingerprint) {
        throw problems.unprocessable(
          'idempotency-key-reused',
          'this Idempotency-Key was already used with a different request; send the original request again or use a new key',
        );
      }
      if (record.response !== undefined) return { ...record.response, replayed: true };
      let response: StoredResponse;
      try {
        response = await input.perform(record.clusterId, keyHash);
      } catch (error) {
        if (!(error instanceof NothingCreated)) throw error; // maybe created: keep the claim, a retry finds it
        // Only the claimant releases: another holder of the claim may still be creating.
        if (created) await this.#store.release(record).catch(() => {});
        throw error.problem;
      }
      // If this write fails the create still happened; a retry converges on the same cluster id.
      await this.#store.complete(record, response).catch(() => {});
      return { ...response, replayed: !created };
    });
  }
}

/** Records in memory (unit tests, benchmark): same semantics as the host store, one process only. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<string, IdempotencyRecord>();

  async claim(record: IdempotencyRecord): Promise<{ record: IdempotencyRecord; created: boolean }> {
    const existing = this.#records.get(record.keyHash);
    if (existing !== undefined && Date.parse(existing.expiresAt) > Date.parse(record.createdAt)) {
      return { record: structuredClone(existing), created: false };
    }
    this.#records.set(record.keyHash, structuredClone(record));
    return { record: structuredClone(record), created: true };
  }

  async complete(record: IdempotencyRecord, response: StoredResponse): Promise<void> {
    const existing = this.#records.get(record.keyHash);
    if (existing !== undefined) existing.response = structuredClone(response);
  }

  async release(record: IdempotencyRecord): Promise<void> {
    this.#records.delete(record.keyHash);
  }

  async expire(now: Date): Promise<number> {
    let removed = 0;
    for (const [hash, record] of this.#records) {
      if (Date.parse(record.expiresAt) <= now.getTime()) {
        this.#records.delete(hash);
        removed++;
      }
    }
    return removed;
  }

  get size(): number {
    return this.#records.size;
  }
}
