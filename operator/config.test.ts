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

test('webhook: 9443 in a pod, off as a local process; 0 turns it off; it needs its Service', () => {
  const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', WEBHOOK_SERVICE: 'kubeception-system/kubeception-operator-webhook' };
  assert.equal(parseConfig([], {}).webhook, undefined, 'a local process serves no webhook');
  assert.deepEqual(parseConfig([], inPod).webhook, { port: 9443, service: { namespace: 'kubeception-system', name: 'kubeception-operator-webhook' } });
  assert.equal(parseConfig([], { ...inPod, WEBHOOK_PORT: '0' }).webhook, undefined);
  assert.equal(parseConfig(['--webhook-port', '0'], inPod).webhook, undefined);
  assert.deepEqual(
    parseConfig(['--webhook-port', '8443', '--webhook-service', 'ops/hook', '--webhook-configuration', 'kubeception-tenantcontrolplanes'], { WEBHOOK_PORT: '9999', WEBHOOK_SERVICE: 'x/y' }).webhook,
    { port: 8443, service: { namespace: 'ops', name: 'hook' }, configuration: 'kubeception-tenantcontrolplanes' },
    'flags win over the environment',
  );
  assert.deepEqual(parseConfig([], { ...inPod, WEBHOOK_CONFIGURATION: 'vwc' }).webhook?.configuration, 'vwc');
  assert.equal(parseConfig([], { ...inPod, WEBHOOK_CONFIGURATION: '' }).webhook?.configuration, undefined);
});

test('webhook: a port without a Service, a malformed Service or configuration name, a port out of range are refused', () => {
  assert.throws(() => parseConfig([], { KUBERNETES_SERVICE_HOST: '10.96.0.1' }), /--webhook-service \(WEBHOOK_SERVICE\) is required when the admission webhook is served/);
  assert.throws(() => parseConfig(['--webhook-port', '9443'], {}), /--webhook-service \(WEBHOOK_SERVICE\) is required/);
  for (const bad of ['hook', 'a/b/c', 'ops/Hook', 'ops/hook.example']) {
    assert.throws(() => parseConfig(['--webhook-port', '9443', '--webhook-service', bad], {}), /--webhook-service \(WEBHOOK_SERVICE\) must be NAMESPACE\/NAME of the webhook Service/, bad);
  }
  assert.throws(() => parseConfig(['--webhook-port', '9443', '--webhook-service', 'a/b', '--webhook-configuration', 'Bad_Name'], {}), /--webhook-configuration \(WEBHOOK_CONFIGURATION\) must be the name of a ValidatingWebhookConfiguration/);
  for (const bad of ['65536', '-1', 'https']) assert.throws(() => parseConfig([`--webhook-port=${bad}`], {}), /--webhook-port must be an integer from 0 to 65535/);
});
