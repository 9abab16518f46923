// ClusterStore over the host API server: TenantControlPlane objects, by default one namespace per
// cluster (`kc-<id>`: the design's isolation unit, so NetworkPolicies, quotas and RBAC can be per
// tenant), or all in one shared namespace. The namespace outlives the tcp until the operator's
// finalizer has let the tcp go; the namespace is deleted after that, never before (the operator may
// still need the Secrets in it to clean up).
import type { V1Namespace, V1NamespaceList } from '@kubernetes/client-node';
import { ClusterConflictError, ClusterExistsError, type ClusterStore } from '../cluster-store.ts';
import { accountOf, type TenantControlPlane } from '../tcp.ts';
import { isStatus, onHost, type KubeClient } from './kube.ts';
import { CREATED_BY_API, GROUP, LABELS, PLURAL, VERSION } from '../../core/index.ts';

export type NamespaceLayout = { kind: 'per-cluster'; prefix: string } | { kind: 'shared'; namespace: string };


interface TcpList {
  items: TenantControlPlane[];
  metadata?: { continue?: string };
}

export interface KubeClusterStoreOptions {
  client: KubeClient;
  layout: NamespaceLayout;
  /** Namespaces without their tcp are collected after this grace (a create in flight makes the namespace first). */
  orphanGraceMs?: number;
}

const MERGE_PATCH = 'application/merge-patch+json';

export class KubeClusterStore implements ClusterStore {
  readonly #client: KubeClient;
  readonly #layout: NamespaceLayout;
  readonly #orphanGraceMs: number;

  constructor(options: KubeClusterStoreOptions) {
    this.#client = options.client;
    this.#layout = options.layout;
    this.#orphanGraceMs = options.orphanGraceMs ?? 5 * 60_000;
    if (options.layout.kind === 'per-cluster' && !/^[a-z]([-a-z0-9]{0,40})$/.test(options.layout.prefix)) {
      throw new Error(`invalid namespace prefix ${JSON.stringify(options.layout.prefix)}: a DNS label start, at most 41 characters`);
    }
  }

  namespaceFor(id: string): string {
    return this.#layout.kind === 'per-cluster' ? `${this.#layout.prefix}${id}` : this.#layout.namespace;
  }

  /** The one namespace all clusters live in (shared layout); undefined when each has its own. */
  get sharedNamespace(): string | undefined {
    return this.#layout.kind === 'shared' ? this.#layout.namespace : undefined;
  }

  /**
   * Whether a tcp is one of this API's clusters: it lives where the layout puts it. Another API
   * deployment (another prefix or shared namespace) may label its tcps the same way; listing those
   * would show clusters that get() cannot find and the meter would bill them twice.
   */
  owns(tcp: TenantControlPlane): boolean {
    return tcp.metadata.namespace === this.namespaceFor(tcp.metadata.name);
  }

  #collection(namespace?: string): string {
    const base = `/apis/${GROUP}/${VERSION}`;
    return namespace === undefined ? `${base}/${PLURAL}` : `${base}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}`;
  }

  #path(id: string): string {
    return `${this.#collection(this.namespaceFor(id))}/${encodeURIComponent(id)}`;
  }

  async create(tcp: TenantControlPlane): Promise<TenantControlPlane> {
    const id = tcp.metadata.name;
    const namespace = this.namespaceFor(id);
    if (tcp.metadata.namespace !== namespace) throw new Error(`tcp ${id} must be in namespace ${namespace}, not ${tcp.metadata.namespace}`);
    return onHost(async () => {
      const madeNamespace = this.#layout.kind === 'per-cluster' ? await this.#ensureNamespace(namespace, id, accountOf(tcp) ?? '') : false;
      try {
        return await this.#client.request<TenantControlPlane>('POST', this.#collection(namespace), { body: tcp });
      } catch (error) {
        if (isStatus(error, 409)) throw new ClusterExistsError(id);
        // Leave nothing behind for a create that did not happen.
        if (madeNamespace) await this.#client.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => {});
        throw error;
      }
    });
  }

  /** Creates the cluster's namespace; false when it was there already. */
  async #ensureNamespace(namespace: string, id: string, account: string): Promise<boolean> {
    const body: V1Namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: { [LABELS.createdBy]: CREATED_BY_API, [LABELS.cluster]: id, [LABELS.account]: account },
      },
    };
    try {
      await this.#client.request('POST', '/api/v1/namespaces', { body });
      return true;
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw error;
    }
  }

  async get(id: string): Promise<TenantControlPlane | undefined> {
    return onHost(async () => {
      try {
        return await this.#client.request<TenantControlPlane>('GET', this.#path(id));
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    });
  }

  async list(account?: string): Promise<TenantControlPlane[]> {
    const namespace = this.sharedNamespace;
    const labelSelector = account === undefined ? LABELS.account : `${LABELS.account}=${account}`;
    return onHost(async () => {
      const items: TenantControlPlane[] = [];
      let token: string | undefined;
      do {
        // Pages keep each answer (and the API server's memory per request) bounded.
        const page: TcpList = await this.#client.request<TcpList>('GET', this.#collection(namespace), {
          query: { labelSelector, limit: 500, continue: token },
        });
        items.push(...page.items.filter((tcp) => this.owns(tcp)));
        token = page.metadata?.continue || undefined;
      } while (token !== undefined);
      return items;
    });
  }

  listCurrent(account: string): Promise<TenantControlPlane[]> {
    return this.list(account);
  }

  async patch(id: string, patch: Record<string, unknown>): Promise<TenantControlPlane | undefined> {
    return onHost(async () => {
      try {
        return await this.#client.request<TenantControlPlane>('PATCH', this.#path(id), { body: patch, contentType: MERGE_PATCH });
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        if (isStatus(error, 409)) throw new ClusterConflictError(id);
        throw error;
      }
    });
  }

  async delete(id: string): Promise<{ found: boolean; gone: boolean }> {
    return onHost(async () => {
      try {
        await this.#client.request('DELETE', this.#path(id), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
      } catch (error) {
        if (isStatus(error, 404)) return { found: false, gone: true };
        throw error;
      }
      const gone = (await this.get(id)) === undefined;
      if (gone) await this.#deleteNamespace(id);
      return { found: true, gone };
    });
  }

  async #deleteNamespace(id: string): Promise<void> {
    if (this.#layout.kind !== 'per-cluster') return;
    try {
      await this.#client.request('DELETE', `/api/v1/namespaces/${this.namespaceFor(id)}`);
    } catch (error) {
      if (!isStatus(error, 404, 409)) throw error;
    }
  }

  /**
   * Deletes namespaces the API made whose tcp is gone (its finalizer done). Run periodically;
   * returns how many it deleted.
   */
  async collectGarbage(now: Date = new Date()): Promise<number> {
    if (this.#layout.kind !== 'per-cluster') return 0;
    const namespaces = await this.#client.request<V1NamespaceList>('GET', '/api/v1/namespaces', {
      query: { labelSelector: `${LABELS.createdBy}=${CREATED_BY_API},${LABELS.cluster}` },
    });
    let deleted = 0;
    for (const namespace of namespaces.items) {
      const id = namespace.metadata?.labels?.[LABELS.cluster];
      const created = Date.parse(String(namespace.metadata?.creationTimestamp ?? ''));
      if (id === undefined || namespace.metadata?.deletionTimestamp !== undefined) continue;
      if (namespace.metadata?.name !== this.namespaceFor(id)) continue;
      if (!(now.getTime() - created > this.#orphanGraceMs)) continue;
      if ((await this.get(id)) !== undefined) continue;
      await this.#deleteNamespace(id);
      deleted++;
    }
    return deleted;
  }

  async ready(): Promise<void> {
    const resources = await onHost(() => this.#client.request<{ resources?: { name: string }[] }>('GET', `/apis/${GROUP}/${VERSION}`)).catch(
      (error: unknown) => {
        if (isStatus(error, 404)) throw new Error(`the host does not serve ${GROUP}/${VERSION}: is the TenantControlPlane CRD installed?`);
        throw error;
      },
    );
    if (!(resources.resources ?? []).some((r) => r.name === PLURAL)) {
      throw new Error(`the host does not serve ${PLURAL}.${GROUP}: is the TenantControlPlane CRD installed?`);
    }
  }
}
