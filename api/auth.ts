// API keys: a bearer token maps to an account, its scopes and the groups it may grant. Only the
// sha256 of a key is stored, so the store leaking does not leak keys. Object-level authorization
// (an account only sees its own clusters) is done by the routes, which answer 404 for foreign ids.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allowListGroupProblem } from './identity.ts';
import { problems, type ProblemError } from './problems.ts';
import type { KeyUsageRecorder } from './key-usage.ts';
import type { TokenBucketLimiter } from './rate-limit.ts';
import { ACCOUNT_PATTERN, SCOPES, systemClock, type Clock, type Principal, type Scope } from './types.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one are public (health, docs). */
    scope?: Scope;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface ApiKeyRecord {
  account: string;
  scopes: Scope[];
  groups: string[];
  /** Free text for people: which integration holds the key. */
  name?: string;
  createdAt: string;
  /** RFC 3339; from then on the key is refused (401, "expired"). Absent: the key does not expire. */
  expiresAt?: string;
}

export interface AuthStore {
  /** The record for a key hash, or undefined for unknown/revoked keys. */
  lookup(keyId: string): Promise<ApiKeyRecord | undefined>;
}

const KEY_PREFIX = 'kc_';
const KEY_PATTERN = /^kc_[A-Za-z0-9_-]{43}$/;

/** A new random API key: 256 bits, URL-safe, recognisable by its prefix (secret scanners). */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** The key id: sha256 hex of the key. The store is keyed by it; logs show it. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Groups reserved by Kubernetes, kubeadm or the operator are never on an allow-list (identity.ts). */
export function grantableGroupProblem(group: string): string | undefined {
  return allowListGroupProblem(group);
}

/** Validates a stored or requested key record; throws with a message naming the bad field. */
export function parseKeyRecord(value: unknown): ApiKeyRecord {
  if (typeof value !== 'object' || value === null) throw new Error('API key record must be an object');
  const record = value as Record<string, unknown>;
  const { account, scopes, groups, name, createdAt, expiresAt } = record;
  if (typeof account !== 'string' || !ACCOUNT_PATTERN.test(account)) {
    throw new Error(`invalid account ${JSON.stringify(account)}: must be a DNS label (lower-case letters, digits, '-', at most 63)`);
  }
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => (SCOPES as readonly unknown[]).includes(s))) {
    throw new Error(`invalid scopes ${JSON.stringify(scopes)}: a non-empty list of ${SCOPES.join(', ')}`);
  }
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw new Error('groups must be a list of strings');
  for (const group of groups as string[]) {
    const problem = grantableGroupProblem(group);
    if (problem !== undefined) throw new Error(problem);
  }
  if (name !== undefined && typeof name !== 'string') throw new Error('name must be a string');
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) throw new Error('createdAt must be an RFC 3339 time');
  if (expiresAt !== undefined && (typeof expiresAt !== 'string' || Number.isNaN(Date.parse(expiresAt)))) throw new Error('expiresAt must be an RFC 3339 time');
  return {
    account,
    scopes: [...new Set(scopes as Scope[])],
    groups: [...new Set(groups as string[])],
    ...(name === undefined ? {} : { name }),
    createdAt,
    ...(expiresAt === undefined ? {} : { expiresAt: expiresAt as string }),
  };
}

/** True once the key's expiry has come (a key without one never expires). */
export function isExpired(record: ApiKeyRecord, now: Date): boolean {
  return record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime();
}

/** `Bearer <key>` -> key; undefined when the header is missing or is not a well-formed API key. */
export function bearerKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  const key = match?.[1];
  return key !== undefined && KEY_PATTERN.test(key) ? key : undefined;
}

/** Keys held in memory: unit tests and the benchmark. */
export class MemoryAuthStore implements AuthStore {
  readonly #records = new Map<string, ApiKeyRecord>();

  add(key: string, record: Omit<ApiKeyRecord, 'createdAt'> & { createdAt?: string }): void {
    this.#records.set(hashApiKey(key), parseKeyRecord({ createdAt: new Date(0).toISOString(), ...record }));
  }

  revoke(key: string): void {
    this.#records.delete(hashApiKey(key));
  }

  async lookup(keyId: string): Promise<ApiKeyRecord | undefined> {
    return this.#records.get(keyId);
  }
}

export interface AuthOptions {
  store: AuthStore;
  clock?: Clock;
  /**
   * Failed authentications per client address. Consulted only for requests without a valid key: a valid
   * key is admitted whatever its address did, so clients sharing one address (an ingress, a NAT) cannot
   * lock each other out.
   */
  addressFailures?: TokenBucketLimiter;
  /**
   * Failed authentications per presented key prefix (`keyFailureBucket`): what a guesser controls. Checked
   * before the lookup, so guessing the rest of a key whose beginning leaked is slowed down.
   */
  keyFailures?: TokenBucketLimiter;
  /** Told of every authenticated request: keeps each key's "last used" (coarsely). */
  usage?: KeyUsageRecorder;
}

/** Characters of a presented key (after `kc_`) that name its failure bucket: 48 bits, so random guesses spread out. */
export const KEY_BUCKET_CHARACTERS = 8;

/** The failure bucket of a presented key: its first characters, which whoever sends it chose. */
export function keyFailureBucket(key: string): string {
  return key.slice(0, KEY_PREFIX.length + KEY_BUCKET_CHARACTERS);
}

function clientAddress(request: FastifyRequest): string {
  return request.ip || request.socket.remoteAddress || 'unknown';
}

/** A bucket a failed authentication is charged to; `what` says which, in the 429's detail. */
interface FailureBucket {
  limiter: TokenBucketLimiter | undefined;
  bucket: string;
  what: string;
}

/** Charges a failure to each bucket; the problem to answer: the 401, or a 429 when a bucket was already empty. */
function chargeFailure(buckets: FailureBucket[], unauthorized: ProblemError): ProblemError {
  let refused: { retry: number; what: string } | undefined;
  for (const { limiter, bucket, what } of buckets) {
    if (limiter === undefined) continue;
    const result = limiter.take(bucket);
    if (!result.allowed && (refused === undefined || result.retryAfterSeconds > refused.retry)) refused = { retry: result.retryAfterSeconds, what };
  }
  if (refused === undefined) return unauthorized;
  return problems.tooManyRequests(`too many failed authentications ${refused.what}; retry in ${refused.retry} s`, refused.retry);
}

const FROM_ADDRESS = 'from this address';
const WITH_PREFIX = 'with keys beginning like this one';

/**
 * onRequest hook: resolves the principal for routes that declare a scope, 401/403/429 otherwise.
 * Order matters: (1) a key prefix under attack is refused before any lookup; (2) a valid, unexpired key
 * is admitted without looking at its address; (3) only failures are charged, to the presented prefix
 * and to the address, and a drained address bucket turns further failures from it into 429.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const clock = options.clock ?? systemClock;
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope;
    if (scope === undefined) return;
    const address: FailureBucket = { limiter: options.addressFailures, bucket: clientAddress(request), what: FROM_ADDRESS };

    const header = request.headers.authorization;
    const key = bearerKey(header);
    if (key === undefined) {
      const detail = header === undefined ? 'missing credentials: send "Authorization: Bearer <API key>"' : 'malformed Authorization header: expected "Bearer kc_<43 characters>"';
      throw chargeFailure([address], problems.unauthorized(detail));
    }
    const prefix: FailureBucket = { limiter: options.keyFailures, bucket: keyFailureBucket(key), what: WITH_PREFIX };
    if (prefix.limiter !== undefined && prefix.limiter.peek(prefix.bucket) < 1) {
      const retry = prefix.limiter.retryAfterSeconds(prefix.bucket);
      throw problems.tooManyRequests(`too many failed authentications ${WITH_PREFIX}; retry in ${retry} s`, retry);
    }
    const keyId = hashApiKey(key);
    const record = await options.store.lookup(keyId);
    const now = clock.now();
    // Only the presented key is described: an expired key's holder learns it expired, nobody learns about other keys.
    if (record === undefined) throw chargeFailure([prefix, address], problems.unauthorized('unknown or revoked API key'));
    if (isExpired(record, now)) throw chargeFailure([prefix, address], problems.unauthorized(`this API key expired at ${record.expiresAt}; ask for a new one`));
    if (!record.scopes.includes(scope)) {
      throw problems.forbidden(`this API key has scopes [${record.scopes.join(', ')}]; ${request.method} ${request.routeOptions.url ?? ''} needs "${scope}"`);
    }
    request.principal = { account: record.account, scopes: record.scopes, groups: record.groups, keyId };
    request.log = request.log.child({ account: record.account, keyId: keyId.slice(0, 12) });
    options.usage?.used(keyId, now);
  });
}

/** The principal of an authenticated route (the auth hook guarantees it is set). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error(`route ${request.routeOptions.url ?? request.url} has no scope: it cannot use the principal`);
  return request.principal;
}
