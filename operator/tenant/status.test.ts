import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTenantBootstrap, type TenantBootstrapPlan } from './plan.ts';
import { assessBootstrap, bootstrapConditions, containsDesired, observationKey, summarizeBootstrap, type Observation, type PartReport } from './status.ts';
import { validateCondition } from '../runtime/conditions.ts';
import { sampleInput } from './testing.ts';

/** What the server would return for every planned object: the object plus server-added fields. */
function observeAll(plan: TenantBootstrapPlan, tweak: (key: string, found: Record<string, any>) => void = () => {}): Map<string, Observation> {
  const map = new Map<string, Observation>();
  for (const entry of plan.objects) {
    const found = structuredClone(entry.object) as Record<string, any>;
    found.metadata = { ...found.metadata, uid: 'u', resourceVersion: '7', generation: 2 };
    if (found.kind === 'Deployment') found.status = { observedGeneration: 2, replicas: 2, readyReplicas: 2, updatedReplicas: 2 };
    if (found.kind === 'DaemonSet') found.status = { observedGeneration: 2, desiredNumberScheduled: 1, numberReady: 1, updatedNumberScheduled: 1 };
    tweak(observationKey(entry.object), found);
    map.set(observationKey(entry.object), { found });
  }
  return map;
}

const byType = (reports: PartReport[]) => Object.fromEntries(reports.map((r) => [r.type, `${r.status}/${r.reason}`]));

test('all in place: every part True, summary ok', async () => {
  const plan = renderTenantBootstrap(await sampleInput());
  const reports = assessBootstrap(plan, observeAll(plan));
  assert.deepEqual(byType(reports), {
    TenantRBAC: 'True/Applied',
    ClusterInfo: 'True/Published',
    KubeadmConfig: 'True/Applied',
    KubeletConfig: 'True/Applied',
    CoreDNS: 'True/Ready',
    KubeProxy: 'True/Ready',
    Konnectivity: 'True/Connected',
    CNI: 'True/Ready',
  });
  assert.match(reports.find((r) => r.type === 'ClusterInfo')!.message, /not signed for any token yet/);
  assert.deepEqual(summarizeBootstrap(reports), { ok: true, reason: 'Bootstrapped', message: 'RBAC, cluster-info, kubeadm-config, kubelet-config and add-ons are in place' });
  for (const condition of bootstrapConditions(reports, 3)) {
    validateCondition(condition);
    assert.equal(condition.observedGeneration, 3);
  }
});

test('cluster-info counts the bootstrapsigner signatures; extra keys are not drift', async () => {
  const plan = renderTenantBootstrap(await sampleInput());
  const reports = assessBootstrap(plan, observeAll(plan, (key, found) => {
    if (key === 'ConfigMap kube-public/cluster-info') Object.assign(found.data, { 'jws-kubeconfig-abcdef': 'x..y', 'jws-kubeconfig-123456': 'x..z' });
  }));
  const info = reports.find((r) => r.type === 'ClusterInfo')!;
  assert.equal(info.status, 'True');
  assert.match(info.message, /signed for 2 token\(s\)/);
});

test('a missing binding or a changed ConfigMap is reported per part; the summary is not ok', async () => {
  const plan = renderTenantBootstrap(await sampleInput());
  const observed = observeAll(plan, (key, found) => {
    if (key === 'ConfigMap kube-system/kubelet-config') found.data.kubelet = 'cgroupDriver: systemd\n';
  });
  observed.set('ClusterRoleBinding kubeadm:get-nodes', { missing: true });
  const reports = assessBootstrap(plan, observed);
  const rbac = reports.find((r) => r.type === 'TenantRBAC')!;
  assert.deepEqual([rbac.status, rbac.reason, rbac.written], ['False', 'Missing', false]);
  assert.match(rbac.message, /ClusterRoleBinding kubeadm:get-nodes does not exist/);
  const kubelet = reports.find((r) => r.type === 'KubeletConfig')!;
  assert.deepEqual([kubelet.status, kubelet.reason], ['False', 'Drifted']);
  assert.match(kubelet.message, /differs in data/);
  const summary = summarizeBootstrap(reports);
  assert.equal(summary.ok, false);
  assert.match(summary.message, /TenantRBAC: .*KubeletConfig: /);
});

test('an edited Corefile is not drift (the ConfigMap is the users\'); a missing one is', async () => {
  const plan = renderTenantBootstrap(await sampleInput());
  const edited = assessBootstrap(plan, observeAll(plan, (key, found) => {
    if (key === 'ConfigMap kube-system/coredns') found.data.Corefile = '.:53 {\n    forward . 1.1.1.1\n}\n';
  }));
  assert.equal(edited.find((r) => r.type === 'CoreDNS')!.status, 'True');
  const observed = observeAll(plan);
  observed.set('ConfigMap kube-system/coredns', { missing: true });
  assert.equal(assessBootstrap(plan, observed).find((r) => r.type === 'CoreDNS')!.reason, 'Missing');
});

test('add-on readiness: no workers yet, rolling out, disabled; read errors are Unknown', async () => {
  const plan = renderTenantBootstrap(await sampleInput());
  const noNodes = assessBootstrap(plan, observeAll(plan, (_key, found) => {
    if (found.kind === 'Deployment') found.status = { observedGeneration: 2, replicas: 2, readyReplicas: 0, updatedReplicas: 2 };
    if (found.kind === 'DaemonSet') found.status = { observedGeneration: 2, desiredNumberScheduled: 0, numberReady: 0 };
  }));
  assert.deepEqual(byType(noNodes).CoreDNS, 'False/NotReady');
  assert.match(noNodes.find((r) => r.type === 'CoreDNS')!.message, /0\/2 replicas ready \(are there schedulable worker nodes\?\)/);
  assert.deepEqual(byType(noNodes).KubeProxy, 'True/NoNodes');
  // Written is written: the summary stays ok and says what it waits for.
  const summary = summarizeBootstrap(noNodes);
  assert.equal(summary.ok, true);
  assert.match(summary.message, /waiting for CoreDNS \(0\/2 replicas ready/);

  const rolling = assessBootstrap(plan, observeAll(plan, (_key, found) => {
    if (found.kind === 'Deployment') found.status = { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2 };
    if (found.kind === 'DaemonSet') found.status = { observedGeneration: 2, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 1 };
  }));
  assert.equal(byType(rolling).CoreDNS, 'False/RollingOut');
  assert.equal(byType(rolling).KubeProxy, 'False/RollingOut');

  const off = renderTenantBootstrap(await sampleInput((i) => (i.spec.addons.kubeProxy.enabled = false)));
  assert.equal(byType(assessBootstrap(off, observeAll(off))).KubeProxy, 'True/Disabled');

  const errors = observeAll(plan);
  errors.set('ConfigMap kube-system/kubeadm-config', { error: 'connection refused' });
  const report = assessBootstrap(plan, errors).find((r) => r.type === 'KubeadmConfig')!;
  assert.deepEqual([report.status, report.reason, report.written], ['Unknown', 'ReadFailed', false]);
});

test('containsDesired: declared fields must match, server additions are fine, lists compare element-wise', () => {
  assert.equal(containsDesired({ a: 1, b: { c: [1, { d: 2 }] } }, { a: 1, z: 0, b: { c: [1, { d: 2, e: 3 }] } }), true);
  assert.equal(containsDesired({ a: [1, 2] }, { a: [1, 2, 3] }), false);
  assert.equal(containsDesired({ a: { b: 1 } }, { a: { b: 2 } }), false);
  assert.equal(containsDesired({ a: 1 }, {}), false);
  assert.equal(containsDesired(undefined, undefined), true);
});
