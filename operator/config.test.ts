import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './config.ts';

test('--api-service-account: NAMESPACE/NAME from the flag or API_SERVICE_ACCOUNT; unset means no grant', () => {
  assert.equal(parseConfig([], {}).apiServiceAccount, undefined);
  assert.equal(parseConfig([], { API_SERVICE_ACCOUNT: '' }).apiServiceAccount, undefined);
  assert.deepEqual(parseConfig(['--api-service-account', 'kubeception-system/kubeception-api'], {}).apiServiceAccount, { namespace: 'kubeception-system', name: 'kubeception-api' });
  assert.deepEqual(parseConfig([], { API_SERVICE_ACCOUNT: 'ops/api' }).apiServiceAccount, { namespace: 'ops', name: 'api' });
  for (const bad of ['kubeception-api', 'a/b/c', '/api', 'ops/', 'Ops/api']) {
    assert.throws(() => parseConfig(['--api-service-account', bad], {}), /--api-service-account \(API_SERVICE_ACCOUNT\) must be NAMESPACE\/NAME of a service account/, bad);
  }
});

test('--namespace: one namespace name, or empty for all', () => {
  assert.equal(parseConfig([], {}).namespace, undefined);
  assert.equal(parseConfig([], { WATCH_NAMESPACE: '' }).namespace, undefined);
  assert.equal(parseConfig(['--namespace', 'tenants'], { WATCH_NAMESPACE: 'other' }).namespace, 'tenants');
  assert.throws(() => parseConfig(['--namespace', 'Tenants'], {}), /--namespace \(WATCH_NAMESPACE\) must be a namespace name/);
});
