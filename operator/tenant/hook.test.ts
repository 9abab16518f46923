import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../runtime/testing/fake-api-server.ts';
import { sampleTenant } from '../render/testing.ts';
import { tenantBootstrapHook, tenantKubeConfig } from './hook.ts';
import { testCa } from './testing.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function superAdminConf(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: demo\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
    'users:',
    '- name: kubernetes-super-admin\n  user:\n    token: fake',
    'contexts:',
    '- name: demo\n  context:\n    cluster: demo\n    user: kubernetes-super-admin',
    'current-context: demo',
    '',
  ].join('\n');
}

test('tenantKubeConfig keeps the credentials and can point at another URL', () => {
  const kc = tenantKubeConfig(superAdminConf('https://10.0.0.5:31443'), 'https://demo-apiserver.tenant-demo.svc:6443');
  assert.equal(kc.getCurrentCluster()?.server, 'https://demo-apiserver.tenant-demo.svc:6443');
  assert.equal(kc.getCurrentUser()?.token, 'fake');
  assert.equal(tenantKubeConfig(superAdminConf('https://10.0.0.5:31443')).getCurrentCluster()?.server, 'https://10.0.0.5:31443');
});

test('the reconcile hook writes the bootstrap with the super-admin credentials and reports every part', async (t) => {
  const fake = await FakeApiServer.start();
  t.after(() => fake.close());
  for (const [apiVersion, kind, plural, namespaced] of [
    ['v1', 'ConfigMap', 'configmaps', true],
    ['v1', 'ServiceAccount', 'serviceaccounts', true],
    ['v1', 'Service', 'services', true],
    ['apps/v1', 'Deployment', 'deployments', true],
    ['apps/v1', 'DaemonSet', 'daemonsets', true],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false],
    ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false],
    ['rbac.authorization.k8s.io/v1', 'Role', 'roles', true],
    ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', true],
  ] as const) {
    fake.addResource(apiVersion, kind, plural, namespaced);
  }
  const tcp = sampleTenant();
  const secrets = new Map<string, Record<string, string>>([
    ['demo-ca', { 'ca.crt': b64((await testCa()).certPem), 'ca.key': b64('not used') }],
    ['demo-super-admin-kubeconfig', { 'super-admin.conf': b64(superAdminConf('https://10.0.0.5:31443')) }],
  ]);
  const hook = tenantBootstrapHook({ node: { cgroupDriver: 'cgroupfs' }, apiServerURL: () => fake.url });
  const outcome = await hook(tcp, { endpoint: 'https://10.0.0.5:31443', secrets, signal: AbortSignal.timeout(20_000) });

  assert.equal(outcome.ok, true, outcome.message);
  assert.equal(outcome.reason, 'Bootstrapped');
  assert.deepEqual(outcome.conditions.map((c) => c.type), ['TenantRBAC', 'ClusterInfo', 'KubeadmConfig', 'KubeletConfig', 'CoreDNS', 'KubeProxy']);
  assert.ok(outcome.conditions.every((c) => c.observedGeneration === 1));
  // The writes went to the URL the hook was told (the fake), not to the public endpoint.
  assert.ok(fake.requests.some((r) => r.method === 'PATCH' && r.path === '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeception%3Atenant-admins'));
  // kubelet serving CSRs were looked at (serverTLSBootstrap defaults to on).
  assert.ok(fake.requests.some((r) => r.method === 'GET' && r.path === '/apis/certificates.k8s.io/v1/certificatesigningrequests'));
  const kubelet = fake.get('/api/v1/configmaps', 'kube-system', 'kubelet-config') as unknown as { data: { kubelet: string } };
  assert.match(kubelet.data.kubelet, /cgroupDriver: cgroupfs/);
  const clusterInfo = fake.get('/api/v1/configmaps', 'kube-public', 'cluster-info') as unknown as { data: { kubeconfig: string } };
  assert.match(clusterInfo.data.kubeconfig, /server: https:\/\/10\.0\.0\.5:31443/, 'workers are told the public endpoint, not the URL the operator used');
});

test('the hook names the Secret it is missing', async () => {
  const hook = tenantBootstrapHook();
  await assert.rejects(
    hook(sampleTenant(), { endpoint: 'https://10.0.0.5:31443', secrets: new Map(), signal: AbortSignal.timeout(1000) }),
    /Secret demo-ca has no key ca\.crt/,
  );
});
