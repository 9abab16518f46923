// One reconcile of one TenantControlPlane, level-triggered: read what exists, make the host objects
// match the spec (PKI Secrets, etcd, control plane, API Service), bootstrap the tenant once its API
// server serves, and write what was observed into the status. Safe to run again at any point.
//
// The tcp is resolved once into a Tenant (core/tenant.ts) that every step takes. A step that fails
// leaves its condition False with the reason, Ready False, phase Failed and a Warning Event, and the
// error goes back to the work queue, which retries with backoff and counts it in the metrics.
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { Logger } from 'pino';
import {
  CONDITIONS,
  FIELD_MANAGER,
  FINALIZER,
  KONNECTIVITY,
  KubeApiError,
  LABELS,
  TenantSpecError,
  apply,
  applyStatus,
  getOrUndefined,
  deleteIfExists,
  isConflict,
  isNotFound,
  objectNames,
  parseServerUrl,
  pkiSecretName,
  planPki,
  resolveTenant,
  tenantControlPlanePath,
  tenantControlPlaneRef,
  tenantOwnerReference,
  tenantSelector,
  type Applicable,
  type ConditionType,
  type KubeClient,
  type ObjectRef,
  type PkiPlan,
  type PkiSecret,
  type PkiSecretRole,
  type Tenant,
  type TenantClients,
  type TenantControlPlane,
  type TenantControlPlaneStatus,
} from '../../core/index.ts';
import { isCreatedByApi, renderTenant, renderApiServerService, secretDataChecksum, publicEndpoint, type PublicEndpoint, type ServiceAccountRef } from '../render/index.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { deletingStatus, failedStatus, nextStatus, type Failure, type Observed, type WorkloadState } from './status.ts';
import { controlPlaneHasRun } from './control-plane-ran.ts';
import { adoptEtcdVolumeClaims } from './etcd-volumes.ts';
import { requeueAfterMs } from './requeue.ts';
import type { BootstrapTenant } from './tenant-bootstrap.ts';
import type { NodeAddressSource } from './node-address.ts';
import { endpointEvent, type EndpointState } from './endpoint-state.ts';
import { pendingEndpoint } from './pending-endpoint.ts';
import { describeError, isUnreachableError } from './describe-error.ts';

export interface ReconcilerOptions {
  imageRegistry?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /**
   * Address of the host's nodes for NodePort tenants without spec.networkProfile.address, given the host
   * of the endpoint the tenant has now (so that one can be kept); see node-address.ts.
   */
  nodeAddress?: NodeAddressSource;
  /** Work inside the tenant once its API server serves (RBAC, cluster-info, addons); see operator/tenant. */
  bootstrapTenant?: BootstrapTenant;
  /**
   * The REST API's service account (--api-service-account): tcps the API created get a Role and
   * RoleBinding letting it get their API_READ_SECRETS. Unset: no grant is written, and any left over is removed.
   */
  apiServiceAccount?: ServiceAccountRef;
}

/** What the controller's informers hold of a child (its uid), so removing one costs no request when absent. */
export type CachedChild = (ref: ObjectRef) => { uid?: string } | undefined;

export interface ReconcilerDeps {
  client: KubeClient;
  events: EventRecorder;
  logger: Logger;
  options: ReconcilerOptions;
  /** Kept clients of the tenants' API servers: released when a tenant goes away. */
  tenantClients?: TenantClients;
  /** Lookup in the informers' caches; without it, children that are no longer rendered are not removed. */
  cachedChild?: CachedChild;
  now?: () => Date;
}

export interface ApiServiceFacts {
  clusterIP?: string;
  nodePort?: number;
  loadBalancerAddress?: string;
  konnectivityNodePort?: number;
}

/** A step failed: carries the condition it reports on to the status. */
export class StepFailure extends Error {
  readonly failure: Failure;
  constructor(failure: Failure, options?: { cause?: unknown }) {
    super(failure.message, options);
    this.name = 'StepFailure';
    this.failure = failure;
  }
}

/** The host of a published endpoint URL; undefined when it is not one (then nothing is kept). */
function endpointHostOf(url: string): string | undefined {
  try {
    return parseServerUrl(url, 'status.endpoint').host;
  } catch {
    return undefined;
  }
}

/** Runs one step; a failure becomes a StepFailure on `condition` with `reason` and `what` in its message. */
async function step<T>(condition: ConditionType, reason: string, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StepFailure) throw error;
    throw new StepFailure({ condition, reason, message: `${what}: ${describeError(error)}`.slice(0, 2000) }, { cause: error });
  }
}

const describeObject = (obj: Applicable) => `${obj.kind} ${obj.metadata?.name}`;

/** The step condition of a rendered host object: etcd's objects report on Datastore, the rest on APIServer. */
const conditionOf = (obj: Applicable): ConditionType => (obj.metadata?.labels?.[LABELS.component] === 'etcd' ? CONDITIONS.datastore : CONDITIONS.apiServer);

/**
 * The tenant's Secrets, read from the API server and not from a cache: the PKI plan decides whether a CA
 * exists, and a stale cache must never make it look missing.
 */
async function readTenantSecrets(client: KubeClient, tenant: Tenant, signal: AbortSignal): Promise<ISecret[]> {
  const list = await client.request<{ items: ISecret[] }>('GET', `/api/v1/namespaces/${tenant.namespace}/secrets`, {
    query: { labelSelector: tenantSelector(tenant.name) },
    signal,
  });
  return list.items;
}

interface WorkloadObject {
  metadata?: { generation?: number };
  status?: { readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
}

function workloadState(obj: WorkloadObject | undefined, desired: number): WorkloadState {
  if (!obj) return { exists: false, desired, ready: 0, updated: 0, current: false };
  const status = obj.status ?? {};
  return {
    exists: true,
    desired,
    ready: status.readyReplicas ?? 0,
    updated: status.updatedReplicas ?? 0,
    current: (status.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 0),
  };
}

export interface ApiServiceObject {
  kind?: string;
  spec?: { clusterIP?: string; ports?: { name?: string; nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** What the applied API Service tells: ports[0] is always `https`; konnectivity's node port is found by name. */
export function apiServiceFacts(service: ApiServiceObject): ApiServiceFacts {
  const lb = service.status?.loadBalancer?.ingress?.[0];
  const konnectivity = service.spec?.ports?.find((p) => p.name === KONNECTIVITY.servicePortName);
  return {
    clusterIP: service.spec?.clusterIP,
    nodePort: service.spec?.ports?.[0]?.nodePort,
    loadBalancerAddress: lb?.ip ?? lb?.hostname,
    ...(konnectivity?.nodePort === undefined ? {} : { konnectivityNodePort: konnectivity.nodePort }),
  };
}

/** Creates a Secret that must not exist yet (a new CA): POST fails with 409 instead of overwriting one. */
async function createOnly(client: KubeClient, secret: Applicable, signal: AbortSignal): Promise<void> {
  await client.request('POST', `/api/v1/namespaces/${secret.metadata!.namespace!}/secrets`, { body: secret, signal, query: { fieldManager: FIELD_MANAGER } });
}

/** The roots of the PKI: created with a create-only POST, never replaced; one missing in a tenant that ran is an alarm. */
const ROOT_ROLES: ReadonlySet<PkiSecretRole> = new Set(['ca', 'etcd-ca', 'front-proxy-ca', 'sa']);

export class TenantReconciler {
  readonly #d: ReconcilerDeps;

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
  }

  /** Reconciles the tenant with key namespace/name. Returns when to look again, if the tenant is not settled. */
  async reconcile(key: string, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const [namespace, name] = key.split('/') as [string, string];
    const { client, logger } = this.#d;
    const tcp = await getOrUndefined<TenantControlPlane>(client, tenantControlPlaneRef(namespace, name), signal);
    if (!tcp) {
      await this.#d.tenantClients?.release(key);
      return {};
    }
    const log = logger.child({ tenant: key, generation: tcp.metadata?.generation });

    if (tcp.metadata?.deletionTimestamp) return this.#finalize(tcp, signal);
    if (!tcp.metadata?.finalizers?.includes(FINALIZER)) {
      await client.request('PATCH', tenantControlPlanePath(namespace, name), {
        contentType: 'application/merge-patch+json',
        body: { metadata: { finalizers: [...(tcp.metadata?.finalizers ?? []), FINALIZER], resourceVersion: tcp.metadata?.resourceVersion } },
        signal,
      }).catch((err: unknown) => { if (!isConflict(err)) throw err; });
      return { requeueAfterMs: 0 };
    }

    try {
      return await this.#converge(tcp, log, signal);
    } catch (error) {
      // Stopped by the operator's shutdown (or a lost lease): the tenant did nothing wrong.
      if (signal.aborted) throw error;
      const failure = error instanceof StepFailure ? error.failure
        : error instanceof TenantSpecError ? { condition: CONDITIONS.ready, reason: 'InvalidSpec', message: error.message }
        : undefined;
      if (failure === undefined) throw error;
      await this.#reportFailure(tcp, failure, signal);
      log.warn({ condition: failure.condition, reason: failure.reason, err: failure.message }, 'reconcile failed');
      // A spec the operator cannot use waits for the next change of the tcp; anything else is retried.
      if (error instanceof TenantSpecError) return {};
      throw error;
    }
  }

  async #converge(tcp: TenantControlPlane, log: Logger, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const { client, events } = this.#d;
    const held = tcp.status?.endpoint ? endpointHostOf(tcp.status.endpoint) : undefined;
    const nodeAddress = tcp.spec?.networkProfile?.serviceType === 'NodePort' && !tcp.spec.networkProfile.address
      ? await step(CONDITIONS.endpoint, 'NodeAddressUnknown', 'reading the host nodes\' addresses', async () => this.#d.options.nodeAddress?.(held))
      : undefined;
    const tenant = resolveTenant(tcp, { nodeAddress });

    // 1. The API Service first: its ClusterIP / node port / LB address go into the apiserver certificate.
    const serviceObject = renderApiServerService(tenant);
    const service = await step(CONDITIONS.endpoint, 'ApplyFailed', describeObject(serviceObject), () => apply<ApiServiceObject>(client, serviceObject, { signal }));
    const apiService = apiServiceFacts(service);
    const endpoint = publicEndpoint(tenant, { apiService });
    let endpointState: EndpointState = endpoint
      ? { state: this.#d.options.bootstrapTenant ? 'unverified' : 'assigned', url: endpoint.url }
      : await pendingEndpoint(client, tenant, signal);

    // 2. PKI: never a new CA next to an existing tenant; leaves re-issued when SANs change or expiry nears.
    const observed: Observed = {
      pki: { ok: true, issued: [] },
      etcd: workloadState(undefined, tenant.spec.etcd.replicas),
      controlPlane: workloadState(undefined, tenant.spec.controlPlane.replicas),
      endpoint: endpointState,
    };
    const plan = await step(CONDITIONS.pki, 'IssueFailed', 'planning the PKI', () => this.#planPki(tenant, tcp, apiService, endpoint, signal));
    let secrets: PkiSecret[] = [];
    if (plan.status === 'alarm') {
      const message = plan.alarms.map((a) => `${a.secret}: ${a.reason}`).join('; ');
      observed.pki = { ok: false, reason: 'RootMissing', message };
      await events.warning(tcp, 'PKIAlarm', message);
      log.error({ alarms: plan.alarms }, 'PKI alarm: refusing to issue a new CA for a tenant that has one');
    } else {
      for (const change of plan.changes) {
        await step(CONDITIONS.pki, 'WriteFailed', `Secret ${change.name}`, async () => {
          if (ROOT_ROLES.has(change.role) && change.action === 'create') await createOnly(client, change.secret, signal);
          else await apply(client, change.secret, { signal });
        });
        log.info({ secret: change.name, action: change.action, reasons: change.reasons }, 'PKI secret written');
      }
      if (plan.changes.length) {
        await events.normal(tcp, 'CertificatesIssued', `${plan.changes.map((c) => `${c.name} (${c.reasons.join(', ')})`).join('; ')}`.slice(0, 1000));
      }
      observed.pki = { ok: true, issued: plan.changes.map((c) => c.name) };
      secrets = plan.secrets;
    }

    // 3. The host objects: etcd and the control plane, their pods rolled when a mounted Secret changes.
    //    Under a PKI alarm nothing is applied; what exists is only observed for the status.
    if (plan.status === 'ok') {
      const secretChecksums = Object.fromEntries(secrets.map((s) => [s.metadata.name, secretDataChecksum(s.data)]));
      const apiSecretReader = isCreatedByApi(tcp.metadata?.labels) ? this.#d.options.apiServiceAccount : undefined;
      const rendered = renderTenant(tenant, {
        secretChecksums, apiService, imageRegistry: this.#d.options.imageRegistry, imagePullPolicy: this.#d.options.imagePullPolicy,
        ...(apiSecretReader === undefined ? {} : { apiSecretReader }),
      });
      for (const w of rendered.warnings) await events.warning(tcp, 'IgnoredSetting', w.message);
      for (const obj of rendered.objects) {
        const result = await step(conditionOf(obj), 'ApplyFailed', describeObject(obj), () => apply<WorkloadObject & { kind?: string; apiVersion?: string }>(client, obj, { signal }));
        if (obj.kind === 'StatefulSet') observed.etcd = workloadState(result, tenant.spec.etcd.replicas);
        if (obj.kind === 'Deployment') observed.controlPlane = workloadState(result, tenant.spec.controlPlane.replicas);
      }
      if (apiSecretReader === undefined) {
        await step(CONDITIONS.apiServer, 'DeleteFailed', 'removing the REST API\'s Secret read', () => this.#removeApiSecretReader(tenant, log, signal));
      }
      await step(CONDITIONS.datastore, 'AdoptFailed', 'owning the etcd volume claims', () => this.#adoptEtcdClaims(tenant, tcp, log, signal));
    } else {
      const names = objectNames(tenant.name);
      const read = (kind: string, objectName: string) =>
        getOrUndefined<WorkloadObject & { kind?: string; apiVersion?: string }>(client, { apiVersion: 'apps/v1', kind, namespace: tenant.namespace, name: objectName }, signal);
      observed.etcd = workloadState(await read('StatefulSet', names.etcd), tenant.spec.etcd.replicas);
      observed.controlPlane = workloadState(await read('Deployment', names.controlPlane), tenant.spec.controlPlane.replicas);
    }

    // 4. Inside the tenant, once its API server serves. A tenant that does not answer is reported on
    //    TenantBootstrap by the observation itself, and retried soon (requeue.ts).
    const apiServing = observed.controlPlane.ready > 0;
    if (apiServing && endpoint && plan.status === 'ok' && this.#d.options.bootstrapTenant) {
      const byName = new Map(secrets.map((s) => [s.metadata.name, s.data]));
      const konnectivityServer = endpoint.konnectivityPort === undefined ? undefined : { host: endpoint.host, port: endpoint.konnectivityPort };
      const outcome = await this.#d.options.bootstrapTenant(tenant, { endpoint: endpoint.url, konnectivityServer, secrets: byName, signal })
        .catch(async (err: unknown) => {
          // The tenant did not answer or refused: worth a Warning where the user looks, and a retry soon.
          const message = `the tenant API server at ${endpoint.url}: ${describeError(err)}`;
          await events.warning(tcp, 'TenantBootstrapFailed', message);
          return { ok: false, reason: 'BootstrapFailed', message, conditions: [], reachable: isUnreachableError(err) ? undefined : true };
        });
      observed.tenant = outcome;
      if (outcome.reachable !== undefined) {
        endpointState = outcome.reachable
          ? { state: 'reachable', url: endpoint.url }
          : { state: 'unreachable', url: endpoint.url, message: outcome.message };
        observed.endpoint = endpointState;
      }
    }
    const endpointWarning = endpointEvent(endpointState, tcp.status);
    if (endpointWarning) await events.warning(tcp, endpointWarning.reason, endpointWarning.message);

    // 5. Status.
    const status = nextStatus(tenant, tcp.status, observed, this.#now());
    await this.#writeStatus(tenant, status, signal);
    const previousPhase = tcp.status?.phase;
    if (status.phase !== previousPhase) {
      await events.normal(tcp, `Phase${status.phase}`, `phase ${previousPhase ?? '(none)'} -> ${status.phase}`);
      log.info({ phase: status.phase, from: previousPhase }, 'phase changed');
    }
    // Look again without an event only where no watch tells us (see requeue.ts).
    return { requeueAfterMs: requeueAfterMs({ phase: status.phase, pkiAlarm: plan.status === 'alarm', apiServing, bootstrapOk: observed.tenant?.ok, servingCsrsWaiting: observed.tenant?.servingCsrsWaiting }) };
  }

  async #planPki(tenant: Tenant, tcp: TenantControlPlane, apiService: ApiServiceFacts, endpoint: PublicEndpoint | undefined, signal: AbortSignal): Promise<PkiPlan> {
    const { client } = this.#d;
    const existing = await readTenantSecrets(client, tenant, signal);
    // Only a missing root makes 'running' matter: then it decides between finishing an interrupted first
    // create and raising an alarm. Having some Secrets is no proof the tenant ran (a crash between two
    // root writes leaves exactly that), so ask whether its workloads exist.
    const rootMissing = [...ROOT_ROLES].some((role) => !existing.some((s) => s.metadata?.name === pkiSecretName(tenant.name, role)));
    const running = rootMissing && (await controlPlaneHasRun(client, tcp, signal));
    const net = tenant.spec.networkProfile;
    return planPki(existing, {
      name: tenant.name,
      namespace: tenant.namespace,
      endpoint: endpoint?.url ?? `https://${apiService.clusterIP ?? `${objectNames(tenant.name).apiServerService}.${tenant.namespace}.svc`}:${net.port}`,
      networkProfile: net,
      serviceAddresses: [apiService.clusterIP, apiService.loadBalancerAddress].filter((x): x is string => Boolean(x)),
    }, { owner: tenantOwnerReference(tenant), tenantRunning: running, now: this.#now() });
  }

  /**
   * A grant no longer wanted (the operator restarted without --api-service-account, or the tcp is no
   * longer labelled as the API's) goes: only what the informers saw, with its uid as a precondition.
   */
  async #removeApiSecretReader(tenant: Tenant, log: Logger, signal: AbortSignal): Promise<void> {
    const name = objectNames(tenant.name).apiSecretReader;
    for (const kind of ['RoleBinding', 'Role']) {
      const ref = { apiVersion: 'rbac.authorization.k8s.io/v1', kind, namespace: tenant.namespace, name };
      const cached = this.#d.cachedChild?.(ref);
      if (cached === undefined) continue;
      try {
        if (await deleteIfExists(this.#d.client, ref, { signal, ...(cached.uid === undefined ? {} : { uid: cached.uid }) })) {
          log.info({ kind, name }, 'REST API Secret read removed');
        }
      } catch (err) {
        // Another uid: the cache is behind a re-created object, whose watch event brings the tenant back.
        if (!isConflict(err)) throw err;
      }
    }
  }

  /** The datastore's claims outlive a deleted StatefulSet, and go with the tcp. */
  async #adoptEtcdClaims(tenant: Tenant, tcp: TenantControlPlane, log: Logger, signal: AbortSignal): Promise<void> {
    try {
      const adopted = await adoptEtcdVolumeClaims(this.#d.client, tcp, tenantOwnerReference(tenant), signal);
      if (adopted.length) log.info({ claims: adopted }, 'etcd volume claims owned by the tenant');
    } catch (err) {
      // A missing permission must not stop the tenant's reconcile; it is worth a loud warning.
      if (!(err instanceof KubeApiError && err.statusCode === 403)) throw err;
      log.warn({ err: err.message }, 'cannot own the etcd volume claims (RBAC: persistentvolumeclaims list, patch): deleting the etcd StatefulSet would delete the datastore');
    }
  }

  async #writeStatus(tenant: { name: string; namespace: string }, status: TenantControlPlaneStatus, signal: AbortSignal): Promise<void> {
    const ref = tenantControlPlaneRef(tenant.namespace, tenant.name);
    await applyStatus(this.#d.client, { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace }, status }, { signal });
  }

  /** A failed step, where the user looks: the status (best effort: the host may be what failed) and an Event. */
  async #reportFailure(tcp: TenantControlPlane, failure: Failure, signal: AbortSignal): Promise<void> {
    const { namespace, name, generation } = tcp.metadata as { namespace: string; name: string; generation?: number };
    await this.#d.events.warning(tcp, 'ReconcileFailed', `${failure.condition}: ${failure.message}`);
    const status = failedStatus({ generation: generation ?? 0 }, tcp.status, failure, this.#now());
    await this.#writeStatus({ namespace, name }, status, signal).catch((err: unknown) => {
      this.#d.logger.warn({ tenant: `${namespace}/${name}`, err: describeError(err) }, 'could not write the failure into the status');
    });
  }

  /**
   * Children go with the tcp by owner references. The finalizer first marks the phase Deleting (seen by
   * `kubectl get tcp` and the REST API), then, on the next pass, lets go of the tenant's client and
   * releases the tcp. The finalizer list is patched with the resourceVersion read: never over a change
   * someone else made meanwhile.
   */
  async #finalize(tcp: TenantControlPlane, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name, generation } = tcp.metadata as { namespace: string; name: string; generation?: number };
    if (!tcp.metadata?.finalizers?.includes(FINALIZER)) return {};
    if (tcp.status?.phase !== 'Deleting') {
      await this.#d.events.normal(tcp, 'Deleting', 'the tenant control plane and everything it owns are being deleted');
      await this.#writeStatus({ namespace, name }, deletingStatus({ generation: generation ?? 0 }, tcp.status, this.#now()), signal)
        .catch((err: unknown) => { if (!isNotFound(err)) throw err; });
      return { requeueAfterMs: 0 };
    }
    await this.#d.tenantClients?.release(`${namespace}/${name}`);
    await this.#d.client.request('PATCH', tenantControlPlanePath(namespace, name), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers: tcp.metadata.finalizers.filter((f) => f !== FINALIZER), resourceVersion: tcp.metadata.resourceVersion } },
      signal,
    }).catch((err: unknown) => { if (!isConflict(err) && !isNotFound(err)) throw err; });
    return {};
  }

  #now(): Date {
    return (this.#d.now ?? (() => new Date()))();
  }
}
