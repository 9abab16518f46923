// Prometheus metrics of the operator and the small HTTP server that exposes them together with the
// liveness (/healthz) and readiness (/readyz) probes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { ProcessedInfo, WorkQueue } from './work-queue.ts';
import { PHASES, productVersion } from '../../core/index.ts';

/** What metrics need of an informer (kept structural so any Informer<T> fits). */
interface RestartCounting {
  readonly name: string;
  readonly restarts: number;
}

export interface OperatorMetrics {
  registry: Registry;
  /** Seconds per reconcile, by controller and result (success | error | requeue). */
  reconcileDuration: Histogram<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  /** Keys waiting in a work queue (read from the queue at scrape time). */
  queueDepth: Gauge<'queue'>;
  /** Keys being processed right now. */
  queueInFlight: Gauge<'queue'>;
  /** Keys waiting for a delayed retry or requeue-after. */
  queueDelayed: Gauge<'queue'>;
  /** Tenants by status.phase: every phase of the contract is always exported, 0 when empty. */
  tenantsByPhase: Gauge<'phase'>;
  /** Informer list/watch restarts after failures. */
  informerRestarts: Counter<'informer'>;
  /** Exports a queue's depth, in-flight and delayed counts (read from the queue at scrape time). */
  observeQueue(queue: WorkQueue): void;
  /** Exports an informer's restart count (read at scrape time). */
  observeInformer(informer: RestartCounting): void;
  /** 1 while this replica holds the leader Lease, 0 while it stands by (read at scrape time). */
  leader: Gauge;
  /** Exports whether this replica leads (read at scrape time). */
  observeLeadership(isLeader: () => boolean): void;
}

export interface MetricsOptions {
  registry?: Registry;
  /** Also export process metrics (CPU, memory, event loop lag; default true). */
  defaultMetrics?: boolean;
  /** The version in kubeception_build_info (default: the product version, package.json's). */
  version?: string;
}

export function createMetrics(options: MetricsOptions = {}): OperatorMetrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const queues = new Set<WorkQueue>();
  const informers = new Map<RestartCounting, number>(); // informer -> restarts already counted
  let isLeader: () => boolean = () => false;
  const queueGauge = (name: string, help: string, read: (q: WorkQueue) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue'] as const,
      registers: [registry],
      collect() {
        for (const queue of queues) this.set({ queue: queue.name }, read(queue));
      },
    });
  const metrics: OperatorMetrics = {
    registry,
    observeQueue: (queue) => void queues.add(queue),
    observeInformer: (informer) => void (informers.has(informer) || informers.set(informer, 0)),
    observeLeadership: (read) => void (isLeader = read),
    leader: new Gauge({
      name: 'kubeception_leader',
      help: 'Whether this operator replica holds the leader Lease (1) or stands by (0).',
      registers: [registry],
      collect() {
        this.set(isLeader() ? 1 : 0);
      },
    }),
    reconcileDuration: new Histogram({
      name: 'kubeception_reconcile_duration_seconds',
      help: 'Time one reconcile took.',
      labelNames: ['controller', 'result'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'kubeception_reconcile_errors_total',
      help: 'Reconciles that failed and were retried with backoff.',
      labelNames: ['controller'] as const,
      registers: [registry],
    }),
    queueDepth: queueGauge('kubeception_workqueue_depth', 'Keys waiting in the work queue.', (q) => q.length),
    queueInFlight: queueGauge('kubeception_workqueue_in_flight', 'Keys being reconciled right now.', (q) => q.processingCount),
    queueDelayed: queueGauge('kubeception_workqueue_delayed', 'Keys waiting for a retry or requeue-after.', (q) => q.delayedCount),
    tenantsByPhase: new Gauge({
      name: 'kubeception_tenants',
      help: 'TenantControlPlanes by status.phase.',
      labelNames: ['phase'] as const,
      registers: [registry],
    }),
    informerRestarts: new Counter({
      name: 'kubeception_informer_restarts_total',
      help: 'Informer list/watch restarts after a failure.',
      labelNames: ['informer'] as const,
      registers: [registry],
      collect() {
        for (const [informer, counted] of informers) {
          if (informer.restarts > counted) {
            this.inc({ informer: informer.name }, informer.restarts - counted);
            informers.set(informer, informer.restarts);
          }
        }
      },
    }),
  };
  setTenantPhases(metrics, {});
  // Which build runs, the Prometheus way: a constant 1 with the version as a label (an upgrade shows
  // up as the label changing, and `count by (version)` shows a rollout in progress).
  new Gauge({
    name: 'kubeception_build_info',
    help: 'The running operator build: always 1, its version as a label.',
    labelNames: ['version'] as const,
    registers: [registry],
  }).set({ version: options.version ?? productVersion }, 1);
  return metrics;
}

/** An `onProcessed` hook for WorkQueue.run that records duration and errors of `controller`. */
export function recordReconcile(metrics: OperatorMetrics, controller: string): (info: ProcessedInfo) => void {
  return (info) => {
    const result = info.error !== undefined ? 'error' : info.retryInMs !== undefined ? 'requeue' : 'success';
    metrics.reconcileDuration.observe({ controller, result }, info.durationMs / 1000);
    if (info.error !== undefined) metrics.reconcileErrors.inc({ controller });
  };
}

/**
 * Sets the tenants-by-phase gauge from counts (e.g. computed from the informer cache). Known phases
 * missing from `counts` are set to 0, so a phase that empties does not keep its last value.
 */
export function setTenantPhases(metrics: OperatorMetrics, counts: Partial<Record<string, number>>): void {
  metrics.tenantsByPhase.reset();
  for (const phase of PHASES) metrics.tenantsByPhase.set({ phase }, counts[phase] ?? 0);
  for (const [phase, count] of Object.entries(counts)) {
    if (!(PHASES as readonly string[]).includes(phase) && count !== undefined) {
      metrics.tenantsByPhase.set({ phase }, count);
    }
  }
}

/** Counts objects by status.phase (objects without a phase count as Provisioning: not yet reconciled). */
export function countPhases(objects: Iterable<{ status?: { phase?: string } }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const obj of objects) {
    const phase = obj.status?.phase ?? 'Provisioning';
    counts[phase] = (counts[phase] ?? 0) + 1;
  }
  return counts;
}

export type Probe = () => boolean | Promise<boolean>;

/**
 * /readyz of an operator replica. The leader is ready once its informers synced and its workers run. A
 * standby is ready too, as long as it reaches the API server (it is what takes over): were it not, the
 * Deployment of a leader-elected operator would never be Available with more than one replica, and a
 * PodDisruptionBudget counting ready pods would block every node drain.
 */
export function operatorReady(state: { leading: boolean; controllerStarted: boolean; leaseReachable: boolean }): boolean {
  return state.leading ? state.controllerStarted : state.leaseReachable;
}

export interface HealthServerOptions {
  registry: Registry;
  port: number;
  /** Default 0.0.0.0 (reachable by the kubelet and Prometheus). */
  host?: string;
  /** /readyz: 200 when true (e.g. informers synced), 503 otherwise. */
  ready?: Probe;
  /** /healthz: 200 when true (default: always, the process answers). */
  live?: Probe;
  logger?: Logger;
}

export interface HealthServer {
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Serves /metrics, /healthz and /readyz; other paths get 404. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const probe = async (p: Probe | undefined): Promise<boolean> => {
    if (p === undefined) return true;
    try {
      return await p();
    } catch (err) {
      options.logger?.warn({ err }, 'probe threw');
      return false;
    }
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        const body = await options.registry.metrics();
        res.writeHead(200, { 'content-type': options.registry.contentType }).end(body);
      } else if (path === '/healthz' || path === '/livez') {
        const ok = await probe(options.live);
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'unhealthy\n');
      } else if (path === '/readyz') {
        const ok = await probe(options.ready);
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    };
    answer().catch((err: unknown) => {
      options.logger?.error({ err, path }, 'health server request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
