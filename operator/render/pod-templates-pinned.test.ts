// Pins the pod templates the operator renders for a sample tenant. A change to a Deployment's or a
// StatefulSet's pod template makes Kubernetes roll every pod of it: when a new operator version renders a
// different template, upgrading the operator restarts the control plane and etcd of EVERY tenant at once
// (the complaint k0smotron users file most). So any change here must be deliberate: if this test fails,
// either undo the change, or accept that the next operator upgrade re-rolls all tenants (say so in the
// release notes, stagger it if needed) and update the hashes below in the same commit.
//
// History: 2026-12 the node-loss tolerations (30 s) and the topology spread of the apiservers were added
// (no tenants in production yet). 2026-12 the konnectivity-server container, its volumes and the
// apiserver's egress selector (spec.addons.konnectivity, on by default): every tenant's control plane
// re-rolls once on the upgrade to this operator version; the agents start in the tenants at the same time.
// 2026-12 `--service-account-jwks-uri` at the issuer's host (OIDC discovery from tenant pods, conformance):
// every tenant's control plane re-rolls once.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { renderTenant } from './index.ts';
import { sampleChecksums } from './testing.ts';
import { resolveTenant } from '../../core/index.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';

/** sha256 of the JSON with object keys sorted: field order is not a change the API server sees. */
function canonicalHash(value: unknown): string {
  const sorted = JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
  return createHash('sha256').update(sorted).digest('hex');
}

function podTemplates(replicas: 1 | 3) {
  const tenant = resolveTenant(sampleTenant((t) => {
    t.spec.controlPlane!.replicas = replicas;
    t.spec.etcd!.replicas = replicas;
  }));
  const { objects } = renderTenant(tenant, { secretChecksums: sampleChecksums('demo') });
  const template = (kind: string) => {
    const found = objects.find((o) => o.kind === kind) as { spec?: { template?: unknown } } | undefined;
    assert.ok(found?.spec?.template, kind);
    return JSON.parse(JSON.stringify(found.spec.template)) as unknown;
  };
  return { controlPlane: canonicalHash(template('Deployment')), etcd: canonicalHash(template('StatefulSet')) };
}

test('the rendered pod templates are pinned: a change re-rolls every tenant on the next operator upgrade', () => {
  assert.deepEqual(podTemplates(1), {
    controlPlane: '634d4243e4d6f7f69555bdc96b8723ced69d3098c52504c17cd9330a002040c2',
    etcd: '4e60befd6a9c05adcd6649b9761629db627c8b1d26d4b848b5bddb47ce82c9a3',
  });
  assert.deepEqual(podTemplates(3), {
    controlPlane: '8f045f7cb85d6272216c1f5b9300b5d66e69bdf351cfa4827fa5e1f17a4da03e',
    etcd: '3c29a80bd8dc87271a5a429eaff099aa797e4ff8b42732b650a274e7dd224fd2',
  });
});
