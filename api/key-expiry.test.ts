import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyExpiry, parseDuration } from './key-expiry.ts';

const now = new Date('2030-01-01T00:00:00.000Z');

test('--expires-in: a whole number and a unit, counted from now', () => {
  assert.equal(keyExpiry({ expiresIn: '30d' }, now), '2030-01-31T00:00:00.000Z');
  assert.equal(keyExpiry({ expiresIn: '12h' }, now), '2030-01-01T12:00:00.000Z');
  assert.equal(keyExpiry({ expiresIn: '90m' }, now), '2030-01-01T01:30:00.000Z');
  assert.equal(keyExpiry({ expiresIn: '3600s' }, now), '2030-01-01T01:00:00.000Z');
  assert.equal(parseDuration(' 2d '), 172_800_000);
  for (const bad of ['30', 'd', '1.5d', '-1d', '30 days', '1w']) assert.throws(() => keyExpiry({ expiresIn: bad }, now), /expected a whole number and a unit s, m, h or d/, bad);
  assert.throws(() => keyExpiry({ expiresIn: '0d' }, now), /must be more than 0/);
  assert.throws(() => keyExpiry({ expiresIn: '4000d' }, now), /longer than 3660 days/);
});

test('--expires-at: an RFC 3339 time in the future; neither flag: no expiry; both: refused', () => {
  assert.equal(keyExpiry({ expiresAt: '2030-06-30T12:00:00+02:00' }, now), '2030-06-30T10:00:00.000Z');
  assert.equal(keyExpiry({}, now), undefined);
  assert.equal(keyExpiry({ expiresIn: undefined, expiresAt: undefined }, now), undefined);
  assert.throws(() => keyExpiry({ expiresAt: '2030-06-30' }, now), /expected an RFC 3339 time such as 2031-01-31T00:00:00Z/);
  assert.throws(() => keyExpiry({ expiresAt: 'tomorrow' }, now), /expected an RFC 3339 time/);
  assert.throws(() => keyExpiry({ expiresAt: '2029-12-31T23:59:59Z' }, now), /2029-12-31T23:59:59\.000Z, which is not in the future/);
  assert.throws(() => keyExpiry({ expiresAt: '2030-01-01T00:00:00Z' }, now), /not in the future/);
  assert.throws(() => keyExpiry({ expiresIn: '1d', expiresAt: '2031-01-01T00:00:00Z' }, now), /give --expires-in or --expires-at, not both/);
});
