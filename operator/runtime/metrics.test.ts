import assert from 'node:assert/strict';
import { test } from 'node:test';
import { productVersion } from '../../core/index.ts';
import { countPhases, createMetrics, operatorReady, recordReconcile, setTenantPhases, startHealthServer } from './metrics.ts';
import { WorkQueue } from './work-queue.ts';

test('reconcile, queue and tenant metrics appear in the exposition', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const queue = new WorkQueue({ name: 'tenants' });
  metrics.observeQueue(queue);
  queue.add('a');
  queue.add('b');
  queue.addAfter('c', 60_000);
  await queue.get();

  const record = recordReconcile(metrics, 'tenantcontrolplane');
  record({ key: 'a', durationMs: 120 });
  record({ key: 'a', durationMs: 30, error: new Error('x'), retryInMs: 5 });
  const informer = { name: 'tcps', restarts: 2 };
  metrics.observeInformer(informer);
  setTenantPhases(metrics, countPhases([{ status: { phase: 'Ready' } }, { status: { phase: 'Ready' } }, {}]));

  const text = await metrics.registry.metrics();
  assert.match(text, /kubeception_workqueue_depth\{queue="tenants"\} 1/);
  assert.match(text, /kubeception_workqueue_in_flight\{queue="tenants"\} 1/);
  assert.match(text, /kubeception_workqueue_delayed\{queue="tenants"\} 1/);
  assert.match(text, /kubeception_reconcile_errors_total\{controller="tenantcontrolplane"\} 1/);
  assert.match(text, /kubeception_reconcile_duration_seconds_count\{controller="tenantcontrolplane",result="success"\} 1/);
  assert.match(text, /kubeception_reconcile_duration_seconds_sum\{controller="tenantcontrolplane",result="error"\} 0.03/);
  assert.match(text, /kubeception_tenants\{phase="Ready"\} 2/);
  assert.match(text, /kubeception_tenants\{phase="Provisioning"\} 1/);
  assert.match(text, /kubeception_tenants\{phase="Failed"\} 0/);

  // A phase that empties drops to 0 instead of keeping its last value.
  setTenantPhases(metrics, { Deleting: 1 });
  const later = await metrics.registry.metrics();
  assert.match(later, /kubeception_tenants\{phase="Ready"\} 0/);
  assert.match(later, /kubeception_tenants\{phase="Deleting"\} 1/);
  assert.match(text, /kubeception_informer_restarts_total\{informer="tcps"\} 2/);
  informer.restarts = 5;
  assert.match(await metrics.registry.metrics(), /kubeception_informer_restarts_total\{informer="tcps"\} 5/, 'counts grow, not reset');
  queue.done('a');
  await queue.shutDown();
});

test('kubeception_build_info says which version runs', async () => {
  const lines = (text: string) => text.split('\n').filter((line) => line.startsWith('kubeception_build_info'));
  assert.deepEqual(lines(await createMetrics({ defaultMetrics: false }).registry.metrics()), [`kubeception_build_info{version="${productVersion}"} 1`]);
  assert.deepEqual(lines(await createMetrics({ defaultMetrics: false, version: '0.1.1-e2e' }).registry.metrics()), ['kubeception_build_info{version="0.1.1-e2e"} 1']);
});

test('health server answers /metrics, /healthz, /readyz and 404', async () => {
  const metrics = createMetrics();
  let ready = false;
  const server = await startHealthServer({ registry: metrics.registry, port: 0, host: '127.0.0.1', ready: () => ready });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const m = await fetch(`${base}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type')!, /text\/plain/);
    const body = await m.text();
    assert.match(body, /process_cpu_user_seconds_total/, 'default process metrics');
    assert.match(body, /kubeception_tenants/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    ready = true;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
});

test('kubeception_leader follows the replica\'s leadership at scrape time', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  assert.match(await metrics.registry.metrics(), /^kubeception_leader 0$/m, 'nothing observed yet: not leading');
  let leading = false;
  metrics.observeLeadership(() => leading);
  assert.match(await metrics.registry.metrics(), /^kubeception_leader 0$/m);
  leading = true;
  assert.match(await metrics.registry.metrics(), /^kubeception_leader 1$/m);
});

test('readiness: a leader once its workers run; a standby while it reaches the API server', () => {
  assert.equal(operatorReady({ leading: true, controllerStarted: false, leaseReachable: true }), false, 'leader still syncing its caches');
  assert.equal(operatorReady({ leading: true, controllerStarted: true, leaseReachable: true }), true);
  assert.equal(operatorReady({ leading: false, controllerStarted: false, leaseReachable: true }), true, 'a standby is healthy');
  assert.equal(operatorReady({ leading: false, controllerStarted: false, leaseReachable: false }), false, 'a standby cut off from the API server is not');
});
