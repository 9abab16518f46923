// The one I/O edge that writes the tenant bootstrap: server-side apply of every `apply` object (field
// manager kubeception-operator, force), create-if-absent for `create-only` objects, and removal of add-on
// objects that should no longer exist. It needs a system:masters identity (the super-admin kubeconfig):
// the admin kubeconfig's group is only bound to cluster-admin by this very bootstrap.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { FIELD_MANAGER, KubeClient, apply, deleteIfExists, getOrUndefined, isConflict, type ObjectRef } from '../../core/index.ts';
import { describeRef, refOfObject, type TenantObject } from './objects.ts';
import type { AddonInventory, TenantBootstrapPlan } from './plan.ts';

export interface BootstrapOptions {
  fieldManager?: string;
  signal?: AbortSignal;
  logger?: Logger;
}

export interface BootstrapResult {
  /** Objects server-side applied (unchanged ones included: apply is a no-op for them). */
  applied: ObjectRef[];
  /** create-only objects that were absent and have been created. */
  created: ObjectRef[];
  /** create-only objects that already existed and were left exactly as they are. */
  kept: ObjectRef[];
  /** Add-on objects deleted because their add-on is off (or no longer renders them). */
  pruned: ObjectRef[];
}

interface Listed {
  metadata?: { name?: string; namespace?: string; uid?: string; deletionTimestamp?: string; labels?: Record<string, string> };
}

/** Creates `object` unless an object of that name exists; true when it created it. Never modifies an existing one. */
export async function createIfAbsent(client: KubeClient, object: TenantObject['object'], options: BootstrapOptions = {}): Promise<boolean> {
  const ref = refOfObject(object);
  if ((await getOrUndefined(client, ref, options.signal)) !== undefined) return false;
  const path = await client.collectionPath(ref.apiVersion, ref.kind, ref.namespace);
  try {
    await client.request('POST', path, { body: object, query: { fieldManager: options.fieldManager ?? FIELD_MANAGER }, signal: options.signal });
    return true;
  } catch (error) {
    // Created by someone else between our GET and POST: theirs stays.
    if (isConflict(error)) return false;
    throw error;
  }
}

function sameObject(a: ObjectRef, kind: string, name: string | undefined, namespace: string | undefined): boolean {
  return a.kind === kind && a.name === name && (a.namespace ?? '') === (namespace ?? '');
}

/** Deletes objects carrying the add-on's label that are not in its desired set. */
export async function pruneAddon(client: KubeClient, inventory: AddonInventory, options: BootstrapOptions = {}): Promise<ObjectRef[]> {
  const pruned: ObjectRef[] = [];
  for (const kind of inventory.kinds) {
    const path = await client.collectionPath(kind.apiVersion, kind.kind, kind.namespace);
    const list = await client.request<{ items?: Listed[] }>('GET', path, { query: { labelSelector: inventory.labelSelector }, signal: options.signal });
    for (const item of list.items ?? []) {
      const name = item.metadata?.name;
      const namespace = item.metadata?.namespace;
      if (name === undefined || item.metadata?.deletionTimestamp) continue;
      // Checked here too: deleting is not something to leave to a selector alone.
      const labels = item.metadata?.labels ?? {};
      if (!Object.entries(inventory.labels).every(([k, v]) => labels[k] === v)) continue;
      if (inventory.desired.some((ref) => sameObject(ref, kind.kind, name, namespace))) continue;
      const ref: ObjectRef = { apiVersion: kind.apiVersion, kind: kind.kind, name, ...(namespace ? { namespace } : {}) };
      // The uid precondition keeps a namesake created meanwhile (e.g. the add-on turned on again) alive.
      if (await deleteIfExists(client, ref, { uid: item.metadata?.uid, signal: options.signal })) pruned.push(ref);
    }
  }
  return pruned;
}

/**
 * Writes the plan into the tenant. Stops at the first error (the caller retries the whole, idempotent
 * bootstrap). Accepts a KubeConfig for the tenant (a client is made and closed here) or a KubeClient.
 */
export async function bootstrapTenant(tenant: KubeConfig | KubeClient, plan: TenantBootstrapPlan, options: BootstrapOptions = {}): Promise<BootstrapResult> {
  const client = tenant instanceof KubeClient ? tenant : new KubeClient(tenant);
  const result: BootstrapResult = { applied: [], created: [], kept: [], pruned: [] };
  const log = options.logger;
  try {
    for (const entry of plan.objects) {
      const ref = refOfObject(entry.object);
      if (entry.policy === 'create-only') {
        const created = await createIfAbsent(client, entry.object, options);
        (created ? result.created : result.kept).push(ref);
        if (created) log?.info({ object: describeRef(ref), part: entry.part }, 'created in tenant');
      } else {
        await apply(client, entry.object, { fieldManager: options.fieldManager ?? FIELD_MANAGER, force: true, signal: options.signal });
        result.applied.push(ref);
      }
    }
    for (const inventory of plan.addons) {
      const pruned = await pruneAddon(client, inventory, options);
      for (const ref of pruned) log?.info({ object: describeRef(ref), addon: inventory.addon }, 'removed add-on object from tenant');
      result.pruned.push(...pruned);
    }
  } finally {
    if (client !== tenant) await client.close();
  }
  log?.debug({ applied: result.applied.length, created: result.created.length, kept: result.kept.length, pruned: result.pruned.length }, 'tenant bootstrap written');
  return result;
}
