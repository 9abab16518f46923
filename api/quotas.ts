// Per-account quotas: how many clusters an account may have, how many live join tokens each of its
// clusters may hold, how many kubeconfigs it may be issued per hour. Server-wide defaults come from
// flags; an operator raises or lowers them per account (host/account-limits.ts reads the overrides).
// Hard quotas answer 403, the issuance rate 429; both name the limit, its value and the current use.
import { ProblemError } from './problems.ts';

export interface AccountLimits {
  /** Clusters an account may have at once; clusters being deleted do not count (billing stopped). */
  maxClusters: number;
  /** Unexpired join tokens one cluster may hold. */
  maxJoinTokensPerCluster: number;
  /** Kubeconfigs an account may be issued per UTC clock hour, over all its clusters. */
  maxKubeconfigsPerHour: number;
}

/** The names clients see in problems (`limit`) and operators write in overrides. */
export const LIMIT_NAMES: Record<keyof AccountLimits, string> = {
  maxClusters: 'clusters-per-account',
  maxJoinTokensPerCluster: 'join-tokens-per-cluster',
  maxKubeconfigsPerHour: 'kubeconfigs-per-hour',
};

export const DEFAULT_ACCOUNT_LIMITS: AccountLimits = {
  maxClusters: 20,
  maxJoinTokensPerCluster: 10,
  maxKubeconfigsPerHour: 60,
};

const LIMIT_KEYS = Object.keys(LIMIT_NAMES) as (keyof AccountLimits)[];

/** Where the limits of an account come from. */
export interface AccountLimitsSource {
  limitsFor(account: string): Promise<AccountLimits>;
}

/**
 * One account's overrides as an operator writes them: a JSON object with any of the AccountLimits
 * fields, each a whole number >= 0 (0 forbids the thing). Throws a message naming the bad field.
 */
export function parseLimitOverrides(value: unknown): Partial<AccountLimits> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('account limits must be a JSON object');
  const overrides: Partial<AccountLimits> = {};
  for (const [field, limit] of Object.entries(value)) {
    if (!(LIMIT_KEYS as string[]).includes(field)) throw new Error(`unknown limit ${JSON.stringify(field)}; known: ${LIMIT_KEYS.join(', ')}`);
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw new Error(`${field} must be a whole number >= 0, got ${JSON.stringify(limit)}`);
    overrides[field as keyof AccountLimits] = limit;
  }
  return overrides;
}

/** Defaults with per-account overrides held in memory (unit tests; the host source builds on it). */
export class StaticAccountLimits implements AccountLimitsSource {
  readonly #defaults: AccountLimits;
  readonly #overrides: Map<string, Partial<AccountLimits>>;

  constructor(defaults: AccountLimits = DEFAULT_ACCOUNT_LIMITS, overrides: Record<string, Partial<AccountLimits>> = {}) {
    this.#defaults = defaults;
    this.#overrides = new Map(Object.entries(overrides));
  }

  set(account: string, overrides: Partial<AccountLimits>): void {
    this.#overrides.set(account, overrides);
  }

  async limitsFor(account: string): Promise<AccountLimits> {
    return { ...this.#defaults, ...this.#overrides.get(account) };
  }
}

/** 403: a hard quota (clusters, join tokens) is used up; the caller must free something first. */
export function quotaExceeded(limit: keyof AccountLimits, max: number, current: number, what: string): ProblemError {
  return new ProblemError(
    403,
    'quota-exceeded',
    `quota ${LIMIT_NAMES[limit]} exceeded: ${what} has ${current} of at most ${max}; delete some or ask for a higher limit`,
    { title: 'Quota exceeded', extensions: { limit: LIMIT_NAMES[limit], max, current } },
  );
}

/** 429: an issuance rate is used up for this window; Retry-After says when the next one opens. */
export function issuanceRateExceeded(limit: keyof AccountLimits, max: number, current: number, retryAfterSeconds: number): ProblemError {
  return new ProblemError(
    429,
    'issuance-rate-exceeded',
    `rate ${LIMIT_NAMES[limit]} exceeded: ${current} of at most ${max} issued this hour (UTC); retry in ${retryAfterSeconds} s`,
    { title: 'Issuance rate exceeded', extensions: { limit: LIMIT_NAMES[limit], max, current }, headers: { 'retry-after': String(retryAfterSeconds) } },
  );
}
