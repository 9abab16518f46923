// API keys: a bearer token maps to an account, its scopes and the groups it may grant. Only the
// sha256 of a key is stored, so the store leaking does not leak keys. Object-level authorization
// (an account only sees its own clusters) is done by the routes, which answer 404 for foreign ids.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { problems } from './problems.ts';
import type { TokenBucketLimiter } from './rate-limit.ts';
import { ACCOUNT_PATTERN, SCOPES, type Principal, type Scope } from './types.ts';

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
}

export interface AuthStore {
  /** The record for a key hash, or undefined for unknown/revoked keys. */
  lookup(keyId: string): Promise<ApiKeyRecord | undefined>;
}

const KEY_PREFIX = 'kc_';
const KEY_PATTERN = /^kc_[A-Za-z0-9_-]{43}$/;
/** Characters Kubernetes accepts in group names that we let accounts grant. */
const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._@-]{0,127}$/;

/** A new random API key: 256 bits, URL-safe, recognisable by its prefix (secret scanners). */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** The key id: sha256 hex of the key. The store is keyed by it; logs show it. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Groups that would give a kubeconfig powers beyond the tenant's RBAC are never grantable. */
export function grantableGroupProblem(group: string): string | undefined {
  if (!GROUP_PATTERN.test(group)) return `group ${JSON.stringify(group)} is not a valid group name`;
  if (group.toLowerCase().startsWith('system:')) return `group ${JSON.stringify(group)} is reserved by Kubernetes and can never be granted`;
  return undefined;
}

/** Validates a stored or requested key record; throws with a message naming the bad field. */
export function parseKeyRecord(value: unknown): ApiKeyRecord {
  if (typeof value !== 'object' || value === null) throw new Error('API key record must be an object');
  const record = value as Record<string, unknown>;
  const { account, scopes, groups, name, createdAt } = record;
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
  return {
    account,
    scopes: [...new Set(scopes as Scope[])],
    groups: [...new Set(groups as string[])],
    ...(name === undefined ? {} : { name }),
    createdAt,
  };
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
  /** Charged once per failed authentication, per client address: slows down key guessing. */
  failureLimiter?: TokenBucketLimiter;
}

function clientAddress(request: FastifyRequest): string {
  return request.ip || request.socket.remoteAddress || 'unknown';
}

/** onRequest hook: resolves the principal for routes that declare a scope, 401/403 otherwise. */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope;
    if (scope === undefined) return;
    const address = clientAddress(request);
    const limiter = options.failureLimiter;
    if (limiter !== undefined && limiter.peek(address) < 1) {
      const retry = limiter.retryAfterSeconds(address);
      throw problems.tooManyRequests(`too many failed authentications from this address; retry in ${retry} s`, retry);
    }
    const fail = (problem: ReturnType<typeof problems.unauthorized>) => {
      limiter?.take(address);
      return problem;
    };
    const header = request.headers.authorization;
    if (header === undefined) throw fail(problems.unauthorized('missing credentials: send "Authorization: Bearer <API key>"'));
    const key = bearerKey(header);
    if (key === undefined) throw fail(problems.unauthorized('malformed Authorization header: expected "Bearer kc_<43 characters>"'));
    const keyId = hashApiKey(key);
    const record = await options.store.lookup(keyId);
    if (record === undefined) throw fail(problems.unauthorized('unknown or revoked API key'));
    if (!record.scopes.includes(scope)) {
      throw problems.forbidden(`this API key has scopes [${record.scopes.join(', ')}]; ${request.method} ${request.routeOptions.url ?? ''} needs "${scope}"`);
    }
    request.principal = { account: record.account, scopes: record.scopes, groups: record.groups, keyId };
    request.log = request.log.child({ account: record.account, keyId: keyId.slice(0, 12) });
  });
}

/** The principal of an authenticated route (the auth hook guarantees it is set). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error(`route ${request.routeOptions.url ?? request.url} has no scope: it cannot use the principal`);
  return request.principal;
}
