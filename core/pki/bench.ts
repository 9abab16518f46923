// Micro-benchmark: how long one tenant's full PKI takes (4 roots + 10 certificates, keys generated
// concurrently), and how long the event loop was blocked meanwhile. Not a test; `npm run bench`
// calls benchTenantPki, and `node operator/pki/bench.ts` prints both key algorithms.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateTenantPki, type TenantPkiInput } from './kubeadm-set.ts';
import { DEFAULT_KEY_ALGORITHM, type KeyAlgorithm } from './keys.ts';

export interface PkiBenchResult {
  name: string;
  keyAlgorithm: KeyAlgorithm;
  iterations: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  /** Longest event-loop stall seen while generating (what other tenants' reconciles would feel). */
  maxEventLoopDelayMs: number;
}

const BENCH_TENANT: TenantPkiInput = {
  name: 'bench',
  namespace: 'bench',
  endpoint: 'https://10.0.0.5:31443',
  networkProfile: { serviceCIDR: '10.96.0.0/12', clusterDomain: 'cluster.local', certSANs: ['bench.example.com'] },
};

export async function benchTenantPki(options: { iterations?: number; keyAlgorithm?: KeyAlgorithm } = {}): Promise<PkiBenchResult> {
  const iterations = options.iterations ?? 3;
  const keyAlgorithm = options.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM;
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`iterations must be a positive integer, got ${iterations}`);
  const input = { ...BENCH_TENANT, keyAlgorithm };
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  const times: number[] = [];
  histogram.enable();
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await generateTenantPki(input);
    times.push(performance.now() - start);
  }
  histogram.disable();
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    name: `pki: one tenant's full PKI (${keyAlgorithm})`,
    keyAlgorithm,
    iterations,
    meanMs: round(times.reduce((a, b) => a + b, 0) / iterations),
    minMs: round(Math.min(...times)),
    maxMs: round(Math.max(...times)),
    maxEventLoopDelayMs: round(histogram.max / 1e6),
  };
}

if (import.meta.main) {
  for (const keyAlgorithm of ['RSA-2048', 'ECDSA-P256'] as const) {
    console.log(JSON.stringify(await benchTenantPki({ keyAlgorithm })));
  }
}
