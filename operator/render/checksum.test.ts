import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podConfigChecksum, secretDataChecksum } from './checksum.ts';
import { quantityToBytes } from './quantity.ts';

test('secret data checksum: order-independent, sensitive to keys, values and their boundaries', () => {
  const a = secretDataChecksum({ 'ca.crt': 'X', 'ca.key': 'Y' });
  assert.equal(secretDataChecksum({ 'ca.key': 'Y', 'ca.crt': 'X' }), a);
  assert.notEqual(secretDataChecksum({ 'ca.crt': 'X', 'ca.key': 'Z' }), a);
  assert.notEqual(secretDataChecksum({ ab: 'c' }), secretDataChecksum({ a: 'bc' }));
  assert.equal(secretDataChecksum({ k: Buffer.from('v') }), secretDataChecksum({ k: 'v' }));
});

test('pod checksum covers exactly the listed sources', () => {
  const sums = { a: '1', b: '2', c: '3' };
  const ab = podConfigChecksum(['a', 'b'], sums);
  assert.equal(podConfigChecksum(['b', 'a'], sums), ab);
  assert.equal(podConfigChecksum(['a', 'b'], { ...sums, c: '4' }), ab);
  assert.notEqual(podConfigChecksum(['a', 'b'], { ...sums, b: '5' }), ab);
  assert.throws(() => podConfigChecksum(['a', 'd'], sums), /no checksum for d/);
});

test('storage quantities', () => {
  assert.equal(quantityToBytes('1Gi'), 2 ** 30);
  assert.equal(quantityToBytes('1.5Gi'), 1.5 * 2 ** 30);
  assert.equal(quantityToBytes('500M'), 5e8);
  assert.equal(quantityToBytes('1e9'), 1e9);
  assert.equal(quantityToBytes('2048'), 2048);
  assert.throws(() => quantityToBytes('1GB'), /not a storage quantity/);
  assert.throws(() => quantityToBytes('-1Gi'), /not a storage quantity/);
});
