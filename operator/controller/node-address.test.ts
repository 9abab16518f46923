import assert from 'node:assert/strict';
import test from 'node:test';
import { chooseNodeAddress, nodeAddresses } from './node-address.ts';

const node = (ip: string, ready: boolean) => ({
  status: { addresses: [{ type: 'Hostname', address: `n-${ip}` }, { type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

test('node addresses: Ready ones apart from all', () => {
  assert.deepEqual(nodeAddresses({ items: [node('10.0.0.1', false), node('10.0.0.2', true), { status: {} }] }), { ready: ['10.0.0.2'], all: ['10.0.0.1', '10.0.0.2'] });
});

test('an address customers hold stays while its node is Ready, and follows to a Ready node when it is lost', () => {
  const nodes = { ready: ['10.0.0.2', '10.0.0.3'], all: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] };
  assert.equal(chooseNodeAddress(nodes, undefined), '10.0.0.2');
  assert.equal(chooseNodeAddress(nodes, '10.0.0.3'), '10.0.0.3', 'not moved to the first node');
  assert.equal(chooseNodeAddress(nodes, '10.0.0.1'), '10.0.0.2', 'its node is not Ready: moved');
  assert.equal(chooseNodeAddress({ ready: [], all: ['10.0.0.1'] }, '10.0.0.1'), '10.0.0.1', 'no Ready node at all: nothing better to move to');
  assert.equal(chooseNodeAddress({ ready: [], all: [] }, undefined), undefined);
});
