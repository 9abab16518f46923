import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../../core/testing/fake-api-server.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';
import { KubeClient, resolveTenant, tenantKubeConfig } from '../../core/index.ts';
import { tokenKubeconfig } from '../../core/testing/kubeconfig.ts';
import { tenantBootstrapHook } from './hook.ts';
import { testCa } from './testing.ts';

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
  // The super-admin credentials, pointed at the fake instead of the public endpoint they name.
  const client = new KubeClient(tenantKubeConfig(tokenKubeconfig('https://10.0.0.5:31443'), fake.url));
  t.after(() => client.close());
  const hook = tenantBootstrapHook({ node: { cgroupDriver: 'cgroupfs' } });
  const outcome = await hook(resolveTenant(sampleTenant()), {
    endpoint: 'https://10.0.0.5:31443', konnectivityServer: { host: '10.0.0.5', port: 31132 }, caCertPem: (await testCa()).certPem, client, signal: AbortSignal.timeout(20_000),
  });

  assert.equal(outcome.ok, true, outcome.message);
  assert.equal(outcome.reason, 'Bootstrapped');
  assert.deepEqual(outcome.conditions.map((c) => c.type), ['TenantRBAC', 'ClusterInfo', 'KubeadmConfig', 'KubeletConfig', 'CoreDNS', 'KubeProxy', 'Konnectivity', 'CNI']);
  assert.ok(outcome.conditions.every((c) => c.observedGeneration === 1));
  // The writes went through the client the hook was given (the fake), not to the public endpoint.
  assert.ok(fake.requests.some((r) => r.method === 'PATCH' && r.path === '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeception%3Atenant-admins'));
  // kubelet serving CSRs were looked at (serverTLSBootstrap defaults to on).
  assert.ok(fake.requests.some((r) => r.method === 'GET' && r.path === '/apis/certificates.k8s.io/v1/certificatesigningrequests'));
  const kubelet = fake.get('/api/v1/configmaps', 'kube-system', 'kubelet-config') as unknown as { data: { kubelet: string } };
  assert.match(kubelet.data.kubelet, /cgroupDriver: cgroupfs/);
  const clusterInfo = fake.get('/api/v1/configmaps', 'kube-public', 'cluster-info') as unknown as { data: { kubeconfig: string } };
  assert.match(clusterInfo.data.kubeconfig, /server: https:\/\/10\.0\.0\.5:31443/, 'workers are told the public endpoint, not the URL the operator used');
  // The agents dial the konnectivity address the reconcile handed over (a NodePort tenant's second node port).
  const agents = fake.get('/apis/apps/v1/daemonsets', 'kube-system', 'konnectivity-agent') as unknown as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  const args = agents.spec.template.spec.containers[0]!.args;
  assert.ok(args.includes('--proxy-server-host=10.0.0.5') && args.includes('--proxy-server-port=31132'), args.join(' '));
});
