import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubernetesEndpointSlice, kubernetesEndpoints, kubernetesServiceTarget } from './kubernetes-endpoints.ts';

const neverResolve = () => Promise.reject(new Error('an IP endpoint must not be resolved'));

test('an IPv4 endpoint: one slice and the Endpoints with the same address and port, port name https', async () => {
  const target = await kubernetesServiceTarget('https://10.196.0.10:31443', neverResolve);
  assert.deepEqual(target, { addressType: 'IPv4', addresses: ['10.196.0.10'], port: 31443 });
  const slice = kubernetesEndpointSlice(target);
  const endpoints = kubernetesEndpoints(target);
  assert.equal(slice.metadata.labels['kubernetes.io/service-name'], 'kubernetes');
  assert.equal(slice.addressType, 'IPv4');
  assert.deepEqual(slice.endpoints, [{ addresses: ['10.196.0.10'], conditions: { ready: true } }]);
  assert.deepEqual(slice.ports, [{ name: 'https', protocol: 'TCP', port: 31443 }]);
  assert.deepEqual(endpoints.metadata, { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } });
  assert.deepEqual(endpoints.subsets, [{ addresses: [{ ip: '10.196.0.10' }], ports: [{ name: 'https', protocol: 'TCP', port: 31443 }] }]);
});

test('an IPv6 endpoint without a port: port 443, addressType IPv6 in the slice', async () => {
  const target = await kubernetesServiceTarget('https://[fd00::5]', neverResolve);
  assert.deepEqual(target, { addressType: 'IPv6', addresses: ['fd00::5'], port: 443 });
  assert.deepEqual(kubernetesEndpoints(target).subsets[0]?.addresses, [{ ip: 'fd00::5' }]);
});

test('a DNS-name endpoint is resolved: its IPv4 addresses (sorted, once each) in both objects', async () => {
  const target = await kubernetesServiceTarget('https://api.example.com:6443', async (host) => {
    assert.equal(host, 'api.example.com');
    return ['203.0.113.9', 'fd00::1', '203.0.113.7', '203.0.113.9'];
  });
  assert.deepEqual(target, { addressType: 'IPv4', addresses: ['203.0.113.7', '203.0.113.9'], port: 6443 });
  assert.deepEqual(kubernetesEndpointSlice(target).endpoints.map((e) => e.addresses[0]), ['203.0.113.7', '203.0.113.9']);
  assert.deepEqual(kubernetesEndpoints(target).subsets[0]?.addresses, [{ ip: '203.0.113.7' }, { ip: '203.0.113.9' }]);
});

test('a DNS name with only IPv6 addresses gives an IPv6 slice', async () => {
  const target = await kubernetesServiceTarget('https://api.example.com', async () => ['fd00::2']);
  assert.deepEqual(target, { addressType: 'IPv6', addresses: ['fd00::2'], port: 443 });
});

test('a DNS name that does not resolve: an FQDN slice naming it, and Endpoints with no subsets (Endpoints hold IPs only)', async () => {
  const target = await kubernetesServiceTarget('https://api.example.invalid:6443', () => Promise.reject(new Error('ENOTFOUND')));
  assert.deepEqual(target, { addressType: 'FQDN', addresses: ['api.example.invalid'], port: 6443 });
  assert.equal(kubernetesEndpointSlice(target).addressType, 'FQDN');
  assert.deepEqual(kubernetesEndpointSlice(target).endpoints, [{ addresses: ['api.example.invalid'], conditions: { ready: true } }]);
  assert.deepEqual(kubernetesEndpoints(target).subsets, []);
});
