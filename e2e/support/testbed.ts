// Test helpers: one real host cluster (the test bed) per test run, shared by every e2e test file.
// `npm test` starts the test bed before the test files run and passes its kubeconfig in
// KUBECEPTION_TESTBED_KUBECONFIG; a test file run alone starts (or reuses) it itself.
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { testbedConfig } from '../testbed/config.ts';
import { run, type RunResult } from '../testbed/exec.ts';

export interface Testbed {
  /** Admin kubeconfig path of the host cluster. */
  kubeconfigPath: string;
  /** client-node KubeConfig loaded from it. */
  kubeConfig: KubeConfig;
  /** Folder with the Go-built binaries (kubectl, kubeadm, ...). */
  binDir: string;
  /** Runs the test bed's kubectl against the host cluster. */
  kubectl(args: string[], input?: string): Promise<RunResult>;
}

let shared: Promise<Testbed> | undefined;

async function start(): Promise<Testbed> {
  let kubeconfigPath = process.env.KUBECEPTION_TESTBED_KUBECONFIG;
  if (!kubeconfigPath) {
    const { status, up } = await import('../testbed/testbed.ts');
    kubeconfigPath = (await status()).up ? testbedConfig.adminKubeconfig : (await up()).kubeconfig;
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const binDir = testbedConfig.bin.kubernetes;
  const path = kubeconfigPath;
  return {
    kubeconfigPath: path,
    kubeConfig,
    binDir,
    kubectl: (args, input) => run(`${binDir}/kubectl`, [`--kubeconfig=${path}`, ...args], { input }),
  };
}

export function testbed(): Promise<Testbed> {
  shared ??= start();
  return shared;
}

/** A fresh namespace for one test; deleted (without waiting) by the returned cleanup. */
export async function testNamespace(tb: Testbed, prefix: string): Promise<{ name: string; cleanup: () => Promise<void> }> {
  const api = tb.kubeConfig.makeApiClient(CoreV1Api);
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  await api.createNamespace({ body: { metadata: { name, labels: { 'kubeception.io/e2e': 'true' } } } });
  // the namespace's default ServiceAccount is made asynchronously; pods are refused until it exists
  for (let i = 0; i < 100; i++) {
    const found = await api.readNamespacedServiceAccount({ name: 'default', namespace: name }).then(() => true, () => false);
    if (found) break;
    await sleep(100);
  }
  return { name, cleanup: async () => void (await api.deleteNamespace({ name }).catch(() => undefined)) };
}

/** Polls until `check` returns a value other than undefined; fails with `what` after the timeout. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

/**
 * Runs a pod to completion and returns its log. Not `kubectl run -i --rm`: when the program ends before
 * kubectl attaches (a short program, a pod on another node), that prints nothing of its output.
 */
export async function podOutput(tb: Testbed, namespace: string, name: string, image: string, command: string[], timeoutMs = 120_000): Promise<{ phase: string; log: string }> {
  await tb.kubectl(['run', name, '-n', namespace, '--restart=Never', `--image=${image}`, '--image-pull-policy=Never', '--command', '--', ...command]);
  try {
    const phase = await eventually(`pod ${namespace}/${name} to finish`, async () => {
      const { stdout } = await tb.kubectl(['get', 'pod', name, '-n', namespace, '-o', 'jsonpath={.status.phase}']);
      return stdout === 'Succeeded' || stdout === 'Failed' ? stdout : undefined;
    }, timeoutMs, 500);
    const { stdout: log } = await tb.kubectl(['logs', name, '-n', namespace]);
    return { phase, log };
  } finally {
    await tb.kubectl(['delete', 'pod', name, '-n', namespace, '--wait=false']).catch(() => undefined);
  }
}
