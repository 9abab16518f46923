// Everything the operator creates inside a tenant cluster, as one pure function of the input: the objects
// in apply order and, per add-on, which objects should exist (so that objects of an add-on that is off,
// or that a newer version no longer renders, can be found by label and removed).
import { LABELS, MANAGED_BY, type ObjectRef } from '../../core/index.ts';
import { renderClusterInfo } from './cluster-info.ts';
import { renderCoreDNS } from './coredns.ts';
import { renderFlannel } from './flannel.ts';
import { resolveInput, type ResolvedInput, type TenantBootstrapInput } from './input.ts';
import { renderKonnectivity } from './konnectivity.ts';
import { renderKubeProxy } from './kube-proxy.ts';
import { renderKubeadmConfig } from './kubeadm-config.ts';
import { renderKubeletConfig } from './kubelet-config.ts';
import { ADDONS, type AddonName } from './names.ts';
import { refOfObject, type TenantObject } from './objects.ts';
import { renderJoinRbac } from './rbac.ts';
import { renderPortalRbac } from './portal-rbac.ts';

/** Where to look for an add-on's objects: a kind, and the namespace for namespaced kinds. */
export interface AddonKind {
  apiVersion: string;
  kind: string;
  namespace?: string;
}

export interface AddonInventory {
  addon: AddonName;
  enabled: boolean;
  /** The labels every object of the add-on carries. */
  labels: Record<string, string>;
  /** The same as a selector: `app.kubernetes.io/managed-by=kubeception,kubeception.io/addon=<addon>` */
  labelSelector: string;
  /** Kinds the add-on's objects have (whether or not it is enabled). */
  kinds: AddonKind[];
  /** The objects that should exist: everything rendered when enabled, nothing when off. */
  desired: ObjectRef[];
}

export interface TenantBootstrapPlan {
  input: ResolvedInput;
  /** In apply order: RBAC, cluster-info, kubeadm-config, kubelet-config, kube-proxy, CoreDNS, konnectivity, CNI. */
  objects: TenantObject[];
  addons: AddonInventory[];
}

export function addonLabels(addon: AddonName): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, [LABELS.addon]: addon };
}

export function addonLabelSelector(addon: AddonName): string {
  return Object.entries(addonLabels(addon)).map(([k, v]) => `${k}=${v}`).join(',');
}

function kindsOf(objects: TenantObject[]): AddonKind[] {
  const seen = new Map<string, AddonKind>();
  for (const { object } of objects) {
    const ref = refOfObject(object);
    const kind: AddonKind = { apiVersion: ref.apiVersion, kind: ref.kind, ...(ref.namespace ? { namespace: ref.namespace } : {}) };
    seen.set(`${kind.apiVersion}/${kind.kind}/${kind.namespace ?? ''}`, kind);
  }
  return [...seen.values()];
}

/** Pure: the tenant bootstrap for a TenantControlPlane. Throws TenantBootstrapInputError on bad input. */
export function renderTenantBootstrap(input: TenantBootstrapInput): TenantBootstrapPlan {
  const resolved = resolveInput(input);
  const rendered: Record<AddonName, TenantObject[]> = {
    'kube-proxy': renderKubeProxy(resolved),
    coredns: renderCoreDNS(resolved),
    konnectivity: renderKonnectivity(resolved),
    cni: renderFlannel(resolved),
  };
  const enabled: Record<AddonName, boolean> = {
    coredns: resolved.addons.coreDNS,
    'kube-proxy': resolved.addons.kubeProxy,
    konnectivity: resolved.addons.konnectivity,
    cni: resolved.addons.cni,
  };
  const objects = [
    ...renderJoinRbac(),
    ...renderPortalRbac(),
    ...renderClusterInfo(resolved),
    ...renderKubeadmConfig(resolved),
    ...renderKubeletConfig(resolved),
    ...(enabled['kube-proxy'] ? rendered['kube-proxy'] : []),
    ...(enabled.coredns ? rendered.coredns : []),
    ...(enabled.konnectivity ? rendered.konnectivity : []),
    ...(enabled.cni ? rendered.cni : []),
  ];
  const addons = ADDONS.map((addon) => ({
    addon,
    enabled: enabled[addon],
    labels: addonLabels(addon),
    labelSelector: addonLabelSelector(addon),
    kinds: kindsOf(rendered[addon]),
    desired: enabled[addon] ? rendered[addon].map((o) => refOfObject(o.object)) : [],
  }));
  return { input: resolved, objects, addons };
}
