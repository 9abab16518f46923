import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scopedCollection } from './tenant-controller.ts';

test('child collections scoped to the watched namespace, core and grouped APIs alike', () => {
  assert.equal(scopedCollection('/api/v1/secrets', 'tenants'), '/api/v1/namespaces/tenants/secrets');
  assert.equal(scopedCollection('/apis/apps/v1/deployments', 'tenants'), '/apis/apps/v1/namespaces/tenants/deployments');
  assert.equal(scopedCollection('/apis/rbac.authorization.k8s.io/v1/rolebindings', 'tenants'), '/apis/rbac.authorization.k8s.io/v1/namespaces/tenants/rolebindings');
  assert.equal(scopedCollection('/apis/rbac.authorization.k8s.io/v1/roles', undefined), '/apis/rbac.authorization.k8s.io/v1/roles');
});
