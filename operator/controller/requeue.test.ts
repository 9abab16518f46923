import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REQUEUE, requeueAfterMs } from './requeue.ts';

test('polling only where no watch reports: bootstrap pending soon, Ready periodically, the rest as a safety net', () => {
  const base = { phase: 'Provisioning', pkiAlarm: false, apiServing: false, bootstrapOk: undefined };
  assert.equal(requeueAfterMs({ ...base, phase: 'Ready', apiServing: true, bootstrapOk: true }), REQUEUE.readyMs);
  // A node that just joined waits for its serving certificate: look again within seconds, not half a minute.
  assert.equal(requeueAfterMs({ ...base, phase: 'Ready', apiServing: true, bootstrapOk: true, servingCsrsWaiting: 1 }), REQUEUE.servingCsrWaitingMs);
  assert.ok(REQUEUE.servingCsrWaitingMs < REQUEUE.readyMs);
  assert.equal(requeueAfterMs({ ...base, phase: 'Failed', pkiAlarm: true, apiServing: true }), REQUEUE.alarmMs);
  // The tenant API serves, the work inside it failed or was not tried: retry soon.
  assert.equal(requeueAfterMs({ ...base, apiServing: true, bootstrapOk: false }), REQUEUE.bootstrapPendingMs);
  assert.equal(requeueAfterMs({ ...base, apiServing: true }), REQUEUE.bootstrapPendingMs);
  // Pods not ready yet, or an address pending: a Deployment/StatefulSet/Service event wakes the tenant up.
  assert.equal(requeueAfterMs(base), REQUEUE.waitingMs);
  assert.ok(REQUEUE.bootstrapPendingMs < REQUEUE.readyMs && REQUEUE.readyMs <= REQUEUE.waitingMs);
});
