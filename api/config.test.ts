import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, USAGE } from './config.ts';

test('defaults: port 8080, state in kubeception-system, one namespace per cluster', () => {
  const config = parseConfig([], {});
  assert.equal(config.port, 8080);
  assert.equal(config.namespace, 'kubeception-system');
  assert.deepEqual(config.layout, { kind: 'per-cluster', prefix: 'kc-' });
  assert.deepEqual(config.rateLimit, { capacity: 100, refillPerSecond: 20 });
  assert.equal(config.kubeconfig, undefined);
});

test('flags win over the environment', () => {
  const config = parseConfig(['--port', '9000', '--cluster-namespace', 'tenants', '--rate-limit-burst', '5'], {
    API_PORT: '1234',
    KUBECEPTION_API_NAMESPACE: 'api-state',
    KUBECONFIG: '/k',
  });
  assert.equal(config.port, 9000);
  assert.equal(config.namespace, 'api-state');
  assert.deepEqual(config.layout, { kind: 'shared', namespace: 'tenants' });
  assert.equal(config.rateLimit.capacity, 5);
  assert.equal(config.kubeconfig, '/k');
});

test('bad settings are refused with a message naming the flag', () => {
  assert.throws(() => parseConfig(['--port', '70000'], {}), /--port must be 1..65535/);
  assert.throws(() => parseConfig(['--rate-limit-per-second=0'], {}), /--rate-limit-per-second must be a positive number/);
  assert.throws(() => parseConfig(['--prot', '1'], {}), /Unknown option '--prot'/);
  assert.throws(() => parseConfig(['--help'], {}), (error: Error) => error.message === USAGE);
});

test('TLS: both files or neither, from flags or the environment', () => {
  assert.equal(parseConfig([], {}).tls, undefined);
  assert.deepEqual(parseConfig(['--tls-cert-file', '/tls/tls.crt', '--tls-key-file', '/tls/tls.key'], {}).tls, { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
  assert.deepEqual(parseConfig([], { API_TLS_CERT_FILE: '/e/c', API_TLS_KEY_FILE: '/e/k' }).tls, { certFile: '/e/c', keyFile: '/e/k' });
  assert.deepEqual(parseConfig(['--tls-key-file', '/f/k'], { API_TLS_CERT_FILE: '/e/c', API_TLS_KEY_FILE: '/e/k' }).tls, { certFile: '/e/c', keyFile: '/f/k' });
  assert.throws(() => parseConfig(['--tls-cert-file', '/tls/tls.crt'], {}), /--tls-cert-file \(API_TLS_CERT_FILE\) is set but --tls-key-file \(API_TLS_KEY_FILE\) is not/);
  assert.throws(() => parseConfig([], { API_TLS_KEY_FILE: '/k' }), /--tls-key-file \(API_TLS_KEY_FILE\) is set but --tls-cert-file/);
});

test('default service type: unset leaves the CRD default; one of the three; anything else refused', () => {
  assert.equal(parseConfig([], {}).defaultServiceType, 'LoadBalancer', 'reachable from outside the host by default');
  assert.equal(parseConfig(['--default-service-type', 'ClusterIP'], {}).defaultServiceType, 'ClusterIP');
  assert.equal(parseConfig(['--default-service-type', 'LoadBalancer'], {}).defaultServiceType, 'LoadBalancer');
  assert.equal(parseConfig([], { DEFAULT_SERVICE_TYPE: 'NodePort' }).defaultServiceType, 'NodePort');
  assert.equal(parseConfig([], { DEFAULT_SERVICE_TYPE: '' }).defaultServiceType, 'LoadBalancer');
  assert.throws(() => parseConfig(['--default-service-type', 'nodeport'], {}), /--default-service-type \(DEFAULT_SERVICE_TYPE\) must be one of ClusterIP, NodePort, LoadBalancer, got "nodeport"/);
});
