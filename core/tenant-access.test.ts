import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from './testing/fake-api-server.ts';
import { tokenKubeconfig } from './testing/kubeconfig.ts';
import { TenantClients, tenantKubeConfig } from './tenant-access.ts';

test('tenantKubeConfig keeps the credentials and can point at another URL', () => {
  const kc = tenantKubeConfig(tokenKubeconfig('https://10.0.0.5:31443'), 'https://demo-apiserver.tenant-demo.svc:6443');
  assert.equal(kc.getCurrentCluster()?.server, 'https://demo-apiserver.tenant-demo.svc:6443');
  assert.equal(kc.getCurrentUser()?.token, 'fake');
  assert.equal(tenantKubeConfig(tokenKubeconfig('https://10.0.0.5:31443')).getCurrentCluster()?.server, 'https://10.0.0.5:31443');
});

test('one client per tenant: reused while the kubeconfig stays, replaced when it changes, gone on release', async (t) => {
  const fake = await FakeApiServer.start();
  const clients = new TenantClients({ timeoutMs: 5000 });
  t.after(async () => {
    await clients.close();
    await fake.close();
  });
  const first = clients.get('team-a/demo', tokenKubeconfig(fake.url));
  assert.equal(clients.get('team-a/demo', tokenKubeconfig(fake.url)), first, 'same kubeconfig: the same client (its connections are reused)');
  assert.notEqual(clients.get('team-a/other', tokenKubeconfig(fake.url)), first, 'another tenant: its own client');
  assert.equal(clients.size, 2);

  // The client really talks to the server its kubeconfig names.
  fake.addResource('v1', 'ConfigMap', 'configmaps', true);
  await first.request('GET', '/api/v1/namespaces/default/configmaps');
  assert.equal(fake.requests.at(-1)?.path, '/api/v1/namespaces/default/configmaps');
  // ...and keeps its connections: five more calls through the cache, one after the other, open at most one.
  const connections = fake.connections;
  for (let i = 0; i < 5; i++) await clients.get('team-a/demo', tokenKubeconfig(fake.url)).request('GET', '/api/v1/namespaces/default/configmaps');
  assert.ok(fake.connections - connections <= 1, `five calls opened ${fake.connections - connections} connections`);

  const rotated = clients.get('team-a/demo', tokenKubeconfig(fake.url, 'rotated'));
  assert.notEqual(rotated, first, 'a re-issued kubeconfig replaces the client');
  assert.notEqual(clients.get('team-a/demo', tokenKubeconfig(fake.url, 'rotated'), 'https://10.0.0.9:6443'), rotated, 'so does another server');
  assert.equal(clients.size, 2);

  await clients.release('team-a/demo');
  await clients.release('team-a/unknown');
  assert.equal(clients.size, 1);
  await clients.close();
  assert.equal(clients.size, 0);
});
