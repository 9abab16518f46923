// API keys in the host cluster: one Secret (`kubeception-api-keys` in the API's namespace) whose
// data maps key id (sha256 of the key) -> JSON record {account, scopes, groups, name, createdAt, expiresAt?}.
// keys-cli is its only writer (create, revoke); the API only reads it (KubeAuthStore), and its RBAC allows
// nothing else. Last use is kept apart, in host/key-usage-store.ts.
// A Secret, not a ConfigMap: hashes are not keys, but who has which rights is still sensitive, and
// Secrets get the tighter RBAC and encryption at rest. Writes are JSON merge patches of one entry,
// which the API server applies atomically, so concurrent key creations do not lose each other.
import type { FastifyBaseLogger } from 'fastify';
import type { V1Secret } from '@kubernetes/client-node';
import { generateApiKey, hashApiKey, parseKeyRecord, type ApiKeyRecord, type AuthStore } from '../auth.ts';
import { TokenBucketLimiter } from '../rate-limit.ts';
import { systemClock, type Clock } from '../types.ts';
import { forgetKeyUsage, readKeyUsage } from './key-usage-store.ts';
import { b64, isStatus, mergeDataOrCreate, onHost, unb64, type KubeClient } from './kube.ts';

export const API_KEYS_SECRET = 'kubeception-api-keys';

export interface KeyStoreLocation {
  client: KubeClient;
  namespace: string;
  secretName?: string;
}

function secretPath(location: KeyStoreLocation): string {
  return `/api/v1/namespaces/${encodeURIComponent(location.namespace)}/secrets/${location.secretName ?? API_KEYS_SECRET}`;
}

async function readSecret(location: KeyStoreLocation): Promise<V1Secret | undefined> {
  try {
    return await location.client.request<V1Secret>('GET', secretPath(location));
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/** Parses every entry; malformed ones are reported, not fatal (one bad edit must not lock everyone out). */
export function parseKeySecret(secret: V1Secret | undefined, onBad?: (keyId: string, error: Error) => void): Map<string, ApiKeyRecord> {
  const records = new Map<string, ApiKeyRecord>();
  for (const [keyId, value] of Object.entries(secret?.data ?? {})) {
    try {
      if (!/^[0-9a-f]{64}$/.test(keyId)) throw new Error('entry name is not a sha256 hex key id');
      records.set(keyId, parseKeyRecord(JSON.parse(unb64(value))));
    } catch (error) {
      onBad?.(keyId, error as Error);
    }
  }
  return records;
}

export interface KubeAuthStoreOptions extends KeyStoreLocation {
  clock?: Clock;
  log?: FastifyBaseLogger;
  /** Cached keys are re-read at least this often, so revocations take effect (default 10 s). */
  refreshMs?: number;
  /** Unknown keys trigger re-reads: a burst of missReadBurst (default 5), then one per missRefreshMs (default 1 s). */
  missRefreshMs?: number;
  missReadBurst?: number;
}

export class KubeAuthStore implements AuthStore {
  readonly #options: KubeAuthStoreOptions;
  readonly #clock: Clock;
  #records = new Map<string, ApiKeyRecord>();
  #loadedAt = -Infinity;
  #loading: Promise<void> | undefined;
  /** The re-reads unknown keys may cause (real time, whatever the clock: it protects the host). */
  readonly #missReads: TokenBucketLimiter;

  constructor(options: KubeAuthStoreOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#missReads = new TokenBucketLimiter({ capacity: options.missReadBurst ?? 5, refillPerSecond: 1000 / (options.missRefreshMs ?? 1000) });
  }

  /** Re-reads the Secret; concurrent callers share one read. */
  load(): Promise<void> {
    this.#loading ??= onHost(() => readSecret(this.#options))
      .then((secret) => {
        this.#records = parseKeySecret(secret, (keyId, error) =>
          this.#options.log?.warn({ keyId: keyId.slice(0, 12), err: error }, 'ignoring malformed API key entry'),
        );
        this.#loadedAt = this.#clock.now().getTime();
      })
      .finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  /** Re-reads; with keys loaded before, a failed read keeps them (a host hiccup must not log everyone out). */
  async #refresh(): Promise<void> {
    try {
      await this.load();
    } catch (error) {
      if (this.#loadedAt === -Infinity) throw error;
      this.#options.log?.warn({ err: error }, 'could not re-read API keys; using the ones loaded before');
    }
  }

  async lookup(keyId: string): Promise<ApiKeyRecord | undefined> {
    const age = this.#clock.now().getTime() - this.#loadedAt;
    if (age > (this.#options.refreshMs ?? 10_000)) await this.#refresh();
    const found = this.#records.get(keyId);
    if (found !== undefined) return found;
    await this.#missRead();
    return this.#records.get(keyId);
  }

  /**
   * An unknown key may be one keys-cli has just written: re-read at once, from a small budget of reads
   * (a burst, then one per missRefreshMs) so that guessing cannot flood the host. A miss that finds a read
   * in flight shares it. Answers stay immediate, also to a flood; only while a flood keeps the budget used
   * up can the first use of a brand-new key be refused, for about missRefreshMs at most.
   */
  async #missRead(): Promise<void> {
    if (this.#loading === undefined && !this.#missReads.take('store').allowed) return;
    await this.#refresh();
  }
}

export interface NewKey {
  account: string;
  scopes: string[];
  groups: string[];
  name?: string;
  /** RFC 3339 end of validity; absent: no end. */
  expiresAt?: string;
}

/** Creates a key; returns the key itself, which is shown once and stored nowhere. */
export async function createApiKey(location: KeyStoreLocation, input: NewKey, now: Date = new Date()): Promise<{ key: string; keyId: string; record: ApiKeyRecord }> {
  const record = parseKeyRecord({ ...input, createdAt: now.toISOString() });
  const key = generateApiKey();
  const keyId = hashApiKey(key);
  const entry = { [keyId]: b64(JSON.stringify(record)) };
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: location.secretName ?? API_KEYS_SECRET,
      namespace: location.namespace,
      labels: { 'app.kubernetes.io/created-by': 'kubeception-api' },
    },
    data: entry,
  };
  await mergeDataOrCreate(location.client, `/api/v1/namespaces/${encodeURIComponent(location.namespace)}/secrets`, secret.metadata!.name!, entry, secret);
  return { key, keyId, record };
}

export interface ListedKey {
  keyId: string;
  record: ApiKeyRecord;
  /** When the API last admitted it (to the minute); undefined: not since it was created, or not recorded yet. */
  lastUsedAt?: string;
}

export async function listApiKeys(location: KeyStoreLocation): Promise<ListedKey[]> {
  const [records, usage] = await Promise.all([readSecret(location).then((secret) => parseKeySecret(secret)), readKeyUsage(location)]);
  return [...records]
    .map(([keyId, record]) => {
      const lastUsedAt = usage.get(keyId);
      return { keyId, record, ...(lastUsedAt === undefined ? {} : { lastUsedAt }) };
    })
    .sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt));
}

/** Revokes the key whose id starts with `prefix` (at least 8 hex digits, unambiguous). */
export async function revokeApiKey(location: KeyStoreLocation, prefix: string): Promise<string> {
  if (!/^[0-9a-f]{8,64}$/.test(prefix)) throw new Error('give at least 8 hex digits of the key id (see `list`)');
  const matches = Object.keys((await readSecret(location))?.data ?? {}).filter((keyId) => keyId.startsWith(prefix));
  if (matches.length === 0) throw new Error(`no API key id starts with ${prefix}`);
  if (matches.length > 1) throw new Error(`${matches.length} key ids start with ${prefix}; give more digits`);
  const keyId = matches[0]!;
  await location.client.request('PATCH', secretPath(location), { body: { data: { [keyId]: null } }, contentType: 'application/merge-patch+json' });
  await forgetKeyUsage(location, keyId);
  return keyId;
}
