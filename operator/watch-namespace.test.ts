import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeApiServerFor } from '../core/testing/fake-api-server.ts';
import { checkWatchNamespace, WatchNamespaceMissing } from './watch-namespace.ts';

test('the watched namespace: present is fine, missing stops the start with a message naming the setting', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  fake.put('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenants' } } as never);
  assert.equal(await checkWatchNamespace(client, 'tenants'), 'exists');
  await assert.rejects(checkWatchNamespace(client, 'tenats'), (error: Error) =>
    error instanceof WatchNamespaceMissing && /^--namespace tenats \(WATCH_NAMESPACE\): the namespace does not exist/.test(error.message));
});

test('an operator that may not read namespaces cannot tell: unknown, not a failed start; other errors propagate', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  fake.failNext(1, 403, (r) => r.path === '/api/v1/namespaces/tenants');
  assert.equal(await checkWatchNamespace(client, 'tenants'), 'unknown');
  fake.failNext(1, 500, (r) => r.path === '/api/v1/namespaces/tenants');
  await assert.rejects(checkWatchNamespace(client, 'tenants'), (error: Error) => !(error instanceof WatchNamespaceMissing));
});
