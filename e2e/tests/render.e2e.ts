// The rendered host objects against the real API server: server-side apply with dryRun=All runs the API's
// own validation and defaulting (what the operator's apply will meet), and the pod templates, created as
// dry-run Pods in a namespace that enforces the `restricted` Pod Security Standard, pass admission.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { testbed } from '../support/testbed.ts';
import { KubeClient, apply, resolveTenant, type Applicable, type TenantControlPlane } from '../../core/index.ts';
import { renderTenant } from '../../operator/render/index.ts';
import { sampleChecksums } from '../../operator/render/testing.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';

const FIELD_MANAGER = 'kubeception-render-e2e';

async function restrictedNamespace(core: CoreV1Api): Promise<{ name: string; cleanup: () => Promise<void> }> {
  const name = `render-${Math.random().toString(36).slice(2, 8)}`;
  await core.createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          'kubeception.io/e2e': 'true',
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    },
  });
  return { name, cleanup: async () => void (await core.deleteNamespace({ name }).catch(() => undefined)) };
}

/** Every value we sent is in what the server returned: nothing was dropped as unknown or rewritten. */
function assertContained(sent: unknown, got: unknown, path: string): void {
  if (Array.isArray(sent)) {
    assert.ok(Array.isArray(got), `${path}: expected an array, got ${JSON.stringify(got)}`);
    assert.equal(got.length, sent.length, `${path}: length`);
    sent.forEach((item, i) => assertContained(item, got[i], `${path}[${i}]`));
  } else if (sent !== null && typeof sent === 'object') {
    assert.ok(got !== null && typeof got === 'object', `${path}: expected an object, got ${JSON.stringify(got)}`);
    for (const [key, value] of Object.entries(sent)) {
      assertContained(value, (got as Record<string, unknown>)[key], `${path}.${key}`);
    }
  } else {
    assert.equal(got, sent, path);
  }
}

function tenantIn(namespace: string, patch: (t: TenantControlPlane) => void): TenantControlPlane {
  return sampleTenant((t) => {
    t.metadata!.namespace = namespace;
    patch(t);
  });
}

const variants: [string, (t: TenantControlPlane) => void][] = [
  ['1 etcd member, ClusterIP', () => {}],
  ['3 etcd members, 3 apiservers, NodePort', (t) => {
    t.spec.etcd.replicas = 3;
    t.spec.controlPlane.replicas = 3;
    t.spec.networkProfile.serviceType = 'NodePort';
    t.spec.etcd.storage = { size: '2Gi', storageClassName: 'standard' };
  }],
];

for (const [label, patch] of variants) {
  test(`rendered objects pass server-side apply (dry run): ${label}`, async (t) => {
    const tb = await testbed();
    const core = tb.kubeConfig.makeApiClient(CoreV1Api);
    // The operator's own apply path (raw JSON: client-node's KubernetesObjectApi.patch would drop
    // NetworkPolicy `from`, which its models call `_from`, and open etcd to everyone).
    const client = new KubeClient(tb.kubeConfig);
    const ns = await restrictedNamespace(core);
    t.after(async () => {
      await ns.cleanup();
      await client.close();
    });
    const { objects: rendered, warnings } = renderTenant(resolveTenant(tenantIn(ns.name, patch)), { secretChecksums: sampleChecksums('demo') });
    assert.deepEqual(warnings, []);
    for (const object of rendered) {
      const body = JSON.parse(JSON.stringify(object)) as Applicable;
      const what = `${body.kind}/${body.metadata!.name}`;
      const applied = await apply(client, body, { dryRun: true, fieldManager: FIELD_MANAGER })
        .catch((err: unknown) => assert.fail(`${what}: ${String(err)}`));
      assertContained(body, applied, what);
    }
  });
}

test('the etcd and control-plane pod templates satisfy the restricted Pod Security Standard', async (t) => {
  const tb = await testbed();
  const core = tb.kubeConfig.makeApiClient(CoreV1Api);
  const ns = await restrictedNamespace(core);
  t.after(ns.cleanup);
  const { objects } = renderTenant(resolveTenant(tenantIn(ns.name, () => {})), { secretChecksums: sampleChecksums('demo') });
  for (const object of objects) {
    if (object.kind !== 'Deployment' && object.kind !== 'StatefulSet') continue;
    const template = JSON.parse(JSON.stringify(object.spec!.template)) as NonNullable<V1Pod>;
    const claims = object.kind === 'StatefulSet' ? (object.spec!.volumeClaimTemplates ?? []) : [];
    const pod: V1Pod = {
      metadata: { name: `${object.metadata!.name}-probe`, labels: template.metadata?.labels },
      spec: {
        ...template.spec!,
        // What the StatefulSet controller adds for each claim template.
        volumes: [
          ...(template.spec!.volumes ?? []),
          ...claims.map((c) => ({ name: c.metadata!.name!, persistentVolumeClaim: { claimName: `${c.metadata!.name}-${object.metadata!.name}-0` } })),
        ],
      },
    };
    // A violation of the enforced standard is a 403 from admission, also in a dry run.
    await core
      .createNamespacedPod({ namespace: ns.name, body: pod, dryRun: 'All' })
      .catch((err: unknown) => assert.fail(`${object.kind} ${object.metadata!.name} pod: ${String(err)}`));
  }
});
