// bootstrapTenant against the in-memory fake API server: which requests go out for which write policy,
// and what pruning deletes. (Real server-side apply semantics: e2e/tests/tenant-bootstrap.e2e.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../core/testing/fake-api-server.ts';
import { KubeClient } from '../../core/index.ts';
import { bootstrapTenant } from './bootstrap.ts';
import { describeRef } from './objects.ts';
import { renderTenantBootstrap } from './plan.ts';
import { sampleInput } from './testing.ts';

async function fakeTenant() {
  const fake = await FakeApiServer.start();
  fake.addResource('v1', 'ConfigMap', 'configmaps');
  fake.addResource('v1', 'ServiceAccount', 'serviceaccounts');
  fake.addResource('v1', 'Service', 'services');
  fake.addResource('apps/v1', 'Deployment', 'deployments');
  fake.addResource('apps/v1', 'DaemonSet', 'daemonsets');
  fake.addResource('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false);
  fake.addResource('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false);
  fake.addResource('rbac.authorization.k8s.io/v1', 'Role', 'roles');
  fake.addResource('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings');
  return fake;
}

test('apply objects go out as forced server-side apply; the Corefile is POSTed once and then never written', async (t) => {
  const fake = await fakeTenant();
  const client = new KubeClient(fake.kubeConfig());
  t.after(async () => {
    await client.close();
    await fake.close();
  });
  const plan = renderTenantBootstrap(await sampleInput());

  const first = await bootstrapTenant(client, plan);
  assert.equal(first.applied.length, plan.objects.length - 1);
  assert.deepEqual(first.created.map(describeRef), ['ConfigMap kube-system/coredns']);
  assert.deepEqual(first.kept, []);
  assert.deepEqual(first.pruned, []);
  const patches = fake.requests.filter((r) => r.method === 'PATCH');
  assert.equal(patches.length, plan.objects.length - 1);
  for (const patch of patches) {
    assert.equal(patch.contentType, 'application/apply-patch+yaml');
    assert.equal(patch.query.get('fieldManager'), 'kubeception-operator');
    assert.equal(patch.query.get('force'), 'true');
  }
  const posts = fake.requests.filter((r) => r.method === 'POST');
  assert.deepEqual(posts.map((r) => r.path), ['/api/v1/namespaces/kube-system/configmaps']);
  assert.equal(posts[0]!.query.get('fieldManager'), 'kubeception-operator');

  // A user edits the Corefile; the next bootstrap leaves it exactly as it is.
  const stored = fake.get('/api/v1/configmaps', 'kube-system', 'coredns')!;
  const edited = fake.put('/api/v1/configmaps', { ...stored, data: { Corefile: '.:53 {\n    forward . 9.9.9.9\n}\n' } });
  fake.requests.length = 0;
  const second = await bootstrapTenant(client, plan);
  assert.deepEqual(second.kept.map(describeRef), ['ConfigMap kube-system/coredns']);
  assert.deepEqual(second.created, []);
  const corefileWrites = fake.requests.filter((r) => r.method !== 'GET' && r.path.includes('/configmaps') && (r.path.endsWith('/coredns') || (r.body as { metadata?: { name?: string } } | undefined)?.metadata?.name === 'coredns'));
  assert.deepEqual(corefileWrites, []);
  assert.deepEqual(fake.get('/api/v1/configmaps', 'kube-system', 'coredns'), edited);
});

test('turning an add-on off deletes exactly the objects carrying its labels', async (t) => {
  const fake = await fakeTenant();
  const client = new KubeClient(fake.kubeConfig());
  t.after(async () => {
    await client.close();
    await fake.close();
  });
  await bootstrapTenant(client, renderTenantBootstrap(await sampleInput()));
  // Neighbours that must survive: a user's ConfigMap, and one with our add-on label but another manager.
  fake.put('/api/v1/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mine', namespace: 'kube-system' }, data: {} });
  fake.put('/api/v1/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'lookalike', namespace: 'kube-system', labels: { 'kubeception.io/addon': 'coredns' } },
    data: {},
  });

  // The fake assigns no uids; give the stored namespaced CoreDNS objects some, as a real server has them.
  // (The fake keys objects by their name as written in the request path, so the cluster-scoped
  // `system:coredns` objects are left as the apply stored them.)
  const withUid: [string, string][] = [
    ['/api/v1/serviceaccounts', 'coredns'],
    ['/api/v1/configmaps', 'coredns'],
    ['/apis/apps/v1/deployments', 'coredns'],
    ['/api/v1/services', 'kube-dns'],
  ];
  for (const [collection, name] of withUid) {
    const stored = fake.get(collection, 'kube-system', name);
    assert.ok(stored, `${collection} ${name} was written`);
    fake.put(collection, { ...stored, metadata: { ...stored.metadata, uid: `uid-${name}` } });
  }
  fake.requests.length = 0;

  const off = renderTenantBootstrap(await sampleInput((i) => (i.spec.addons.coreDNS.enabled = false)));
  const result = await bootstrapTenant(client, off);
  assert.deepEqual(result.pruned.map(describeRef).sort(), [
    'ClusterRole system:coredns',
    'ClusterRoleBinding system:coredns',
    'ConfigMap kube-system/coredns',
    'Deployment kube-system/coredns',
    'Service kube-system/kube-dns',
    'ServiceAccount kube-system/coredns',
  ]);
  assert.equal(fake.get('/apis/apps/v1/deployments', 'kube-system', 'coredns'), undefined);
  assert.ok(fake.get('/api/v1/configmaps', 'kube-system', 'mine'));
  assert.ok(fake.get('/api/v1/configmaps', 'kube-system', 'lookalike'));
  assert.ok(fake.get('/apis/apps/v1/daemonsets', 'kube-system', 'kube-proxy'), 'the other add-on stays');
  // Deletes carry the uid precondition.
  const deletes = fake.requests.filter((r) => r.method === 'DELETE');
  assert.equal(deletes.length, 6);
  const preconditions = new Map(deletes.map((d) => [d.path, (d.body as { preconditions?: { uid?: string } }).preconditions?.uid]));
  for (const [collection, name] of withUid) {
    assert.equal(preconditions.get(`${collection.replace('/v1/', '/v1/namespaces/kube-system/')}/${name}`), `uid-${name}`, `${collection} ${name}`);
  }

  const again = await bootstrapTenant(client, off);
  assert.deepEqual(again.pruned, [], 'nothing left to remove');
});

test('the first failing write stops the bootstrap with the API error', async (t) => {
  const fake = await fakeTenant();
  const client = new KubeClient(fake.kubeConfig());
  t.after(async () => {
    await client.close();
    await fake.close();
  });
  fake.failNext(1, 403, (r) => r.method === 'PATCH' && r.path.endsWith('/kubeadm-config'));
  await assert.rejects(bootstrapTenant(client, renderTenantBootstrap(await sampleInput())), /PATCH \/api\/v1\/namespaces\/kube-system\/configmaps\/kubeadm-config: 403/);
  assert.equal(fake.get('/api/v1/configmaps', 'kube-system', 'kubelet-config'), undefined, 'later objects were not written');
});
