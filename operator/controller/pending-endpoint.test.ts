import assert from 'node:assert/strict';
import test from 'node:test';
import { newestWarning } from './pending-endpoint.ts';

test('the newest Warning Event of the Service is the one reported', () => {
  assert.equal(newestWarning([]), undefined);
  assert.equal(newestWarning([
    { reason: 'AllocationFailed', message: 'Failed to allocate IP for "a/b": no available IPs\n', lastTimestamp: '2026-12-01T10:00:05Z' },
    { reason: 'OtherWarning', message: 'old', lastTimestamp: '2026-12-01T09:00:00Z' },
    { reason: 'SeriesOnly', message: 'older', eventTime: '2026-12-01T08:00:00.000000Z' },
  ]), 'AllocationFailed: Failed to allocate IP for "a/b": no available IPs');
});
