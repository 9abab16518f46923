import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { apiReadableSecretNames, isCreatedByApi, renderApiSecretReader } from './api-secret-reader.ts';
import { renderTenant } from './index.ts';
import { sampleChecksums } from './testing.ts';
import { API_READ_SECRETS, CREATED_BY_API, LABELS, pkiSecretName, resolveTenant, secretNames } from '../../core/index.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';

const API_SA = { namespace: 'kubeception-system', name: 'kubeception-api' };

test('the Role grants get on exactly the Secrets the API reads, and nothing else', () => {
  const tcp = sampleTenant();
  const [role, binding] = renderApiSecretReader(resolveTenant(tcp), API_SA);
  assert.ok(role instanceof Role && binding instanceof RoleBinding);
  assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['demo-portal-kubeconfig'], verbs: ['get'] }]);
  // The same name the PKI writes the API's own narrow kubeconfig under.
  assert.deepEqual(apiReadableSecretNames('demo'), [pkiSecretName('demo', 'portal-kubeconfig')]);
  assert.deepEqual(apiReadableSecretNames('demo'), API_READ_SECRETS.map((which) => secretNames('demo')[which]));
  // No CA key and no admin identity: nothing in the host lets the API sign or act as an admin.
  for (const never of ['ca', 'etcdCA', 'frontProxyCA', 'serviceAccount', 'adminKubeconfig', 'superAdminKubeconfig', 'clusterAPIKubeconfig'] as const) {
    assert.ok(!apiReadableSecretNames('demo').includes(secretNames('demo')[never]), never);
  }
});

test('the RoleBinding binds that Role to the API service account; both in the tcp namespace, owned by the tcp', () => {
  const tcp = sampleTenant();
  const [role, binding] = renderApiSecretReader(resolveTenant(tcp), API_SA);
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'demo-api-secret-reader' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', namespace: 'kubeception-system', name: 'kubeception-api' }]);
  for (const o of [role, binding]) {
    assert.equal(o.metadata!.name, 'demo-api-secret-reader');
    assert.equal(o.metadata!.namespace, 'tenant-demo');
    assert.equal(o.metadata!.labels![LABELS.tenant], 'demo', 'the child informers select on it');
    assert.equal(o.metadata!.labels![LABELS.managedBy], 'kubeception');
    assert.equal(o.metadata!.labels![LABELS.component], 'api-access');
    assert.deepEqual(o.metadata!.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['TenantControlPlane', 'demo', tcp.metadata!.uid, true]]);
    o.validate(); // the Kubernetes OpenAPI schema of kubernetes-models
  }
});

test('renderTenant: the grant comes last, only when asked for; tcps are the API\'s by their created-by label', () => {
  const tenant = resolveTenant(sampleTenant());
  const without = renderTenant(tenant, { secretChecksums: sampleChecksums('demo') }).objects;
  assert.ok(!without.some((o) => o.kind === 'Role' || o.kind === 'RoleBinding'));
  const withGrant = renderTenant(tenant, { secretChecksums: sampleChecksums('demo'), apiSecretReader: API_SA }).objects;
  assert.deepEqual(withGrant.slice(-3).map((o) => o.kind), ['Deployment', 'Role', 'RoleBinding']);
  assert.deepEqual(withGrant.slice(0, -2), without, 'nothing else changes');
  assert.throws(() => renderTenant(tenant, { secretChecksums: {}, apiSecretReader: { namespace: 'Bad NS', name: 'x' } }), /apiSecretReader .* is not a service account/);

  assert.equal(isCreatedByApi({ [LABELS.createdBy]: CREATED_BY_API }), true);
  assert.equal(isCreatedByApi({ [LABELS.createdBy]: 'someone-else' }), false);
  assert.equal(isCreatedByApi(undefined), false);
});
