import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { renderJoinRbac } from './rbac.ts';

type Binding = { kind: string; metadata: { name: string; namespace?: string }; roleRef: { kind: string; name: string }; subjects: { kind: string; name: string }[] };

const objects = renderJoinRbac();
const byKey = new Map(objects.map((o) => [`${o.object.kind} ${o.object.metadata?.namespace ?? ''}/${o.object.metadata?.name}`, o.object]));

function binding(kind: 'ClusterRoleBinding' | 'RoleBinding', name: string, namespace = ''): Binding {
  const found = byKey.get(`${kind} ${namespace}/${name}`);
  assert.ok(found, `${kind} ${namespace}/${name} is rendered`);
  return found as unknown as Binding;
}

const who = (b: Binding) => b.subjects.map((s) => `${s.kind}:${s.name}`);

test('kubeadm v1.36 join bindings: who gets which role', () => {
  // name -> [role, subjects], as cmd/kubeadm/app/phases/bootstraptoken/node/tlsbootstrap.go binds them
  const expected: Record<string, [string, string[]]> = {
    'kubeadm:kubelet-bootstrap': ['system:node-bootstrapper', ['Group:system:bootstrappers:kubeadm:default-node-token']],
    'kubeadm:node-autoapprove-bootstrap': ['system:certificates.k8s.io:certificatesigningrequests:nodeclient', ['Group:system:bootstrappers:kubeadm:default-node-token']],
    'kubeadm:node-autoapprove-certificate-rotation': ['system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', ['Group:system:nodes']],
    'kubeadm:get-nodes': ['kubeadm:get-nodes', ['Group:system:bootstrappers:kubeadm:default-node-token']],
    'kubeadm:apiserver-kubelet-client': ['system:kubelet-api-admin', ['User:kube-apiserver-kubelet-client']],
    'kubeadm:cluster-admins': ['cluster-admin', ['Group:kubeadm:cluster-admins']],
    'kubeception:tenant-admins': ['cluster-admin', ['Group:kubeception:tenant-admins']],
  };
  for (const [name, [role, subjects]] of Object.entries(expected)) {
    const b = binding('ClusterRoleBinding', name);
    assert.deepEqual({ role: `${b.roleRef.kind}/${b.roleRef.name}`, subjects: who(b) }, { role: `ClusterRole/${role}`, subjects }, name);
  }
  const clusterBindings = objects.filter((o) => o.object.kind === 'ClusterRoleBinding').map((o) => o.object.metadata?.name);
  assert.deepEqual(clusterBindings.sort(), Object.keys(expected).sort(), 'no other cluster-wide bindings');
});

test('get-nodes allows exactly get on nodes', () => {
  const role = byKey.get('ClusterRole /kubeadm:get-nodes') as unknown as { rules: unknown };
  assert.deepEqual(role.rules, [{ verbs: ['get'], apiGroups: [''], resources: ['nodes'] }]);
});

test('namespaced readers: anonymous reads only cluster-info; tokens and nodes read only the kubeadm ConfigMaps', () => {
  const readers: [string, string, string, string[]][] = [
    ['kube-public', 'kubeadm:bootstrap-signer-clusterinfo', 'cluster-info', ['User:system:anonymous']],
    ['kube-system', 'kubeadm:nodes-kubeadm-config', 'kubeadm-config', ['Group:system:bootstrappers:kubeadm:default-node-token', 'Group:system:nodes']],
    ['kube-system', 'kubeadm:kubelet-config', 'kubelet-config', ['Group:system:nodes', 'Group:system:bootstrappers:kubeadm:default-node-token']],
  ];
  for (const [namespace, name, configMap, subjects] of readers) {
    const role = byKey.get(`Role ${namespace}/${name}`) as unknown as { rules: unknown };
    assert.deepEqual(role.rules, [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: [configMap] }], name);
    const b = binding('RoleBinding', name, namespace);
    assert.equal(`${b.roleRef.kind}/${b.roleRef.name}`, `Role/${name}`);
    assert.deepEqual(who(b), subjects, name);
  }
});

test('every RBAC object is valid against the Kubernetes schema, labelled as ours, and Roles come before their bindings', () => {
  const models = { ClusterRole, ClusterRoleBinding, Role, RoleBinding } as const;
  objects.forEach((entry, index) => {
    const kind = entry.object.kind as keyof typeof models;
    assert.ok(kind in models, `unexpected kind ${kind}`);
    new models[kind](entry.object as never).validate();
    assert.equal(entry.part, 'rbac');
    assert.equal(entry.policy, 'apply');
    assert.equal(entry.object.metadata?.labels?.['app.kubernetes.io/managed-by'], 'kubeception');
    const ref = (entry.object as unknown as Partial<Binding>).roleRef;
    if (ref && !ref.name.startsWith('system:') && ref.name !== 'cluster-admin') {
      const roleIndex = objects.findIndex((o) => o.object.kind === ref.kind && o.object.metadata?.name === ref.name);
      assert.ok(roleIndex >= 0 && roleIndex < index, `${ref.kind} ${ref.name} is applied before its binding`);
    }
  });
});
