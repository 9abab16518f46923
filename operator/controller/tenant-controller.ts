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

/**
 * Kinds the operator creates in the host, watched so that a change or deletion re-reconciles the tenant.
 * Their caches also tell the reconciler which children exist that it no longer renders (cachedChild).
 */
const CHILD_KINDS = [
  { apiVersion: 'v1', kind: 'Secret', path: '/api/v1/secrets' },
  { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
  { apiVersion: 'v1', kind: 'ConfigMap', path: '/api/v1/configmaps' },
  { apiVersion: 'apps/v1', kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', path: '/apis/networking.k8s.io/v1/networkpolicies' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', path: '/apis/policy/v1/poddisruptionbudgets' },
  // The REST API's per-tenant Secret read (--api-service-account).
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', path: '/apis/rbac.authorization.k8s.io/v1/roles' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', path: '/apis/rbac.authorization.k8s.io/v1/rolebindings' },
] as const;

/** `/api/v1/secrets` -> `/api/v1/namespaces/<ns>/secrets` when the operator watches one namespace. */
export function scopedCollection(collection: string, namespace: string | undefined): string {
  return namespace ? collection.replace(/^(\/apis?\/[^/]+(?:\/v[^/]+)?|\/api\/v1)\//, `$1/namespaces/${namespace}/`) : collection;
}

export interface ControllerOptions extends ReconcilerOptions {
  concurrency: number;
  /** Restrict to one namespace (default: all). */
  namespace?: string;
}

export class TenantController {
  readonly queue: WorkQueue;
  readonly #informers: Informer<KubernetesObject>[] = [];
  /** `apiVersion/kind` -> the informer of that child kind. */
  readonly #childInformers = new Map<string, Informer<KubernetesObject>>();
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
    this.#reconciler = new TenantReconciler({
      client, events: deps.events, logger, options, tenantClients: deps.tenantClients,
      cachedChild: (ref) => {
        const found = this.#childInformers.get(`${ref.apiVersion}/${ref.kind}`)?.get(ref.namespace, ref.name);
        return found === undefined ? undefined : { ...(found.metadata?.uid === undefined ? {} : { uid: found.metadata.uid }) };
      },
    });
    this.#tenants = new Informer({ client, path: tenantControlPlanePath(options.namespace), name: 'tenantcontrolplanes', logger });
    deps.metrics.observeInformer(this.#tenants);
    this.#tenants.on((event, obj) => {
      this.queue.add(objectKey(obj));
      if (event !== 'resync') setTenantPhases(this.#metrics, countPhases(this.#tenants.list()));
    });
    for (const child of CHILD_KINDS) {
      const informer = new Informer<KubernetesObject>({
        client,
        path: scopedCollection(child.path, options.namespace),
        labelSelector: `${LABELS.managedBy}=${MANAGED_BY},${LABELS.tenant}`,
        name: child.path.split('/').pop(),
        logger,
      });
      this.#childInformers.set(`${child.apiVersion}/${child.kind}`, informer);
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
