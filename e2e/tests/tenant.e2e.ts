// The tenant cluster really runs: a TenantControlPlane applied to the test bed becomes Ready, its API
// server serves kubectl with the kubeconfig the operator wrote, RBAC behaves as designed, a worker
// machine joins it with the real `kubeadm join`, runs its pods, and `kubectl logs`/`exec` reach them;
// the control plane scales without an outage and loses no data when an apiserver pod dies.
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testbed, testNamespace, eventually } from '../support/testbed.ts';
import { probeEvery200ms, secretText, superAdminCredentials } from '../support/tenant-probe.ts';
import { run } from '../testbed/exec.ts';
import { helloImage } from '../testbed/images.ts';
import { startWorker, joinWorker, removeWorker, workerFor } from '../testbed/worker.ts';
import { runOperator } from '../../operator/main.ts';
import { parseConfig } from '../../operator/config.ts';
import { mintJoinCommand } from '../../operator/join-token.ts';
import { KubeClient, buildUserKubeconfig, createCaCertificate, generatePrivateKey, issueUserCertificate, type TenantControlPlane } from '../../core/index.ts';

const TCP = (ns: string, name: string) => `/apis/kubeception.io/v1alpha1/namespaces/${ns}/tenantcontrolplanes/${name}`;

/** Resident memory of a pod's containers, from the cgroup v1 memory controller kubelet lays out. */
function podMemoryMiB(uid: string): number {
  for (const qos of ['', 'burstable/', 'besteffort/']) {
    const file = `/sys/fs/cgroup/memory/kubepods/${qos}pod${uid}/memory.stat`;
    if (!existsSync(file)) continue;
    const rss = /^total_rss (\d+)$/m.exec(readFileSync(file, 'utf8'));
    return rss ? Math.round(Number(rss[1]) / 1048576) : 0;
  }
  return 0;
}

test('a tenant control plane serves kubectl, a worker joins it, and it scales without an outage', { timeout: 15 * 60_000 }, async (t) => {
  const tb = await testbed();
  const ns = await testNamespace(tb, 'tenant');
  const dir = await mkdtemp(join(tmpdir(), 'kubeception-tenant-'));
  const kubectlBin = join(tb.binDir, 'kubectl');
  const worker = workerFor(1);
  const operator = await runOperator(parseConfig([], {
    KUBECONFIG: tb.kubeconfigPath, WATCH_NAMESPACE: ns.name, LEASE_NAMESPACE: ns.name, METRICS_PORT: '0',
    IMAGE_PULL_POLICY: 'Never', CONCURRENCY: '2', LOG_LEVEL: 'warn',
  }));
  const host = new KubeClient(tb.kubeConfig);
  t.after(async () => {
    await removeWorker(worker).catch(() => undefined);
    await tb.kubectl(['delete', 'tcp', '--all', '-n', ns.name, '--wait=true', '--timeout=60s']).catch(() => undefined);
    await operator.stop();
    await host.close();
    await ns.cleanup();
  });

  // --- apply -> Ready, and where the time goes
  const applied = Date.now();
  await tb.kubectl(['apply', '-n', ns.name, '-f', '-'], `apiVersion: kubeception.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: demo
spec:
  version: v1.36.5
  networkProfile:
    serviceType: NodePort
`);
  const tcp = await eventually('the tcp to be Ready', async () => {
    const got = await host.request<TenantControlPlane>('GET', TCP(ns.name, 'demo'));
    return got.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? got : undefined;
  }, 6 * 60_000, 1000);
  const readyMs = Date.now() - applied;
  const { stdout: podJson } = await tb.kubectl(['get', 'pods', '-n', ns.name, '-l', 'kubeception.io/tenant=demo', '-o', 'json']);
  const pods = (JSON.parse(podJson) as { items: { metadata: { uid: string; creationTimestamp: string; labels: Record<string, string> }; status: { containerStatuses?: { name: string; state: { running?: { startedAt: string } } }[] } }[] }).items;
  const cp = pods.find((p) => p.metadata.labels['kubeception.io/component'] === 'control-plane')!;
  const apiStarted = Date.parse(cp.status.containerStatuses!.find((s) => s.name === 'kube-apiserver')!.state.running!.startedAt);
  const created = Date.parse(tcp.metadata!.creationTimestamp as unknown as string);
  const podCreated = Date.parse(cp.metadata.creationTimestamp);
  t.diagnostic(`apply -> Ready: ${(readyMs / 1000).toFixed(1)} s (operator work until the pod exists ${((podCreated - created) / 1000).toFixed(1)} s, pod start ${((apiStarted - podCreated) / 1000).toFixed(1)} s, apiserver start to Ready ${((Date.now() - apiStarted) / 1000).toFixed(1)} s)`);
  const endpoint = tcp.status!.endpoint!;
  assert.match(endpoint, /^https:\/\/10\.199\.0\.1:3\d{4}$/, 'NodePort endpoint on the host node address');

  const admin = join(dir, 'admin.conf');
  await writeFile(admin, await secretText(tb, ns.name, 'demo-admin-kubeconfig', 'admin.conf'));
  const tenant = (args: string[], kubeconfig = admin) => run(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args]);

  await t.test('kubectl with the handed-out kubeconfigs', async () => {
    const version = JSON.parse((await tenant(['get', '--raw', '/version'])).stdout) as { gitVersion: string };
    assert.equal(version.gitVersion, 'v1.36.5');
    const capi = join(dir, 'capi.conf');
    await writeFile(capi, await secretText(tb, ns.name, 'demo-kubeconfig', 'value'));
    assert.equal((await tenant(['get', '--raw', '/version'], capi)).stdout.includes('v1.36.5'), true, 'the Cluster API style kubeconfig works too');
    await tenant(['create', 'namespace', 'keep-me']);
    assert.equal((await tenant(['auth', 'can-i', 'create', 'namespaces'])).stdout.trim(), 'yes', 'tenant admins are cluster-admin');
    assert.match((await tenant(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}'])).stdout, /kubeception:tenant-admins/);
    assert.doesNotMatch((await tenant(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}'])).stdout, /system:masters/, 'the admin is not system:masters');

    // a user of the tenant CA in a group with no binding: authenticated, but may do nothing
    const caCert = await secretText(tb, ns.name, 'demo-ca', 'ca.crt');
    const caKey = await secretText(tb, ns.name, 'demo-ca', 'ca.key');
    const viewer = await issueUserCertificate({ ca: { certPem: caCert, keyPem: caKey }, user: 'jane', groups: ['portal:nobody'], ttlSeconds: 600 });
    const janeConf = join(dir, 'jane.conf');
    await writeFile(janeConf, buildUserKubeconfig({ clusterName: 'demo', server: endpoint, caCertPem: caCert, user: 'jane', credentials: viewer }));
    // `kubectl auth can-i` exits 1 when the answer is no; the answer itself is on stdout
    const janeCanI = await new Promise<string>((resolve) => execFile(kubectlBin, [`--kubeconfig=${janeConf}`, 'auth', 'can-i', 'create', 'namespaces'], (_err, stdout) => resolve(stdout)));
    assert.equal(janeCanI.trim(), 'no', 'a user without a binding may not create namespaces');
    await assert.rejects(tenant(['get', 'namespaces'], janeConf), /forbidden/i);

    // a client certificate from another CA is refused outright
    const otherKey = await generatePrivateKey('ECDSA-P256');
    const otherCa = await createCaCertificate('someone-else', otherKey);
    const forged = await issueUserCertificate({ ca: { certPem: otherCa, keyPem: otherKey }, user: 'mallory', groups: ['kubeception:tenant-admins'], ttlSeconds: 600 });
    const forgedConf = join(dir, 'forged.conf');
    await writeFile(forgedConf, buildUserKubeconfig({ clusterName: 'demo', server: endpoint, caCertPem: caCert, user: 'mallory', credentials: forged }));
    await assert.rejects(tenant(['get', 'namespaces'], forgedConf), /Unauthorized|must be logged in/i);
  });

  await t.test('an external worker joins with kubeadm join and runs pods; logs and exec work', async () => {
    await startWorker(worker); // no pod network of its own: the tenant's CNI add-on (flannel) gives it one
    const { command, secretName } = await mintJoinCommand(host, ns.name, 'demo', 3600);
    assert.match(command, /^kubeadm join 10\.199\.0\.1:\d+ --token [a-z0-9]{6}\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}$/);
    assert.equal(await secretText(tb, ns.name, secretName, 'command'), command, 'the join command is kept where the user finds it');
    await joinWorker(worker, command);
    await eventually('the worker to be Ready in the tenant', async () => {
      const out = await tenant(['get', 'node', worker.netns, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return out.stdout.trim() === 'True' ? true : undefined;
    }, 180_000, 1000);
    await tenant(['create', 'deployment', 'hello', '-n', 'keep-me', `--image=${helloImage}`, '--port=8080']);
    const podName = await eventually('the hello pod to run on the worker', async () => {
      const out = JSON.parse((await tenant(['get', 'pods', '-n', 'keep-me', '-l', 'app=hello', '-o', 'json'])).stdout) as { items: { metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase?: string } }[] };
      const p = out.items.find((i) => i.status.phase === 'Running' && !i.metadata.deletionTimestamp);
      if (p) assert.equal(p.spec.nodeName, worker.netns);
      return p?.metadata.name;
    }, 180_000, 1000);
    let lastLog = '';
    const logs = await eventually('its log', async () => {
      lastLog = (await tenant(['logs', '-n', 'keep-me', podName])).stdout;
      return lastLog.includes('hello-server') ? lastLog : undefined;
    }, 60_000, 1000).catch(async (err: unknown) => {
      // logs need the kubelet's serving certificate: say where its request stands, and what the log said
      const csrs = await tenant(['get', 'csr', '-o', 'wide']).then((r) => r.stdout, (e: unknown) => String(e));
      const pod = await tenant(['get', 'pod', '-n', 'keep-me', podName, '-o', 'wide']).then((r) => r.stdout, (e: unknown) => String(e));
      throw new Error(`${String(err)}\nlast log output: ${JSON.stringify(lastLog)}\npod:\n${pod}\nCSRs in the tenant:\n${csrs}`, { cause: err });
    });
    assert.match(logs, new RegExp(`hello-server ${podName} listening`));
    const exec = await eventually('cluster DNS inside the tenant, through kubectl exec', async () => {
      const out = await tenant(['exec', '-n', 'keep-me', podName, '--', '/hello', '-resolve', 'kubernetes.default.svc.cluster.local']);
      return out.stdout.trim() || undefined;
    }, 120_000, 2000);
    assert.equal(exec, '10.96.0.1', 'exec runs in the pod, and the tenant CoreDNS answers for the kubernetes Service');
  });

  await t.test('scaling the control plane to 2 replicas keeps the tenant serving; deleting an apiserver pod loses nothing', async () => {
    const probe = probeEvery200ms(endpoint, '/version', await superAdminCredentials(tb, ns.name, 'demo'), 2000);
    await tb.kubectl(['scale', 'tcp', 'demo', '-n', ns.name, '--replicas=2']);
    await eventually('2 ready control-plane replicas', async () => {
      const got = await host.request<TenantControlPlane>('GET', TCP(ns.name, 'demo'));
      return got.status?.controlPlane?.readyReplicas === 2 && got.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? true : undefined;
    }, 5 * 60_000, 1000);
    const { stdout: victim } = await tb.kubectl(['get', 'pods', '-n', ns.name, '-l', 'kubeception.io/component=control-plane', '-o', 'jsonpath={.items[0].metadata.name}']);
    await tb.kubectl(['delete', 'pod', '-n', ns.name, victim, '--wait=false']);
    await eventually('2 ready control-plane replicas again', async () => {
      const { stdout } = await tb.kubectl(['get', 'deploy', 'demo-control-plane', '-n', ns.name, '-o', 'jsonpath={.status.readyReplicas}']);
      return stdout === '2' ? true : undefined;
    }, 3 * 60_000, 1000);
    const { probes, failures } = await probe.stop();
    t.diagnostic(`${probes} probes of /version during the scale-out and the pod deletion, ${failures.length} failed`);
    assert.deepEqual(failures.map((f) => `${new Date(f.at).toISOString()} status ${f.status}`), [], 'the tenant API answered every probe');
    assert.equal((await tenant(['get', 'namespace', 'keep-me', '-o', 'name'])).stdout.trim(), 'namespace/keep-me', 'tenant data survived');
    assert.equal((await tenant(['get', 'deploy', 'hello', '-n', 'keep-me', '-o', 'name'])).stdout.trim(), 'deployment.apps/hello');
  });

  const { stdout: after } = await tb.kubectl(['get', 'pods', '-n', ns.name, '-l', 'kubeception.io/tenant=demo', '-o', 'json']);
  const memory = (JSON.parse(after) as { items: { metadata: { uid: string; name: string } }[] }).items.map((p) => ({ name: p.metadata.name, mib: podMemoryMiB(p.metadata.uid) }));
  t.diagnostic(`tenant control plane memory (RSS): ${memory.map((m) => `${m.name} ${m.mib} MiB`).join(', ')}`);
});
