import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderApiServerService } from './api-service.ts';
import { publicEndpoint } from './endpoint.ts';
import { selectorLabels } from './metadata.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';
import { resolveTenant } from '../../core/index.ts';

test('NodePort: spec port to the https container port, with the requested node port', () => {
  const tenant = resolveTenant(sampleTenant((t) => {
    t.spec.networkProfile.serviceType = 'NodePort';
    t.spec.networkProfile.port = 443;
    t.spec.networkProfile.nodePort = 31443;
  }));
  const svc = renderApiServerService(tenant);
  assert.equal(svc.metadata!.name, 'demo-apiserver');
  assert.equal(svc.spec!.type, 'NodePort');
  // ports[0] stays https (its node port is what the operator and the REST API read); konnectivity's node
  // port is the host's choice.
  assert.deepEqual(svc.spec!.ports, [
    { name: 'https', protocol: 'TCP', port: 443, targetPort: 'https', nodePort: 31443 },
    { name: 'konnectivity', protocol: 'TCP', port: 8132, targetPort: 'konnectivity' },
  ]);
  assert.deepEqual(svc.spec!.selector, selectorLabels('demo', 'control-plane'));
});

test('NodePort without a node port leaves the choice to the API; ClusterIP and LoadBalancer have none', () => {
  const nodePort = renderApiServerService(resolveTenant(sampleTenant((t) => (t.spec.networkProfile.serviceType = 'NodePort'))));
  assert.equal('nodePort' in nodePort.spec!.ports![0]!, false);
  for (const type of ['ClusterIP', 'LoadBalancer'] as const) {
    const svc = renderApiServerService(resolveTenant(sampleTenant((t) => (t.spec.networkProfile.serviceType = type))));
    assert.equal(svc.spec!.type, type);
    assert.equal('nodePort' in svc.spec!.ports![0]!, false);
    assert.equal(svc.spec!.ports![0]!.port, 6443);
  }
});

test('public endpoint: user address first, then what was observed; NodePort uses the node port', () => {
  const nodePort = resolveTenant(sampleTenant((t) => {
    t.spec.networkProfile.serviceType = 'NodePort';
    t.spec.networkProfile.address = '192.0.2.10';
  }));
  assert.equal(publicEndpoint(nodePort, { apiService: {} }), undefined, 'node port not yet assigned');
  assert.deepEqual(publicEndpoint(nodePort, { apiService: { nodePort: 30123 } }), {
    host: '192.0.2.10', port: 30123, url: 'https://192.0.2.10:30123', hostIsIP: true,
  }, 'konnectivity node port not known yet');
  assert.deepEqual(publicEndpoint(nodePort, { apiService: { nodePort: 30123, konnectivityNodePort: 30132 } }), {
    host: '192.0.2.10', port: 30123, url: 'https://192.0.2.10:30123', hostIsIP: true, konnectivityPort: 30132,
  });
  const lb = resolveTenant(sampleTenant((t) => (t.spec.networkProfile.serviceType = 'LoadBalancer')));
  assert.equal(publicEndpoint(lb, { apiService: { clusterIP: '10.0.0.7' } }), undefined, 'no LB address yet');
  assert.equal(publicEndpoint(lb, { apiService: { loadBalancerAddress: 'api.example.com' } })?.url, 'https://api.example.com:6443');
  assert.equal(publicEndpoint(lb, { apiService: { loadBalancerAddress: 'api.example.com' } })?.konnectivityPort, 8132, 'the Service port');
  const clusterIP = resolveTenant(sampleTenant());
  assert.equal(publicEndpoint(clusterIP, { apiService: { clusterIP: 'fd00::7' } })?.url, 'https://[fd00::7]:6443');
});

test('LoadBalancer with an address: an IP is asked of the load balancer, and is the endpoint only once assigned', () => {
  const withAddress = (address: string) => resolveTenant(sampleTenant((t) => {
    t.spec.networkProfile.serviceType = 'LoadBalancer';
    t.spec.networkProfile.address = address;
  }));
  assert.equal(renderApiServerService(withAddress('10.196.0.210')).spec!.loadBalancerIP, '10.196.0.210');
  assert.equal(renderApiServerService(withAddress('api.example.com')).spec!.loadBalancerIP, undefined, 'a DNS name is not asked for');
  assert.equal(renderApiServerService(resolveTenant(sampleTenant((t) => {
    t.spec.networkProfile.serviceType = 'NodePort';
    t.spec.networkProfile.address = '10.196.0.10';
  }))).spec!.loadBalancerIP, undefined, 'only for LoadBalancer Services');
  assert.equal(publicEndpoint(withAddress('10.196.0.210'), { apiService: { clusterIP: '10.0.0.7' } }), undefined, 'not before the load balancer has it');
  assert.equal(publicEndpoint(withAddress('api.example.com'), { apiService: { loadBalancerAddress: '10.196.0.201' } })?.url, 'https://api.example.com:6443');
});

test('konnectivity off: the Service has only https, the endpoint no konnectivity port', () => {
  for (const type of ['ClusterIP', 'NodePort', 'LoadBalancer'] as const) {
    const tenant = resolveTenant(sampleTenant((t) => {
      t.spec.networkProfile.serviceType = type;
      t.spec.networkProfile.address = '192.0.2.10';
      t.spec.addons.konnectivity = { enabled: false };
    }));
    assert.deepEqual(renderApiServerService(tenant).spec!.ports!.map((p) => p.name), ['https'], type);
    const endpoint = publicEndpoint(tenant, { apiService: { nodePort: 30123, konnectivityNodePort: 30132, loadBalancerAddress: '192.0.2.99' } });
    assert.equal(endpoint?.host, '192.0.2.10');
    assert.equal(endpoint?.konnectivityPort, undefined, type);
  }
});
