// The changes of a cluster's billed state (size, hibernation), recorded by the API on the tcp itself
// (annotation kubeception.io/billing-history) in the same write that makes the change. The metering
// pass bills each change from the second it was made, however late the pass runs, on whichever replica
// leads. Kept short: the pass needs only the changes since its last watermark, and a cluster changes
// size at most twice (sizes only grow) plus its hibernations.
import { ANNOTATIONS } from '../core/index.ts';
import { sizeOf, type TenantControlPlane } from './tcp.ts';
import { SIZES } from './types.ts';
import type { BilledState, StateChange } from './usage.ts';

/** Changes kept on the tcp; older ones were billed long ago. */
export const BILLING_HISTORY_LENGTH = 8;

/** Stored as `[[epochSeconds, size, hibernated], ...]`; `0` stands for "from creation". */
type StoredChange = [number, string, boolean];

/**
 * What the tcp is billed as now. `spec.hibernated` is issue 15's field, not in the CRD yet: read here
 * already, so that billing hibernation apart needs no change once it exists.
 */
export function billedStateOf(tcp: TenantControlPlane): BilledState {
  return { size: sizeOf(tcp), hibernated: (tcp.spec as { hibernated?: unknown }).hibernated === true };
}

/** The recorded changes, oldest first; a malformed annotation (edited by hand) counts as none. */
export function billingHistoryOf(tcp: TenantControlPlane): StateChange[] {
  const raw = tcp.metadata.annotations?.[ANNOTATIONS.billingHistory];
  if (raw === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((c): c is StoredChange => Array.isArray(c) && Number.isSafeInteger(c[0]) && c[0] >= 0 && (SIZES as readonly unknown[]).includes(c[1]) && typeof c[2] === 'boolean')
      .map(([since, size, hibernated]) => ({ since, size: size as BilledState['size'], hibernated }))
      .sort((a, b) => a.since - b.since);
  } catch {
    return [];
  }
}

function format(changes: StateChange[]): string {
  return JSON.stringify(changes.map((c): StoredChange => [c.since, c.size, c.hibernated]));
}

/** The annotation of a new cluster: its state from creation on. */
export function initialBillingHistory(state: BilledState): string {
  return format([{ ...state, since: 0 }]);
}

/** The annotation after a change to `state` at `at` (epoch seconds), the oldest entries dropped. */
export function appendBillingHistory(tcp: TenantControlPlane, state: BilledState, at: number): string {
  const changes = [...billingHistoryOf(tcp), { ...state, since: at }];
  return format(changes.slice(-BILLING_HISTORY_LENGTH));
}
