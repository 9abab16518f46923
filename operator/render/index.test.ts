import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { renderTenant } from './index.ts';
import { LABELS, resolveTenant } from '../../core/index.ts';
import type { RenderOptions } from './options.ts';
import { sampleChecksums } from './testing.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';

const render = (patch?: Parameters<typeof sampleTenant>[0], options: Partial<RenderOptions> = {}) =>
  renderTenant(resolveTenant(sampleTenant(patch)), { secretChecksums: sampleChecksums('demo'), ...options });

test('all host objects, in apply order, with the contract names', () => {
  const { objects } = render();
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata!.name}`),
    [
      'Service/demo-apiserver',
      'Service/demo-etcd',
      'NetworkPolicy/demo-etcd',
      'PodDisruptionBudget/demo-etcd',
      'StatefulSet/demo-etcd',
      'ConfigMap/demo-apiserver-config',
      'PodDisruptionBudget/demo-control-plane',
      'Deployment/demo-control-plane',
    ],
  );
  assert.ok(!objects.some((o) => (o.kind as string) === 'Secret'), 'Secrets belong to operator/pki');
});

test('every object: tenant namespace, common labels, controller owner reference to the tcp', () => {
  const tcp = sampleTenant();
  for (const o of renderTenant(resolveTenant(tcp), { secretChecksums: sampleChecksums('demo') }).objects) {
    const where = `${o.kind}/${o.metadata!.name}`;
    assert.equal(o.metadata!.namespace, 'tenant-demo', where);
    assert.equal(o.metadata!.labels![LABELS.managedBy], 'kubeception', where);
    assert.equal(o.metadata!.labels![LABELS.tenant], 'demo', where);
    assert.match(o.metadata!.labels![LABELS.component]!, /^(etcd|control-plane)$/, where);
    assert.deepEqual(o.metadata!.ownerReferences, [{
      apiVersion: 'kubeception.io/v1alpha1',
      kind: 'TenantControlPlane',
      name: 'demo',
      uid: tcp.metadata!.uid,
      controller: true,
      blockOwnerDeletion: true,
    }], where);
  }
});

test('pod templates carry the labels their selectors and the NetworkPolicy select on', () => {
  for (const o of render().objects) {
    if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet') continue;
    const podLabels = o.spec!.template.metadata!.labels!;
    for (const [k, v] of Object.entries(o.spec!.selector.matchLabels!)) assert.equal(podLabels[k], v, `${o.kind} ${k}`);
  }
});

test('every object passes the Kubernetes OpenAPI schema of kubernetes-models', () => {
  for (const replicas of [1, 3]) {
    const { objects } = render((t) => {
      t.spec.etcd.replicas = replicas as 1 | 3;
      t.spec.controlPlane.replicas = replicas;
      t.spec.networkProfile.serviceType = 'NodePort';
      t.spec.networkProfile.nodePort = 31000;
    });
    for (const o of objects) assert.doesNotThrow(() => o.validate(), `${o.kind}/${o.metadata!.name}`);
  }
});

test('the apiserver config: anonymous only on health paths and cluster-info, audit at Metadata at most', () => {
  const config = render().objects.find((o) => o.kind === 'ConfigMap')!;
  assert.equal(config.kind, 'ConfigMap');
  const data = (config as { data?: Record<string, string> }).data!;
  const authn = parse(data['authentication.yaml']!);
  assert.equal(authn.apiVersion, 'apiserver.config.k8s.io/v1');
  assert.equal(authn.kind, 'AuthenticationConfiguration');
  assert.equal(authn.anonymous.enabled, true);
  assert.deepEqual(
    authn.anonymous.conditions.map((c: { path: string }) => c.path).sort(),
    ['/api/v1/namespaces/kube-public/configmaps/cluster-info', '/healthz', '/livez', '/readyz'],
  );
  const audit = parse(data['audit-policy.yaml']!);
  assert.equal(audit.apiVersion, 'audit.k8s.io/v1');
  const levels = new Set(audit.rules.map((r: { level: string }) => r.level));
  assert.ok(!levels.has('Request') && !levels.has('RequestResponse'), 'request bodies (Secrets!) never reach the log');
  assert.equal(audit.rules.at(-1).level, 'Metadata', 'catch-all');
  // 1.32/1.33: the beta API.
  const beta = render((t) => (t.spec.version = 'v1.33.2' as never), { etcdVersion: '3.5.21-0' }).objects.find((o) => o.kind === 'ConfigMap') as { data?: Record<string, string> };
  assert.equal(parse(beta.data!['authentication.yaml']!).apiVersion, 'apiserver.config.k8s.io/v1beta1');
});

test('rendering is deterministic and JSON-serialisable', () => {
  const a = JSON.stringify(render().objects);
  const b = JSON.stringify(render().objects);
  assert.equal(a, b);
  const parsed = JSON.parse(a) as { apiVersion: string; kind: string }[];
  assert.deepEqual(parsed.map((o) => o.apiVersion), ['v1', 'v1', 'networking.k8s.io/v1', 'policy/v1', 'apps/v1', 'v1', 'policy/v1', 'apps/v1']);
});

test('bad options are clear errors', () => {
  const tcp = sampleTenant();
  assert.throws(() => renderTenant(resolveTenant(tcp), {} as never), /secretChecksums/);
  assert.throws(() => renderTenant(resolveTenant(tcp), { secretChecksums: {}, imagePullPolicy: 'Sometimes' as never }), /imagePullPolicy/);
  assert.throws(() => renderTenant(resolveTenant(tcp), { secretChecksums: {}, etcdVersion: 'v3.6.16 latest' }), /etcdVersion/);
  assert.throws(() => renderTenant(resolveTenant(tcp), { secretChecksums: {} }), /no checksum for demo-/);
});
