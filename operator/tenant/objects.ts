// The unit the bootstrap renderers produce: one object for the tenant cluster, the part of the bootstrap it
// belongs to (for status), and how it is written.
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { LABELS, MANAGED_BY, type ObjectData, type ObjectRef } from '../../core/index.ts';
import { type AddonName } from './names.ts';

export type BootstrapPart = 'rbac' | 'cluster-info' | 'kubeadm-config' | 'kubelet-config' | 'coredns' | 'kube-proxy' | 'konnectivity' | 'cni';
export const BOOTSTRAP_PARTS: readonly BootstrapPart[] = ['rbac', 'cluster-info', 'kubeadm-config', 'kubelet-config', 'coredns', 'kube-proxy', 'konnectivity', 'cni'];

/**
 * - `apply`: server-side apply on every bootstrap (the operator owns the declared fields).
 * - `create-only`: created when absent, never written again, so user edits survive (the CoreDNS Corefile).
 */
export type WritePolicy = 'apply' | 'create-only';

export interface TenantObject {
  part: BootstrapPart;
  policy: WritePolicy;
  object: ObjectData;
}

export type Metadata = NonNullable<IClusterRole['metadata']>;
type Subject = NonNullable<IClusterRoleBinding['subjects']>[number];
type PolicyRule = NonNullable<IRole['rules']>[number];

export function metadata(name: string, options: { namespace?: string; addon?: AddonName; labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Metadata {
  const labels: Record<string, string> = { ...options.labels, [LABELS.managedBy]: MANAGED_BY };
  if (options.addon !== undefined) labels[LABELS.addon] = options.addon;
  return {
    name,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    labels,
    ...(options.annotations !== undefined ? { annotations: options.annotations } : {}),
  };
}

export function group(name: string): Subject {
  return { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name };
}

export function user(name: string): Subject {
  return { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name };
}

export function serviceAccount(name: string, namespace: string): Subject {
  return { kind: 'ServiceAccount', name, namespace };
}

export function clusterRoleBinding(name: string, clusterRole: string, subjects: Subject[], addon?: AddonName): IClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: metadata(name, { addon }),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects,
  };
}

export function clusterRole(name: string, rules: PolicyRule[], addon?: AddonName): IClusterRole {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: metadata(name, { addon }), rules };
}

/** A Role granting `get` on the named ConfigMaps only, the way kubeadm exposes its ConfigMaps. */
export function configMapReaderRole(name: string, namespace: string, configMaps: string[], addon?: AddonName): IRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: metadata(name, { namespace, addon }),
    rules: [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: configMaps }],
  };
}

export function roleBinding(name: string, namespace: string, role: string, subjects: Subject[], addon?: AddonName): IRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: metadata(name, { namespace, addon }),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
    subjects,
  };
}

/** Any typed object as the apply layer takes it. */
export function applicable(object: { apiVersion: string; kind: string; metadata?: Metadata }): ObjectData {
  return object as unknown as ObjectData;
}

export function refOfObject(object: ObjectData): ObjectRef {
  const meta = object.metadata ?? {};
  return {
    apiVersion: object.apiVersion!,
    kind: object.kind!,
    name: meta.name!,
    ...(meta.namespace ? { namespace: meta.namespace } : {}),
  };
}

/** `ConfigMap kube-system/coredns`, for logs and messages. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}
