// When a new API key stops working, from keys-cli's --expires-in / --expires-at. Pure: data in, time out.

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Long enough for any integration, short enough that a forgotten key does not live forever by mistake. */
export const MAX_KEY_LIFETIME_DAYS = 3660;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** `30d`, `12h`, `90m`, `3600s` -> milliseconds; throws naming the flag. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (match === null) throw new Error(`--expires-in ${JSON.stringify(text)}: expected a whole number and a unit s, m, h or d (e.g. 30d, 12h)`);
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms <= 0) throw new Error(`--expires-in ${text}: must be more than 0`);
  return ms;
}

/**
 * The key's expiresAt (RFC 3339, UTC) or undefined for a key without an end. At most one of the two may be
 * given; the end must lie in the future and within MAX_KEY_LIFETIME_DAYS.
 */
export function keyExpiry(options: { expiresIn?: string | undefined; expiresAt?: string | undefined }, now: Date): string | undefined {
  const { expiresIn, expiresAt } = options;
  if (expiresIn !== undefined && expiresAt !== undefined) throw new Error('give --expires-in or --expires-at, not both');
  let end: number;
  if (expiresIn !== undefined) end = now.getTime() + parseDuration(expiresIn);
  else if (expiresAt !== undefined) {
    if (!RFC3339.test(expiresAt) || Number.isNaN(Date.parse(expiresAt))) throw new Error(`--expires-at ${JSON.stringify(expiresAt)}: expected an RFC 3339 time such as 2031-01-31T00:00:00Z`);
    end = Date.parse(expiresAt);
  } else return undefined;
  if (end <= now.getTime()) throw new Error(`the key would expire at ${new Date(end).toISOString()}, which is not in the future`);
  if (end - now.getTime() > MAX_KEY_LIFETIME_DAYS * UNIT_MS.d) throw new Error(`the key would live longer than ${MAX_KEY_LIFETIME_DAYS} days; give a shorter --expires-in or an earlier --expires-at`);
  return new Date(end).toISOString();
}
