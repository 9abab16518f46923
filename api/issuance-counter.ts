// Counts issuances (kubeconfigs) per account and UTC clock hour, shared by every API replica: the
// host implementation keeps the count in a ConfigMap written with its resourceVersion, so two
// replicas counting at once cannot both take the last slot. The arithmetic is pure, here.

/** The count of one account in one window, as stored. */
export interface WindowCount {
  /** Start of the window, RFC 3339 (an hour: 2030-01-01T10:00:00.000Z). */
  window: string;
  count: number;
}

export interface TakeOutcome {
  allowed: boolean;
  /** The count in the current window after this take (unchanged when refused). */
  count: number;
  /** When the window ends and the count starts again from 0. */
  windowEnd: Date;
}

const HOUR_MS = 3600_000;

export function hourWindow(now: Date): { start: string; end: Date } {
  const start = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
  return { start: new Date(start).toISOString(), end: new Date(start + HOUR_MS) };
}

/** One take against a stored count: a count of an earlier window no longer counts. */
export function takeFromWindow(stored: WindowCount | undefined, max: number, now: Date): { next: WindowCount; outcome: TakeOutcome } {
  const { count: current, windowEnd } = countInWindow(stored, now);
  const allowed = current < max;
  const count = allowed ? current + 1 : current;
  return { next: { window: hourWindow(now).start, count }, outcome: { allowed, count, windowEnd } };
}

/** What has been counted in the window containing `now` (0 for a count of an earlier window). */
export function countInWindow(stored: WindowCount | undefined, now: Date): { count: number; windowEnd: Date } {
  const { start, end } = hourWindow(now);
  return { count: stored !== undefined && stored.window === start ? stored.count : 0, windowEnd: end };
}

export interface IssuanceCounter {
  /** Counts one issuance for the account unless `max` are already counted in this window. */
  take(account: string, max: number, now: Date): Promise<TakeOutcome>;
  /** The account's count in the current window, without counting. */
  peek(account: string, now: Date): Promise<{ count: number; windowEnd: Date }>;
}

/** Counts in memory: unit tests and the benchmark (one process). */
export class MemoryIssuanceCounter implements IssuanceCounter {
  readonly #counts = new Map<string, WindowCount>();

  async take(account: string, max: number, now: Date): Promise<TakeOutcome> {
    const { next, outcome } = takeFromWindow(this.#counts.get(account), max, now);
    this.#counts.set(account, next);
    return outcome;
  }

  async peek(account: string, now: Date): Promise<{ count: number; windowEnd: Date }> {
    return countInWindow(this.#counts.get(account), now);
  }
}
