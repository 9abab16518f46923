// The contract: every name that the CRD, the operator, the REST API, the manifests and the people who
// run them agree on. The custom resource's identity, its phases and condition types, the labels and
// annotations the operator and the API put on objects, and the name of every object the operator derives
// from a tenant. Written once here; docs/contracts.md explains them. Everything else imports them.

// ---- The custom resource ----------------------------------------------------------------------------
export const GROUP = 'kubeception.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'TenantControlPlane';
export const LIST_KIND = `${KIND}List`;
export const PLURAL = 'tenantcontrolplanes';
export const SINGULAR = 'tenantcontrolplane';
export const SHORT_NAMES = ['tcp'] as const;
export const CATEGORIES = ['kubeception'] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

export const TENANT_CONTROL_PLANE = { group: GROUP, version: VERSION, apiVersion: API_VERSION, kind: KIND, plural: PLURAL } as const;

/** REST path of the tcp collection (all namespaces, or one), of one tcp, or of its subresource. */
export function tenantControlPlanePath(namespace?: string, name?: string, subresource?: 'status' | 'scale'): string {
  const base = `/apis/${GROUP}/${VERSION}`;
  if (namespace === undefined) return `${base}/${PLURAL}`;
  const collection = `${base}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}`;
  if (name === undefined) return collection;
  return `${collection}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

// ---- Status ---------------------------------------------------------------------------------------------
/** status.phase. Deleting while the operator's finalizer runs; Failed while a PKI alarm holds the tenant. */
export const PHASES = ['Provisioning', 'Ready', 'Upgrading', 'Deleting', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

/** status.conditions[].type: Ready summarises the others. */
export const CONDITIONS = {
  ready: 'Ready',
  pki: 'PKI',
  datastore: 'Datastore',
  apiServer: 'APIServer',
  endpoint: 'Endpoint',
  tenantBootstrap: 'TenantBootstrap',
  // one per part of the work inside the tenant (operator/tenant)
  tenantRBAC: 'TenantRBAC',
  clusterInfo: 'ClusterInfo',
  kubeadmConfig: 'KubeadmConfig',
  kubeletConfig: 'KubeletConfig',
  coreDNS: 'CoreDNS',
  kubeProxy: 'KubeProxy',
  /** The konnectivity agents inside the tenant (and their tunnel to the server beside each apiserver). */
  konnectivity: 'Konnectivity',
  /** The pod network (the CNI add-on, flannel) on the tenant's nodes. */
  cni: 'CNI',
} as const;
export type ConditionType = (typeof CONDITIONS)[keyof typeof CONDITIONS];

// ---- konnectivity ---------------------------------------------------------------------------------------
/**
 * What the konnectivity server beside each tenant apiserver (operator/render) and the agents inside the
 * tenant (operator/tenant) agree on: the agents' identity (a service account token for this audience,
 * reviewed by the server as `serverUser`) and the port the server listens on for them.
 */
export const KONNECTIVITY = {
  serverUser: 'system:konnectivity-server',
  audience: 'system:konnectivity-server',
  agentNamespace: 'kube-system',
  agentServiceAccount: 'konnectivity-agent',
  /** The server's agent port, also the port of the API Service's `konnectivity` port (not NodePort). */
  agentPort: 8132,
  /** The name of that Service port (ports[0] stays `https`). */
  servicePortName: 'konnectivity',
} as const;

// ---- The REST API inside a tenant ------------------------------------------------------------------------
/**
 * The one identity the REST API uses inside a tenant (core/pki issues its kubeconfig, operator/tenant binds
 * its RBAC): it signs per-user kubeconfigs through the tenant's CertificateSigningRequest API (create and
 * approve for `clientSigner` only; the tenant's kube-controller-manager signs with the cluster CA), mints
 * and revokes join tokens, and counts nodes. The API never holds a CA key.
 */
export const PORTAL_IDENTITY = {
  user: 'kubeception:portal',
  /** The built-in signer of client certificates the tenant apiserver accepts (--client-ca-file). */
  clientSigner: 'kubernetes.io/kube-apiserver-client',
} as const;

// ---- Metadata -------------------------------------------------------------------------------------------
/** The operator's finalizer on every tcp: it marks the phase Deleting and releases the tenant's clients. */
export const FINALIZER = 'kubeception.io/cleanup';
/** Field manager of every server-side apply the operator makes. */
export const FIELD_MANAGER = 'kubeception-operator';
/** Value of LABELS.managedBy on every object the operator makes (host and tenant). */
export const MANAGED_BY = 'kubeception';
/** Value of LABELS.createdBy on the objects the REST API makes. */
export const CREATED_BY_API = 'kubeception-api';

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  createdBy: 'app.kubernetes.io/created-by',
  /** The tcp's name, on every host object derived from it. */
  tenant: 'kubeception.io/tenant',
  /** Which part of the tenant a host object belongs to (see Component). */
  component: 'kubeception.io/component',
  /** Inside a tenant: every object of one add-on, so that turning it off finds them all. */
  addon: 'kubeception.io/addon',
  /** The portal account that owns a tcp (REST API). */
  account: 'kubeception.io/account',
  /** The portal size of a tcp (REST API). */
  size: 'kubeception.io/size',
  /** Hash of the Idempotency-Key that created a tcp (REST API). */
  idempotencyKey: 'kubeception.io/idempotency-key',
  /** The cluster id, on the namespace the REST API made for it. */
  cluster: 'kubeception.io/cluster',
  /** On the REST API's idempotency records (ConfigMaps). */
  idempotencyRecord: 'kubeception.io/idempotency-record',
  /** On the REST API's usage ledgers of before the per-month periods (ConfigMaps; read once and folded in). */
  usageLedger: 'kubeception.io/usage-ledger',
  /** On the REST API's usage periods (ConfigMaps): the month, 'YYYY-MM'. */
  usageMonth: 'kubeception.io/usage-month',
  /** On the REST API's usage periods: 'true' while the period is its cluster's cursor (not final). */
  usageOpen: 'kubeception.io/usage-open',
} as const;

export const ANNOTATIONS = {
  /** On pod templates: digest of every Secret and ConfigMap the pod mounts, so a change rolls the pods. */
  configChecksum: 'kubeception.io/config-checksum',
  /** On PKI Secrets: digest of what the Secret was issued for; a change means re-issue. */
  pkiFingerprint: 'kubeception.io/pki-fingerprint',
  /** On tcps the REST API creates: the portal's display name. */
  displayName: 'kubeception.io/display-name',
  /** On tcps the REST API creates: its changes of billed state, `[[epochSeconds, size, hibernated], ...]` (metering). */
  billingHistory: 'kubeception.io/billing-history',
} as const;

/** Values of LABELS.component. */
export type Component = 'etcd' | 'control-plane' | 'pki' | 'kubeconfig' | 'join' | 'api-access';

// ---- Derived objects ------------------------------------------------------------------------------------
/** The host objects of tenant `tenant` other than Secrets. */
export const objectNames = (tenant: string) => ({
  etcd: `${tenant}-etcd`,
  controlPlane: `${tenant}-control-plane`,
  apiServerService: `${tenant}-apiserver`,
  apiServerConfig: `${tenant}-apiserver-config`,
  etcdNetworkPolicy: `${tenant}-etcd`,
  /** Role + RoleBinding: the REST API's service account may get API_READ_SECRETS of this tenant. */
  apiSecretReader: `${tenant}-api-secret-reader`,
});

/** Every host Secret of tenant `tenant`. All but joinCommand are its PKI and kubeconfigs (core/pki). */
export const secretNames = (tenant: string) => ({
  ca: `${tenant}-ca`,
  etcdCA: `${tenant}-etcd-ca`,
  frontProxyCA: `${tenant}-front-proxy-ca`,
  serviceAccount: `${tenant}-sa`,
  apiServerCerts: `${tenant}-apiserver-certs`,
  etcdCerts: `${tenant}-etcd-certs`,
  adminKubeconfig: `${tenant}-admin-kubeconfig`,
  superAdminKubeconfig: `${tenant}-super-admin-kubeconfig`,
  clusterAPIKubeconfig: `${tenant}-kubeconfig`,
  controllerManagerKubeconfig: `${tenant}-controller-manager-kubeconfig`,
  schedulerKubeconfig: `${tenant}-scheduler-kubeconfig`,
  /** The konnectivity server's kubeconfig (user system:konnectivity-server): it reviews the agents' tokens. */
  konnectivityServerKubeconfig: `${tenant}-konnectivity-server-kubeconfig`,
  /** The REST API's kubeconfig inside the tenant (user PORTAL_IDENTITY.user): CSRs, join tokens, node count. */
  portalKubeconfig: `${tenant}-portal-kubeconfig`,
  /** The last `kubeadm join` command minted by operator/join-token.ts (keys `command`, `expiresAt`). */
  joinCommand: `${tenant}-join-command`,
});
export type SecretName = keyof ReturnType<typeof secretNames>;

/** The data keys of each Secret, keyed like secretNames. */
export const SECRET_KEYS = {
  ca: ['ca.crt', 'ca.key'],
  etcdCA: ['ca.crt', 'ca.key'],
  frontProxyCA: ['ca.crt', 'ca.key'],
  serviceAccount: ['sa.key', 'sa.pub'],
  apiServerCerts: [
    'apiserver.crt',
    'apiserver.key',
    'apiserver-kubelet-client.crt',
    'apiserver-kubelet-client.key',
    'apiserver-etcd-client.crt',
    'apiserver-etcd-client.key',
    'front-proxy-client.crt',
    'front-proxy-client.key',
    'ca.crt',
    'etcd-ca.crt',
    'front-proxy-ca.crt',
  ],
  etcdCerts: ['server.crt', 'server.key', 'peer.crt', 'peer.key', 'ca.crt'],
  adminKubeconfig: ['admin.conf'],
  superAdminKubeconfig: ['super-admin.conf'],
  clusterAPIKubeconfig: ['value'],
  controllerManagerKubeconfig: ['controller-manager.conf'],
  schedulerKubeconfig: ['scheduler.conf'],
  konnectivityServerKubeconfig: ['konnectivity-server.conf'],
  portalKubeconfig: ['portal.conf'],
  joinCommand: ['command', 'expiresAt'],
} as const satisfies Record<SecretName, readonly string[]>;

/**
 * The Secrets of a tenant the REST API reads: only the portal kubeconfig (PORTAL_IDENTITY inside the
 * tenant; its certificate-authority-data is the cluster CA certificate for user kubeconfigs and the
 * discovery hash). No CA key, no admin kubeconfig. The operator grants the API `get` on exactly these,
 * per tenant it made (operator --api-service-account), instead of a cluster-wide Secret read.
 */
export const API_READ_SECRETS = ['portalKubeconfig'] as const satisfies readonly SecretName[];

/** The kubeconfig Secrets status.kubeconfigSecrets names. */
export const kubeconfigSecrets = (tenant: string) => ({ admin: secretNames(tenant).adminKubeconfig, clusterAPI: secretNames(tenant).clusterAPIKubeconfig });

/** The owner reference every host object of a tenant carries: garbage-collected with the tcp. */
export function tenantOwnerReference(tenant: { name: string; uid: string }, controller = true) {
  return { apiVersion: API_VERSION, kind: KIND, name: tenant.name, uid: tenant.uid, controller, blockOwnerDeletion: controller };
}

/** Label selector of every host object of one tenant. */
export const tenantSelector = (tenant: string) => `${LABELS.tenant}=${tenant}`;
