// What rendering needs besides the TenantControlPlane: operator-wide settings and facts observed at runtime.
import { KONNECTIVITY_VERSION, etcdVersionFor } from '../../crds/schema/versions.ts';
import type { ServiceAccountRef } from './api-secret-reader.ts';

export type ImagePullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface RenderOptions {
  /** Registry prefix of every image, default `registry.k8s.io`. */
  imageRegistry?: string;
  /** Tag of `<registry>/etcd`, e.g. `3.6.8-0`. Default: kubeadm's tag for the tenant's minor (crds/schema/versions.ts). */
  etcdVersion?: string;
  /** Default `IfNotPresent` (explicit tags; the test bed pre-loads its images). */
  imagePullPolicy?: ImagePullPolicy;
  /**
   * Secret name -> checksum of its data (see secretDataChecksum). Every Secret a pod mounts must be listed:
   * the pod templates carry a digest of them, so a re-issued certificate rolls the pods.
   */
  secretChecksums: Readonly<Record<string, string>>;
  /** Cluster domain of the HOST cluster (etcd member DNS names), default `cluster.local`. */
  hostClusterDomain?: string;
  /** What the runtime observed of the `<name>-apiserver` Service, once it exists. */
  apiService?: {
    clusterIP?: string;
    /** LoadBalancer ingress IP or host name. */
    loadBalancerAddress?: string;
    /** The node port the API assigned when spec.networkProfile.nodePort was left empty. */
    nodePort?: number;
    /** The node port of the `konnectivity` Service port (NodePort tenants; always assigned by the host). */
    konnectivityNodePort?: number;
  };
  /** Tag of the konnectivity server image, default KONNECTIVITY_VERSION (crds/schema/versions.ts). */
  konnectivityVersion?: string;
  /**
   * Grant this service account (the REST API's) `get` on the tenant's API_READ_SECRETS: set by the
   * reconciler for tcps the API created when the operator runs with --api-service-account.
   */
  apiSecretReader?: ServiceAccountRef;
}

export const DEFAULT_IMAGE_REGISTRY = 'registry.k8s.io';
export const DEFAULT_HOST_CLUSTER_DOMAIN = 'cluster.local';

export interface ResolvedOptions {
  imageRegistry: string;
  etcdVersion: string;
  imagePullPolicy: ImagePullPolicy;
  secretChecksums: Readonly<Record<string, string>>;
  hostClusterDomain: string;
  apiService: NonNullable<RenderOptions['apiService']>;
  konnectivityVersion: string;
  apiSecretReader?: ServiceAccountRef;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Checks and completes the options; `kubernetesVersion` (spec.version) picks the default etcd tag. */
export function resolveOptions(options: RenderOptions, kubernetesVersion: string): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('render options: expected an object');
  if (options.secretChecksums === null || typeof options.secretChecksums !== 'object') {
    throw new TypeError('render options: secretChecksums must be an object of Secret name -> checksum');
  }
  const registry = (options.imageRegistry ?? DEFAULT_IMAGE_REGISTRY).replace(/\/+$/, '');
  if (registry === '' || /\s/.test(registry)) {
    throw new Error(`render options: imageRegistry ${JSON.stringify(options.imageRegistry)} is not a registry prefix`);
  }
  const etcdVersion = options.etcdVersion ?? etcdVersionFor(kubernetesVersion);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(etcdVersion)) {
    throw new Error(`render options: etcdVersion ${JSON.stringify(etcdVersion)} is not a valid image tag`);
  }
  const konnectivityVersion = options.konnectivityVersion ?? KONNECTIVITY_VERSION;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(konnectivityVersion)) {
    throw new Error(`render options: konnectivityVersion ${JSON.stringify(konnectivityVersion)} is not a valid image tag`);
  }
  const pull = options.imagePullPolicy ?? 'IfNotPresent';
  if (!['Always', 'IfNotPresent', 'Never'].includes(pull)) {
    throw new Error(`render options: imagePullPolicy ${JSON.stringify(pull)} must be Always, IfNotPresent or Never`);
  }
  const domain = options.hostClusterDomain ?? DEFAULT_HOST_CLUSTER_DOMAIN;
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(domain)) {
    throw new Error(`render options: hostClusterDomain ${JSON.stringify(domain)} is not a DNS domain`);
  }
  const reader = options.apiSecretReader;
  if (reader !== undefined && !(DNS_SUBDOMAIN.test(reader.namespace ?? '') && DNS_SUBDOMAIN.test(reader.name ?? ''))) {
    throw new Error(`render options: apiSecretReader ${JSON.stringify(reader)} is not a service account (namespace and name)`);
  }
  return {
    imageRegistry: registry,
    etcdVersion,
    imagePullPolicy: pull,
    secretChecksums: options.secretChecksums,
    hostClusterDomain: domain,
    apiService: options.apiService ?? {},
    konnectivityVersion,
    ...(reader === undefined ? {} : { apiSecretReader: { namespace: reader.namespace, name: reader.name } }),
  };
}
