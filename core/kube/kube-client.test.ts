import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { apply, applyBody, applyStatus, deleteIfExists, getOrUndefined, refOf } from './apply.ts';
import { apiVersionPath, KubeApiError, KubeClient, resourcePath } from './kube-client.ts';
import { FakeApiServer } from '../testing/fake-api-server.ts';

let fake: FakeApiServer;
before(async () => {
  fake = await FakeApiServer.start();
  fake.addResource('v1', 'ConfigMap', 'configmaps');
});
after(async () => fake.close());

test('resourcePath builds core, group, namespaced, cluster-scoped and subresource paths', () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
  const tcp = { apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', plural: 'tenantcontrolplanes', namespaced: true };
  const ns = { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };
  assert.equal(resourcePath(cm, 'a', 'b'), '/api/v1/namespaces/a/configmaps/b');
  assert.equal(resourcePath(cm), '/api/v1/configmaps');
  assert.equal(resourcePath(tcp, 'team-1', 'demo', 'status'), '/apis/kubeception.io/v1alpha1/namespaces/team-1/tenantcontrolplanes/demo/status');
  assert.equal(resourcePath(ns, undefined, 'kube-system'), '/api/v1/namespaces/kube-system');
  assert.throws(() => resourcePath(cm, undefined, 'b'), /namespaced: metadata.namespace is required/);
  assert.throws(() => resourcePath(ns, 'a', 'b'), /cluster-scoped/);
  assert.throws(() => resourcePath(cm, 'a', undefined, 'status'), /needs an object name/);
  assert.equal(apiVersionPath('apps/v1'), '/apis/apps/v1');
  assert.throws(() => apiVersionPath('Apps/V1'), /invalid apiVersion/);
});

test('applyBody drops server-populated metadata and refOf explains what is missing', () => {
  const body = applyBody({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'x', namespace: 'y', resourceVersion: '5', uid: 'u', managedFields: [{ manager: 'm' }], labels: { a: 'b' } },
    data: { k: 'v' },
  });
  assert.deepEqual(body, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'y', labels: { a: 'b' } }, data: { k: 'v' } });
  assert.throws(() => refOf({ kind: 'ConfigMap', metadata: { name: 'x' } }), /apiVersion is required/);
  assert.throws(() => refOf({ apiVersion: 'v1', metadata: { name: 'x' } }), /kind is required/);
  assert.throws(() => refOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }), /metadata.name is required/);
});

test('a PATCH without a patch content type is refused before it is sent', async () => {
  const client = new KubeClient(fake.kubeConfig());
  const sent = fake.requests.length;
  await assert.rejects(client.request('PATCH', '/api/v1/namespaces/a/configmaps/b', { body: {} }), /explicit patch content type/);
  assert.equal(fake.requests.length, sent);
});

test('discovery resolves plurals and scope, and re-reads once when a kind is new (a CRD just installed)', async () => {
  const client = new KubeClient(fake.kubeConfig());
  assert.deepEqual(await client.resource('v1', 'ConfigMap'), { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true });
  // An API group nobody serves: kube-apiserver v1.36 answers Go's plain-text "404 page not found", no Status.
  await assert.rejects(client.resource('example.io/v1', 'Widget'), /GET \/apis\/example\.io\/v1: 404 HTTP404: 404 page not found/);
  fake.addResource('example.io/v1', 'Widget', 'widgets', false);
  assert.equal(await client.collectionPath('example.io/v1', 'Widget', 'ignored-for-cluster-scope'), '/apis/example.io/v1/widgets');
  // example.io/v1 is cached now; a kind added to it later is still found.
  fake.addResource('example.io/v1', 'Gadget', 'gadgets');
  assert.equal(await client.objectPath({ apiVersion: 'example.io/v1', kind: 'Gadget', namespace: 'n', name: 'g' }), '/apis/example.io/v1/namespaces/n/gadgets/g');
  await assert.rejects(client.resource('v1', 'Nothing'), /does not serve kind Nothing in v1/);
});

test('apply sends an apply-patch with field manager and force; status goes to the status subresource', async () => {
  fake.addResource('kubeception.io/v1alpha1', 'TenantControlPlane', 'tenantcontrolplanes', true, { status: true });
  const client = new KubeClient(fake.kubeConfig());
  const result = await apply(client, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns' }, data: { a: '1' } });
  const request = fake.requests.at(-1)!;
  assert.equal(request.method, 'PATCH');
  assert.equal(request.path, '/api/v1/namespaces/ns/configmaps/cm');
  assert.equal(request.contentType, 'application/apply-patch+yaml');
  assert.equal(request.query.get('fieldManager'), 'kubeception-operator');
  assert.equal(request.query.get('force'), 'true');
  assert.deepEqual((result as { data?: unknown }).data, { a: '1' });

  fake.put('/apis/kubeception.io/v1alpha1/tenantcontrolplanes', {
    apiVersion: 'kubeception.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name: 'demo', namespace: 'ns' },
    spec: { version: 'v1.36.5' },
  });
  await applyStatus(client, {
    apiVersion: 'kubeception.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name: 'demo', namespace: 'ns', resourceVersion: '1' },
    spec: { ignored: true },
    status: { phase: 'Ready', observedGeneration: 1 },
  });
  const statusRequest = fake.requests.at(-1)!;
  assert.equal(statusRequest.path, '/apis/kubeception.io/v1alpha1/namespaces/ns/tenantcontrolplanes/demo/status');
  assert.equal(statusRequest.contentType, 'application/apply-patch+yaml');
  assert.deepEqual(statusRequest.body, {
    apiVersion: 'kubeception.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name: 'demo', namespace: 'ns' },
    status: { phase: 'Ready', observedGeneration: 1 },
  });
  // The status subresource wrote the status and nothing else.
  const stored = fake.get('/apis/kubeception.io/v1alpha1/tenantcontrolplanes', 'ns', 'demo')!;
  assert.deepEqual(stored['status'], { phase: 'Ready', observedGeneration: 1 });
  assert.deepEqual(stored['spec'], { version: 'v1.36.5' });

  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'cm' };
  assert.equal((await getOrUndefined(client, ref))?.metadata?.name, 'cm');
  assert.equal(await deleteIfExists(client, ref), true);
  assert.equal(await deleteIfExists(client, ref), false, 'already gone');
  assert.equal(await getOrUndefined(client, ref), undefined);
});

test('API errors carry status code and reason', async () => {
  const client = new KubeClient(fake.kubeConfig());
  const error = await client.request('GET', '/api/v1/namespaces/x/configmaps/missing').catch((e: unknown) => e);
  assert.ok(error instanceof KubeApiError);
  assert.equal(error.statusCode, 404);
  assert.equal(error.reason, 'NotFound');
  assert.match(error.message, /GET \/api\/v1\/namespaces\/x\/configmaps\/missing: 404 NotFound/);
});

test('requests share a keep-alive connection pool (client-node alone opens one connection per request)', async () => {
  const client = new KubeClient(fake.kubeConfig());
  const before = fake.connections;
  for (let i = 0; i < 10; i++) await client.request('GET', '/api/v1/namespaces/x/configmaps');
  // undici may open a second socket when a request starts in the same tick the previous response ends;
  // what matters is that the count does not grow with the number of requests.
  assert.ok(fake.connections - before <= 2, `ten requests opened ${fake.connections - before} connections`);

  // The same through a typed client made from the shared KubeConfig.
  const core = client.kubeConfig.makeApiClient(CoreV1Api);
  const typedBefore = fake.connections;
  for (let i = 0; i < 5; i++) await core.listNamespacedConfigMap({ namespace: 'x' });
  assert.ok(fake.connections - typedBefore <= 2, `typed client opened ${fake.connections - typedBefore} connections`);

  // Baseline, to show what is being fixed: plain client-node makes a new connection each time.
  const plain = fake.kubeConfig().makeApiClient(CoreV1Api);
  const plainBefore = fake.connections;
  for (let i = 0; i < 5; i++) await plain.listNamespacedConfigMap({ namespace: 'x' });
  assert.equal(fake.connections - plainBefore, 5);
  await client.close();
});
