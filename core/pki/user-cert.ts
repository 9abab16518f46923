// Client certificates for individual users (the REST API's per-user kubeconfigs).
import { X509Certificate } from 'node:crypto';
import { MASTERS_GROUP } from './kubeadm-set.ts';
import { buildKubeconfig } from './kubeconfig.ts';
import { DEFAULT_KEY_ALGORITHM, generatePrivateKey, type KeyAlgorithm } from './keys.ts';
import { assertIdentityText } from './names.ts';
import { loadSigner, signCertificate, type CertAndKey } from './x509.ts';

export const MIN_USER_TTL_SECONDS = 60;

export interface UserCertificateRequest {
  /** The tenant's cluster CA (`<name>-ca`): the tenant apiserver's --client-ca-file. */
  ca: CertAndKey;
  /** Kubernetes user name (certificate CN). */
  user: string;
  /** Kubernetes groups (certificate O values). `system:masters` is always refused. */
  groups?: readonly string[];
  /** Lifetime in whole seconds from now; at least 60 and not beyond the CA's own expiry. */
  ttlSeconds: number;
  /**
   * Allow other `system:`-prefixed users or groups (e.g. `system:nodes`, `system:kube-scheduler`).
   * Off by default: those identities carry built-in privileges an API caller should not mint.
   */
  allowSystemIdentities?: boolean;
  keyAlgorithm?: KeyAlgorithm;
  now?: Date;
}

export interface UserCredentials extends CertAndKey {
  notBefore: Date;
  notAfter: Date;
}

/** Validates the request and issues a clientAuth certificate (CN=user, O=groups) with its own new key. */
export async function issueUserCertificate(request: UserCertificateRequest): Promise<UserCredentials> {
  const groups = [...(request.groups ?? [])];
  assertIdentityText(request.user, 'user name');
  groups.forEach((group, i) => assertIdentityText(group, `group #${i + 1}`));
  if (new Set(groups).size !== groups.length) throw new Error('groups contain duplicates');
  if (groups.includes(MASTERS_GROUP) || request.user === MASTERS_GROUP) {
    throw new Error(`refusing to issue a certificate in "${MASTERS_GROUP}": it bypasses all authorization; bind RBAC roles instead`);
  }
  if (!request.allowSystemIdentities) {
    const system = [request.user, ...groups].filter((name) => name.startsWith('system:'));
    if (system.length > 0) {
      throw new Error(`refusing reserved "system:" identities (${system.join(', ')}) without allowSystemIdentities`);
    }
  }
  const now = request.now ?? new Date();
  const signer = loadSigner(request.ca);
  if (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds < MIN_USER_TTL_SECONDS) {
    throw new Error(`ttlSeconds must be a whole number of at least ${MIN_USER_TTL_SECONDS}, got ${request.ttlSeconds}`);
  }
  const caRemainingSeconds = Math.floor((signer.notAfter.getTime() - now.getTime()) / 1000);
  if (request.ttlSeconds > caRemainingSeconds) {
    throw new Error(`ttlSeconds ${request.ttlSeconds} outlives the CA, which expires in ${caRemainingSeconds} s`);
  }
  const keyPem = await generatePrivateKey(request.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM);
  const certPem = await signCertificate(
    { commonName: request.user, organizations: groups, dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] },
    keyPem,
    signer,
    { now, validityMs: request.ttlSeconds * 1000 },
  );
  const cert = new X509Certificate(certPem);
  return { certPem, keyPem, notBefore: cert.validFromDate, notAfter: cert.validToDate };
}

/** A kubeconfig for a user of a tenant: cluster = tenant name, context `<user>@<tenant>`. */
export function buildUserKubeconfig(options: {
  clusterName: string;
  server: string;
  caCertPem: string;
  user: string;
  credentials: CertAndKey;
}): string {
  return buildKubeconfig({
    clusterName: options.clusterName,
    server: options.server,
    caCertPem: options.caCertPem,
    userName: options.user,
    clientCertPem: options.credentials.certPem,
    clientKeyPem: options.credentials.keyPem,
  });
}
