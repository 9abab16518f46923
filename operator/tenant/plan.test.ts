import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTenantBootstrap } from './plan.ts';
import { describeRef, refOfObject } from './objects.ts';
import { sampleInput } from './testing.ts';

const names = (plan: ReturnType<typeof renderTenantBootstrap>) => plan.objects.map((o) => describeRef(refOfObject(o.object)));

test('the plan applies RBAC first, then the ConfigMaps kubeadm join reads, then the add-ons', async () => {
  const plan = renderTenantBootstrap(await sampleInput());
  const parts = plan.objects.map((o) => o.part);
  // Parts appear in one contiguous run each, in this order.
  const runs = parts.filter((p, i) => i === 0 || parts[i - 1] !== p);
  assert.deepEqual(runs, ['rbac', 'cluster-info', 'kubeadm-config', 'kubelet-config', 'kube-proxy', 'coredns', 'konnectivity', 'cni']);
  // No object twice.
  assert.equal(new Set(names(plan)).size, plan.objects.length);
});

test('a plan is a pure function of its input', async () => {
  const input = await sampleInput();
  assert.deepEqual(renderTenantBootstrap(input), renderTenantBootstrap(structuredClone(input)));
});

test('turning an add-on off drops its objects and marks everything it had for removal by label', async () => {
  const on = renderTenantBootstrap(await sampleInput());
  const off = renderTenantBootstrap(await sampleInput((i) => (i.spec.addons.coreDNS.enabled = false)));
  assert.ok(names(on).includes('Deployment kube-system/coredns'));
  assert.ok(!off.objects.some((o) => o.part === 'coredns'));
  assert.ok(off.objects.some((o) => o.part === 'kube-proxy'));

  const inventory = off.addons.find((a) => a.addon === 'coredns')!;
  assert.equal(inventory.enabled, false);
  assert.deepEqual(inventory.desired, []);
  assert.equal(inventory.labelSelector, 'app.kubernetes.io/managed-by=kubeception,kubeception.io/addon=coredns');
  // It still knows where CoreDNS objects live, to find leftovers.
  assert.deepEqual(inventory.kinds.map((k) => `${k.apiVersion} ${k.kind} ${k.namespace ?? '-'}`).sort(), [
    'apps/v1 Deployment kube-system',
    'rbac.authorization.k8s.io/v1 ClusterRole -',
    'rbac.authorization.k8s.io/v1 ClusterRoleBinding -',
    'v1 ConfigMap kube-system',
    'v1 Service kube-system',
    'v1 ServiceAccount kube-system',
  ]);
  const proxy = off.addons.find((a) => a.addon === 'kube-proxy')!;
  assert.equal(proxy.enabled, true);
  assert.deepEqual(proxy.desired.map(describeRef), off.objects.filter((o) => o.part === 'kube-proxy').map((o) => describeRef(refOfObject(o.object))));
});

test('every add-on off: only the join essentials remain', async () => {
  const plan = renderTenantBootstrap(await sampleInput((i) => {
    i.spec.addons.coreDNS.enabled = false;
    i.spec.addons.kubeProxy.enabled = false;
    i.spec.addons.konnectivity.enabled = false;
    i.spec.addons.cni.enabled = false;
  }));
  assert.deepEqual([...new Set(plan.objects.map((o) => o.part))], ['rbac', 'cluster-info', 'kubeadm-config', 'kubelet-config']);
  assert.ok(plan.addons.every((a) => !a.enabled && a.desired.length === 0));
});

test('bad input fails before anything is rendered', async () => {
  const input = await sampleInput((i) => (i.endpoint = 'http://10.0.0.5:6443'));
  assert.throws(() => renderTenantBootstrap(input), /tenant bootstrap: endpoint "http:\/\/10\.0\.0\.5:6443" must use https/);
});
