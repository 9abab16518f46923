// Wires the TenantControlPlane controller: informers on the tcps and on every object the operator made
// (label app.kubernetes.io/managed-by=kubeception), a de-duplicating rate-limited work queue keyed by
// tenant, and N workers running TenantReconciler. A change to, or deletion of, any child enqueues its
// tenant, so a deleted Deployment or Secret comes back.
import type { Logger } from 'pino';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Informer, LABELS, MANAGED_BY, objectKey, tenantControlPlanePath, type KubeClient, type TenantClients } from '../../core/index.ts';
import { WorkQueue } from '../runtime/work-queue.ts';
import { countPhases, recordReconcile, setTenantPhases, type OperatorMetrics } from '../runtime/metrics.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { TenantReconciler, type ReconcilerOptions } from './reconcile-tenant.ts';

/** Kinds the operator creates in the host, watched so that a change or deletion re-reconciles the tenant. */
const CHILD_COLLECTIONS = [
  '/api/v1/secrets',
  '/api/v1/services',
  '/api/v1/configmaps',
  '/apis/apps/v1/deployments',
  '/apis/apps/v1/statefulsets',
  '/apis/networking.k8s.io/v1/networkpolicies',
  '/apis/policy/v1/poddisruptionbudgets',
];

export interface ControllerOptions extends ReconcilerOptions {
  concurrency: number;
  /** Restrict to one namespace (default: all). */
  namespace?: string;
}

export class TenantController {
  readonly queue: WorkQueue;
  readonly #informers: Informer<KubernetesObject>[] = [];
  readonly #tenants: Informer<KubernetesObject & { status?: { phase?: string } }>;
  readonly #reconciler: TenantReconciler;
  readonly #options: ControllerOptions;
  readonly #metrics: OperatorMetrics;
  readonly #logger: Logger;
  #running: Promise<void> | undefined;

  constructor(deps: { client: KubeClient; events: EventRecorder; logger: Logger; metrics: OperatorMetrics; options: ControllerOptions; tenantClients?: TenantClients }) {
    const { client, logger, options } = deps;
    this.#options = options;
    this.#metrics = deps.metrics;
    this.#logger = logger;
    this.queue = new WorkQueue({ name: 'tenantcontrolplanes', logger });
    deps.metrics.observeQueue(this.queue);
    this.#reconciler = new TenantReconciler({ client, events: deps.events, logger, options, tenantClients: deps.tenantClients });
    const scope = (collection: string) => (options.namespace ? collection.replace(/^(\/apis?\/[^/]+(?:\/v[^/]+)?|\/api\/v1)\//, `$1/namespaces/${options.namespace}/`) : collection);
    this.#tenants = new Informer({ client, path: tenantControlPlanePath(options.namespace), name: 'tenantcontrolplanes', logger });
    deps.metrics.observeInformer(this.#tenants);
    this.#tenants.on((event, obj) => {
      this.queue.add(objectKey(obj));
      if (event !== 'resync') setTenantPhases(this.#metrics, countPhases(this.#tenants.list()));
    });
    for (const collection of CHILD_COLLECTIONS) {
      const informer = new Informer<KubernetesObject>({
        client,
        path: scope(collection),
        labelSelector: `${LABELS.managedBy}=${MANAGED_BY},${LABELS.tenant}`,
        name: collection.split('/').pop(),
        logger,
      });
      informer.on((_event, obj) => {
        const tenant = obj.metadata?.labels?.[LABELS.tenant];
        if (tenant && obj.metadata?.namespace) this.queue.add(`${obj.metadata.namespace}/${tenant}`);
      });
      deps.metrics.observeInformer(informer);
      this.#informers.push(informer);
    }
  }

  /** Starts the informers, waits for their first list, then runs the workers until stop(). */
  async start(): Promise<void> {
    for (const informer of [this.#tenants, ...this.#informers]) informer.start();
    await Promise.all([this.#tenants, ...this.#informers].map((i) => i.hasSynced));
    this.#logger.info({ tenants: this.#tenants.keys().length, concurrency: this.#options.concurrency }, 'caches synced, reconciling');
    this.#running = this.queue.run((key, signal) => this.#reconciler.reconcile(key, signal), {
      concurrency: this.#options.concurrency,
      // The queue logs a failed reconcile (with its retry); the reconciler logs which step failed.
      onProcessed: recordReconcile(this.#metrics, 'tenantcontrolplane'),
    });
  }

  /** True once every informer has listed and the workers run (the operator's readiness). */
  get started(): boolean {
    return this.#running !== undefined;
  }

  async stop(): Promise<void> {
    await this.queue.shutDown({ drain: false });
    await this.#running;
    await Promise.all([this.#tenants, ...this.#informers].map((i) => i.stop()));
  }
}
