// The REST API's per-tenant Secret read through a whole reconcile on the in-memory API server: written for
// the API's tcps only, reported on APIServer when the host refuses it, removed when no longer wanted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { CREATED_BY_API, FINALIZER, LABELS, tenantControlPlanePath, type TenantControlPlane } from '../../core/index.ts';
import { fakeApiServerFor } from '../../core/testing/fake-api-server.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';
import { EventRecorder } from '../runtime/events.ts';
import { StepFailure, TenantReconciler, type CachedChild, type ReconcilerOptions } from './reconcile-tenant.ts';

const NS = 'tenant-demo';
const ROLES = '/apis/rbac.authorization.k8s.io/v1/roles';
const BINDINGS = '/apis/rbac.authorization.k8s.io/v1/rolebindings';
const API_SA = { namespace: 'kubeception-system', name: 'kubeception-api' };

async function setUp(t: { after: (fn: () => Promise<void>) => void }, labels: Record<string, string>) {
  const { fake, client } = await fakeApiServerFor(t);
  fake.addResource('kubeception.io/v1alpha1', 'TenantControlPlane', 'tenantcontrolplanes', true, { status: true });
  const events = new EventRecorder({ client, reportingInstance: 'operator-0' });
  t.after(() => events.close());
  const tcp = sampleTenant();
  fake.put(tenantControlPlanePath(), { ...tcp, metadata: { ...tcp.metadata, labels, finalizers: [FINALIZER] } } as never);
  const reconcilerWith = (options: ReconcilerOptions, cachedChild?: CachedChild) =>
    new TenantReconciler({ client, events, logger: pino({ level: 'silent' }), options, ...(cachedChild ? { cachedChild } : {}) });
  const stored = () => fake.get(tenantControlPlanePath(), NS, 'demo') as unknown as TenantControlPlane;
  return { fake, reconcilerWith, stored, tcp };
}

const run = (reconciler: TenantReconciler) => reconciler.reconcile(`${NS}/demo`, new AbortController().signal);

test('a tcp the API created: Role and RoleBinding for the API service account, owned by the tcp', async (t) => {
  const { fake, reconcilerWith, tcp } = await setUp(t, { [LABELS.createdBy]: CREATED_BY_API });
  await run(reconcilerWith({ apiServiceAccount: API_SA }));
  const role = fake.get(ROLES, NS, 'demo-api-secret-reader') as { rules?: unknown[]; metadata?: { ownerReferences?: { uid: string }[] } } | undefined;
  const binding = fake.get(BINDINGS, NS, 'demo-api-secret-reader') as { subjects?: unknown[]; roleRef?: { name: string } } | undefined;
  assert.deepEqual(role?.rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['demo-portal-kubeconfig'], verbs: ['get'] }]);
  assert.equal(role?.metadata?.ownerReferences?.[0]?.uid, tcp.metadata!.uid);
  assert.deepEqual(binding?.subjects, [{ kind: 'ServiceAccount', ...API_SA }]);
  assert.equal(binding?.roleRef?.name, 'demo-api-secret-reader');
});

test('a tcp applied with kubectl, or an operator without --api-service-account: no grant', async (t) => {
  const kubectl = await setUp(t, {});
  await run(kubectl.reconcilerWith({ apiServiceAccount: API_SA }));
  assert.equal(kubectl.fake.get(ROLES, NS, 'demo-api-secret-reader'), undefined);
  assert.ok(kubectl.fake.get('/apis/apps/v1/deployments', NS, 'demo-control-plane'), 'the reconcile ran');

  const noFlag = await setUp(t, { [LABELS.createdBy]: CREATED_BY_API });
  await run(noFlag.reconcilerWith({}));
  assert.equal(noFlag.fake.get(ROLES, NS, 'demo-api-secret-reader'), undefined);
  assert.equal(noFlag.fake.get(BINDINGS, NS, 'demo-api-secret-reader'), undefined);
});

test('the host refuses the Role (operator RBAC): APIServer and Ready False with the answer, the control plane still applied', async (t) => {
  const { fake, reconcilerWith, stored } = await setUp(t, { [LABELS.createdBy]: CREATED_BY_API });
  fake.failNext(1, 403, (r) => r.method === 'PATCH' && r.path === `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/demo-api-secret-reader`);
  await assert.rejects(run(reconcilerWith({ apiServiceAccount: API_SA })), (err: unknown) => err instanceof StepFailure && err.failure.condition === 'APIServer');
  const apiServer = stored().status?.conditions?.find((c) => c.type === 'APIServer');
  assert.equal(apiServer?.status, 'False');
  assert.equal(apiServer?.reason, 'ApplyFailed');
  assert.match(apiServer?.message ?? '', /^Role demo-api-secret-reader: 403 /);
  assert.equal(stored().status?.phase, 'Failed');
  assert.ok(fake.get('/apis/apps/v1/deployments', NS, 'demo-control-plane'), 'the grant comes last: the control plane is not held back');
});

test('a grant no longer wanted is removed, when the informers saw it; without that, no request is made', async (t) => {
  const { fake, reconcilerWith } = await setUp(t, { [LABELS.createdBy]: CREATED_BY_API });
  await run(reconcilerWith({ apiServiceAccount: API_SA }));
  const uidOf = (path: string) => (fake.get(path, NS, 'demo-api-secret-reader') as { metadata?: { uid?: string } } | undefined)?.metadata?.uid;
  const cache: CachedChild = (ref) => {
    const uid = uidOf(ref.kind === 'Role' ? ROLES : BINDINGS);
    return uid === undefined ? undefined : { uid };
  };

  const before = fake.requests.length;
  await run(reconcilerWith({}));
  assert.ok(fake.get(ROLES, NS, 'demo-api-secret-reader'), 'no cache: left alone');
  assert.ok(!fake.requests.slice(before).some((r) => r.method === 'DELETE'));

  await run(reconcilerWith({}, cache));
  assert.equal(fake.get(ROLES, NS, 'demo-api-secret-reader'), undefined);
  assert.equal(fake.get(BINDINGS, NS, 'demo-api-secret-reader'), undefined);
  const deletes = fake.requests.slice(before).filter((r) => r.method === 'DELETE').length;
  await run(reconcilerWith({}, cache));
  assert.equal(fake.requests.slice(before).filter((r) => r.method === 'DELETE').length, deletes, 'gone from the cache: nothing more to delete');
});
