// bootstrapTenant against the in-memory fake API server: which requests go out for which write policy,
// and what pruning deletes. (Real server-side apply semantics: e2e/tests/tenant-bootstrap.e2e.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../core/testing/fake-api-server.ts';
import { KubeClient } from '../../core/index.ts';
import { bootstrapTenant } from './bootstrap.ts';
import { describeRef, refOfObject } from './objects.ts';
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
  const versions = async () => {
    const out = new Map<string, string | undefined>();
    for (const { object } of plan.objects) {
      const path = await client.objectPath(refOfObject(object));
      out.set(path, (await client.request<{ metadata: { resourceVersion?: string } }>('GET', path)).metadata.resourceVersion);
    }
    return out;
  };
  const before = await versions();
  fake.requests.length = 0;
  const second = await bootstrapTenant(client, plan);
  assert.deepEqual(await versions(), before, 'applying unchanged objects changes nothing on the server');
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

  // Every object the bootstrap wrote got its uid from the server (cluster-scoped ones included).
  const coreDNS: [collection: string, namespace: string | undefined, name: string][] = [
    ['/api/v1/serviceaccounts', 'kube-system', 'coredns'],
    ['/api/v1/configmaps', 'kube-system', 'coredns'],
    ['/apis/apps/v1/deployments', 'kube-system', 'coredns'],
    ['/api/v1/services', 'kube-system', 'kube-dns'],
    ['/apis/rbac.authorization.k8s.io/v1/clusterroles', undefined, 'system:coredns'],
    ['/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', undefined, 'system:coredns'],
  ];
  const uids = new Map<string, unknown>();
  for (const [collection, namespace, name] of coreDNS) {
    const stored = fake.get(collection, namespace, name);
    assert.ok(stored, `${collection} ${name} was written`);
    const [prefix, plural] = [collection.slice(0, collection.lastIndexOf('/')), collection.slice(collection.lastIndexOf('/') + 1)];
    uids.set(`${prefix}${namespace ? `/namespaces/${namespace}` : ''}/${plural}/${encodeURIComponent(name)}`, stored.metadata['uid']);
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
  for (const [collection, namespace, name] of coreDNS) assert.equal(fake.get(collection, namespace, name), undefined, `${collection} ${name} deleted`);
  assert.ok(fake.get('/api/v1/configmaps', 'kube-system', 'mine'));
  assert.ok(fake.get('/api/v1/configmaps', 'kube-system', 'lookalike'));
  assert.ok(fake.get('/apis/apps/v1/daemonsets', 'kube-system', 'kube-proxy'), 'the other add-on stays');
  // Exactly those six were deleted, each with the uid the server had assigned as its precondition.
  const deletes = fake.requests.filter((r) => r.method === 'DELETE');
  assert.deepEqual(new Map(deletes.map((d) => [d.path, (d.body as { preconditions?: { uid?: string } }).preconditions?.uid])), uids);

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
