// Server-side apply and the small read/delete helpers a reconcile needs. Everything the operator writes
// goes through apply: one field manager, force (the operator is the authority for what it renders), and
// fields owned by other managers are left alone.
import type { KubernetesObject } from '@kubernetes/client-node';
import { FIELD_MANAGER, TENANT_CONTROL_PLANE } from '../contract.ts';
import { isNotFound, type KubeClient } from './kube-client.ts';

export const APPLY_PATCH = 'application/apply-patch+yaml';

/** Identifies one object. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface ApplyOptions {
  fieldManager?: string;
  /** Take over fields another manager owns instead of failing with 409 (default true). */
  force?: boolean;
  dryRun?: boolean;
  signal?: AbortSignal;
}

/**
 * An object to apply: apiVersion, kind and metadata.name are required (checked when it is sent). Typed
 * objects of every source fit as they are: client-node's, kubernetes-models', the generated CRD types.
 */
export type Applicable = TypedObject | ObjectData;

/** What every Kubernetes object has; typed model objects (interfaces, classes) fit as they are. */
interface TypedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; uid?: string };
}

/** An object as plain data, read field by field (object literals, what tenant-side renderers build and compare). */
export type ObjectData = Omit<TypedObject, 'metadata'> & { metadata?: TypedObject['metadata'] & { [field: string]: unknown }; [field: string]: unknown };

// Server-populated metadata: sending managedFields in an apply is an error, and the others either make the
// apply conditional (resourceVersion) or are simply not ours to declare.
const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

/**
 * The body of an apply request for `obj`: a plain JSON copy without server-populated metadata.
 * Throws a clear error when apiVersion, kind or metadata.name is missing.
 */
export function applyBody(obj: Applicable): Record<string, unknown> {
  const ref = refOf(obj);
  const body = JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
  const metadata = body['metadata'] as Record<string, unknown>;
  for (const field of SERVER_METADATA) delete metadata[field];
  body['apiVersion'] = ref.apiVersion;
  body['kind'] = ref.kind;
  return body;
}

/** The reference of an object; throws when apiVersion, kind or metadata.name is missing. */
export function refOf(obj: Applicable): ObjectRef {
  if (typeof obj !== 'object' || obj === null) throw new TypeError('expected a Kubernetes object');
  const what = `${obj.kind ?? '<no kind>'} ${obj.metadata?.name ?? '<no name>'}`;
  if (!obj.apiVersion) throw new Error(`${what}: apiVersion is required`);
  if (!obj.kind) throw new Error(`${what}: kind is required`);
  if (!obj.metadata?.name) throw new Error(`${what}: metadata.name is required`);
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
}

function applyQuery(options: ApplyOptions) {
  return {
    fieldManager: options.fieldManager ?? FIELD_MANAGER,
    force: options.force ?? true,
    dryRun: options.dryRun ? 'All' : undefined,
  };
}

/** Server-side applies `obj` (creates it or updates the fields this manager declares) and returns the result. */
export async function apply<T extends KubernetesObject = KubernetesObject>(
  client: KubeClient,
  obj: Applicable,
  options: ApplyOptions = {},
): Promise<T> {
  const body = applyBody(obj);
  const path = await client.objectPath(refOf(obj));
  return client.request<T>('PATCH', path, {
    body,
    contentType: APPLY_PATCH,
    query: applyQuery(options),
    signal: options.signal,
  });
}

/**
 * Server-side applies the `status` of `obj` through the status subresource (e.g. a TenantControlPlane's).
 * Only apiVersion, kind, name, namespace and status are sent: spec fields in a status apply are ignored
 * by the server anyway, and leaving them out keeps the intent obvious. With SSA, a status field this
 * manager applied before and omits now is removed: always send the complete status you own.
 */
export async function applyStatus<T extends KubernetesObject = KubernetesObject>(
  client: KubeClient,
  obj: Applicable & { status: unknown },
  options: ApplyOptions = {},
): Promise<T> {
  const ref = refOf(obj);
  if (typeof obj.status !== 'object' || obj.status === null) {
    throw new Error(`${ref.kind} ${ref.name}: status must be an object`);
  }
  const body = {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
    status: JSON.parse(JSON.stringify(obj.status)) as unknown,
  };
  const path = await client.objectPath(ref, 'status');
  return client.request<T>('PATCH', path, {
    body,
    contentType: APPLY_PATCH,
    query: applyQuery(options),
    signal: options.signal,
  });
}

/** Reads an object; undefined when it does not exist. */
export async function getOrUndefined<T extends KubernetesObject = Applicable>(
  client: KubeClient,
  ref: ObjectRef,
  signal?: AbortSignal,
): Promise<T | undefined> {
  const path = await client.objectPath(ref);
  try {
    return await client.request<T>('GET', path, { signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export interface DeleteOptions {
  /** Background (default), Foreground or Orphan. */
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Only delete the object with this uid (protects against deleting a re-created namesake). */
  uid?: string;
  gracePeriodSeconds?: number;
  signal?: AbortSignal;
}

/** Deletes an object; resolves false when it was already gone. */
export async function deleteIfExists(client: KubeClient, ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
  const path = await client.objectPath(ref);
  const body = {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    propagationPolicy: options.propagationPolicy ?? 'Background',
    ...(options.uid !== undefined ? { preconditions: { uid: options.uid } } : {}),
    ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
  };
  try {
    await client.request('DELETE', path, { body, signal: options.signal });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Reference of a TenantControlPlane, for getOrUndefined / deleteIfExists. */
export function tenantControlPlaneRef(namespace: string, name: string): ObjectRef {
  return { apiVersion: TENANT_CONTROL_PLANE.apiVersion, kind: TENANT_CONTROL_PLANE.kind, namespace, name };
}
