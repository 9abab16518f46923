import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  cidrsOverlap,
  containsCIDR,
  containsIP,
  firstIPInCIDR,
  formatIP,
  isCIDR,
  isIP,
  isNetworkAddress,
  parseCIDR,
  parseIP,
} from './net.ts';

const cidr = (text: string) => parseCIDR(text) ?? assert.fail(`${text} should parse`);
const ip = (text: string) => parseIP(text) ?? assert.fail(`${text} should parse`);

test('parseIP accepts what Go netip accepts, without zones and IPv4-mapped IPv6', () => {
  for (const good of ['10.96.0.10', '0.0.0.0', '255.255.255.255', '::', '::1', 'fd00:10:96::a', '2001:db8::1:0:0:1', '1:2:3:4:5:6:7:8', '64:ff9b::192.0.2.33', 'FD00::A']) {
    assert.ok(isIP(good), good);
  }
  for (const bad of ['', '10.96.0', '10.96.0.256', '010.96.0.1', '10.96.0.1 ', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1::', 'fe80::1%eth0', '::ffff:10.0.0.1', '1.2.3.4::', 'g::1', '12345::']) {
    assert.equal(isIP(bad), false, bad);
  }
  assert.equal(ip('10.96.0.10').value, (10n << 24n) | (96n << 16n) | 10n);
  assert.equal(ip('64:ff9b::192.0.2.33').value & 0xffffffffn, (192n << 24n) | (2n << 8n) | 33n);
});

test('parseCIDR requires a prefix length that fits the family', () => {
  assert.ok(isCIDR('10.96.0.0/12'));
  assert.ok(isCIDR('fd00::/108'));
  assert.ok(isCIDR('0.0.0.0/0'));
  for (const bad of ['10.96.0.0', '10.96.0.0/33', 'fd00::/129', '10.96.0.0/012', '10.96.0.0/', '/12', '10.96.0.0/-1']) {
    assert.equal(isCIDR(bad), false, bad);
  }
  assert.equal(isNetworkAddress(cidr('10.96.0.0/12')), true);
  assert.equal(isNetworkAddress(cidr('10.96.0.1/12')), false);
  assert.equal(isNetworkAddress(cidr('10.111.0.0/12')), false);
});

test('containment and overlap', () => {
  assert.ok(containsIP(cidr('10.96.0.0/12'), ip('10.111.255.255')));
  assert.ok(!containsIP(cidr('10.96.0.0/12'), ip('10.112.0.0')));
  assert.ok(!containsIP(cidr('10.96.0.0/12'), ip('fd00::1')), 'no match across families');
  assert.ok(containsCIDR(cidr('10.96.0.0/12'), cidr('10.100.0.0/16')));
  assert.ok(!containsCIDR(cidr('10.100.0.0/16'), cidr('10.96.0.0/12')));
  assert.ok(cidrsOverlap(cidr('10.100.0.0/16'), cidr('10.96.0.0/12')));
  assert.ok(!cidrsOverlap(cidr('10.244.0.0/16'), cidr('10.96.0.0/12')));
  assert.ok(cidrsOverlap(cidr('fd00:10::/56'), cidr('fd00:10::/108')));
});

test('formatIP follows RFC 5952 like Go', () => {
  assert.equal(formatIP(ip('2001:0DB8:0:0:0:0:2:1')), '2001:db8::2:1');
  assert.equal(formatIP(ip('2001:db8:0:1:1:1:1:1')), '2001:db8:0:1:1:1:1:1', 'a single zero group is not compressed');
  assert.equal(formatIP(ip('2001:0:0:1:0:0:0:1')), '2001:0:0:1::1', 'the longest run is compressed');
  assert.equal(formatIP(ip('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1', 'the first run on a tie');
  assert.equal(formatIP(ip('::')), '::');
  assert.equal(formatIP(ip('10.0.0.1')), '10.0.0.1');
});

test('formatIP and parseIP round-trip any address', () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
      const parsed = parseIP(text);
      if (!parsed) return /ffff/i.test(text); // only IPv4-mapped IPv6 (::ffff:a.b.c.d) is refused
      const again = parseIP(formatIP(parsed));
      return again !== undefined && again.value === parsed.value && again.family === parsed.family;
    }),
  );
});

test('firstIPInCIDR is the kubernetes Service address', () => {
  assert.equal(firstIPInCIDR('10.96.0.0/12'), '10.96.0.1');
  assert.equal(firstIPInCIDR('fd00:10:96::/108'), 'fd00:10:96::1');
  assert.throws(() => firstIPInCIDR('10.96.0.0'), /not a CIDR/);
});
