// kubeadm's certificate set for one tenant: what each certificate is for (pure), and issuing whatever
// is missing from existing material (keys generated all at once, so a tenant costs ~one keygen batch).
import { KONNECTIVITY, PORTAL_IDENTITY } from '../contract.ts';
import { firstHostIp } from './ip.ts';
import { DEFAULT_KEY_ALGORITHM, generatePrivateKey, publicKeyPem, type KeyAlgorithm, KEY_ALGORITHMS } from './keys.ts';
import { assertDnsLabel, classifySans, isDnsName, parseServerUrl } from './names.ts';
import {
  createCaCertificate,
  loadSigner,
  signCertificate,
  type CertAndKey,
  type CertificateRequest,
  type IssueOptions,
} from './x509.ts';

export const CA_IDS = ['ca', 'front-proxy-ca', 'etcd-ca'] as const;
export type CaId = (typeof CA_IDS)[number];

/** Certificates the control plane serves or presents. */
export const LEAF_IDS = [
  'apiserver',
  'apiserver-kubelet-client',
  'apiserver-etcd-client',
  'front-proxy-client',
  'etcd-server',
  'etcd-peer',
] as const;
export type LeafId = (typeof LEAF_IDS)[number];

/** Client certificates embedded in kubeconfigs. */
export const KUBECONFIG_IDS = ['admin', 'super-admin', 'controller-manager', 'scheduler', 'konnectivity-server', 'portal'] as const;
export type KubeconfigId = (typeof KUBECONFIG_IDS)[number];

/** Every CA-signed certificate of the set. */
export type CertId = LeafId | KubeconfigId;
export const CERT_IDS: readonly CertId[] = [...LEAF_IDS, ...KUBECONFIG_IDS];

/** The group the admin kubeconfig carries; the tenant bootstrap binds it to cluster-admin. */
export const TENANT_ADMIN_GROUP = 'kubeception:tenant-admins';
/** kubeadm >= 1.29 puts apiserver-kubelet-client in this group (bound to cluster-admin by kubeadm). */
export const KUBEADM_CLUSTER_ADMIN_GROUP = 'kubeadm:cluster-admins';
export const MASTERS_GROUP = 'system:masters';

/**
 * The user (certificate CN) of every certificate the operator issues, as kubeadm names them where kubeadm
 * has one. Written once here for the specs below and for the REST API, which never mints these names
 * (api/identity.ts): each is bound to powers in the tenant (e.g. kube-apiserver-kubelet-client to
 * system:kubelet-api-admin).
 */
export const OPERATOR_USERS = {
  apiServer: 'kube-apiserver',
  apiServerKubeletClient: 'kube-apiserver-kubelet-client',
  apiServerEtcdClient: 'kube-apiserver-etcd-client',
  frontProxyClient: 'front-proxy-client',
  admin: 'kubernetes-admin',
  superAdmin: 'kubernetes-super-admin',
  controllerManager: 'system:kube-controller-manager',
  scheduler: 'system:kube-scheduler',
  konnectivityServer: KONNECTIVITY.serverUser,
  portal: PORTAL_IDENTITY.user,
} as const;

export const CA_COMMON_NAMES: Record<CaId, string> = {
  ca: 'kubernetes',
  'front-proxy-ca': 'front-proxy-ca',
  'etcd-ca': 'etcd-ca',
};

/** What the PKI of one tenant depends on. */
export interface TenantPkiInput {
  /** TenantControlPlane name (a DNS label) and namespace. */
  name: string;
  namespace: string;
  /**
   * The URL tenant users reach the API server at (status.endpoint, e.g. https://10.0.0.5:31443):
   * the admin and super-admin kubeconfigs point there, and its host is put in the apiserver SANs.
   */
  endpoint: string;
  /** spec.networkProfile; only these fields are read. serviceCIDR may be a dual-stack "v4,v6" list. */
  networkProfile: {
    serviceCIDR: string;
    clusterDomain: string;
    address?: string;
    certSANs?: readonly string[];
  };
  /** Addresses of the host Service `<name>-apiserver` once known: ClusterIP(s), LoadBalancer ingress IPs or host names. */
  serviceAddresses?: readonly string[];
  /** DNS domain of the host cluster, for `<name>-apiserver.<ns>.svc.<domain>` (default cluster.local). */
  hostClusterDomain?: string;
  /** Key type for new keys (default RSA-2048). Existing CAs keep theirs. */
  keyAlgorithm?: KeyAlgorithm;
}

export interface CertificateSpec {
  id: CertId;
  issuer: CaId;
  request: CertificateRequest;
}

export interface KubeconfigSpec {
  id: KubeconfigId;
  clusterName: string;
  userName: string;
  server: string;
}

/** The in-pod address controller-manager, scheduler and konnectivity-server use (same pod as the apiserver). */
export const LOCAL_API_SERVER = 'https://127.0.0.1:6443';

function validateInput(input: TenantPkiInput): void {
  assertDnsLabel(input.name, 'tenant name');
  assertDnsLabel(input.namespace, 'namespace');
  if (!isDnsName(input.networkProfile.clusterDomain)) {
    throw new Error(`networkProfile.clusterDomain "${input.networkProfile.clusterDomain}" is not a DNS name`);
  }
  const hostDomain = input.hostClusterDomain ?? 'cluster.local';
  if (!isDnsName(hostDomain)) throw new Error(`hostClusterDomain "${hostDomain}" is not a DNS name`);
  if (input.keyAlgorithm !== undefined && !KEY_ALGORITHMS.includes(input.keyAlgorithm)) {
    throw new Error(`keyAlgorithm "${String(input.keyAlgorithm)}" is not one of ${KEY_ALGORITHMS.join(', ')}`);
  }
}

/** The apiserver serving certificate's SANs (design §3). */
export function apiServerSans(input: TenantPkiInput): { dnsNames: string[]; ipAddresses: string[] } {
  const { name, namespace, networkProfile } = input;
  const hostDomain = input.hostClusterDomain ?? 'cluster.local';
  const service = `${name}-apiserver`;
  const serviceIps = networkProfile.serviceCIDR.split(',').map((cidr) => firstHostIp(cidr));
  const endpointHost = parseServerUrl(input.endpoint, 'endpoint').host;
  const extra = [
    ...(networkProfile.address ? [networkProfile.address] : []),
    endpointHost,
    ...(input.serviceAddresses ?? []),
    ...(networkProfile.certSANs ?? []),
  ];
  // Validate the user-given ones separately so the error names the field.
  classifySans(networkProfile.certSANs ?? [], 'networkProfile.certSANs');
  if (networkProfile.address) classifySans([networkProfile.address], 'networkProfile.address');
  classifySans(input.serviceAddresses ?? [], 'serviceAddresses');
  return classifySans(
    [
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      `kubernetes.default.svc.${networkProfile.clusterDomain}`,
      service,
      `${service}.${namespace}`,
      `${service}.${namespace}.svc`,
      `${service}.${namespace}.svc.${hostDomain}`,
      'localhost',
      ...serviceIps,
      '127.0.0.1',
      ...extra,
    ],
    'apiserver SANs',
  );
}

/** etcd server and peer SANs: the headless Service, its pods (wildcards) and loopback. */
export function etcdSans(input: TenantPkiInput): { dnsNames: string[]; ipAddresses: string[] } {
  const hostDomain = input.hostClusterDomain ?? 'cluster.local';
  const service = `${input.name}-etcd`;
  const ns = input.namespace;
  return classifySans(
    [
      'localhost',
      service,
      `${service}.${ns}`,
      `${service}.${ns}.svc`,
      `${service}.${ns}.svc.${hostDomain}`,
      `*.${service}.${ns}.svc.${hostDomain}`,
      `*.${service}.${ns}.svc`,
      `*.${service}`,
      '127.0.0.1',
      '::1',
    ],
    'etcd SANs',
  );
}

function client(id: CertId, issuer: CaId, commonName: string, organizations: string[] = []): CertificateSpec {
  return { id, issuer, request: { commonName, organizations, dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] } };
}

/** What every CA-signed certificate of the tenant must say; pure, throws on bad input. */
export function tenantCertificateSpecs(input: TenantPkiInput): Record<CertId, CertificateSpec> {
  validateInput(input);
  const etcd = etcdSans(input);
  const etcdName = `${input.name}-etcd`;
  const both = ['serverAuth', 'clientAuth'] as const;
  return {
    apiserver: {
      id: 'apiserver',
      issuer: 'ca',
      request: { commonName: OPERATOR_USERS.apiServer, organizations: [], ...apiServerSans(input), extKeyUsages: ['serverAuth'] },
    },
    'apiserver-kubelet-client': client('apiserver-kubelet-client', 'ca', OPERATOR_USERS.apiServerKubeletClient, [
      KUBEADM_CLUSTER_ADMIN_GROUP,
    ]),
    'apiserver-etcd-client': client('apiserver-etcd-client', 'etcd-ca', OPERATOR_USERS.apiServerEtcdClient),
    'front-proxy-client': client('front-proxy-client', 'front-proxy-ca', OPERATOR_USERS.frontProxyClient),
    'etcd-server': { id: 'etcd-server', issuer: 'etcd-ca', request: { commonName: etcdName, organizations: [], ...etcd, extKeyUsages: both } },
    'etcd-peer': { id: 'etcd-peer', issuer: 'etcd-ca', request: { commonName: etcdName, organizations: [], ...etcd, extKeyUsages: both } },
    admin: client('admin', 'ca', OPERATOR_USERS.admin, [TENANT_ADMIN_GROUP]),
    'super-admin': client('super-admin', 'ca', OPERATOR_USERS.superAdmin, [MASTERS_GROUP]),
    'controller-manager': client('controller-manager', 'ca', OPERATOR_USERS.controllerManager),
    scheduler: client('scheduler', 'ca', OPERATOR_USERS.scheduler),
    // The konnectivity server beside the apiserver: it sends TokenReviews for the agents' tokens (the
    // tenant bootstrap binds this user to system:auth-delegator).
    'konnectivity-server': client('konnectivity-server', 'ca', OPERATOR_USERS.konnectivityServer),
    // The REST API inside the tenant: no group, its narrow ClusterRole is bound to the user alone
    // (operator/tenant/portal-rbac.ts).
    portal: client('portal', 'ca', OPERATOR_USERS.portal),
  };
}

/** Where each kubeconfig points and under which names. */
export function tenantKubeconfigSpecs(input: TenantPkiInput): Record<KubeconfigId, KubeconfigSpec> {
  const external = parseServerUrl(input.endpoint, 'endpoint').url;
  const clusterName = input.name;
  const spec = (id: KubeconfigId, userName: string, server: string): KubeconfigSpec => ({ id, clusterName, userName, server });
  return {
    admin: spec('admin', OPERATOR_USERS.admin, external),
    'super-admin': spec('super-admin', OPERATOR_USERS.superAdmin, external),
    'controller-manager': spec('controller-manager', OPERATOR_USERS.controllerManager, LOCAL_API_SERVER),
    scheduler: spec('scheduler', OPERATOR_USERS.scheduler, LOCAL_API_SERVER),
    'konnectivity-server': spec('konnectivity-server', OPERATOR_USERS.konnectivityServer, LOCAL_API_SERVER),
    // The API reaches the tenant where users do (it points its client at status.endpoint anyway).
    portal: spec('portal', OPERATOR_USERS.portal, external),
  };
}

/** The complete PKI of a tenant, as PEM text. */
export interface PkiMaterial {
  cas: Record<CaId, CertAndKey>;
  /** Service-account token signing key (sa.key) and its public half (sa.pub). */
  serviceAccount: { keyPem: string; publicKeyPem: string };
  certs: Record<CertId, CertAndKey>;
}

/** Whatever exists so far; entries present are taken as they are. */
export interface PartialPkiMaterial {
  cas?: Partial<Record<CaId, CertAndKey>>;
  serviceAccountKeyPem?: string;
  certs?: Partial<Record<CertId, CertAndKey>>;
}

export interface GenerateOptions extends Omit<IssueOptions, 'validityMs'> {
  caValidityMs?: number;
  leafValidityMs?: number;
}

/**
 * Completes the tenant's PKI: keeps every entry of `existing` untouched and issues the missing ones
 * (CAs self-signed, the rest signed by the CA named in their spec). All new keys are generated
 * concurrently before anything is signed. Deciding what to throw away is planPki's job.
 */
export async function generateTenantPki(
  input: TenantPkiInput,
  existing: PartialPkiMaterial = {},
  options: GenerateOptions = {},
): Promise<PkiMaterial> {
  const specs = tenantCertificateSpecs(input);
  const algorithm = input.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM;
  const missingCas = CA_IDS.filter((id) => !existing.cas?.[id]);
  const missingCerts = CERT_IDS.filter((id) => !existing.certs?.[id]);
  const needsSa = existing.serviceAccountKeyPem === undefined;

  const keyJobs = [...missingCas, ...missingCerts, ...(needsSa ? ['sa'] : [])];
  const keys = await Promise.all(keyJobs.map(() => generatePrivateKey(algorithm)));
  const keyFor = (id: string): string => keys[keyJobs.indexOf(id)] as string;

  const issue = { now: options.now, backdateMs: options.backdateMs };
  const newCas = await Promise.all(
    missingCas.map(async (id) => {
      const keyPem = keyFor(id);
      const certPem = await createCaCertificate(CA_COMMON_NAMES[id], keyPem, { ...issue, validityMs: options.caValidityMs });
      return [id, { certPem, keyPem }] as const;
    }),
  );
  const cas = { ...existing.cas, ...Object.fromEntries(newCas) } as Record<CaId, CertAndKey>;
  const signers = Object.fromEntries(CA_IDS.map((id) => [id, loadSigner(cas[id])])) as Record<CaId, ReturnType<typeof loadSigner>>;

  const newCerts = await Promise.all(
    missingCerts.map(async (id) => {
      const spec = specs[id];
      const keyPem = keyFor(id);
      const certPem = await signCertificate(spec.request, keyPem, signers[spec.issuer], { ...issue, validityMs: options.leafValidityMs });
      return [id, { certPem, keyPem }] as const;
    }),
  );
  const saKeyPem = existing.serviceAccountKeyPem ?? keyFor('sa');
  return {
    cas,
    serviceAccount: { keyPem: saKeyPem, publicKeyPem: publicKeyPem(saKeyPem) },
    certs: { ...existing.certs, ...Object.fromEntries(newCerts) } as Record<CertId, CertAndKey>,
  };
}
