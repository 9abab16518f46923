// The reconcile's failure path against the in-memory API server: a refused child reaches the status and
// an Event and goes back to the queue; the next pass clears it; a reconcile stopped by the shutdown
// reports nothing. (The same with a real quota on the real test bed: e2e/tests/operator.e2e.ts (g).)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FINALIZER, KubeClient, tenantControlPlanePath, type TenantControlPlane } from '../../core/index.ts';
import { FakeApiServer } from '../../core/testing/fake-api-server.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';
import { EventRecorder } from '../runtime/events.ts';
import { StepFailure, TenantReconciler, apiServiceFacts } from './reconcile-tenant.ts';

const NS = 'tenant-demo';

async function setUp(t: { after: (fn: () => Promise<void>) => void }) {
  const fake = await FakeApiServer.start();
  fake.addResource('kubeception.io/v1alpha1', 'TenantControlPlane', 'tenantcontrolplanes', true, { status: true });
  const client = new KubeClient(fake.kubeConfig());
  const events = new EventRecorder({ client, reportingInstance: 'operator-0' });
  t.after(async () => {
    await events.close();
    await client.close();
    await fake.close();
  });
  const tcp = sampleTenant();
  fake.put(tenantControlPlanePath(), { ...tcp, metadata: { ...tcp.metadata, finalizers: [FINALIZER] } } as never);
  const reconciler = new TenantReconciler({ client, events, logger: pino({ level: 'silent' }), options: {} });
  const stored = () => fake.get(tenantControlPlanePath(), NS, 'demo') as unknown as TenantControlPlane;
  const warnings = (reason: string) => fake.requests.filter((r) => r.method === 'POST' && r.path === `/apis/events.k8s.io/v1/namespaces/${NS}/events`
    && (r.body as { reason?: string; type?: string }).reason === reason && (r.body as { type?: string }).type === 'Warning');
  return { fake, reconciler, stored, warnings };
}

const condition = (tcp: TenantControlPlane, type: string) => tcp.status?.conditions?.find((c) => c.type === type);

test('a child the API server refuses: its step and Ready False with the answer, phase Failed, a Warning Event, the error to the queue; the next pass clears it', async (t) => {
  const { fake, reconciler, stored, warnings } = await setUp(t);
  fake.failNext(1, 422, (r) => r.method === 'PATCH' && r.path === `/apis/apps/v1/namespaces/${NS}/deployments/demo-control-plane`);

  await assert.rejects(reconciler.reconcile(`${NS}/demo`, new AbortController().signal), (err: unknown) => {
    assert.ok(err instanceof StepFailure, String(err));
    assert.equal(err.failure.condition, 'APIServer');
    return true;
  });
  const failed = stored();
  const apiServer = condition(failed, 'APIServer');
  assert.equal(apiServer?.status, 'False');
  assert.equal(apiServer?.reason, 'ApplyFailed');
  assert.match(apiServer?.message ?? '', /^Deployment demo-control-plane: 422 /);
  assert.deepEqual([condition(failed, 'Ready')?.status, condition(failed, 'Ready')?.reason], ['False', 'ApplyFailed']);
  assert.equal(failed.status?.phase, 'Failed');
  assert.equal(failed.status?.observedGeneration, 1);
  assert.equal(warnings('ReconcileFailed').length, 1, 'one Warning Event');
  // The steps before the failing one ran: the PKI was written, etcd applied.
  assert.ok(fake.get('/api/v1/secrets', NS, 'demo-ca'));
  assert.ok(fake.get('/apis/apps/v1/statefulsets', NS, 'demo-etcd'));

  // The cause is gone: the retry writes every condition anew.
  await reconciler.reconcile(`${NS}/demo`, new AbortController().signal);
  const retried = stored();
  assert.ok(fake.get('/apis/apps/v1/deployments', NS, 'demo-control-plane'), 'the Deployment exists');
  assert.notEqual(condition(retried, 'APIServer')?.reason, 'ApplyFailed');
  assert.notEqual(condition(retried, 'Ready')?.reason, 'ApplyFailed');
  assert.equal(retried.status?.phase, 'Provisioning', 'its pods do not run here: provisioning, no longer failed');
});

test('a reconcile stopped by the shutdown writes no failure and records no Event', async (t) => {
  const { fake, reconciler, stored, warnings } = await setUp(t);
  const stop = new AbortController();
  // The shutdown comes while the Deployment is being applied.
  fake.failNext(1, 500, (r) => {
    const hit = r.method === 'PATCH' && r.path.endsWith('/deployments/demo-control-plane');
    if (hit) stop.abort(new Error('work queue is shutting down'));
    return hit;
  });
  await assert.rejects(reconciler.reconcile(`${NS}/demo`, stop.signal));
  assert.equal(stored().status, undefined, 'no status was written');
  assert.equal(warnings('ReconcileFailed').length, 0);
});

test('the applied API Service: the https node port from ports[0], konnectivity\'s by its name, whatever the order the server returns', () => {
  const service = {
    spec: { clusterIP: '10.201.0.9', ports: [{ name: 'https', nodePort: 31443 }, { name: 'konnectivity', nodePort: 31132 }] },
    status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } },
  };
  assert.deepEqual(apiServiceFacts(service), { clusterIP: '10.201.0.9', nodePort: 31443, loadBalancerAddress: '203.0.113.9', konnectivityNodePort: 31132 });
  assert.deepEqual(apiServiceFacts({ spec: { clusterIP: '10.201.0.9', ports: [{ name: 'https' }] } }), { clusterIP: '10.201.0.9', nodePort: undefined, loadBalancerAddress: undefined });
});
