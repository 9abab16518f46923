// One reconcile of one TenantControlPlane, level-triggered: read what exists, make the host objects
// match the spec (PKI Secrets, etcd, control plane, API Service), bootstrap the tenant once its API
// server serves, and write what was observed into the status. Safe to run again at any point.
import type { Logger } from 'pino';
import type { TenantControlPlane } from '../../crds/generated/types.ts';
import { planPki, type PkiPlan } from '../pki/index.ts';
import { renderTenant, renderApiServerService, secretDataChecksum, objectNames, secretNames, publicEndpoint, checkTenant, LABELS } from '../render/index.ts';
import { apply, applyStatus, getOrUndefined, tenantControlPlaneRef, TENANT_CONTROL_PLANE, type Applicable } from '../runtime/apply.ts';
import { KubeApiError, isConflict, isNotFound, type KubeClient } from '../runtime/kube-client.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { nextStatus, type Observed, type WorkloadState } from './status.ts';
import { controlPlaneHasRun } from './control-plane-ran.ts';
import { adoptEtcdVolumeClaims } from './etcd-volumes.ts';
import { requeueAfterMs } from './requeue.ts';

export const FINALIZER = 'kubeception.io/cleanup';

export interface ReconcilerOptions {
  imageRegistry?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Address of the host's nodes for NodePort tenants without spec.networkProfile.address. */
  nodeAddress?: () => Promise<string | undefined>;
  /** Work inside the tenant once its API server serves (RBAC, cluster-info, addons); see operator/tenant. */
  bootstrapTenant?: (tcp: TenantControlPlane, ctx: { endpoint: string; secrets: Map<string, Record<string, string>>; signal: AbortSignal }) => Promise<NonNullable<Observed['tenant']>>;
}

export interface ReconcilerDeps {
  client: KubeClient;
  events: EventRecorder;
  logger: Logger;
  options: ReconcilerOptions;
  now?: () => Date;
}

interface SecretObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  data?: Record<string, string>;
  [k: string]: unknown;
}

const tcpPath = (ns: string, name: string) => `/apis/${TENANT_CONTROL_PLANE.group}/${TENANT_CONTROL_PLANE.version}/namespaces/${ns}/${TENANT_CONTROL_PLANE.plural}/${name}`;

/**
 * The tenant's Secrets, read from the API server and not from a cache: the PKI plan decides whether a CA
 * exists, and a stale cache must never make it look missing.
 */
async function readTenantSecrets(client: KubeClient, tcp: TenantControlPlane, signal: AbortSignal): Promise<SecretObject[]> {
  const ns = tcp.metadata!.namespace!;
  const list = await client.request<{ items: SecretObject[] }>('GET', `/api/v1/namespaces/${ns}/secrets`, {
    query: { labelSelector: `${LABELS.tenant}=${tcp.metadata!.name}` },
    signal,
  });
  return list.items;
}

function workloadState(obj: Record<string, unknown> | undefined, desired: number): WorkloadState {
  if (!obj) return { exists: false, desired, ready: 0, updated: 0, current: false };
  const status = (obj.status ?? {}) as { readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number; currentRevision?: string; updateRevision?: string };
  const generation = (obj.metadata as { generation?: number }).generation ?? 0;
  return {
    exists: true,
    desired,
    ready: status.readyReplicas ?? 0,
    updated: status.updatedReplicas ?? 0,
    current: (status.observedGeneration ?? 0) >= generation,
  };
}

/** Creates a Secret that must not exist yet (a new CA): POST fails with 409 instead of overwriting one. */
async function createOnly(client: KubeClient, secret: Applicable, signal: AbortSignal): Promise<void> {
  const ns = secret.metadata!.namespace!;
  await client.request('POST', `/api/v1/namespaces/${ns}/secrets`, { body: secret, signal, query: { fieldManager: 'kubeception-operator' } });
}

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
    if (!tcp) return {};
    const log = logger.child({ tenant: key, generation: tcp.metadata?.generation });

    if (tcp.metadata?.deletionTimestamp) return this.#finalize(tcp, signal);
    if (!tcp.metadata?.finalizers?.includes(FINALIZER)) {
      await client.request('PATCH', tcpPath(namespace, name), {
        contentType: 'application/merge-patch+json',
        body: { metadata: { finalizers: [...(tcp.metadata?.finalizers ?? []), FINALIZER], resourceVersion: tcp.metadata?.resourceVersion } },
        signal,
      }).catch((err: unknown) => { if (!isConflict(err)) throw err; });
      return { requeueAfterMs: 0 };
    }

    const tenant = checkTenant(tcp as never);
    // 1. The API Service first: its ClusterIP / node port / LB address go into the apiserver certificate.
    const service = await apply<Record<string, unknown>>(client, renderApiServerService(tenant) as unknown as Applicable, { signal });
    const svcSpec = service.spec as { clusterIP?: string; ports?: { nodePort?: number }[] };
    const lb = (service.status as { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } | undefined)?.loadBalancer?.ingress?.[0];
    const apiService = { clusterIP: svcSpec.clusterIP, nodePort: svcSpec.ports?.[0]?.nodePort, loadBalancerAddress: lb?.ip ?? lb?.hostname };
    let spec = tcp.spec;
    if (spec.networkProfile.serviceType === 'NodePort' && !spec.networkProfile.address && this.#d.options.nodeAddress) {
      const address = await this.#d.options.nodeAddress();
      if (address) spec = { ...spec, networkProfile: { ...spec.networkProfile, address } };
    }
    const effective = { ...tcp, spec } as TenantControlPlane;
    const endpoint = publicEndpoint(checkTenant(effective as never), { apiService });

    // 2. PKI: never a new CA next to an existing tenant; leaves re-issued when SANs change or expiry nears.
    const observed: Observed = {
      pki: { ok: true, issued: [] },
      etcd: workloadState(undefined, tcp.spec.etcd.replicas),
      controlPlane: workloadState(undefined, tcp.spec.controlPlane.replicas),
      endpoint: endpoint?.url,
    };
    const existing = await readTenantSecrets(client, tcp, signal);
    // Only a missing root makes 'running' matter: then it decides between finishing an interrupted first
    // create and raising an alarm. Having some Secrets is no proof the tenant ran (a crash between two
    // root writes leaves exactly that), so ask whether its workloads exist.
    const roots = secretNames(name);
    const rootMissing = [roots.ca, roots.etcdCA, roots.frontProxyCA, roots.serviceAccount].some((root) => !existing.some((s) => s.metadata?.name === root));
    const running = rootMissing && (await controlPlaneHasRun(client, tcp, signal));
    const owner = { apiVersion: TENANT_CONTROL_PLANE.apiVersion, kind: TENANT_CONTROL_PLANE.kind, name, uid: tcp.metadata!.uid! };
    const plan: PkiPlan = await planPki(existing as never, {
      name, namespace,
      endpoint: endpoint?.url ?? `https://${apiService.clusterIP ?? `${objectNames(name).apiServerService}.${namespace}.svc`}:${spec.networkProfile.port}`,
      networkProfile: spec.networkProfile,
      serviceAddresses: [apiService.clusterIP, apiService.loadBalancerAddress].filter((x): x is string => Boolean(x)),
    }, { owner, tenantRunning: running, now: this.#now() });
    let secrets: { metadata: { name: string }; data: Record<string, string> }[] = [];
    if (plan.status === 'alarm') {
      const message = plan.alarms.map((a) => `${a.secret}: ${a.reason}`).join('; ');
      observed.pki = { ok: false, reason: 'RootMissing', message };
      await this.#d.events.warning(tcp, 'PKIAlarm', message);
      log.error({ alarms: plan.alarms }, 'PKI alarm: refusing to issue a new CA for a tenant that has one');
    } else {
      for (const change of plan.changes) {
        const isRoot = ['ca', 'etcd-ca', 'front-proxy-ca', 'sa'].includes(change.role);
        if (isRoot && change.action === 'create') await createOnly(client, change.secret as unknown as Applicable, signal);
        else await apply(client, change.secret as unknown as Applicable, { signal });
        log.info({ secret: change.name, action: change.action, reasons: change.reasons }, 'PKI secret written');
      }
      if (plan.changes.length) {
        await this.#d.events.normal(tcp, 'CertificatesIssued', `${plan.changes.map((c) => `${c.name} (${c.reasons.join(', ')})`).join('; ')}`.slice(0, 1000));
      }
      observed.pki = { ok: true, issued: plan.changes.map((c) => c.name) };
      secrets = plan.secrets;
    }

    // 3. The host objects: etcd and the control plane, their pods rolled when a mounted Secret changes.
    //    Under a PKI alarm nothing is applied; what exists is only observed for the status.
    if (plan.status === 'ok') {
      const secretChecksums = Object.fromEntries(secrets.map((s) => [s.metadata.name, secretDataChecksum(s.data)]));
      const rendered = renderTenant(effective as never, {
        secretChecksums, apiService, imageRegistry: this.#d.options.imageRegistry, imagePullPolicy: this.#d.options.imagePullPolicy,
      });
      for (const w of rendered.warnings) await this.#d.events.warning(tcp, 'IgnoredSetting', w.message);
      for (const obj of rendered.objects) {
        const result = await apply<Record<string, unknown>>(client, obj as unknown as Applicable, { signal });
        if (obj.kind === 'StatefulSet') observed.etcd = workloadState(result, tcp.spec.etcd.replicas);
        if (obj.kind === 'Deployment') observed.controlPlane = workloadState(result, tcp.spec.controlPlane.replicas);
      }
      // The datastore's claims outlive a deleted StatefulSet, and go with the tcp.
      try {
        const adopted = await adoptEtcdVolumeClaims(client, tcp, owner, signal);
        if (adopted.length) log.info({ claims: adopted }, 'etcd volume claims owned by the tenant');
      } catch (err) {
        // A missing permission must not stop the tenant's reconcile; it is worth a loud warning.
        if (!(err instanceof KubeApiError && err.statusCode === 403)) throw err;
        log.warn({ err: err.message }, 'cannot own the etcd volume claims (RBAC: persistentvolumeclaims list, patch): deleting the etcd StatefulSet would delete the datastore');
      }
    } else {
      const names = objectNames(name);
      const read = (apiVersion: string, kind: string, objectName: string) =>
        getOrUndefined<Record<string, unknown>>(client, { apiVersion, kind, namespace, name: objectName }, signal);
      observed.etcd = workloadState(await read('apps/v1', 'StatefulSet', names.etcd), tcp.spec.etcd.replicas);
      observed.controlPlane = workloadState(await read('apps/v1', 'Deployment', names.controlPlane), tcp.spec.controlPlane.replicas);
    }

    // 4. Inside the tenant, once its API server serves.
    const apiServing = observed.controlPlane.ready > 0;
    if (apiServing && endpoint && plan.status === 'ok' && this.#d.options.bootstrapTenant) {
      const byName = new Map(secrets.map((s) => [s.metadata.name, s.data]));
      observed.tenant = await this.#d.options.bootstrapTenant(effective, { endpoint: endpoint.url, secrets: byName, signal })
        .catch((err: unknown) => ({ ok: false, reason: 'BootstrapFailed', message: String(err) }));
    }

    // 5. Status.
    const status = nextStatus(tcp, observed, this.#now());
    await applyStatus(client, { apiVersion: TENANT_CONTROL_PLANE.apiVersion, kind: TENANT_CONTROL_PLANE.kind, metadata: { name, namespace }, status } as never, { signal });
    const previousPhase = tcp.status?.phase;
    if (status.phase !== previousPhase) {
      await this.#d.events.normal(tcp, `Phase${status.phase}`, `phase ${previousPhase ?? '(none)'} -> ${status.phase}`);
      log.info({ phase: status.phase, from: previousPhase }, 'phase changed');
    }
    // Look again without an event only where no watch tells us (see requeue.ts).
    return { requeueAfterMs: requeueAfterMs({ phase: status.phase, pkiAlarm: plan.status === 'alarm', apiServing, bootstrapOk: observed.tenant?.ok }) };
  }

  /** Children go with the tcp by owner references; the finalizer only marks the phase and releases. */
  async #finalize(tcp: TenantControlPlane, signal: AbortSignal): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name } = tcp.metadata as { namespace: string; name: string };
    if (!tcp.metadata?.finalizers?.includes(FINALIZER)) return {};
    await this.#d.events.normal(tcp, 'Deleting', 'the tenant control plane and everything it owns are being deleted');
    await this.#d.client.request('PATCH', tcpPath(namespace, name), {
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
