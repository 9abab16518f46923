// The TenantControlPlane as the renderer sees it: the types generated from the CRD schema (metadata plus
// the DEFAULTED spec, as the API server returns it). One source: crds/schema -> crds/generated/types.ts.
export type {
  ContainerResources,
  TenantControlPlane,
  TenantControlPlaneSpec,
} from '../../crds/generated/types.ts';

export const TCP_API_VERSION = 'kubeception.io/v1alpha1';
export const TCP_KIND = 'TenantControlPlane';
