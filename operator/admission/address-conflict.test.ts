import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TenantControlPlane } from '../../core/index.ts';
import { addressConflict, normaliseHost, specEndpoint, statusEndpoint } from './address-conflict.ts';

type NetworkProfile = NonNullable<TenantControlPlane['spec']['networkProfile']>;

function tcp(namespace: string, name: string, net: Partial<NetworkProfile>, extra: { uid?: string; endpoint?: string; deleting?: boolean } = {}): TenantControlPlane {
  return {
    apiVersion: 'kubeception.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: {
      namespace,
      name,
      ...(extra.uid ? { uid: extra.uid } : {}),
      ...(extra.deleting ? { deletionTimestamp: new Date('2026-12-01T00:00:00Z') } : {}),
    },
    spec: { version: 'v1.36.5', networkProfile: { serviceType: 'ClusterIP', port: 6443, ...net } as NetworkProfile },
    ...(extra.endpoint ? { status: { endpoint: extra.endpoint } } : {}),
  } as TenantControlPlane;
}

test('hosts are compared in one spelling: IPv6 as netip prints it, IPv4-mapped as IPv4, DNS names lowercase', () => {
  assert.equal(normaliseHost('2001:DB8:0:0:0:0:0:10'), '2001:db8::10');
  assert.equal(normaliseHost('[2001:db8::0:10]'), '2001:db8::10');
  assert.equal(normaliseHost('::ffff:203.0.113.10'), '203.0.113.10');
  assert.equal(normaliseHost('203.0.113.10'), '203.0.113.10');
  assert.equal(normaliseHost('API.Example.com.'), 'api.example.com');
});

test('endpoints: the spec port (6443 by default), a NodePort tenant by its node port, status.endpoint parsed', () => {
  assert.deepEqual(specEndpoint(tcp('a', 'x', { address: '203.0.113.10' })), { host: '203.0.113.10', port: 6443 });
  assert.deepEqual(specEndpoint(tcp('a', 'x', { address: '203.0.113.10', port: 443 })), { host: '203.0.113.10', port: 443 });
  assert.deepEqual(specEndpoint(tcp('a', 'x', { serviceType: 'NodePort', address: '192.0.2.1', nodePort: 31000 })), { host: '192.0.2.1', port: 31000 });
  assert.deepEqual(specEndpoint(tcp('a', 'x', { serviceType: 'NodePort', address: '192.0.2.1' })), { host: '192.0.2.1', port: undefined });
  assert.equal(specEndpoint(tcp('a', 'x', {})), undefined);
  assert.deepEqual(statusEndpoint(tcp('a', 'x', {}, { endpoint: 'https://[2001:db8::0:10]:6443' })), { host: '2001:db8::10', port: 6443 });
  assert.deepEqual(statusEndpoint(tcp('a', 'x', {}, { endpoint: 'https://api.example.com' })), { host: 'api.example.com', port: 443 });
  assert.equal(statusEndpoint(tcp('a', 'x', {}, { endpoint: 'not a url' })), undefined);
});

test('the same address as another tcp, in the same or another namespace, is refused with who holds it', () => {
  const existing = [tcp('team-a', 'one', { address: '203.0.113.10' }, { uid: 'u1' })];
  const same = addressConflict(tcp('team-a', 'two', { address: '203.0.113.10' }), existing);
  assert.equal(
    same,
    'spec.networkProfile.address 203.0.113.10 (port 6443) is already the address of TenantControlPlane team-a/one: clients of both ' +
      'would reach the same API server; choose another address, or another spec.networkProfile.port',
  );
  assert.match(addressConflict(tcp('team-b', 'one', { address: '203.0.113.10' }), existing) ?? '', /TenantControlPlane team-a\/one/);
  assert.match(addressConflict(tcp('team-b', 'x', { address: 'API.example.com' }), [tcp('c', 'y', { address: 'api.example.com' })]) ?? '', /c\/y/);
});

test('IPv6 addresses collide whatever their spelling', () => {
  const existing = [tcp('a', 'v6', { address: '2001:db8:0:0::10' })];
  assert.match(addressConflict(tcp('b', 'other', { address: '2001:DB8::10' }), existing) ?? '', /already the address of TenantControlPlane a\/v6/);
  assert.equal(addressConflict(tcp('b', 'other', { address: '2001:db8::11' }), existing), undefined);
});

test('an update of a tcp does not collide with its stored self (same uid, or same namespace/name)', () => {
  const stored = tcp('team-a', 'one', { address: '203.0.113.10' }, { uid: 'u1', endpoint: 'https://203.0.113.10:6443' });
  assert.equal(addressConflict(tcp('team-a', 'one', { address: '203.0.113.10', port: 6443 }, { uid: 'u1' }), [stored]), undefined);
  assert.equal(addressConflict(tcp('team-a', 'one', { address: '203.0.113.10' }), [stored]), undefined, 'a create carries no uid yet');
  // a tcp recreated under the same name while the old one is still being deleted is another object
  const deleting = tcp('team-a', 'one', { address: '203.0.113.10' }, { uid: 'old', deleting: true });
  assert.match(addressConflict(tcp('team-a', 'one', { address: '203.0.113.10' }, { uid: 'new' }), [deleting]) ?? '', /being deleted: the address is free once it is gone/);
});

test('other addresses, other ports, NodePort tenants sharing a node address: no conflict', () => {
  const existing = [
    tcp('a', 'one', { address: '203.0.113.10' }),
    tcp('a', 'np1', { serviceType: 'NodePort', address: '192.0.2.1' }, { endpoint: 'https://192.0.2.1:31001' }),
    tcp('a', 'np2', { serviceType: 'NodePort', address: '192.0.2.1', nodePort: 31002 }),
  ];
  assert.equal(addressConflict(tcp('b', 'x', { address: '203.0.113.11' }), existing), undefined);
  assert.equal(addressConflict(tcp('b', 'x', { address: '203.0.113.10', port: 7443 }), existing), undefined);
  assert.equal(addressConflict(tcp('b', 'x', { serviceType: 'NodePort', address: '192.0.2.1' }), existing), undefined);
  assert.equal(addressConflict(tcp('b', 'x', { serviceType: 'NodePort', address: '192.0.2.1', nodePort: 31003 }), existing), undefined);
  assert.match(addressConflict(tcp('b', 'x', { serviceType: 'NodePort', address: '192.0.2.1', nodePort: 31002 }), existing) ?? '', /a\/np2/);
  assert.equal(addressConflict(tcp('b', 'x', {}), existing), undefined, 'no address, nothing to collide');
});

test("an address that is another tenant's published endpoint (its load balancer's address) is refused", () => {
  const lb = tcp('team-a', 'lb', { serviceType: 'LoadBalancer' }, { endpoint: 'https://198.51.100.7:6443' });
  assert.equal(
    addressConflict(tcp('team-b', 'mine', { address: '198.51.100.7' }), [lb]),
    'spec.networkProfile.address 198.51.100.7 (port 6443) is where TenantControlPlane team-a/lb is reached (its status.endpoint ' +
      "https://198.51.100.7:6443, given by its LoadBalancer Service): clients would reach that tenant's API server; choose another " +
      'address, or another spec.networkProfile.port',
  );
  const lb6 = tcp('team-a', 'lb6', { serviceType: 'LoadBalancer' }, { endpoint: 'https://[2001:db8::7]:6443' });
  assert.match(addressConflict(tcp('team-b', 'mine', { serviceType: 'LoadBalancer', address: '2001:0db8::0007' }), [lb6]) ?? '', /team-a\/lb6/);
  // a NodePort tenant's endpoint is the node address with its node port: another port, no conflict
  const np = tcp('team-a', 'np', { serviceType: 'NodePort' }, { endpoint: 'https://192.0.2.1:31001' });
  assert.equal(addressConflict(tcp('team-b', 'mine', { address: '192.0.2.1' }), [np]), undefined);
});
