// The test bed is a real cluster: the built version answers, a locally built image runs in a pod,
// a Service's ClusterIP reaches it through kube-proxy, cluster DNS resolves it, and the garbage
// collector removes a deleted Deployment's pods.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { testbed, testNamespace, eventually, podOutput } from '../support/testbed.ts';
import { testbedConfig } from '../testbed/config.ts';
import { helloImage } from '../testbed/images.ts';

test('kubectl version reports the version built from the module proxy', async () => {
  const tb = await testbed();
  const { stdout } = await tb.kubectl(['version', '-o', 'json']);
  const v = JSON.parse(stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
  assert.equal(v.serverVersion.gitVersion, testbedConfig.versions.kubernetes);
  assert.equal(v.clientVersion.gitVersion, testbedConfig.versions.kubernetes);
});

test('a Deployment of a locally built image runs, is reachable through its Service, and is garbage collected', async (t) => {
  const tb = await testbed();
  const ns = await testNamespace(tb, 'tb');
  t.after(ns.cleanup);
  const apps = tb.kubeConfig.makeApiClient(AppsV1Api);
  const core = tb.kubeConfig.makeApiClient(CoreV1Api);
  const labels = { app: 'hello' };
  const greeting = `greetings-${Date.now()}`;
  await apps.createNamespacedDeployment({
    namespace: ns.name,
    body: {
      metadata: { name: 'hello', labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{
              name: 'hello', image: helloImage, imagePullPolicy: 'Never',
              env: [{ name: 'GREETING', value: greeting }],
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
            }],
          },
        },
      },
    },
  });
  const svc = await core.createNamespacedService({
    namespace: ns.name,
    body: { metadata: { name: 'hello' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
  });

  const pod = await eventually('a Running, ready hello pod', async () => {
    const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=hello' });
    return pods.items.find((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  }, 120_000);
  const podName = pod.metadata!.name!;

  const logs = await eventually('the pod log line', async () => {
    const text = await core.readNamespacedPodLog({ namespace: ns.name, name: podName });
    return text.includes('hello-server') ? text : undefined;
  });
  assert.match(logs, new RegExp(`hello-server ${podName} listening on :8080`));

  const clusterIP = svc.spec!.clusterIP!;
  assert.ok(clusterIP.startsWith('10.201.'), `ClusterIP ${clusterIP} is in the test bed's Service range`);
  const body = await eventually('an answer through the ClusterIP', async () => {
    const res = await fetch(`http://${clusterIP}/`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? res.text() : undefined;
  });
  assert.equal(body.trim(), `${greeting} (${podName})`);

  const { log: dns } = await podOutput(tb, ns.name, 'dig', helloImage, ['/hello', '-resolve', `hello.${ns.name}.svc.cluster.local`]);
  assert.match(dns, new RegExp(clusterIP.replaceAll('.', '\\.')), 'cluster DNS resolves the Service name to its ClusterIP');

  await apps.deleteNamespacedDeployment({ namespace: ns.name, name: 'hello' });
  await eventually('the pods of the deleted Deployment to be gone', async () => {
    const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=hello' });
    return pods.items.length === 0 ? true : undefined;
  }, 90_000);
  const replicaSets = await apps.listNamespacedReplicaSet({ namespace: ns.name });
  assert.equal(replicaSets.items.length, 0, 'the garbage collector removed the ReplicaSet too');
});
