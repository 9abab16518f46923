// Labels, selectors and owner references every host object of a tenant carries (docs/contracts.md).
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { LABELS, MANAGED_BY, tenantOwnerReference, type Component, type Tenant } from '../../core/index.ts';

// The meta/v1 types, taken through kubernetes-models (their home package is only a transitive dependency).
export type IObjectMeta = NonNullable<IConfigMap['metadata']>;
export type IOwnerReference = NonNullable<IObjectMeta['ownerReferences']>[number];

/** The labels that select one component's pods; a subset of commonLabels, stable for the object's life. */
export function selectorLabels(tenant: string, component: Component): Record<string, string> {
  return { [LABELS.tenant]: tenant, [LABELS.component]: component };
}

export function commonLabels(tenant: string, component: Component): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, ...selectorLabels(tenant, component) };
}

/** `kubeception.io/tenant=demo,kubeception.io/component=control-plane`: the scale subresource's selector. */
export function selectorString(tenant: string, component: Component): string {
  return Object.entries(selectorLabels(tenant, component))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function ownerReference(tenant: Pick<Tenant, 'name' | 'uid'>): IOwnerReference {
  return tenantOwnerReference(tenant);
}

export function objectMeta(tenant: Tenant, name: string, component: Component): IObjectMeta {
  return {
    name,
    namespace: tenant.namespace,
    labels: commonLabels(tenant.name, component),
    ownerReferences: [ownerReference(tenant)],
  };
}
