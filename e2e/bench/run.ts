// `npm run bench`: what the operator costs, measured on the real test bed. Not a test: it prints figures.
//
//   (i)   time per tenant: PKI generation (operator/pki/bench.ts), rendering (pure), applying every object
//         to the real API server, and the operator's whole reconcile of a new tenant (TenantReconciler);
//   (ii)  how long the operator (`node operator/main.ts`, a child process) takes to reconcile N tcps
//         (default 200) until all their objects exist and their status is written, at concurrency 8, with
//         the process's memory (VmHWM / VmRSS from /proc, heap from its /metrics) and CPU;
//   (iii) the portal API's read path (api/bench.ts, in-memory stores).
//
// The tcps live in a namespace of their own with a ResourceQuota of 0 pods and 0 volume claims: the
// Deployments and StatefulSets exist, no tenant pod starts (the 2-core test bed could not run 200).
// The operator watches only that namespace. Everything made here is deleted at the end.
//
//   node e2e/bench/run.ts [--tenants 200] [--concurrency 8] [--per-tenant 5] [--no-api]
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { testbed } from '../support/testbed.ts';
import { testbedConfig } from '../testbed/config.ts';
import { OperatorProcess } from './operator-process.ts';
import { KubeClient, apply, isNotFound, planPki, resolveTenant, type Applicable, type TenantControlPlane } from '../../core/index.ts';
import { benchTenantPki } from '../../core/pki/bench.ts';
import { publicEndpoint, renderApiServerService, renderTenant, secretDataChecksum } from '../../operator/render/index.ts';
import { EventRecorder } from '../../operator/runtime/events.ts';
import { TenantReconciler } from '../../operator/controller/reconcile-tenant.ts';
import { runApiBenchmark } from '../../api/bench.ts';

const { values: args } = parseArgs({
  options: {
    tenants: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    'per-tenant': { type: 'string', default: '5' },
    'no-api': { type: 'boolean', default: false },
  },
});
const positive = (name: string, raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const TENANTS = positive('tenants', args.tenants);
const CONCURRENCY = positive('concurrency', args.concurrency);
const PER_TENANT = positive('per-tenant', args['per-tenant']);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const ms = (n: number) => Math.round(n);
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return { mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length), p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] ?? 0 };
};

const TCP = (ns: string, name = '') => `/apis/kubeception.io/v1alpha1/namespaces/${ns}/tenantcontrolplanes${name ? `/${name}` : ''}`;

/**
 * Reads survive the test bed's transient answers (a CRD re-applied by someone else re-initialises its
 * storage: 429 "storage is (re)initializing" for a few seconds).
 */
async function retrying<T>(what: string, read: () => Promise<T>, attempts = 30): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await read();
    } catch (err) {
      if (i >= attempts) throw err;
      log(`${what}: ${String(err).slice(0, 200)}; retrying`);
      await sleep(1000);
    }
  }
}

/** Rows of the final table: figure, value, note. */
const rows: [string, string, string][] = [];
const row = (figure: string, value: string, note = '') => rows.push([figure, value, note]);

async function createQuotaNamespace(client: KubeClient, name: string): Promise<void> {
  await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubeception.io/bench': 'true' } } } });
  // No tenant pod may start here, nor any volume be provisioned: the objects exist, nothing runs.
  await client.request('POST', `/api/v1/namespaces/${name}/resourcequotas`, {
    body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'nothing-runs' }, spec: { hard: { pods: '0', persistentvolumeclaims: '0' } } },
  });
}

async function createTenants(client: KubeClient, ns: string, names: string[], parallel = 16): Promise<TenantControlPlane[]> {
  const created: TenantControlPlane[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < names.length) {
      const name = names[next++]!;
      created.push(await client.request<TenantControlPlane>('POST', TCP(ns), {
        body: { apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', metadata: { name, namespace: ns }, spec: { version: testbedConfig.versions.kubernetes } },
      }));
    }
  }));
  return created;
}

/** Deletes the namespace; with no operator watching it, the tcps' finalizers are stripped first. */
async function deleteNamespace(client: KubeClient, ns: string, operatorRuns: boolean): Promise<void> {
  if (!operatorRuns) {
    const list = await client.request<{ items: TenantControlPlane[] }>('GET', TCP(ns)).catch(() => ({ items: [] as TenantControlPlane[] }));
    for (const tcp of list.items) {
      await client.request('PATCH', TCP(ns, tcp.metadata!.name!), { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } }).catch(() => undefined);
    }
  }
  await client.request('DELETE', `/api/v1/namespaces/${ns}`).catch((err: unknown) => { if (!isNotFound(err)) throw err; });
  // Wait for it to go, so that a second run does not start next to 200 terminating tenants.
  for (let i = 0; i < 180; i++) {
    if (await client.request('GET', `/api/v1/namespaces/${ns}`).then(() => false, (err: unknown) => isNotFound(err))) return;
    await sleep(1000);
  }
  log(`namespace ${ns} is still terminating after 3 min`);
}

/** (i) The cost of one tenant for the operator, piece by piece and as one real reconcile. */
async function perTenant(client: KubeClient): Promise<void> {
  const pki = await benchTenantPki({ iterations: 3 });
  row('PKI generation per tenant (RSA-2048, 14 keys)', `${pki.meanMs} ms`, `min ${pki.minMs}, max ${pki.maxMs}; event loop stalled at most ${pki.maxEventLoopDelayMs} ms`);
  const ecdsa = await benchTenantPki({ iterations: 3, keyAlgorithm: 'ECDSA-P256' });
  row('PKI generation per tenant (ECDSA-P256, for comparison)', `${ecdsa.meanMs} ms`);

  const ns = `kubeception-opbench-single-${randomBytes(3).toString('hex')}`;
  await createQuotaNamespace(client, ns);
  try {
    const manual = await createTenants(client, ns, Array.from({ length: PER_TENANT }, (_, i) => `manual-${i}`), 4);
    const planMs: number[] = [];
    const renderMs: number[] = [];
    const applyMs: number[] = [];
    let objectsPerTenant = 0;
    for (const tcp of manual) {
      const name = tcp.metadata!.name!;
      const owner = { apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', name, uid: tcp.metadata!.uid! };
      // The operator's steps, timed apart: API Service, PKI plan (generation + Secrets), render, applies.
      let t = performance.now();
      const service = await apply<Applicable & { spec: { clusterIP: string } }>(client, renderApiServerService(resolveTenant(tcp as never)) as unknown as Applicable);
      let applied = performance.now() - t;
      const apiService = { clusterIP: service.spec.clusterIP };
      const endpoint = publicEndpoint(resolveTenant(tcp as never), { apiService })!;
      t = performance.now();
      const plan = await planPki([], { name, namespace: ns, endpoint: endpoint.url, networkProfile: tcp.spec.networkProfile, serviceAddresses: [apiService.clusterIP] }, { owner });
      planMs.push(performance.now() - t);
      if (plan.status !== 'ok') throw new Error(`PKI plan for ${name}: ${JSON.stringify(plan.alarms)}`);
      t = performance.now();
      const rendered = renderTenant(resolveTenant(tcp), {
        secretChecksums: Object.fromEntries(plan.secrets.map((s) => [s.metadata.name, secretDataChecksum(s.data)])),
        apiService,
        imagePullPolicy: 'Never',
      });
      renderMs.push(performance.now() - t);
      const objects = [...plan.secrets, ...rendered.objects.slice(1)] as unknown as Applicable[];
      t = performance.now();
      for (const obj of objects) await apply(client, obj);
      applied += performance.now() - t;
      applyMs.push(applied);
      objectsPerTenant = objects.length + 1;
    }
    const p = stats(planMs);
    row('PKI plan for a new tenant (keys + certificates + 11 Secrets rendered)', `${ms(p.mean)} ms`, `max ${ms(p.max)}, n=${planMs.length}`);
    const r = stats(renderMs);
    row('render (pure: Services, StatefulSet, Deployment, NetworkPolicy, ConfigMap, PDBs)', `${Math.round(r.mean * 100) / 100} ms`, `max ${Math.round(r.max * 100) / 100} ms`);
    const a = stats(applyMs);
    row(`apply all ${objectsPerTenant} objects of a tenant (server-side apply, sequential)`, `${ms(a.mean)} ms`, `${ms(a.mean / objectsPerTenant)} ms per object; max ${ms(a.max)}`);

    // The real thing: one whole reconcile of a new tenant, as the operator runs it.
    const full = await createTenants(client, ns, Array.from({ length: PER_TENANT }, (_, i) => `full-${i}`), 4);
    const logger = pino({ level: 'silent' });
    const events = new EventRecorder({ client, logger });
    const reconciler = new TenantReconciler({ client, events, logger, options: { imagePullPolicy: 'Never' } });
    const reconcileMs: number[] = [];
    for (const tcp of full) {
      const key = `${ns}/${tcp.metadata!.name}`;
      const signal = new AbortController().signal;
      await reconciler.reconcile(key, signal); // adds the finalizer and asks to come back at once
      const t = performance.now();
      await reconciler.reconcile(key, signal);
      reconcileMs.push(performance.now() - t);
    }
    await events.close();
    const f = stats(reconcileMs);
    row('whole reconcile of a new tenant (TenantReconciler, PKI + all objects + status)', `${ms(f.mean)} ms`, `min ${ms(Math.min(...reconcileMs))}, max ${ms(f.max)}, n=${reconcileMs.length}`);
    const again = performance.now();
    await reconciler.reconcile(`${ns}/${full[0]!.metadata!.name}`, new AbortController().signal);
    row('reconcile of an existing tenant (nothing to change)', `${ms(performance.now() - again)} ms`);
  } finally {
    // No operator watches this namespace: strip the finalizers the reconciler added, then delete it.
    await deleteNamespace(client, ns, false);
  }
}

interface CpuSample {
  at: number;
  ticks: number;
}
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (USER_HZ = 100)
}

/** (ii) N tcps reconciled by the operator process until all their objects exist and their status is written. */
async function manyTenants(client: KubeClient, kubeconfigPath: string): Promise<void> {
  const ns = `kubeception-opbench-${randomBytes(3).toString('hex')}`;
  await createQuotaNamespace(client, ns);
  let operator: OperatorProcess | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const names = Array.from({ length: TENANTS }, (_, i) => `t${String(i).padStart(3, '0')}`);
    let t = performance.now();
    await createTenants(client, ns, names);
    log(`created ${TENANTS} tcps in ${ns} in ${ms(performance.now() - t)} ms`);

    const started = performance.now();
    operator = new OperatorProcess({ kubeconfig: kubeconfigPath, namespace: ns, leaseNamespace: ns, concurrency: CONCURRENCY, logLevel: 'info' });
    const op = operator;
    let heapPeak = 0;
    let heapTotalPeak = 0;
    let metricsRss = 0;
    sampler = setInterval(() => {
      if (op.metricsPort === undefined) return;
      op.metrics().then((m) => {
        heapPeak = Math.max(heapPeak, m.get('nodejs_heap_size_used_bytes') ?? 0);
        heapTotalPeak = Math.max(heapTotalPeak, m.get('nodejs_heap_size_total_bytes') ?? 0);
        metricsRss = Math.max(metricsRss, m.get('process_resident_memory_bytes') ?? 0);
      }, () => undefined);
    }, 1000);
    await op.reconciling(120_000);
    const syncedMs = performance.now() - started;
    const cpuStart: CpuSample = { at: performance.now(), ticks: await cpuTicks(op.pid) };

    const doneAt = new Map<string, number>();
    while (doneAt.size < TENANTS) {
      if (performance.now() - started > 30 * 60_000) throw new Error(`only ${doneAt.size}/${TENANTS} tcps done after 30 min`);
      const list = await retrying('listing the tcps', () => client.request<{ items: TenantControlPlane[] }>('GET', TCP(ns)));
      for (const tcp of list.items) {
        const name = tcp.metadata!.name!;
        if (doneAt.has(name)) continue;
        const c = (type: string) => tcp.status?.conditions?.find((x) => x.type === type);
        // Status is written after every object was applied; Datastore/APIServer say the workloads exist.
        const done = tcp.status?.observedGeneration === tcp.metadata?.generation && c('PKI')?.status === 'True'
          && c('Datastore') !== undefined && c('Datastore')!.reason !== 'NotCreated' && c('APIServer') !== undefined && c('APIServer')!.reason !== 'NotCreated';
        if (done) doneAt.set(name, performance.now() - started);
      }
      if (doneAt.size < TENANTS) {
        log(`${doneAt.size}/${TENANTS} tcps reconciled after ${ms((performance.now() - started) / 1000)} s`);
        await sleep(2000);
      }
    }
    const allDone = performance.now() - started;
    const cpuEnd: CpuSample = { at: performance.now(), ticks: await cpuTicks(op.pid) };
    const memDone = await op.memory();

    // What exists: every object of every tenant, counted once.
    const count = async (path: string) => (await retrying(`listing ${path}`, () => client.request<{ items: unknown[] }>('GET', path, { query: { labelSelector: 'app.kubernetes.io/managed-by=kubeception' } }))).items.length;
    const counts = {
      secrets: await count(`/api/v1/namespaces/${ns}/secrets`),
      services: await count(`/api/v1/namespaces/${ns}/services`),
      configmaps: await count(`/api/v1/namespaces/${ns}/configmaps`),
      statefulsets: await count(`/apis/apps/v1/namespaces/${ns}/statefulsets`),
      deployments: await count(`/apis/apps/v1/namespaces/${ns}/deployments`),
      networkpolicies: await count(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`),
      pdbs: await count(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`),
    };
    const expected = { secrets: 11, services: 2, configmaps: 1, statefulsets: 1, deployments: 1, networkpolicies: 1, pdbs: 2 };
    const missing = Object.entries(expected).filter(([k, per]) => counts[k as keyof typeof counts] !== per * TENANTS);
    if (missing.length) throw new Error(`object counts differ from ${TENANTS} x per tenant: ${JSON.stringify(counts)}`);
    const totalObjects = Object.values(counts).reduce((a, b) => a + b, 0);

    // Steady state: nothing to create any more, but no tenant is Ready (no pods may run here). First let
    // the follow-up reconciles of the last tenants finish (their own writes re-queue them once).
    const sum = (m: Map<string, number>, prefix: string) => [...m.entries()].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
    const drainStart = performance.now();
    let drained = false;
    while (performance.now() - drainStart < 90_000) {
      const m = await op.metrics();
      if (sum(m, 'kubeception_workqueue_depth') === 0 && sum(m, 'kubeception_workqueue_in_flight') === 0) {
        drained = true;
        break;
      }
      await sleep(1000);
    }
    const STEADY_MS = 30_000;
    const before = await op.metrics();
    const steadyFrom: CpuSample = { at: performance.now(), ticks: await cpuTicks(op.pid) };
    await sleep(STEADY_MS);
    const steadyTo: CpuSample = { at: performance.now(), ticks: await cpuTicks(op.pid) };
    const metrics = await op.metrics();
    const steadyReconciles = sum(metrics, 'kubeception_reconcile_duration_seconds_count') - sum(before, 'kubeception_reconcile_duration_seconds_count');
    const reconciles = sum(metrics, 'kubeception_reconcile_duration_seconds_count');
    const errors = sum(metrics, 'kubeception_reconcile_errors_total');
    const memEnd = await op.memory();

    const d = stats([...doneAt.values()]);
    row(`operator: ${TENANTS} tcps reconciled (all objects + status), concurrency ${CONCURRENCY}`, `${Math.round(allDone / 100) / 10} s`, `from process start; caches synced after ${Math.round(syncedMs / 100) / 10} s; ${Math.round((TENANTS / (allDone / 1000)) * 60)} tenants/min`);
    row('  time until a tcp was done (from process start)', `p50 ${Math.round(d.p50 / 100) / 10} s`, `p95 ${Math.round(d.p95 / 100) / 10} s, last ${Math.round(d.max / 100) / 10} s`);
    row('  objects created and verified', String(totalObjects), JSON.stringify(counts));
    row('  operator CPU while creating', `${Math.round(((cpuEnd.ticks - cpuStart.ticks) / 100 / ((cpuEnd.at - cpuStart.at) / 1000)) * 100)} % of one core`, `${(cpuEnd.ticks - cpuStart.ticks) / 100} CPU s`);
    row(`  operator CPU afterwards (${TENANTS} not-Ready tenants, nothing to change)`, `${Math.round(((steadyTo.ticks - steadyFrom.ticks) / 100 / ((steadyTo.at - steadyFrom.at) / 1000)) * 100)} % of one core`,
      `${STEADY_MS / 1000} s window ${drained ? `after the queue drained (${Math.round((performance.now() - drainStart - STEADY_MS) / 1000)} s)` : 'although the queue did not drain in 90 s'}: ${steadyReconciles} reconciles (${Math.round((steadyReconciles / (STEADY_MS / 1000)) * 10) / 10}/s)`);
    row('  reconciles / errors (whole run)', `${reconciles} / ${errors}`);
    row('  operator RSS peak (VmHWM)', `${mib(memEnd.rssPeakBytes)} MiB`, `RSS ${mib(memDone.rssBytes)} MiB when all were done, ${mib(memEnd.rssBytes)} MiB at the end; /metrics RSS max ${mib(metricsRss)} MiB`);
    row('  operator heap used, peak (sampled 1/s)', `${mib(heapPeak)} MiB`, `heap total peak ${mib(heapTotalPeak)} MiB`);

    // Deletion: the operator releases the finalizers, the garbage collector does the rest.
    t = performance.now();
    await client.request('DELETE', TCP(ns));
    for (;;) {
      const left = (await retrying('listing the tcps', () => client.request<{ items: unknown[] }>('GET', TCP(ns)))).items.length;
      if (left === 0) break;
      if (performance.now() - t > 10 * 60_000) throw new Error(`${left} tcps still there 10 min after deleting them`);
      await sleep(1000);
    }
    row(`operator: ${TENANTS} tcps deleted (finalizers released)`, `${Math.round((performance.now() - t) / 100) / 10} s`);
  } finally {
    clearInterval(sampler);
    // Stop the operator first: running, it would put back a finalizer stripped before the namespace's
    // deletion reached the tcp, and the namespace would hang in Terminating.
    await operator?.stop();
    await deleteNamespace(client, ns, false);
  }
}

async function main(): Promise<void> {
  const tb = await testbed();
  const client = new KubeClient(tb.kubeConfig);
  try {
    log('(i) per tenant');
    await perTenant(client);
    log(`(ii) ${TENANTS} tenants through the operator process`);
    await manyTenants(client, tb.kubeconfigPath);
    if (!args['no-api']) {
      log('(iii) portal API read path (api/bench.ts, in-memory)');
      const api = await runApiBenchmark({ clusters: 500, durationMs: 3000, concurrency: 16, transport: 'http', log });
      row('API GET /v1/clusters?limit=50 (500 clusters, 16 clients, in-memory)', `${api.list.rps} req/s`, `p50 ${api.list.p50Ms} ms, p99 ${api.list.p99Ms} ms, errors ${api.list.errors}`);
      row('API GET /v1/clusters/{id}', `${api.get.rps} req/s`, `p50 ${api.get.p50Ms} ms, p99 ${api.get.p99Ms} ms, errors ${api.get.errors}`);
    }
  } finally {
    await client.close();
    printTable();
  }
}

function printTable(): void {
  if (rows.length === 0) return;
  const width = Math.max(...rows.map((r) => r[0].length));
  const valueWidth = Math.max(...rows.map((r) => r[1].length));
  console.log(`\n${'figure'.padEnd(width)} | ${'value'.padEnd(valueWidth)} | note`);
  console.log(`${'-'.repeat(width)}-|-${'-'.repeat(valueWidth)}-|-----`);
  for (const [figure, value, note] of rows) console.log(`${figure.padEnd(width)} | ${value.padEnd(valueWidth)} | ${note}`);
}

try {
  await main();
  process.exit(0);
} catch (err) {
  process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
