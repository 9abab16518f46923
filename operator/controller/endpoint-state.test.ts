import assert from 'node:assert/strict';
import test from 'node:test';
import { endpointEvent, endpointCondition, type EndpointState } from './endpoint-state.ts';
import type { TenantControlPlaneStatus } from '../../core/index.ts';

const withCondition = (endpoint: EndpointState): TenantControlPlaneStatus => ({
  conditions: [{ ...endpointCondition(endpoint, 1), lastTransitionTime: '2026-12-01T00:00:00Z' }] as TenantControlPlaneStatus['conditions'],
});

test('an Event on entering a pending or unreachable endpoint, not on each reconcile that finds it so', () => {
  const pending: EndpointState = { state: 'pending', reason: 'AddressPending', message: 'no address: AllocationFailed: no available IPs' };
  assert.deepEqual(endpointEvent(pending, undefined), { reason: 'EndpointPending', message: pending.message });
  assert.equal(endpointEvent(pending, withCondition(pending)), undefined);
  const unreachable: EndpointState = { state: 'unreachable', url: 'https://10.196.0.200:6443', message: 'connect ETIMEDOUT' };
  assert.equal(endpointEvent(unreachable, withCondition(pending))?.reason, 'EndpointUnreachable');
  assert.match(endpointEvent(unreachable, withCondition(pending))!.message, /10\.196\.0\.200:6443 does not reach the API server: connect ETIMEDOUT/);
  assert.equal(endpointEvent(unreachable, withCondition(unreachable)), undefined);
  assert.equal(endpointEvent({ state: 'reachable', url: 'https://10.196.0.200:6443' }, withCondition(unreachable)), undefined);
});
