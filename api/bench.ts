// Benchmark of the read paths the portal polls: GET /v1/clusters (first page) and GET
// /v1/clusters/{id}, with N clusters in one account. Closed loop: `concurrency` clients each send
// the next request when the previous answered, for `durationMs`; reports requests per second and
// latency percentiles.
//
// Stores: in memory by default (measures the API itself: auth, rate limit, validation,
// serialisation); with `kubeConfig`, the real host API server (one shared namespace, so N clusters
// are N objects). The host mode refuses to run where an operator seems to run (it would start
// provisioning every benchmark cluster) unless forced.
//
//   node api/bench.ts [--clusters 500] [--seconds 5] [--concurrency 16] [--transport http|inject]
//                     [--kubeconfig <path> [--no-cache] [--force]]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { ClusterStore } from './cluster-store.ts';
import { hostDependencies } from './host/index.ts';
import { KubeClient, loadHostKubeConfig } from './host/kube.ts';
import { buildTenantControlPlane, newClusterId, type TenantControlPlane } from './tcp.ts';
import { memoryWorld, testKey } from './testing.ts';
import { MemoryAuthStore } from './auth.ts';
import { SIZES } from './types.ts';
import { FINALIZER, GROUP, PLURAL, VERSION } from '../core/index.ts';

export interface ApiBenchOptions {
  clusters?: number;
  durationMs?: number;
  concurrency?: number;
  transport?: 'http' | 'inject';
  /** Benchmark against this host cluster instead of in-memory stores. */
  kubeConfig?: KubeConfig;
  /** With kubeConfig: serve reads from the watch-fed cache (default) or from the host API server every time. */
  cache?: boolean;
  /** With kubeConfig: run even though an operator seems to be running (it would provision every cluster). */
  force?: boolean;
  log?: (line: string) => void;
}

export interface LatencyStats {
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ApiBenchResult {
  clusters: number;
  store: 'memory' | 'host' | 'host-cached';
  transport: 'http' | 'inject';
  concurrency: number;
  durationMs: number;
  list: LatencyStats;
  get: LatencyStats;
}

const ACCOUNT = 'bench';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Runs `send` from `concurrency` loops for `durationMs`; a non-200 answer counts as an error. */
async function measure(send: (i: number) => Promise<number>, concurrency: number, durationMs: number): Promise<LatencyStats> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  let counter = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const status = await send(counter++).catch(() => 0);
        latencies.push(performance.now() - t);
        if (status !== 200) errors++;
      }
    }),
  );
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    rps: round(latencies.length / (elapsed / 1000)),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies[latencies.length - 1] ?? 0),
  };
}

async function seed(store: ClusterStore, count: number, concurrency: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const id = newClusterId();
        await store.create(
          buildTenantControlPlane({ id, namespace: store.namespaceFor(id), account: ACCOUNT, name: `bench-${i}`, size: SIZES[i % SIZES.length]!, version: 'v1.36.5' }),
        );
        ids.push(id);
      }
    }),
  );
  return ids;
}

/** An operator adds its finalizer to every tcp it sees: with one running, N benchmark clusters become N real ones. */
async function refuseWithOperator(client: KubeClient): Promise<void> {
  try {
    const tcps = await client.request<{ items: TenantControlPlane[] }>('GET', `/apis/${GROUP}/${VERSION}/${PLURAL}`, { query: { limit: 500 } });
    const managed = tcps.items.filter((tcp) => (tcp.metadata.finalizers ?? []).includes(FINALIZER));
    if (managed.length > 0) {
      throw new Error(
        `an operator seems to be running in this cluster (${managed.length} TenantControlPlanes carry its finalizer): it would provision every benchmark cluster; stop it or pass force`,
      );
    }
  } finally {
    await client.close();
  }
}

export async function runApiBenchmark(options: ApiBenchOptions = {}): Promise<ApiBenchResult> {
  const count = options.clusters ?? 500;
  const durationMs = options.durationMs ?? 5000;
  const concurrency = options.concurrency ?? 16;
  const transport = options.transport ?? 'http';
  const log = options.log ?? (() => {});
  const key = testKey('bench');
  const limits = { rateLimit: { capacity: 1e9, refillPerSecond: 1e9 } };

  let app: FastifyInstance;
  let store: ClusterStore;
  let cleanup = async () => {};
  if (options.kubeConfig === undefined) {
    const world = memoryWorld({ clock: undefined, ...limits });
    world.auth.add(key, { account: ACCOUNT, scopes: ['read'], groups: [] });
    // The manual clock of the test world is not wanted here: rate limits and timestamps use real time.
    app = await buildApp({ ...world.deps, clock: undefined });
    store = world.clusters;
  } else {
    const namespace = `kubeception-bench-${randomBytes(3).toString('hex')}`;
    if (!options.force) await refuseWithOperator(new KubeClient(options.kubeConfig));
    const deps = hostDependencies({ kubeConfig: options.kubeConfig, namespace, layout: { kind: 'shared', namespace }, cache: options.cache ?? true });
    await deps.client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } });
    await deps.start();
    const auth = new MemoryAuthStore();
    auth.add(key, { account: ACCOUNT, scopes: ['read'], groups: [] });
    app = await buildApp({ ...deps, auth, ...limits });
    store = deps.clusters;
    cleanup = async () => {
      await deps.client.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => {});
      await deps.close();
    };
  }

  try {
    const seedStarted = performance.now();
    const ids = await seed(store, count, 16);
    log(`seeded ${count} clusters in ${Math.round(performance.now() - seedStarted)} ms`);

    let send: (path: string) => Promise<number>;
    if (transport === 'inject') {
      send = async (path) => (await app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${key}` } })).statusCode;
    } else {
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      send = async (path) => {
        const response = await fetch(base + path, { headers: { authorization: `Bearer ${key}` } });
        await response.arrayBuffer(); // read it all: that is part of the cost, and frees the connection
        return response.status;
      };
    }
    const warm = Math.min(durationMs, 1000);
    await measure(() => send('/v1/clusters?limit=50'), concurrency, warm);
    const list = await measure(() => send('/v1/clusters?limit=50'), concurrency, durationMs);
    log(`list: ${list.rps} req/s, p99 ${list.p99Ms} ms`);
    const get = await measure((i) => send(`/v1/clusters/${ids[i % ids.length]}`), concurrency, durationMs);
    log(`get: ${get.rps} req/s, p99 ${get.p99Ms} ms`);
    return { clusters: count, store: options.kubeConfig === undefined ? 'memory' : options.cache === false ? 'host' : 'host-cached', transport, concurrency, durationMs, list, get };
  } finally {
    await app.close();
    await cleanup();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      clusters: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '16' },
      transport: { type: 'string', default: 'http' },
      kubeconfig: { type: 'string' },
      'no-cache': { type: 'boolean' },
      force: { type: 'boolean' },
    },
  });
  if (values.transport !== 'http' && values.transport !== 'inject') throw new Error('--transport must be http or inject');
  const result = await runApiBenchmark({
    clusters: Number(values.clusters),
    durationMs: Number(values.seconds) * 1000,
    concurrency: Number(values.concurrency),
    transport: values.transport,
    ...(values.kubeconfig === undefined ? {} : { kubeConfig: loadHostKubeConfig(values.kubeconfig), cache: !values['no-cache'], force: values.force ?? false }),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
