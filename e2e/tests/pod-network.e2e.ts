// A fresh tenant networks its pods out of the box: the CNI add-on (flannel, VXLAN) comes up on two worker
// machines joined with the real `kubeadm join` (the test bed's workers have no pod network of their own, like
// fresh kubeadm nodes), the CNI condition turns True, and a pod on each worker reaches the other by pod IP,
// through a ClusterIP Service, and resolves `kubernetes.default` through the tenant's CoreDNS. Turning the
// add-on off leaves nothing of flannel in the tenant. One tenant for every scenario.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testbed, testNamespace, eventually } from '../support/testbed.ts';
import { secretText } from '../support/tenant-probe.ts';
import { run } from '../testbed/exec.ts';
import { helloImage } from '../testbed/images.ts';
import { joinWorker, removeWorker, startWorker, workerFor } from '../testbed/worker.ts';
import { runOperator } from '../../operator/main.ts';
import { parseConfig } from '../../operator/config.ts';
import { mintJoinCommand } from '../../operator/join-token.ts';
import { KubeClient, type TenantControlPlane } from '../../core/index.ts';

const TCP = (ns: string, name: string) => `/apis/kubeception.io/v1alpha1/namespaces/${ns}/tenantcontrolplanes/${name}`;
const condition = (tcp: TenantControlPlane, type: string) => tcp.status?.conditions?.find((c) => c.type === type);

interface PodInfo {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string };
}

test('the CNI add-on networks a fresh tenant\'s pods across two workers', { timeout: 20 * 60_000 }, async (t) => {
  const tb = await testbed();
  const ns = await testNamespace(tb, 'podnet');
  const dir = await mkdtemp(join(tmpdir(), 'kubeception-podnet-'));
  const kubectlBin = join(tb.binDir, 'kubectl');
  const workers = [workerFor(5), workerFor(6)];
  const operator = await runOperator(parseConfig([], {
    KUBECONFIG: tb.kubeconfigPath, WATCH_NAMESPACE: ns.name, LEASE_NAMESPACE: ns.name, METRICS_PORT: '0',
    IMAGE_PULL_POLICY: 'Never', CONCURRENCY: '2', LOG_LEVEL: 'warn',
  }));
  const host = new KubeClient(tb.kubeConfig);
  t.after(async () => {
    for (const w of workers) await removeWorker(w).catch(() => undefined);
    await tb.kubectl(['delete', 'tcp', '--all', '-n', ns.name, '--wait=true', '--timeout=60s']).catch(() => undefined);
    await operator.stop();
    await host.close();
    await ns.cleanup();
  });
  for (const w of workers) await removeWorker(w).catch(() => undefined); // leftovers of an interrupted run

  await tb.kubectl(['apply', '-n', ns.name, '-f', '-'], `apiVersion: kubeception.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: net
spec:
  version: v1.36.5
  networkProfile:
    serviceType: NodePort
`);
  const getTcp = () => host.request<TenantControlPlane>('GET', TCP(ns.name, 'net'));
  await eventually('the tcp to be Ready', async () => (condition(await getTcp(), 'Ready')?.status === 'True' ? true : undefined), 6 * 60_000, 1000);
  const admin = join(dir, 'admin.conf');
  await writeFile(admin, await secretText(tb, ns.name, 'net-admin-kubeconfig', 'admin.conf'));
  const tenant = (args: string[], input?: string) => run(kubectlBin, [`--kubeconfig=${admin}`, ...args], input === undefined ? {} : { input });
  const podsOn = async (namespace: string, selector: string) => (JSON.parse((await tenant(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])).stdout) as { items: PodInfo[] }).items;

  await t.test('two workers join with no pod network of their own; flannel comes up on both and the CNI condition turns True', async () => {
    assert.notEqual(condition(await getTcp(), 'CNI')?.reason, 'Ready', 'no nodes yet');
    await Promise.all(workers.map((w) => startWorker(w)));
    const { command } = await mintJoinCommand(host, ns.name, 'net', 3600);
    await Promise.all(workers.map((w) => joinWorker(w, command)));
    const joined = Date.now();
    const readyAfter = await eventually('flannel ready on both workers', async () => {
      const out = await tenant(['get', 'daemonset', '-n', 'kube-flannel', 'kube-flannel-ds', '-o', 'jsonpath={.status.numberReady}']).catch(() => ({ stdout: '' }));
      return out.stdout === '2' ? Date.now() - joined : undefined;
    }, 5 * 60_000, 500).catch(async (err: unknown) => {
      const pods = await tenant(['get', 'pods', '-A', '-o', 'wide']).then((r) => r.stdout, (e: unknown) => String(e));
      const logs = await tenant(['logs', '-n', 'kube-flannel', '-l', 'app=flannel', '--all-containers', '--tail=20']).then((r) => r.stdout, (e: unknown) => String(e));
      throw new Error(`${String(err)}\npods:\n${pods}\nflannel logs:\n${logs}`, { cause: err });
    });
    t.diagnostic(`kube-flannel-ds ready on 2 workers ${(readyAfter / 1000).toFixed(1)} s after both joined`);
    for (const w of workers) {
      await eventually(`${w.netns} Ready`, async () => {
        const out = await tenant(['get', 'node', w.netns, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return out.stdout === 'True' ? true : undefined;
      }, 120_000, 1000);
    }
    const cni = await eventually('the CNI condition True', async () => {
      const c = condition(await getTcp(), 'CNI');
      return c?.status === 'True' && c.reason === 'Ready' ? c : undefined;
    }, 120_000, 1000);
    assert.equal(cni.message, 'flannel (VXLAN) 2/2 nodes ready');
    assert.equal(condition(await getTcp(), 'Ready')?.status, 'True');
    // Each node has its own /24 of the tenant's pod range; flannel announced its VTEP on the node.
    const nodes = JSON.parse((await tenant(['get', 'nodes', '-o', 'json'])).stdout) as { items: { metadata: { name: string; annotations: Record<string, string> }; spec: { podCIDR?: string } }[] };
    for (const n of nodes.items) {
      assert.match(n.spec.podCIDR ?? '', /^10\.244\.\d+\.0\/24$/, `${n.metadata.name} has a pod range`);
      assert.equal(n.metadata.annotations['flannel.alpha.coreos.com/backend-type'], 'vxlan');
    }
  });

  // A hello pod pinned to each worker.
  await tenant(['create', 'namespace', 'net-test']);
  for (const [i, w] of workers.entries()) {
    await tenant(['apply', '-n', 'net-test', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `hello-${i}`, labels: { app: `hello-${i}`, 'pod-network-test': 'true' } },
      spec: { nodeName: w.netns, containers: [{ name: 'hello', image: helloImage, imagePullPolicy: 'Never', ports: [{ containerPort: 8080 }] }] },
    }));
  }
  const running = async () => eventually('both hello pods running with a pod IP', async () => {
    const pods = await podsOn('net-test', 'pod-network-test=true');
    return pods.length === 2 && pods.every((p) => p.status.phase === 'Running' && p.status.podIP) ? pods.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)) : undefined;
  }, 180_000, 1000);
  const get = (from: string, url: string) => tenant(['exec', '-n', 'net-test', from, '--', '/hello', '-get', url]).then((r) => r.stdout.trim());

  await t.test('pod to pod across the workers, by pod IP', async () => {
    const pods = await running();
    const nodes = JSON.parse((await tenant(['get', 'nodes', '-o', 'json'])).stdout) as { items: { metadata: { name: string }; spec: { podCIDR: string } }[] };
    for (const p of pods) {
      const range = nodes.items.find((n) => n.metadata.name === p.spec.nodeName)!.spec.podCIDR;
      assert.equal(p.status.podIP!.split('.').slice(0, 3).join('.'), range.split('.').slice(0, 3).join('.'), `${p.metadata.name}'s address ${p.status.podIP} is from its node's flannel range ${range}`);
    }
    assert.notEqual(pods[0]!.spec.nodeName, pods[1]!.spec.nodeName);
    for (const [from, to] of [[pods[0]!, pods[1]!], [pods[1]!, pods[0]!]] as const) {
      const answer = await eventually(`${from.metadata.name} -> ${to.metadata.name} (${to.status.podIP})`, async () => get(from.metadata.name, `http://${to.status.podIP}:8080/`).catch(() => undefined), 60_000, 2000);
      assert.equal(answer, `hello from kubeception (${to.metadata.name})`);
      t.diagnostic(`${from.metadata.name} on ${from.spec.nodeName} (${from.status.podIP}) -> ${to.status.podIP} on ${to.spec.nodeName}: ${answer}`);
    }
  });

  await t.test('pod to a ClusterIP Service whose pod is on the other worker, by IP and by name', async () => {
    const pods = await running();
    await tenant(['apply', '-n', 'net-test', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'hello-1' },
      spec: { type: 'ClusterIP', selector: { app: 'hello-1' }, ports: [{ port: 80, targetPort: 8080 }] },
    }));
    const clusterIP = (await tenant(['get', 'service', '-n', 'net-test', 'hello-1', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    assert.match(clusterIP, /^10\.9[6-9]|^10\.1[01]\d\./, 'an address of the tenant\'s Service range');
    const byIP = await eventually('hello-0 -> Service hello-1 by ClusterIP', async () => get('hello-0', `http://${clusterIP}/`).catch(() => undefined), 60_000, 2000);
    assert.equal(byIP, `hello from kubeception (${pods[1]!.metadata.name})`);
    const byName = await eventually('hello-0 -> Service hello-1 by name', async () => get('hello-0', 'http://hello-1.net-test.svc.cluster.local/').catch(() => undefined), 60_000, 2000);
    assert.equal(byName, `hello from kubeception (${pods[1]!.metadata.name})`);
  });

  await t.test('DNS from a pod: the tenant CoreDNS answers kubernetes.default', async () => {
    await running();
    const coredns = await eventually('CoreDNS ready on the pod network', async () => {
      const pods = await podsOn('kube-system', 'k8s-app=kube-dns');
      return pods.some((p) => p.status.phase === 'Running' && p.status.podIP) ? pods : undefined;
    }, 120_000, 1000);
    t.diagnostic(`CoreDNS pods: ${coredns.map((p) => `${p.metadata.name} ${p.status.podIP} on ${p.spec.nodeName}`).join(', ')}`);
    for (const pod of ['hello-0', 'hello-1']) {
      const answer = await eventually(`${pod} resolves kubernetes.default`, async () => {
        const out = await tenant(['exec', '-n', 'net-test', pod, '--', '/hello', '-resolve', 'kubernetes.default']).catch(() => undefined);
        return out?.stdout.trim() || undefined;
      }, 60_000, 2000);
      assert.equal(answer, '10.96.0.1');
    }
  });

  await t.test('the add-on switched off: nothing of flannel is left in the tenant', async () => {
    await tb.kubectl(['patch', 'tcp', 'net', '-n', ns.name, '--type=merge', '-p', '{"spec":{"addons":{"cni":{"enabled":false}}}}']);
    const leftovers = async () => {
      const out: string[] = [];
      const nsOut = await tenant(['get', 'namespace', 'kube-flannel', '--ignore-not-found', '-o', 'name']);
      if (nsOut.stdout.trim()) out.push(nsOut.stdout.trim());
      for (const kind of ['clusterroles', 'clusterrolebindings', 'daemonsets', 'configmaps', 'serviceaccounts']) {
        const labelled = await tenant(['get', kind, '-A', '-l', 'kubeception.io/addon=cni', '-o', 'name']);
        out.push(...labelled.stdout.split('\n').filter(Boolean));
        const named = await tenant(['get', kind, '-A', '-o', 'name']);
        out.push(...named.stdout.split('\n').filter((n) => /flannel/.test(n)));
      }
      return [...new Set(out)];
    };
    await eventually('no flannel object in the tenant', async () => ((await leftovers()).length === 0 ? true : undefined), 120_000, 1000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\nleft: ${(await leftovers()).join(', ')}`, { cause: err });
    });
    const cni = await eventually('the CNI condition Disabled', async () => {
      const c = condition(await getTcp(), 'CNI');
      return c?.reason === 'Disabled' ? c : undefined;
    }, 60_000, 1000);
    assert.equal(cni.status, 'True');
    assert.equal(condition(await getTcp(), 'Ready')?.status, 'True');
  });
});
