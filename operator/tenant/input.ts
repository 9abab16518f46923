// What rendering the tenant bootstrap needs, checked once so that every renderer can trust it: a bad
// endpoint or CA fails here with a clear message instead of as a broken kubeconfig inside the tenant.
import { X509Certificate } from 'node:crypto';
import { FLANNEL_CNI_PLUGIN_VERSION, FLANNEL_IMAGE_REGISTRY, FLANNEL_VERSION, KONNECTIVITY_VERSION, coreDNSVersionFor } from '../../crds/schema/versions.ts';
import { containsIP, isCIDR, parseCIDR, parseIP } from '../../crds/schema/net.ts';
import { KONNECTIVITY, type TenantControlPlaneSpec } from '../../core/index.ts';

export type ImagePullPolicy = 'Always' | 'IfNotPresent' | 'Never';
export type CgroupDriver = 'systemd' | 'cgroupfs';

/**
 * Settings that depend on the worker machines rather than on the tenant: they go into the kubelet-config
 * and kube-proxy ConfigMaps every joining node reads. The test bed's workers, for example, need
 * `cgroupDriver: 'cgroupfs'` and `failCgroupV1: false`.
 */
export interface NodeSettings {
  /** Default `systemd` (kubeadm's default). */
  cgroupDriver?: CgroupDriver;
  /** kubelet >= 1.35 refuses cgroup v1 hosts unless this is false. Unset leaves kubelet's default. */
  failCgroupV1?: boolean;
  /**
   * kubelet asks the tenant CA for its serving certificate (a `kubernetes.io/kubelet-serving` CSR that
   * kubelet-serving-csr.ts approves) instead of signing one itself. Default true: the tenant apiserver
   * runs with --kubelet-certificate-authority, so a self-signed kubelet certificate breaks logs/exec.
   */
  serverTLSBootstrap?: boolean;
  /** More KubeletConfiguration fields, merged last (deep for objects, replacing for lists). */
  kubelet?: Record<string, unknown>;
  /** More KubeProxyConfiguration fields, merged last (deep for objects, replacing for lists). */
  kubeProxy?: Record<string, unknown>;
}

export interface TenantBootstrapInput {
  /** The TenantControlPlane's name: kubeadm's clusterName (the cluster name in a joined kubelet's kubeconfig). */
  clusterName: string;
  /** The defaulted spec, as the API server returns it. */
  spec: TenantControlPlaneSpec;
  /** PEM of the tenant cluster CA (`<name>-ca` ca.crt). */
  caCertPem: string;
  /** The tenant API server as workers reach it, `https://host:port` (status.endpoint). */
  endpoint: string;
  /**
   * Where the konnectivity agents dial the konnectivity servers: the endpoint's host and the API Service's
   * konnectivity port (its node port for NodePort tenants). Default: the endpoint's host, port 8132.
   */
  konnectivityServer?: { host: string; port: number };
  versions?: {
    /** Default spec.version. */
    kubernetes?: string;
    /** CoreDNS image tag; default the one kubeadm of that minor deploys. */
    coreDNS?: string;
    /** konnectivity agent image tag; default KONNECTIVITY_VERSION (the server's). */
    konnectivity?: string;
    /** flannel image tag (the CNI add-on); default FLANNEL_VERSION. */
    flannel?: string;
    /** flannel-cni-plugin image tag; default FLANNEL_CNI_PLUGIN_VERSION. */
    flannelCNIPlugin?: string;
  };
  /** Registry prefix of the add-on images, default `registry.k8s.io`. */
  imageRegistry?: string;
  /** Registry prefix of the CNI add-on's (flannel's) images, default `ghcr.io/flannel-io` (upstream's). */
  flannelImageRegistry?: string;
  /** Default `IfNotPresent` (explicit tags). */
  imagePullPolicy?: ImagePullPolicy;
  /** CoreDNS replicas, default 2 (kubeadm's). */
  coreDNSReplicas?: number;
  node?: NodeSettings;
}

export interface ResolvedNodeSettings {
  cgroupDriver: CgroupDriver;
  failCgroupV1: boolean | undefined;
  serverTLSBootstrap: boolean;
  kubelet: Record<string, unknown>;
  kubeProxy: Record<string, unknown>;
}

/** The input with every default filled in and every value checked. */
export interface ResolvedInput {
  clusterName: string;
  kubernetesVersion: string;
  coreDNSVersion: string;
  konnectivityVersion: string;
  flannelVersion: string;
  flannelCNIPluginVersion: string;
  caCertPem: string;
  endpoint: { url: string; host: string; port: number; hostPort: string };
  konnectivityServer: { host: string; port: number };
  serviceCIDR: string;
  podCIDR: string;
  dnsServiceIP: string;
  clusterDomain: string;
  imageRegistry: string;
  flannelImageRegistry: string;
  imagePullPolicy: ImagePullPolicy;
  coreDNSReplicas: number;
  addons: { coreDNS: boolean; kubeProxy: boolean; konnectivity: boolean; cni: boolean };
  node: ResolvedNodeSettings;
}

export class TenantBootstrapInputError extends Error {
  override name = 'TenantBootstrapInputError';
}

function fail(what: string, message: string): never {
  throw new TenantBootstrapInputError(`tenant bootstrap: ${what} ${message}`);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_DOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VERSION = /^v\d+\.\d+\.\d+$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `https://host:port` -> its parts; `hostPort` is what kubeadm's controlPlaneEndpoint and `kubeadm join` take. */
export function parseEndpoint(endpoint: string): ResolvedInput['endpoint'] {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    fail('endpoint', `${JSON.stringify(endpoint)} is not a URL such as https://10.0.0.5:31443`);
  }
  if (url.protocol !== 'https:') fail('endpoint', `${JSON.stringify(endpoint)} must use https`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '') {
    fail('endpoint', `${JSON.stringify(endpoint)} must be scheme, host and port only`);
  }
  const port = url.port === '' ? 443 : Number(url.port);
  // URL keeps IPv6 hosts in brackets, which is also how host:port must write them.
  const host = url.hostname;
  return { url: `https://${host}:${port}`, host: host.replace(/^\[|\]$/g, ''), port, hostPort: `${host}:${port}` };
}

function checkCaPem(pem: string): void {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) fail('caCertPem', 'must be a PEM certificate');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (error) {
    fail('caCertPem', `is not a readable certificate: ${(error as Error).message}`);
  }
  if (!cert.ca) fail('caCertPem', 'is not a CA certificate');
}

export function resolveInput(input: TenantBootstrapInput): ResolvedInput {
  if (!isPlainObject(input)) fail('input', 'must be an object');
  const { clusterName, spec } = input;
  if (typeof clusterName !== 'string' || !DNS_LABEL.test(clusterName)) fail('clusterName', `${JSON.stringify(clusterName)} is not a DNS label`);
  if (!isPlainObject(spec)) fail('spec', 'is missing');
  const net = spec.networkProfile;
  if (!isPlainObject(net)) fail('spec.networkProfile', 'is missing (is the spec defaulted?)');
  checkCaPem(input.caCertPem);
  const endpoint = parseEndpoint(input.endpoint);

  const kubernetesVersion = input.versions?.kubernetes ?? spec.version;
  if (typeof kubernetesVersion !== 'string' || !VERSION.test(kubernetesVersion)) {
    fail('Kubernetes version', `${JSON.stringify(kubernetesVersion)} is not a release version such as v1.36.5`);
  }
  let coreDNSVersion = input.versions?.coreDNS;
  if (coreDNSVersion === undefined) {
    try {
      coreDNSVersion = coreDNSVersionFor(kubernetesVersion);
    } catch (error) {
      fail('CoreDNS version', `unknown: ${(error as Error).message}; pass versions.coreDNS`);
    }
  }
  if (!IMAGE_TAG.test(coreDNSVersion)) fail('versions.coreDNS', `${JSON.stringify(coreDNSVersion)} is not an image tag`);
  const konnectivityVersion = input.versions?.konnectivity ?? KONNECTIVITY_VERSION;
  if (!IMAGE_TAG.test(konnectivityVersion)) fail('versions.konnectivity', `${JSON.stringify(konnectivityVersion)} is not an image tag`);
  const flannelVersion = input.versions?.flannel ?? FLANNEL_VERSION;
  if (!IMAGE_TAG.test(flannelVersion)) fail('versions.flannel', `${JSON.stringify(flannelVersion)} is not an image tag`);
  const flannelCNIPluginVersion = input.versions?.flannelCNIPlugin ?? FLANNEL_CNI_PLUGIN_VERSION;
  if (!IMAGE_TAG.test(flannelCNIPluginVersion)) fail('versions.flannelCNIPlugin', `${JSON.stringify(flannelCNIPluginVersion)} is not an image tag`);
  const konnectivityServer = input.konnectivityServer ?? { host: endpoint.host, port: KONNECTIVITY.agentPort };
  if (!isPlainObject(konnectivityServer) || typeof konnectivityServer.host !== 'string' || !/^[A-Za-z0-9.:-]+$/.test(konnectivityServer.host)) {
    fail('konnectivityServer.host', `${JSON.stringify(konnectivityServer?.host)} is not a host name or IP address`);
  }
  if (!Number.isInteger(konnectivityServer.port) || konnectivityServer.port < 1 || konnectivityServer.port > 65535) {
    fail('konnectivityServer.port', `${JSON.stringify(konnectivityServer.port)} is not a port`);
  }

  for (const field of ['serviceCIDR', 'podCIDR'] as const) {
    if (typeof net[field] !== 'string' || !isCIDR(net[field])) fail(`spec.networkProfile.${field}`, `${JSON.stringify(net[field])} is not a CIDR`);
  }
  const dnsIP = typeof net.dnsServiceIP === 'string' ? parseIP(net.dnsServiceIP) : undefined;
  if (dnsIP === undefined) fail('spec.networkProfile.dnsServiceIP', `${JSON.stringify(net.dnsServiceIP)} is not an IP address`);
  if (!containsIP(parseCIDR(net.serviceCIDR)!, dnsIP)) {
    fail('spec.networkProfile.dnsServiceIP', `${net.dnsServiceIP} is outside serviceCIDR ${net.serviceCIDR}`);
  }
  if (typeof net.clusterDomain !== 'string' || !DNS_DOMAIN.test(net.clusterDomain)) {
    fail('spec.networkProfile.clusterDomain', `${JSON.stringify(net.clusterDomain)} is not a DNS domain`);
  }

  const registry = (input.imageRegistry ?? 'registry.k8s.io').replace(/\/+$/, '');
  if (registry === '' || /\s/.test(registry)) fail('imageRegistry', `${JSON.stringify(input.imageRegistry)} is not a registry prefix`);
  const flannelRegistry = (input.flannelImageRegistry ?? FLANNEL_IMAGE_REGISTRY).replace(/\/+$/, '');
  if (flannelRegistry === '' || /\s/.test(flannelRegistry)) fail('flannelImageRegistry', `${JSON.stringify(input.flannelImageRegistry)} is not a registry prefix`);
  const pull = input.imagePullPolicy ?? 'IfNotPresent';
  if (!['Always', 'IfNotPresent', 'Never'].includes(pull)) fail('imagePullPolicy', `${JSON.stringify(pull)} must be Always, IfNotPresent or Never`);
  const replicas = input.coreDNSReplicas ?? 2;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 100) fail('coreDNSReplicas', `${replicas} must be a whole number 1..100`);

  const node: NodeSettings = input.node ?? {};
  if (!isPlainObject(node)) fail('node', 'must be an object');
  const cgroupDriver = node.cgroupDriver ?? 'systemd';
  if (cgroupDriver !== 'systemd' && cgroupDriver !== 'cgroupfs') fail('node.cgroupDriver', `${JSON.stringify(cgroupDriver)} must be systemd or cgroupfs`);
  if (node.failCgroupV1 !== undefined && typeof node.failCgroupV1 !== 'boolean') fail('node.failCgroupV1', 'must be a boolean');
  if (node.serverTLSBootstrap !== undefined && typeof node.serverTLSBootstrap !== 'boolean') fail('node.serverTLSBootstrap', 'must be a boolean');
  for (const field of ['kubelet', 'kubeProxy'] as const) {
    const extra = node[field];
    if (extra === undefined) continue;
    if (!isPlainObject(extra)) fail(`node.${field}`, 'must be an object of configuration fields');
    for (const key of ['apiVersion', 'kind']) {
      if (key in extra) fail(`node.${field}`, `may not set ${key}`);
    }
  }

  const addons = spec.addons;
  return {
    clusterName,
    kubernetesVersion,
    coreDNSVersion,
    konnectivityVersion,
    flannelVersion,
    flannelCNIPluginVersion,
    caCertPem: input.caCertPem,
    endpoint,
    konnectivityServer: { host: konnectivityServer.host, port: konnectivityServer.port },
    serviceCIDR: net.serviceCIDR,
    podCIDR: net.podCIDR,
    dnsServiceIP: net.dnsServiceIP,
    clusterDomain: net.clusterDomain,
    imageRegistry: registry,
    flannelImageRegistry: flannelRegistry,
    imagePullPolicy: pull,
    coreDNSReplicas: replicas,
    // The CRD defaults each to enabled; an absent block means the same.
    addons: {
      coreDNS: addons?.coreDNS?.enabled ?? true,
      kubeProxy: addons?.kubeProxy?.enabled ?? true,
      konnectivity: addons?.konnectivity?.enabled ?? true,
      cni: addons?.cni?.enabled ?? true,
    },
    node: {
      cgroupDriver,
      failCgroupV1: node.failCgroupV1,
      serverTLSBootstrap: node.serverTLSBootstrap ?? true,
      kubelet: (node.kubelet ?? {}) as Record<string, unknown>,
      kubeProxy: (node.kubeProxy ?? {}) as Record<string, unknown>,
    },
  };
}

/**
 * Merges `extra` into `base`: objects deeply, everything else (lists included) replaced. Neither input
 * is changed. `null` in extra removes the field.
 */
export function mergeConfig(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    if (value === null) {
      delete out[key];
    } else if (isPlainObject(value) && isPlainObject(out[key])) {
      out[key] = mergeConfig(out[key] as Record<string, unknown>, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}
