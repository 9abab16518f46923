// The tenant PKI as host-cluster Secrets (docs/contracts.md "Objects the operator makes"), and back.
// Rendering is pure: the same material and input give byte-identical Secret data.
import { createHash, X509Certificate, createPublicKey } from 'node:crypto';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { ANNOTATIONS, LABELS, MANAGED_BY, secretNames, type SecretName } from '../contract.ts';
import { fingerprintOf } from './fingerprint.ts';
import {
  CA_IDS,
  tenantCertificateSpecs,
  tenantKubeconfigSpecs,
  type CaId,
  type CertId,
  type KubeconfigId,
  type PartialPkiMaterial,
  type PkiMaterial,
  type TenantPkiInput,
} from './kubeadm-set.ts';
import { buildKubeconfig, parseKubeconfig } from './kubeconfig.ts';
import { DEFAULT_KEY_ALGORITHM } from './keys.ts';
import type { CertAndKey } from './x509.ts';

export const FINGERPRINT_ANNOTATION = ANNOTATIONS.pkiFingerprint;

/** Where a value of a Secret comes from. */
export type SecretEntrySource =
  | { kind: 'ca-cert'; ca: CaId }
  | { kind: 'ca-key'; ca: CaId }
  | { kind: 'sa-key' }
  | { kind: 'sa-pub' }
  | { kind: 'cert'; id: CertId }
  | { kind: 'key'; id: CertId }
  | { kind: 'kubeconfig'; id: KubeconfigId };

export type PkiSecretRole =
  | 'ca'
  | 'front-proxy-ca'
  | 'etcd-ca'
  | 'sa'
  | 'apiserver-certs'
  | 'etcd-certs'
  | 'admin-kubeconfig'
  | 'super-admin-kubeconfig'
  | 'kubeconfig'
  | 'controller-manager-kubeconfig'
  | 'scheduler-kubeconfig'
  | 'konnectivity-server-kubeconfig'
  | 'portal-kubeconfig';

export interface PkiSecretLayout {
  role: PkiSecretRole;
  /** Its name in the contract's secretNames. */
  name: SecretName;
  component: 'pki' | 'kubeconfig';
  entries: Record<string, SecretEntrySource>;
}

const caEntries = (ca: CaId): Record<string, SecretEntrySource> => ({
  'ca.crt': { kind: 'ca-cert', ca },
  'ca.key': { kind: 'ca-key', ca },
});
const pair = (file: string, id: CertId): Record<string, SecretEntrySource> => ({
  [`${file}.crt`]: { kind: 'cert', id },
  [`${file}.key`]: { kind: 'key', id },
});
const kubeconfigSecret = (role: PkiSecretRole, name: SecretName, key: string, id: KubeconfigId): PkiSecretLayout => ({
  role,
  name,
  component: 'kubeconfig',
  entries: { [key]: { kind: 'kubeconfig', id } },
});

/** Every Secret of a tenant's PKI, in the order to apply them: roots before what they sign. */
export const PKI_SECRET_LAYOUT: readonly PkiSecretLayout[] = [
  { role: 'ca', name: 'ca', component: 'pki', entries: caEntries('ca') },
  { role: 'front-proxy-ca', name: 'frontProxyCA', component: 'pki', entries: caEntries('front-proxy-ca') },
  { role: 'etcd-ca', name: 'etcdCA', component: 'pki', entries: caEntries('etcd-ca') },
  { role: 'sa', name: 'serviceAccount', component: 'pki', entries: { 'sa.key': { kind: 'sa-key' }, 'sa.pub': { kind: 'sa-pub' } } },
  {
    role: 'apiserver-certs',
    name: 'apiServerCerts',
    component: 'pki',
    entries: {
      ...pair('apiserver', 'apiserver'),
      ...pair('apiserver-kubelet-client', 'apiserver-kubelet-client'),
      ...pair('apiserver-etcd-client', 'apiserver-etcd-client'),
      ...pair('front-proxy-client', 'front-proxy-client'),
      'ca.crt': { kind: 'ca-cert', ca: 'ca' },
      'etcd-ca.crt': { kind: 'ca-cert', ca: 'etcd-ca' },
      'front-proxy-ca.crt': { kind: 'ca-cert', ca: 'front-proxy-ca' },
    },
  },
  {
    role: 'etcd-certs',
    name: 'etcdCerts',
    component: 'pki',
    entries: { ...pair('server', 'etcd-server'), ...pair('peer', 'etcd-peer'), 'ca.crt': { kind: 'ca-cert', ca: 'etcd-ca' } },
  },
  kubeconfigSecret('admin-kubeconfig', 'adminKubeconfig', 'admin.conf', 'admin'),
  kubeconfigSecret('super-admin-kubeconfig', 'superAdminKubeconfig', 'super-admin.conf', 'super-admin'),
  // Cluster API convention: `<cluster>-kubeconfig` with key `value`, same content as admin.conf.
  { role: 'kubeconfig', name: 'clusterAPIKubeconfig', component: 'kubeconfig', entries: { value: { kind: 'kubeconfig', id: 'admin' } } },
  kubeconfigSecret('controller-manager-kubeconfig', 'controllerManagerKubeconfig', 'controller-manager.conf', 'controller-manager'),
  kubeconfigSecret('scheduler-kubeconfig', 'schedulerKubeconfig', 'scheduler.conf', 'scheduler'),
  kubeconfigSecret('konnectivity-server-kubeconfig', 'konnectivityServerKubeconfig', 'konnectivity-server.conf', 'konnectivity-server'),
  // The REST API's identity inside the tenant (PORTAL_IDENTITY): the only Secret of a tenant it may read.
  kubeconfigSecret('portal-kubeconfig', 'portalKubeconfig', 'portal.conf', 'portal'),
];

export function pkiSecretName(tenant: string, role: PkiSecretRole): string {
  const layout = PKI_SECRET_LAYOUT.find((l) => l.role === role);
  if (!layout) throw new Error(`unknown PKI Secret role "${role}"`);
  return secretNames(tenant)[layout.name];
}

/** All Secret names of a tenant's PKI by role. */
export function pkiSecretNames(tenant: string): Record<PkiSecretRole, string> {
  return Object.fromEntries(PKI_SECRET_LAYOUT.map((l) => [l.role, secretNames(tenant)[l.name]])) as Record<PkiSecretRole, string>;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export interface RenderOptions {
  /** The TenantControlPlane, to own every Secret (controller: true). */
  owner?: OwnerReference;
}

/** A Secret as we render it: always has metadata and data. */
export type PkiSecret = ISecret & {
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  data: Record<string, string>;
};

function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function certificateFingerprint(pem: string): string {
  return sha256Hex(new X509Certificate(pem).raw);
}

function entryText(source: SecretEntrySource, input: TenantPkiInput, material: PkiMaterial): string {
  switch (source.kind) {
    case 'ca-cert':
      return material.cas[source.ca].certPem;
    case 'ca-key':
      return material.cas[source.ca].keyPem;
    case 'sa-key':
      return material.serviceAccount.keyPem;
    case 'sa-pub':
      return material.serviceAccount.publicKeyPem;
    case 'cert':
      return material.certs[source.id].certPem;
    case 'key':
      return material.certs[source.id].keyPem;
    case 'kubeconfig': {
      const spec = tenantKubeconfigSpecs(input)[source.id];
      const creds = material.certs[source.id];
      return buildKubeconfig({
        clusterName: spec.clusterName,
        server: spec.server,
        caCertPem: material.cas.ca.certPem,
        userName: spec.userName,
        clientCertPem: creds.certPem,
        clientKeyPem: creds.keyPem,
      });
    }
  }
}

/**
 * sha256 of what the Secret's certificates were issued for: subject, SANs, usages, key type, the
 * signing CA (by certificate hash) and, for kubeconfigs, server and names. For CA and SA Secrets:
 * the CA certificate / public key itself, since they are never re-issued from a spec.
 */
export function secretFingerprint(layout: PkiSecretLayout, input: TenantPkiInput, material: PkiMaterial): string {
  const specs = tenantCertificateSpecs(input);
  const kubeconfigs = tenantKubeconfigSpecs(input);
  const keyAlgorithm = input.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM;
  const described = Object.entries(layout.entries).map(([key, source]) => {
    switch (source.kind) {
      case 'ca-cert':
      case 'ca-key':
        return { key, ca: source.ca, certificate: certificateFingerprint(material.cas[source.ca].certPem) };
      case 'sa-key':
      case 'sa-pub':
        return { key, publicKey: sha256Hex(createPublicKey(material.serviceAccount.keyPem).export({ type: 'spki', format: 'der' })) };
      case 'cert':
      case 'key':
      case 'kubeconfig': {
        const spec = specs[source.id];
        return {
          key,
          id: source.id,
          request: spec.request,
          keyAlgorithm,
          issuer: certificateFingerprint(material.cas[spec.issuer].certPem),
          ...(source.kind === 'kubeconfig' ? { kubeconfig: kubeconfigs[source.id] } : {}),
        };
      }
    }
  });
  return fingerprintOf({ role: layout.role, entries: described });
}

export function labelsFor(tenant: string, component: PkiSecretLayout['component']): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.tenant]: tenant,
    [LABELS.component]: component,
  };
}

/** One Secret of the layout, rendered from complete material. */
export function renderPkiSecret(
  layout: PkiSecretLayout,
  input: TenantPkiInput,
  material: PkiMaterial,
  options: RenderOptions = {},
): PkiSecret {
  const data = Object.fromEntries(
    Object.entries(layout.entries).map(([key, source]) => [key, Buffer.from(entryText(source, input, material), 'utf8').toString('base64')]),
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretNames(input.name)[layout.name],
      namespace: input.namespace,
      labels: labelsFor(input.name, layout.component),
      annotations: { [FINGERPRINT_ANNOTATION]: secretFingerprint(layout, input, material) },
      ...(options.owner
        ? { ownerReferences: [{ ...options.owner, controller: true, blockOwnerDeletion: true }] }
        : {}),
    },
    type: 'Opaque',
    data,
  };
}

/** Every PKI Secret of the tenant, in apply order (roots first). */
export function renderPkiSecrets(input: TenantPkiInput, material: PkiMaterial, options: RenderOptions = {}): PkiSecret[] {
  return PKI_SECRET_LAYOUT.map((layout) => renderPkiSecret(layout, input, material, options));
}

/** The decoded text of a Secret entry (data is base64; stringData, if a caller built one, is plain). */
export function secretText(secret: ISecret | undefined, key: string): string | undefined {
  const encoded = secret?.data?.[key];
  if (typeof encoded === 'string') return Buffer.from(encoded, 'base64').toString('utf8');
  const plain = secret?.stringData?.[key];
  return typeof plain === 'string' ? plain : undefined;
}

export interface ReadPkiResult {
  /** Entries found; absent ones (missing Secret, missing key, unreadable kubeconfig) are left out. */
  material: PartialPkiMaterial;
  /** Existing Secrets of this tenant's PKI by role. */
  secrets: Partial<Record<PkiSecretRole, ISecret>>;
  /** What could not be read, for logs and plan reasons. */
  problems: string[];
  /** Secrets with one of our names whose `kubeception.io/tenant` label names another tenant (ignored). */
  foreign: { name: string; tenant: string }[];
}

/**
 * Collects the tenant's PKI from a list of Secrets (e.g. everything in its namespace; others ignored).
 * Nothing is validated here beyond presence: planPki checks keys, issuers and expiry.
 */
export function readPkiSecrets(tenant: string, secrets: readonly ISecret[]): ReadPkiResult {
  const byName = new Map(secrets.map((s) => [s.metadata?.name, s]));
  const cas: Partial<Record<CaId, CertAndKey>> = {};
  const certs: Partial<Record<CertId, CertAndKey>> = {};
  let serviceAccountKeyPem: string | undefined;
  const found: Partial<Record<PkiSecretRole, ISecret>> = {};
  const problems: string[] = [];
  const foreign: { name: string; tenant: string }[] = [];
  const certParts: Partial<Record<CertId, Partial<CertAndKey>>> = {};
  const caParts: Partial<Record<CaId, Partial<CertAndKey>>> = {};

  for (const layout of PKI_SECRET_LAYOUT) {
    const name = secretNames(tenant)[layout.name];
    const secret = byName.get(name);
    if (!secret) continue;
    // Names can collide across tenants (tenant "a"'s `a-etcd-ca` is tenant "a-etcd"'s `-ca`): never
    // take another tenant's Secret for ours. Unlabelled ones are ours (labels are fixed on replace).
    const owner = secret.metadata?.labels?.[LABELS.tenant];
    if (owner !== undefined && owner !== tenant) {
      foreign.push({ name, tenant: owner });
      continue;
    }
    found[layout.role] = secret;
    for (const [key, source] of Object.entries(layout.entries)) {
      const text = secretText(secret, key);
      if (text === undefined) continue;
      switch (source.kind) {
        case 'ca-cert':
          // Only the CA's own Secret defines the CA; copies elsewhere are re-rendered from it.
          if (layout.role === source.ca) (caParts[source.ca] ??= {}).certPem = text;
          break;
        case 'ca-key':
          (caParts[source.ca] ??= {}).keyPem = text;
          break;
        case 'sa-key':
          serviceAccountKeyPem = text;
          break;
        case 'sa-pub':
          break; // derived from sa.key
        case 'cert':
          (certParts[source.id] ??= {}).certPem = text;
          break;
        case 'key':
          (certParts[source.id] ??= {}).keyPem = text;
          break;
        case 'kubeconfig':
          if (layout.role === 'kubeconfig') break; // a copy of admin.conf
          try {
            const parsed = parseKubeconfig(text);
            certParts[source.id] = { certPem: parsed.clientCertPem, keyPem: parsed.clientKeyPem };
          } catch (error) {
            problems.push(`${name}/${key}: ${(error as Error).message}`);
          }
          break;
      }
    }
  }
  for (const id of CA_IDS) {
    const parts = caParts[id];
    if (parts?.certPem !== undefined && parts.keyPem !== undefined) cas[id] = { certPem: parts.certPem, keyPem: parts.keyPem };
    else if (parts) problems.push(`${tenant}-${id}: needs both ca.crt and ca.key`);
  }
  for (const [id, parts] of Object.entries(certParts) as [CertId, Partial<CertAndKey>][]) {
    if (parts.certPem !== undefined && parts.keyPem !== undefined) certs[id] = { certPem: parts.certPem, keyPem: parts.keyPem };
  }
  const material: PartialPkiMaterial = { cas, certs };
  if (serviceAccountKeyPem !== undefined) material.serviceAccountKeyPem = serviceAccountKeyPem;
  return { material, secrets: found, problems, foreign };
}
