// The cluster the conformance suite runs against: a tenant of the test bed (NodePort, made by the operator
// running in this process, as the e2e tests run it) with two worker machines joined by the real
// `kubeadm join`, the suite's images loaded into both before they join.
//
// Pod networking across the two workers is the tenant's own: its default CNI add-on (flannel, VXLAN between
// the workers' addresses), as a customer's fresh cluster gets it. The workers start with no pod network of
// their own, like fresh kubeadm nodes, and are Ready once flannel has written its CNI configuration.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GENERATED_FILES } from '../../crds/generate.ts';
import { CRD_NAME } from '../../crds/schema/tenant-control-plane.ts';
import { KubeClient, type TenantControlPlane } from '../../core/index.ts';
import { runOperator } from '../../operator/main.ts';
import { parseConfig } from '../../operator/config.ts';
import { mintJoinCommand } from '../../operator/join-token.ts';
import { eventually, testbed, testNamespace, type Testbed } from '../support/testbed.ts';
import { secretText } from '../support/tenant-probe.ts';
import { testbedConfig } from '../testbed/config.ts';
import { run } from '../testbed/exec.ts';
import { joinWorker, removeWorker, startWorker, workerFor, type Worker } from '../testbed/worker.ts';

export interface ConformanceCluster {
  tb: Testbed;
  /** Host namespace of the tenant. */
  namespace: string;
  name: string;
  /** The tenant's admin kubeconfig (cluster-admin), written to a file for e2e.test and kubectl. */
  kubeconfig: string;
  endpoint: string;
  workers: Worker[];
  /** kubectl against the tenant. */
  kubectl(args: string[], input?: string): Promise<{ stdout: string; stderr: string }>;
  /** Seconds spent on each step of the bring-up. */
  timings: Record<string, number>;
  /** Removes the workers, the tenant and its namespace; stops the operator. */
  remove(): Promise<void>;
}

export interface ClusterOptions {
  /** Worker machine numbers (w<i>). */
  workerIndexes: [number, number];
  /** Host namespace prefix. */
  namespacePrefix: string;
  dir: string;
  /** Loads the suite's images into a worker after its machine is up, before it joins. */
  loadImages: (w: Worker) => Promise<void>;
  log: (line: string) => void;
}

const TCP = (ns: string, name: string) => `/apis/kubeception.io/v1alpha1/namespaces/${ns}/tenantcontrolplanes/${name}`;

export async function conformanceCluster(options: ClusterOptions): Promise<ConformanceCluster> {
  const timings: Record<string, number> = {};
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    options.log(`${what} ...`);
    const value = await fn();
    timings[what] = (Date.now() - started) / 1000;
    options.log(`${what}: ${timings[what]!.toFixed(1)} s`);
    return value;
  };
  const tb = await testbed();
  await tb.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=kubeception-conformance', '-f', GENERATED_FILES.crd]);
  await tb.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `customresourcedefinition/${CRD_NAME}`]);
  const ns = await testNamespace(tb, options.namespacePrefix);
  const name = 'conformance';
  const operator = await runOperator(parseConfig([], {
    KUBECONFIG: tb.kubeconfigPath, WATCH_NAMESPACE: ns.name, LEASE_NAMESPACE: ns.name, METRICS_PORT: '0',
    IMAGE_PULL_POLICY: 'Never', CONCURRENCY: '2', LOG_LEVEL: 'warn',
  }));
  const host = new KubeClient(tb.kubeConfig);
  const workers = options.workerIndexes.map((i) => workerFor(i));
  const remove = async () => {
    for (const w of workers) await removeWorker(w).catch(() => undefined);
    await tb.kubectl(['delete', 'tcp', '--all', '-n', ns.name, '--wait=true', '--timeout=90s']).catch(() => undefined);
    await operator.stop();
    await host.close();
    await ns.cleanup();
  };
  try {
    const tcp = await step('tenant apply -> Ready', async () => {
      await tb.kubectl(['apply', '-n', ns.name, '-f', '-'], JSON.stringify({
        apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', metadata: { name },
        spec: { version: testbedConfig.versions.kubernetes, networkProfile: { serviceType: 'NodePort' } },
      }));
      return eventually('the tenant to be Ready', async () => {
        const got = await host.request<TenantControlPlane>('GET', TCP(ns.name, name));
        return got.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && got.status.endpoint ? got : undefined;
      }, 6 * 60_000, 1000);
    });
    await mkdir(options.dir, { recursive: true });
    const kubeconfig = join(options.dir, 'tenant-admin.conf');
    await writeFile(kubeconfig, await secretText(tb, ns.name, `${name}-admin-kubeconfig`, 'admin.conf'));
    const kubectl = (args: string[], input?: string) => run(join(tb.binDir, 'kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], { input });

    await step('worker machines up, images loaded', () => Promise.all(workers.map(async (w) => {
      await startWorker(w);
      await options.loadImages(w);
    })));
    await step('kubeadm join of both workers, nodes Ready', async () => {
      for (const w of workers) {
        const { command } = await mintJoinCommand(host, ns.name, name, 3600);
        await joinWorker(w, command);
      }
      await eventually('both workers Ready in the tenant', async () => {
        const out = JSON.parse((await kubectl(['get', 'nodes', '-o', 'json'])).stdout) as { items: { status: { conditions: { type: string; status: string }[] } }[] };
        const ready = out.items.filter((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === workers.length ? true : undefined;
      }, 4 * 60_000, 1000);
    });
    // A Ready node serves logs and exec only once the operator has approved its kubelet serving certificate,
    // which it does on its next look at a Ready tenant (up to 30 s after the join: no watch on a tenant's CSRs
    // yet); a spec that execs into a pod before that fails with `tls: internal error` (seen once).
    await step('kubelet serving certificates issued', () => eventually('a kubelet serving certificate for each worker', async () => {
      const out = JSON.parse((await kubectl(['get', 'certificatesigningrequests', '-o', 'json'])).stdout) as {
        items: { spec: { signerName: string; username: string }; status?: { certificate?: string } }[];
      };
      const issued = new Set(out.items.filter((c) => c.spec.signerName === 'kubernetes.io/kubelet-serving' && c.status?.certificate).map((c) => c.spec.username));
      return workers.every((w) => issued.has(`system:node:${w.netns}`)) ? true : undefined;
    }, 2 * 60_000, 1000));
    await step('add-on pods Ready (flannel, CoreDNS, kube-proxy, konnectivity)', () => eventually('add-on pods Ready', async () => {
      const out = JSON.parse((await kubectl(['get', 'pods', '--all-namespaces', '-o', 'json'])).stdout) as { items: { status: { conditions?: { type: string; status: string }[] } }[] };
      const ready = out.items.filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return out.items.length > 0 && ready.length === out.items.length ? true : undefined;
    }, 4 * 60_000, 2000));
    return { tb, namespace: ns.name, name, kubeconfig, endpoint: tcp.status!.endpoint!, workers, kubectl, timings, remove };
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }
}
