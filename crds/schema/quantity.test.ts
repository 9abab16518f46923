import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareQuantities, isQuantity, parseQuantity } from './quantity.ts';

const q = (v: string | number) => parseQuantity(v) ?? assert.fail(`${v} should parse`);
const cmp = (a: string | number, b: string | number) => Math.sign(compareQuantities(q(a), q(b)));

test('quantities compare exactly across suffixes', () => {
  assert.equal(cmp('1Gi', '1G'), 1);
  assert.equal(cmp('1024Mi', '1Gi'), 0);
  assert.equal(cmp('250m', '1'), -1);
  assert.equal(cmp('0.5', '500m'), 0);
  assert.equal(cmp(1, '1'), 0);
  assert.equal(cmp('1e3', '1k'), 0);
  assert.equal(cmp('1E', '1e18'), 0);
  assert.equal(cmp('.5Ki', '512'), 0);
  assert.equal(cmp('1n', '0'), 1);
  assert.equal(cmp('-1', '0'), -1);
  assert.equal(cmp('1.5Gi', '1536Mi'), 0);
});

test('isQuantity follows the Kubernetes quantity pattern', () => {
  for (const good of ['1', '250m', '1Gi', '0.5', '.5', '1e3', '1E', '+1', 2]) assert.ok(isQuantity(good), String(good));
  for (const bad of ['', 'lots', '1 Gi', '1gi', '1GB', 'Gi', '1.5.2', 1.5, true, null]) assert.equal(isQuantity(bad), false, String(bad));
});
