// When to look at a tenant again without an event. Changes of its Deployment, StatefulSet, Services and
// Secrets re-queue it through the child informers (pods becoming ready, a LoadBalancer address, a deleted
// object), so polling is only needed where no watch tells: the tenant's own API server (the bootstrap
// inside it may fail while it starts) and periodic work on Ready tenants. Polling every not-Ready tenant
// every 2 s kept the work queue of 200 tenants whose pods cannot start busy for good (it never drained:
// ~8 no-op reconciles/s, 45 % of a core on the 2-core test bed; with 60 s it drains and costs ~3-5/s;
// e2e/bench/run.ts).

export const REQUEUE = {
  /** Ready: the bootstrap approves new kubelets' serving certificates, certificates near expiry are re-issued. */
  readyMs: 30_000,
  /** The tenant API serves but the work inside it did not succeed yet: retry soon. */
  bootstrapPendingMs: 2_000,
  /** A node that just joined waits for the approval of its kubelet serving certificate (logs, exec). */
  servingCsrWaitingMs: 5_000,
  /** A PKI alarm waits for a human; look again now and then. */
  alarmMs: 60_000,
  /** Waiting for something a watch reports (pods, addresses): only a safety net. */
  waitingMs: 60_000,
} as const;

export interface RequeueInput {
  phase: string | undefined;
  pkiAlarm: boolean;
  /** At least one control-plane replica is ready, so the tenant API can be reached. */
  apiServing: boolean;
  /** The work inside the tenant succeeded (undefined: not attempted). */
  bootstrapOk: boolean | undefined;
  /** Recent kubelet serving CSRs left pending (a node that joined a moment ago). */
  servingCsrsWaiting?: number;
}

export function requeueAfterMs(input: RequeueInput): number {
  if (input.phase === 'Ready') return (input.servingCsrsWaiting ?? 0) > 0 ? REQUEUE.servingCsrWaitingMs : REQUEUE.readyMs;
  if (input.pkiAlarm) return REQUEUE.alarmMs;
  if (input.apiServing && input.bootstrapOk !== true) return REQUEUE.bootstrapPendingMs;
  return REQUEUE.waitingMs;
}
