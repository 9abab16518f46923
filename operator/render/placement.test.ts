// Where control-plane and etcd pods run and how fast they leave a lost node, as rendered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTenant } from './index.ts';
import { selectorLabels } from './metadata.ts';
import { sampleChecksums } from './testing.ts';
import { resolveTenant } from '../../core/index.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';

function podSpecs(): { controlPlane: IPodSpec; etcd: IPodSpec } {
  const { objects } = renderTenant(resolveTenant(sampleTenant((t) => (t.spec.controlPlane!.replicas = 3))), { secretChecksums: sampleChecksums('demo') });
  const spec = (kind: string) => (objects.find((o) => o.kind === kind) as { spec: { template: { spec: IPodSpec } } }).spec.template.spec;
  return { controlPlane: spec('Deployment'), etcd: spec('StatefulSet') };
}

test('control plane and etcd leave an unreachable or not-ready node after 30 s, not the default 300 s', () => {
  for (const [what, pod] of Object.entries(podSpecs())) {
    assert.deepEqual(pod.tolerations, [
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
    ], what);
  }
});

test('apiserver replicas spread over nodes: the preferred anti-affinity stays, a hostname spread (skew 1, never blocking) joins it', () => {
  const { controlPlane, etcd } = podSpecs();
  const selector = selectorLabels('demo', 'control-plane');
  assert.deepEqual(controlPlane.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, [
    { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } },
  ]);
  assert.deepEqual(controlPlane.topologySpreadConstraints, [{
    maxSkew: 1,
    topologyKey: 'kubernetes.io/hostname',
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: selector },
    matchLabelKeys: ['pod-template-hash'],
  }]);
  assert.ok(etcd.affinity?.podAntiAffinity, 'etcd keeps its own anti-affinity');
});
