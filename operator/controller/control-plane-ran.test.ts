// controlPlaneHasRun against the in-memory fake API server: it decides whether a missing CA is an alarm
// (tenant ran) or the rest of an interrupted first create (tenant never ran).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TenantControlPlane } from '../../core/index.ts';
import { fakeApiServerFor } from '../../core/testing/fake-api-server.ts';
import { controlPlaneHasRun } from './control-plane-ran.ts';

const tcp = (apiServer?: 'True' | 'False'): TenantControlPlane => ({
  metadata: { name: 'demo', namespace: 'tenants' },
  spec: {} as TenantControlPlane['spec'],
  ...(apiServer ? { status: { conditions: [{ type: 'APIServer', status: apiServer, reason: 'X', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } } : {}),
});

test('a tenant with only some Secrets and no workloads has not run; one with its StatefulSet or Deployment has', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  const signal = new AbortController().signal;
  fake.put('/api/v1/secrets', { metadata: { name: 'demo-ca', namespace: 'tenants' } });
  assert.equal(await controlPlaneHasRun(client, tcp(), signal), false, 'Secrets alone are no proof');
  assert.equal(await controlPlaneHasRun(client, tcp('False'), signal), false, 'an APIServer condition that never was True');

  // Another tenant's workloads do not count.
  fake.put('/apis/apps/v1/statefulsets', { metadata: { name: 'other-etcd', namespace: 'tenants' } });
  fake.put('/apis/apps/v1/statefulsets', { metadata: { name: 'demo-etcd', namespace: 'elsewhere' } });
  assert.equal(await controlPlaneHasRun(client, tcp(), signal), false);

  fake.put('/apis/apps/v1/statefulsets', { metadata: { name: 'demo-etcd', namespace: 'tenants' } });
  assert.equal(await controlPlaneHasRun(client, tcp(), signal), true, 'the etcd StatefulSet exists');
  fake.remove('/apis/apps/v1/statefulsets', 'tenants', 'demo-etcd');
  fake.put('/apis/apps/v1/deployments', { metadata: { name: 'demo-control-plane', namespace: 'tenants' } });
  assert.equal(await controlPlaneHasRun(client, tcp(), signal), true, 'the control-plane Deployment exists');
});

test('an APIServer condition that was True is proof enough, without asking the API server', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  assert.equal(await controlPlaneHasRun(client, tcp('True'), new AbortController().signal), true);
  assert.deepEqual(fake.requests, []);
});

test('errors other than NotFound are not taken for "never ran"', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  fake.failNext(1, 403);
  await assert.rejects(controlPlaneHasRun(client, tcp(), new AbortController().signal), /403/);
});
