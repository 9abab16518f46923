// nextStatus: what one reconcile observed -> the TenantControlPlane's status (and failedStatus, deletingStatus). Pure, so every case is a table
// row: conditions per part, Ready as their summary, the phase, and lastTransitionTime kept while a
// condition's status does not change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKubernetesVersion, type Condition, type TenantControlPlane } from '../../core/index.ts';
import { CONDITION_TYPES, deletingStatus, failedStatus, nextStatus, type Observed, type WorkloadState } from './status.ts';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const T1 = new Date('2026-03-01T10:05:00.000Z');
const stamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function tenant(overrides: { generation?: number; version?: TenantControlPlane['spec']['version']; status?: TenantControlPlane['status'] } = {}): TenantControlPlane {
  return {
    apiVersion: 'kubeception.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name: 'demo', namespace: 'tenants', generation: overrides.generation ?? 1 },
    spec: { version: overrides.version ?? 'v1.36.5' } as TenantControlPlane['spec'],
    ...(overrides.status ? { status: overrides.status } : {}),
  };
}

/** nextStatus for a tcp as the reconcile sees it: resolved, with its previous status. */
const next = (tcp: TenantControlPlane, observed: Observed, now: Date) => nextStatus({
  name: tcp.metadata!.name!, namespace: tcp.metadata!.namespace!, uid: 'tcp-uid', generation: tcp.metadata!.generation!,
  spec: tcp.spec, version: parseKubernetesVersion(tcp.spec.version),
}, tcp.status, observed, now);

const PENDING: Observed['endpoint'] = { state: 'pending', reason: 'AddressPending', message: 'the load balancer has not assigned an address' };

const workload = (w: Partial<WorkloadState> = {}): WorkloadState => ({ exists: true, desired: 1, ready: 1, updated: 1, current: true, ...w });

/** Everything fine: PKI issued, etcd and control plane rolled out, an endpoint, the tenant bootstrapped. */
function healthy(overrides: Partial<Observed> = {}): Observed {
  return {
    pki: { ok: true, issued: [] },
    etcd: workload(),
    controlPlane: workload(),
    endpoint: { state: 'reachable', url: 'https://10.0.0.5:31443' },
    tenant: { ok: true, reason: 'Bootstrapped', message: 'RBAC, cluster-info and addons applied' },
    ...overrides,
  };
}

const condition = (conditions: Condition[] | undefined, type: string): Condition => {
  const found = conditions?.find((c) => c.type === type);
  assert.ok(found, `condition ${type} is missing from ${JSON.stringify(conditions?.map((c) => c.type))}`);
  return found;
};

test('a healthy tenant: every condition True, phase Ready, version and endpoint reported', () => {
  const status = next(tenant({ generation: 4 }), healthy(), T0);
  assert.deepEqual(status.conditions?.map((c) => c.type).sort(), [...CONDITION_TYPES].sort());
  for (const c of status.conditions ?? []) {
    assert.equal(c.status, 'True', `${c.type}: ${c.message}`);
    assert.equal(c.observedGeneration, 4, c.type);
    assert.equal(c.lastTransitionTime, stamp(T0), c.type);
  }
  assert.equal(status.phase, 'Ready');
  assert.equal(status.observedGeneration, 4);
  assert.equal(status.version, 'v1.36.5');
  assert.equal(status.endpoint, 'https://10.0.0.5:31443');
  assert.deepEqual(status.controlPlane, { replicas: 1, readyReplicas: 1, selector: 'kubeception.io/tenant=demo,kubeception.io/component=control-plane' });
  assert.deepEqual(status.kubeconfigSecrets, { admin: 'demo-admin-kubeconfig', clusterAPI: 'demo-kubeconfig' });
});

test('a fresh tenant whose workloads do not exist yet is Provisioning, Ready False naming what is missing', () => {
  const status = next(tenant(), healthy({
    etcd: workload({ exists: false, ready: 0, updated: 0, current: false }),
    controlPlane: workload({ exists: false, ready: 0, updated: 0, current: false }),
    endpoint: PENDING,
    tenant: undefined,
  }), T0);
  assert.equal(status.phase, 'Provisioning');
  assert.equal(condition(status.conditions, 'PKI').status, 'True');
  const datastore = condition(status.conditions, 'Datastore');
  assert.equal(datastore.status, 'False');
  assert.equal(datastore.reason, 'NotCreated');
  assert.equal(condition(status.conditions, 'APIServer').reason, 'NotCreated');
  assert.equal(condition(status.conditions, 'Endpoint').status, 'False');
  assert.equal(condition(status.conditions, 'TenantBootstrap').status, 'Unknown');
  const ready = condition(status.conditions, 'Ready');
  assert.equal(ready.status, 'False');
  // The summary names every part that is not True, with its message, so `kubectl describe` says why.
  for (const part of ['Datastore', 'APIServer', 'Endpoint', 'TenantBootstrap']) assert.match(ready.message, new RegExp(`${part}: `), part);
  assert.doesNotMatch(ready.message, /PKI: /);
  assert.equal(ready.reason, 'NotCreated', 'the first failing part gives the reason');
  assert.equal(status.version, undefined, 'no version is claimed before the control plane rolled out');
  assert.equal(status.endpoint, undefined);
  assert.deepEqual(status.controlPlane?.readyReplicas, 0);
});

test('Ready is True only when every part is True: each single failing part makes it False', () => {
  const cases: { what: string; observed: Observed; part: string; reason: string }[] = [
    { what: 'PKI alarm', observed: healthy({ pki: { ok: false, reason: 'RootMissing', message: 'demo-ca is missing' } }), part: 'PKI', reason: 'RootMissing' },
    { what: 'etcd not ready', observed: healthy({ etcd: workload({ desired: 3, ready: 2, updated: 3 }) }), part: 'Datastore', reason: 'NotReady' },
    { what: 'control plane rolling', observed: healthy({ controlPlane: workload({ desired: 2, ready: 2, updated: 1 }) }), part: 'APIServer', reason: 'RollingOut' },
    { what: 'stale workload status', observed: healthy({ controlPlane: workload({ current: false }) }), part: 'APIServer', reason: 'RollingOut' },
    { what: 'zero desired replicas', observed: healthy({ etcd: workload({ desired: 0, ready: 0, updated: 0 }) }), part: 'Datastore', reason: 'NotReady' },
    { what: 'no endpoint', observed: healthy({ endpoint: PENDING }), part: 'Endpoint', reason: 'AddressPending' },
    { what: 'endpoint unreachable', observed: healthy({ endpoint: { state: 'unreachable', url: 'https://10.0.0.5:31443', message: 'connect ETIMEDOUT' } }), part: 'Endpoint', reason: 'Unreachable' },
    { what: 'bootstrap failed', observed: healthy({ tenant: { ok: false, reason: 'BootstrapFailed', message: 'RBAC: forbidden' } }), part: 'TenantBootstrap', reason: 'BootstrapFailed' },
  ];
  for (const c of cases) {
    const status = next(tenant(), c.observed, T0);
    const failing = status.conditions!.filter((x) => x.type !== 'Ready' && x.status !== 'True').map((x) => x.type);
    assert.deepEqual(failing, [c.part], c.what);
    assert.equal(condition(status.conditions, c.part).reason, c.reason, c.what);
    const ready = condition(status.conditions, 'Ready');
    assert.equal(ready.status, 'False', c.what);
    assert.equal(ready.reason, c.reason, c.what);
    assert.match(ready.message, new RegExp(`^${c.part}: `), c.what);
    assert.notEqual(status.phase, 'Ready', c.what);
  }
});

test('workload messages count ready and up-to-date replicas', () => {
  const status = next(tenant(), healthy({ etcd: workload({ desired: 3, ready: 1, updated: 2 }) }), T0);
  assert.equal(condition(status.conditions, 'Datastore').message, '1/3 etcd replicas ready, 2 up to date');
  assert.equal(condition(status.conditions, 'APIServer').message, '1/1 control-plane replicas ready');
});

test('lastTransitionTime is kept while a status stays, and moves when it changes', () => {
  const first = next(tenant(), healthy({ endpoint: PENDING }), T0);
  assert.equal(condition(first.conditions, 'Endpoint').status, 'False');

  // Same observation five minutes later: nothing transitions, even though reason/message are rewritten.
  const again = next(tenant({ status: first }), healthy({ endpoint: PENDING, pki: { ok: true, issued: ['demo-apiserver-certs'] } }), T1);
  for (const c of again.conditions ?? []) assert.equal(c.lastTransitionTime, stamp(T0), c.type);
  assert.equal(condition(again.conditions, 'PKI').message, 'issued: demo-apiserver-certs');

  // The endpoint appears: Endpoint and Ready transition, the others keep their time.
  const later = next(tenant({ status: again }), healthy(), T1);
  assert.equal(condition(later.conditions, 'Endpoint').lastTransitionTime, stamp(T1));
  assert.equal(condition(later.conditions, 'Ready').lastTransitionTime, stamp(T1));
  assert.equal(condition(later.conditions, 'Ready').status, 'True');
  for (const type of ['PKI', 'Datastore', 'APIServer', 'TenantBootstrap']) {
    assert.equal(condition(later.conditions, type).lastTransitionTime, stamp(T0), type);
  }
  // The order of the conditions does not change from one status to the next (no churn in diffs).
  assert.deepEqual(later.conditions?.map((c) => c.type), first.conditions?.map((c) => c.type));
});

test('observedGeneration follows metadata.generation in the status and in every condition', () => {
  const first = next(tenant({ generation: 1 }), healthy(), T0);
  const second = next(tenant({ generation: 2, status: first }), healthy(), T1);
  assert.equal(second.observedGeneration, 2);
  for (const c of second.conditions ?? []) assert.equal(c.observedGeneration, 2, c.type);
});

test('phase: Failed on a PKI alarm, Upgrading while a new version rolls out', () => {
  assert.equal(next(tenant(), healthy({ pki: { ok: false, reason: 'RootMissing', message: 'x' } }), T0).phase, 'Failed');

  // Running v1.35.4, spec moved to v1.36.5, the new pods not rolled out yet.
  const running = next(tenant({ version: 'v1.35.4' }), healthy(), T0);
  assert.equal(running.version, 'v1.35.4');
  const upgrading = next(
    tenant({ version: 'v1.36.5', generation: 2, status: running }),
    healthy({ controlPlane: workload({ desired: 1, ready: 1, updated: 0, current: true }) }),
    T1,
  );
  assert.equal(upgrading.phase, 'Upgrading');
  assert.equal(upgrading.version, 'v1.35.4', 'the status keeps the version that runs until the rollout completes');
  const upgraded = next(tenant({ version: 'v1.36.5', generation: 2, status: upgrading }), healthy(), T1);
  assert.equal(upgraded.phase, 'Ready');
  assert.equal(upgraded.version, 'v1.36.5');
});

test('a PKI alarm carries its reason and message into the PKI condition', () => {
  const message = 'demo-ca: cluster CA (Secret demo-ca) is missing but the tenant control plane is running; refusing to create a new one';
  const status = next(tenant(), healthy({ pki: { ok: false, reason: 'RootMissing', message } }), T0);
  const pki = condition(status.conditions, 'PKI');
  assert.equal(pki.status, 'False');
  assert.equal(pki.reason, 'RootMissing');
  assert.equal(pki.message, message);
  assert.equal(condition(status.conditions, 'Ready').message.startsWith(`PKI: ${message}`), true);
});

test('the input tcp and its previous conditions are not mutated', () => {
  const first = next(tenant(), healthy({ endpoint: PENDING }), T0);
  const tcp = tenant({ status: first });
  const snapshot = JSON.stringify(tcp);
  next(tcp, healthy(), T1);
  assert.equal(JSON.stringify(tcp), snapshot);
});

test('conditions reported from inside the tenant are set; the addon ones inform but do not gate Ready', () => {
  const inside = (coreDNS: 'True' | 'False', rbac: 'True' | 'False'): Observed => healthy({
    tenant: {
      ok: true, reason: 'Bootstrapped', message: 'done',
      conditions: [
        { type: 'JoinRBAC', status: rbac, reason: rbac === 'True' ? 'Applied' : 'Forbidden', message: 'bootstrap-token bindings' },
        { type: 'CoreDNS', status: coreDNS, reason: coreDNS === 'True' ? 'Available' : 'NoNodes', message: '0/2 replicas available: no worker nodes' },
      ],
    },
  });
  const withoutWorkers = next(tenant({ generation: 3 }), inside('False', 'True'), T0);
  assert.equal(condition(withoutWorkers.conditions, 'CoreDNS').status, 'False');
  assert.equal(condition(withoutWorkers.conditions, 'CoreDNS').observedGeneration, 3);
  assert.equal(condition(withoutWorkers.conditions, 'Ready').status, 'True', 'a control plane without workers is Ready');
  assert.equal(withoutWorkers.phase, 'Ready');

  const rbacFailing = next(tenant({ generation: 3, status: withoutWorkers }), inside('True', 'False'), T1);
  const ready = condition(rbacFailing.conditions, 'Ready');
  assert.equal(ready.status, 'False', 'any other part from inside the tenant gates Ready');
  assert.match(ready.message, /^JoinRBAC: bootstrap-token bindings$/);
  assert.equal(ready.lastTransitionTime, stamp(T1));
  assert.equal(condition(rbacFailing.conditions, 'CoreDNS').lastTransitionTime, stamp(T1));
});

test('a failed step: its condition False with the failure, Ready False naming it, phase Failed, the rest kept', () => {
  const ready = next(tenant({ generation: 2 }), healthy(), T0);
  const failure = { condition: 'APIServer', reason: 'ApplyFailed', message: 'Deployment demo-control-plane: 403 Forbidden: exceeded quota' } as const;
  const failed = failedStatus({ generation: 3 }, ready, failure, T1);
  assert.equal(failed.phase, 'Failed');
  assert.equal(failed.observedGeneration, 3, 'the generation that failed is the one observed');
  const apiServer = condition(failed.conditions, 'APIServer');
  assert.deepEqual([apiServer.status, apiServer.reason, apiServer.message, apiServer.lastTransitionTime], ['False', 'ApplyFailed', failure.message, stamp(T1)]);
  const summary = condition(failed.conditions, 'Ready');
  assert.deepEqual([summary.status, summary.reason], ['False', 'ApplyFailed']);
  assert.equal(summary.message, `APIServer: ${failure.message}`);
  assert.equal(condition(failed.conditions, 'Datastore').lastTransitionTime, stamp(T0), 'untouched parts keep their time');
  assert.equal(failed.endpoint, ready.endpoint, 'what was observed before stays');
  assert.equal(failed.version, ready.version);

  // The next successful reconcile recovers everything.
  const recovered = next(tenant({ generation: 3, status: failed }), healthy(), T1);
  assert.equal(recovered.phase, 'Ready');
  assert.equal(condition(recovered.conditions, 'APIServer').status, 'True');
  assert.equal(condition(recovered.conditions, 'Ready').status, 'True');
});

test('a spec the operator cannot use fails Ready itself; a tcp without status gets one', () => {
  const failed = failedStatus({ generation: 1 }, undefined, { condition: 'Ready', reason: 'InvalidSpec', message: 'TenantControlPlane spec.etcd.replicas: must be 1 or 3' }, T0);
  assert.equal(failed.phase, 'Failed');
  assert.deepEqual(failed.conditions?.map((c) => [c.type, c.status, c.reason]), [['Ready', 'False', 'InvalidSpec']]);
});

test('while the finalizer runs: phase Deleting, Ready False, the rest kept', () => {
  const ready = next(tenant(), healthy(), T0);
  const deleting = deletingStatus({ generation: 1 }, ready, T1);
  assert.equal(deleting.phase, 'Deleting');
  assert.equal(condition(deleting.conditions, 'Ready').reason, 'Deleting');
  assert.equal(deleting.endpoint, ready.endpoint);
});

test('status.endpoint is published once the endpoint answers, and an address customers hold stays while it does not', () => {
  const url = 'https://10.196.0.200:6443';
  const unverified = next(tenant(), healthy({ endpoint: { state: 'unverified', url }, controlPlane: workload({ ready: 0 }) }), T0);
  assert.equal(unverified.endpoint, undefined, 'not before it is checked');
  assert.equal(condition(unverified.conditions, 'Endpoint').reason, 'NotVerified');
  const reachable = next(tenant({ status: unverified }), healthy({ endpoint: { state: 'reachable', url } }), T1);
  assert.equal(reachable.endpoint, url);
  assert.equal(condition(reachable.conditions, 'Endpoint').reason, 'Reachable');
  const lost = next(tenant({ status: reachable }), healthy({ endpoint: { state: 'unreachable', url: 'https://10.196.0.3:31000', message: 'connect EHOSTUNREACH' } }), T1);
  assert.equal(lost.endpoint, url, 'the published address stays until a new one answers');
  assert.equal(condition(lost.conditions, 'Endpoint').status, 'False');
  assert.equal(condition(lost.conditions, 'Ready').reason, 'Unreachable');
  const moved = next(tenant({ status: lost }), healthy({ endpoint: { state: 'reachable', url: 'https://10.196.0.3:31000' } }), T1);
  assert.equal(moved.endpoint, 'https://10.196.0.3:31000');
});
