import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { agentIdentifiers } from './konnectivity.ts';
import { renderTenantBootstrap, type TenantBootstrapPlan } from './plan.ts';
import { assessBootstrap } from './status.ts';
import { observedWith, sampleInput } from './testing.ts';

function objectsOf(plan: TenantBootstrapPlan) {
  const objects = plan.objects.filter((o) => o.part === 'konnectivity').map((o) => o.object);
  const daemonSet = objects.find((o) => o.kind === 'DaemonSet') as unknown as IDaemonSet;
  return { objects, daemonSet };
}

test('the agent DaemonSet as kubeadm\'s documentation deploys it: host network, its service account, a token for the server\'s audience, the tenant CA', async () => {
  const plan = renderTenantBootstrap(await sampleInput((i) => (i.konnectivityServer = { host: '203.0.113.9', port: 31132 })));
  const { objects, daemonSet } = objectsOf(plan);
  assert.deepEqual(objects.map((o) => `${o.kind} ${o.metadata?.namespace ?? '-'}/${o.metadata?.name}`), [
    'ServiceAccount kube-system/konnectivity-agent',
    'ClusterRoleBinding -/system:konnectivity-server',
    'DaemonSet kube-system/konnectivity-agent',
  ]);
  for (const o of objects) assert.equal(o.metadata?.labels?.['kubeception.io/addon'], 'konnectivity', `${o.kind} carries the add-on label`);

  const pod = daemonSet.spec!.template.spec!;
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.serviceAccountName, 'konnectivity-agent');
  assert.equal(pod.automountServiceAccountToken, false, 'only the audience-bound token is mounted');
  assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }], 'on every node, tainted or not');
  const agent = pod.containers[0]!;
  assert.equal(agent.image, 'registry.k8s.io/kas-network-proxy/proxy-agent:v0.36.0');
  assert.deepEqual(agent.command, ['/proxy-agent']);
  assert.deepEqual(agent.args, [
    '--logtostderr=true',
    '--v=2',
    '--ca-cert=/var/run/secrets/konnectivity-agent/ca.crt',
    '--proxy-server-host=203.0.113.9',
    '--proxy-server-port=31132',
    '--admin-server-port=8133',
    '--health-server-port=8134',
    '--service-account-token-path=/var/run/secrets/konnectivity-agent/token',
    '--agent-identifiers=ipv4=$(HOST_IP)',
    '--sync-forever',
    '--sync-interval=1s',
    '--sync-interval-cap=30s',
  ]);
  assert.deepEqual(agent.env, [{ name: 'HOST_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.hostIP' } } }]);
  assert.deepEqual(agent.readinessProbe?.httpGet, { path: '/readyz', port: 8134 });
  assert.deepEqual(agent.livenessProbe?.httpGet, { path: '/healthz', port: 8134 });
  assert.equal(agent.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(pod.securityContext?.runAsNonRoot, true);

  // The token and the CA the flags name are in the one mounted volume.
  assert.deepEqual(agent.volumeMounts, [{ name: 'konnectivity-agent-token', mountPath: '/var/run/secrets/konnectivity-agent', readOnly: true }]);
  assert.deepEqual(pod.volumes, [{
    name: 'konnectivity-agent-token',
    projected: {
      sources: [
        { serviceAccountToken: { path: 'token', audience: 'system:konnectivity-server', expirationSeconds: 3600 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      ],
    },
  }]);

  const binding = objects.find((o) => o.kind === 'ClusterRoleBinding') as unknown as IClusterRoleBinding;
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' });
  assert.deepEqual(binding.subjects, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'system:konnectivity-server' }]);
});

test('without an explicit server the agents dial the endpoint\'s host on 8132; the registry and tag follow the input', async () => {
  const plan = renderTenantBootstrap(await sampleInput((i) => {
    i.endpoint = 'https://api.demo.example.com:6443';
    i.imageRegistry = 'mirror.local/k8s';
    i.versions = { konnectivity: 'v0.35.1' };
  }));
  const agent = objectsOf(plan).daemonSet.spec!.template.spec!.containers[0]!;
  assert.ok(agent.args!.includes('--proxy-server-host=api.demo.example.com'));
  assert.ok(agent.args!.includes('--proxy-server-port=8132'));
  assert.equal(agent.image, 'mirror.local/k8s/kas-network-proxy/proxy-agent:v0.35.1');
});

test('agents name their node by the address family of the tenant\'s pod network', () => {
  assert.equal(agentIdentifiers('10.244.0.0/16'), 'ipv4=$(HOST_IP)');
  assert.equal(agentIdentifiers('fd00:10:244::/56'), 'ipv6=$(HOST_IP)');
  assert.equal(agentIdentifiers('10.244.0.0/16,fd00:10:244::/56'), 'ipv4=$(HOST_IP)');
});

const base = await sampleInput();

test('bad konnectivity input is refused naming the field', () => {
  assert.throws(() => renderTenantBootstrap({ ...structuredClone(base), konnectivityServer: { host: 'a b', port: 8132 } }), /konnectivityServer\.host/);
  assert.throws(() => renderTenantBootstrap({ ...structuredClone(base), konnectivityServer: { host: '10.0.0.5', port: 0 } }), /konnectivityServer\.port/);
  assert.throws(() => renderTenantBootstrap({ ...structuredClone(base), versions: { konnectivity: 'no tag' } }), /versions\.konnectivity/);
});
test('off: nothing rendered, everything labelled konnectivity marked for removal, the condition says Disabled', async () => {
  const plan = renderTenantBootstrap(await sampleInput((i) => (i.spec.addons.konnectivity.enabled = false)));
  assert.deepEqual(objectsOf(plan).objects, []);
  const inventory = plan.addons.find((a) => a.addon === 'konnectivity')!;
  assert.equal(inventory.enabled, false);
  assert.deepEqual(inventory.desired, []);
  assert.equal(inventory.labelSelector, 'app.kubernetes.io/managed-by=kubeception,kubeception.io/addon=konnectivity');
  assert.deepEqual(inventory.kinds.map((k) => `${k.apiVersion} ${k.kind} ${k.namespace ?? '-'}`).sort(), [
    'apps/v1 DaemonSet kube-system',
    'rbac.authorization.k8s.io/v1 ClusterRoleBinding -',
    'v1 ServiceAccount kube-system',
  ]);
  const report = assessBootstrap(plan, new Map()).find((r) => r.type === 'Konnectivity')!;
  assert.deepEqual([report.status, report.reason], ['True', 'Disabled']);
});

test('the Konnectivity condition: True with no nodes or every agent connected, False naming the server when agents cannot connect', async () => {
  const plan = renderTenantBootstrap(await sampleInput((i) => (i.konnectivityServer = { host: '203.0.113.9', port: 31132 })));
  const judge = (status: Record<string, number>) => assessBootstrap(plan, observedWith(plan, 'konnectivity', status)).find((r) => r.type === 'Konnectivity')!;

  const none = judge({ desiredNumberScheduled: 0, numberReady: 0, updatedNumberScheduled: 0 });
  assert.deepEqual([none.status, none.reason], ['True', 'NoNodes']);
  assert.match(none.message, /no nodes yet/);

  const all = judge({ desiredNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2 });
  assert.deepEqual([all.status, all.reason, all.message], ['True', 'Connected', '2/2 agents connected to 203.0.113.9:31132']);

  const some = judge({ desiredNumberScheduled: 3, numberReady: 1, updatedNumberScheduled: 3 });
  assert.deepEqual([some.status, some.reason], ['False', 'AgentsNotConnected']);
  assert.match(some.message, /^1\/3 agents connected to the konnectivity server at 203\.0\.113\.9:31132; logs, exec and webhooks/);

  const rolling = judge({ desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 1 });
  assert.deepEqual([rolling.status, rolling.reason], ['False', 'RollingOut']);
});
