// Public API of the tenant PKI (design §3). Pure functions from input to data; the only effects are
// key generation and signing on node:crypto's thread pool. Applying Secrets is the caller's job.
//
// Typical reconcile:
//   const plan = await planPki(secretsInNamespace, input, { owner, tenantRunning });
//   if (plan.status === 'alarm') -> condition PKI=False (reason: plan.alarms), no changes, no retry storm
//   else for (const change of plan.changes) await serverSideApply(change.secret)   // in order, stop on error
//
// Per-user kubeconfigs where the CA key is at hand (tests, the test bed):
//   const creds = await issueUserCertificate({ ca: plan.material.cas.ca, user, groups, ttlSeconds });
//   const yaml = buildUserKubeconfig({ clusterName: name, server: endpoint, caCertPem, user, credentials: creds });
// The REST API never has it: it sends createCertificateRequest(...) to the tenant's CSR API instead.

export { DEFAULT_KEY_ALGORITHM, KEY_ALGORITHMS, generatePrivateKey, type KeyAlgorithm } from './keys.ts';
export {
  BACKDATE_MS,
  CA_VALIDITY_MS,
  LEAF_VALIDITY_MS,
  createCaCertificate,
  signCertificate,
  type CertAndKey,
  type CertificateRequest,
  type IssueOptions,
} from './x509.ts';
export { inspectCertificate, parseDer, OID, type CertificateFacts } from './der.ts';
export { bytesToIp, canonicalIp } from './ip.ts';
export {
  CA_IDS,
  CERT_IDS,
  KUBECONFIG_IDS,
  LEAF_IDS,
  KUBEADM_CLUSTER_ADMIN_GROUP,
  LOCAL_API_SERVER,
  MASTERS_GROUP,
  OPERATOR_USERS,
  TENANT_ADMIN_GROUP,
  apiServerSans,
  etcdSans,
  generateTenantPki,
  tenantCertificateSpecs,
  tenantKubeconfigSpecs,
  type CaId,
  type CertId,
  type CertificateSpec,
  type GenerateOptions,
  type KubeconfigId,
  type KubeconfigSpec,
  type LeafId,
  type PartialPkiMaterial,
  type PkiMaterial,
  type TenantPkiInput,
} from './kubeadm-set.ts';
export { buildKubeconfig, parseKubeconfig, type KubeconfigContent } from './kubeconfig.ts';
export {
  FINGERPRINT_ANNOTATION,
  PKI_SECRET_LAYOUT,
  pkiSecretName,
  pkiSecretNames,
  readPkiSecrets,
  renderPkiSecrets,
  type OwnerReference,
  type PkiSecret,
  type PkiSecretRole,
  type ReadPkiResult,
  type RenderOptions,
} from './secrets.ts';
export {
  DEFAULT_RENEW_BEFORE_MS,
  decidePki,
  planPki,
  type ItemDecision,
  type PkiAlarm,
  type PkiDecisions,
  type PkiPlan,
  type PlanOptions,
  type SecretChange,
} from './plan.ts';
export { buildUserKubeconfig, issueUserCertificate, type UserCertificateRequest, type UserCredentials } from './user-cert.ts';
export { discoveryTokenCaCertHash } from './discovery.ts';
export { createCertificateRequest, readCertificateRequest, type CertificateRequestFacts, type RequestSubject } from './csr.ts';
export { OPERATOR_IDENTITIES, RESERVED_PREFIXES, reservedIdentityReason } from './reserved-identities.ts';
export { parseServerUrl } from './names.ts';
