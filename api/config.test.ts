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
