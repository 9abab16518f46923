import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { renderPortalRbac } from './portal-rbac.ts';
import { renderTenantBootstrap } from './plan.ts';
import { sampleInput } from './testing.ts';

type Rules = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[];
type Binding = { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string }[] };

const objects = renderPortalRbac();
const byKey = new Map(objects.map((o) => [`${o.object.kind} ${o.object.metadata?.namespace ?? ''}/${o.object.metadata?.name}`, o.object as unknown]));

test('the API identity may create, approve (one signer only), read and delete CSRs, and list nodes; nothing else cluster-wide', () => {
  const role = byKey.get('ClusterRole /kubeception:portal') as { rules: Rules };
  assert.deepEqual(role.rules, [
    { apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'], verbs: ['create', 'get', 'delete'] },
    { apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests/approval'], verbs: ['update'] },
    { apiGroups: ['certificates.k8s.io'], resources: ['signers'], resourceNames: ['kubernetes.io/kube-apiserver-client'], verbs: ['approve'] },
    { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
  ]);
  const binding = byKey.get('ClusterRoleBinding /kubeception:portal') as Binding;
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubeception:portal' });
  assert.deepEqual(binding.subjects, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'kubeception:portal' }]);
});

test('join tokens: Secrets in kube-system only (create, list, delete; no update, no get elsewhere)', () => {
  const role = byKey.get('Role kube-system/kubeception:portal') as { rules: Rules };
  assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'list', 'delete'] }]);
  const binding = byKey.get('RoleBinding kube-system/kubeception:portal') as Binding;
  assert.deepEqual([binding.roleRef.kind, binding.roleRef.name], ['Role', 'kubeception:portal']);
  assert.deepEqual(binding.subjects.map((s) => `${s.kind}:${s.name}`), ['User:kubeception:portal']);
});

test('valid RBAC objects, roles before bindings, in every tenant bootstrap (part rbac, applied each time)', async () => {
  const models = { ClusterRole, ClusterRoleBinding, Role, RoleBinding } as const;
  for (const { object } of objects) new models[object.kind as keyof typeof models](object as never).validate();
  assert.deepEqual(objects.map((o) => o.object.kind), ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  const plan = renderTenantBootstrap(await sampleInput());
  const portal = plan.objects.filter((o) => o.object.metadata?.name === 'kubeception:portal');
  assert.equal(portal.length, 4);
  assert.ok(portal.every((o) => o.part === 'rbac' && o.policy === 'apply'));
});
