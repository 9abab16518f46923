// adoptEtcdVolumeClaims against the in-memory fake API server: which claims get the tcp as a second
// owner, and how. The fake applies the strategic-merge patch like kube-apiserver (ownerReferences merged by
// uid), so the second pass reads what the server stored after the first; that the merged references keep
// the data when the StatefulSet is deleted is checked end to end in e2e/tests/operator.e2e.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TenantControlPlane } from '../../core/index.ts';
import { fakeApiServerFor } from '../../core/testing/fake-api-server.ts';
import { adoptEtcdVolumeClaims } from './etcd-volumes.ts';

const CLAIMS = '/api/v1/persistentvolumeclaims';
const owner = { apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', name: 'demo', uid: 'tcp-uid' };
const tcp: TenantControlPlane = { metadata: { name: 'demo', namespace: 'tenants', uid: 'tcp-uid' }, spec: {} as TenantControlPlane['spec'] };
const stsRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'demo-etcd', uid: 'sts-uid', controller: true, blockOwnerDeletion: false };
const labels = (tenant: string, component: string) => ({ 'kubeception.io/tenant': tenant, 'kubeception.io/component': component });

test('the tenant\'s etcd claims get the tcp as a non-controller owner; others are left alone', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  fake.put(CLAIMS, { metadata: { name: 'data-demo-etcd-0', namespace: 'tenants', labels: labels('demo', 'etcd'), ownerReferences: [stsRef] } });
  fake.put(CLAIMS, { metadata: { name: 'data-demo-etcd-1', namespace: 'tenants', labels: labels('demo', 'etcd'), ownerReferences: [stsRef, { ...owner }] } });
  fake.put(CLAIMS, { metadata: { name: 'data-other-etcd-0', namespace: 'tenants', labels: labels('other', 'etcd') } });
  fake.put(CLAIMS, { metadata: { name: 'scratch', namespace: 'tenants', labels: labels('demo', 'control-plane') } });
  // Being deleted: the claim's protection finalizer keeps it, with a deletionTimestamp, after the DELETE.
  fake.put(CLAIMS, { metadata: { name: 'data-demo-etcd-2', namespace: 'tenants', labels: labels('demo', 'etcd'), finalizers: ['kubernetes.io/pvc-protection'] } });
  await client.request('DELETE', '/api/v1/namespaces/tenants/persistentvolumeclaims/data-demo-etcd-2');
  assert.ok(fake.get(CLAIMS, 'tenants', 'data-demo-etcd-2')?.metadata['deletionTimestamp']);
  fake.requests.length = 0;

  const adopted = await adoptEtcdVolumeClaims(client, tcp, owner, new AbortController().signal);
  assert.deepEqual(adopted, ['data-demo-etcd-0'], 'only the claim without the tcp reference, not being deleted');
  const list = fake.requests.find((r) => r.method === 'GET');
  assert.equal(list?.query.get('labelSelector'), 'kubeception.io/tenant=demo,kubeception.io/component=etcd');
  const patches = fake.requests.filter((r) => r.method === 'PATCH');
  assert.equal(patches.length, 1);
  assert.equal(patches[0]!.path, '/api/v1/namespaces/tenants/persistentvolumeclaims/data-demo-etcd-0');
  assert.equal(patches[0]!.contentType, 'application/strategic-merge-patch+json', 'merged by uid, never a create');
  assert.deepEqual(patches[0]!.body, { metadata: { ownerReferences: [{ ...owner, controller: false, blockOwnerDeletion: false }] } });

  // What the server made of the patch: the StatefulSet's reference is kept (merged by uid, not replaced),
  // the tcp's is added in front of it, as strategicpatch orders a list item new to the live list.
  const stored = fake.get(CLAIMS, 'tenants', 'data-demo-etcd-0')!;
  assert.deepEqual(stored.metadata['ownerReferences'], [{ ...owner, controller: false, blockOwnerDeletion: false }, stsRef]);

  // Idempotent: the next pass lists what the server stored and has nothing left to do.
  fake.requests.length = 0;
  assert.deepEqual(await adoptEtcdVolumeClaims(client, tcp, owner, new AbortController().signal), []);
  assert.equal(fake.requests.filter((r) => r.method === 'PATCH').length, 0);
  assert.deepEqual(fake.get(CLAIMS, 'tenants', 'data-demo-etcd-0'), stored, 'unchanged');
});

test('a claim deleted between the list and the patch is skipped; other errors fail the reconcile', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  fake.put(CLAIMS, { metadata: { name: 'data-demo-etcd-0', namespace: 'tenants', labels: labels('demo', 'etcd') } });
  fake.failNext(1, 404, (r) => r.method === 'PATCH');
  assert.deepEqual(await adoptEtcdVolumeClaims(client, tcp, owner, new AbortController().signal), []);
  fake.failNext(1, 403, (r) => r.method === 'PATCH');
  await assert.rejects(adoptEtcdVolumeClaims(client, tcp, owner, new AbortController().signal), /403/);
});
