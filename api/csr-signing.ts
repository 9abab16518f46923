// A client certificate signed by a tenant's own CA without the API ever holding that CA's key: a PKCS#10
// request to the tenant's CertificateSigningRequest API (signer kubernetes.io/kube-apiserver-client,
// expirationSeconds = the TTL asked for), approved by the API's narrow tenant identity (kubeception:portal,
// allowed to approve for that one signer only), signed by the tenant's kube-controller-manager
// (--cluster-signing-cert-file/-key-file: the cluster CA), read back, and deleted. A CSR left behind (the
// delete failed, the process died) is removed by kube-controller-manager's csrcleaner: approved ones after
// an hour, pending ones after a day. Nothing here is stored.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LABELS, MANAGED_BY, PORTAL_IDENTITY, createCertificateRequest, generatePrivateKey, inspectCertificate, isConflict, isNotFound, type KubeClient, type RequestSubject } from '../core/index.ts';
import { ProblemError } from './problems.ts';

const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
/** The Kubernetes minimum for spec.expirationSeconds (shorter requests are refused by the API server). */
export const MIN_CSR_EXPIRATION_SECONDS = 600;

interface CsrCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export interface CsrObject {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: Record<string, unknown>;
  status?: { conditions?: CsrCondition[]; certificate?: string };
}

/** 502: the tenant's signer refused (Denied or Failed), e.g. an admission or signer policy. */
export function csrRefused(cluster: string, condition: CsrCondition): ProblemError {
  const why = [condition.reason, condition.message].filter((part) => part !== undefined && part !== '').join(': ');
  return new ProblemError(502, 'certificate-refused', `cluster ${cluster} refused to sign the certificate (${condition.type ?? 'Failed'}${why === '' ? '' : `: ${why}`}); nothing was issued`);
}

/** 504: approved, but no certificate within the time allowed (the tenant's controller-manager is behind or down). */
export function csrNotSigned(cluster: string, seconds: number): ProblemError {
  return new ProblemError(504, 'signing-timeout', `cluster ${cluster} did not sign the certificate within ${seconds} s (its kube-controller-manager signs them); nothing was issued, retry later`, {
    headers: { 'retry-after': '10' },
  });
}

/** 502: a certificate that is not the one asked for (another key or subject): never handed out. */
function wrongCertificate(cluster: string, what: string): ProblemError {
  return new ProblemError(502, 'certificate-mismatch', `cluster ${cluster} returned a certificate ${what}; nothing was issued`);
}

export interface SignedClientCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface CsrSigningOptions {
  /** The tcp's name, for messages. */
  cluster: string;
  /** Longest wait for the signed certificate after approval. */
  timeoutMs: number;
  /** Free text on the approval (e.g. the account), for the tenant's audit trail. */
  approvalMessage: string;
  now?: () => number;
  /** A CSR that could not be deleted (left to the csrcleaner), for the log. */
  onCleanupFailure?: (name: string, error: unknown) => void;
}

function decided(csr: CsrObject): CsrCondition | undefined {
  return (csr.status?.conditions ?? []).find((c) => (c.type === 'Denied' || c.type === 'Failed') && c.status !== 'False');
}

/** Waits for the certificate, looking soon at first (the signer takes milliseconds) and then every second. */
async function waitForCertificate(client: KubeClient, name: string, options: CsrSigningOptions): Promise<string> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 1000)) {
    const csr = await client.request<CsrObject>('GET', `${CSR_PATH}/${encodeURIComponent(name)}`);
    const refusal = decided(csr);
    if (refusal !== undefined) throw csrRefused(options.cluster, refusal);
    const certificate = csr.status?.certificate;
    if (certificate !== undefined && certificate !== '') return Buffer.from(certificate, 'base64').toString('utf8');
    const left = deadline - now();
    if (left <= 0) throw csrNotSigned(options.cluster, Math.round(options.timeoutMs / 1000));
    await sleep(Math.min(delayMs, left));
  }
}

/** The certificate must be for our key and exactly our subject: anything else is not handed out. */
function checkCertificate(cluster: string, certPem: string, keyPem: string, subject: RequestSubject): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (error) {
    throw wrongCertificate(cluster, `that is not readable (${(error as Error).message})`);
  }
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw wrongCertificate(cluster, 'for another key');
  const facts = inspectCertificate(cert.raw);
  if (facts.commonName !== subject.commonName || JSON.stringify([...facts.organizations].sort()) !== JSON.stringify([...subject.organizations].sort())) {
    throw wrongCertificate(cluster, `for CN=${facts.commonName ?? ''} O=${facts.organizations.join(',')}, not the identity asked for`);
  }
  return cert;
}

/** Adds the Approved condition through the approval subresource; a CSR changed meanwhile is read again (409). */
async function approve(client: KubeClient, name: string, created: CsrObject, options: CsrSigningOptions): Promise<void> {
  const path = `${CSR_PATH}/${encodeURIComponent(name)}`;
  const condition = { type: 'Approved', status: 'True', reason: 'KubeceptionPortal', message: options.approvalMessage, lastUpdateTime: new Date((options.now ?? Date.now)()).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  let csr = created;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.request('PUT', `${path}/approval`, { body: { ...csr, status: { ...csr.status, conditions: [...(csr.status?.conditions ?? []), condition] } } });
      return;
    } catch (error) {
      if (!isConflict(error) || attempt === 3) throw error;
      csr = await client.request<CsrObject>('GET', path);
    }
  }
}

/**
 * A new key and a client certificate for `subject` from the tenant's CA, valid for ttlSeconds (at least
 * MIN_CSR_EXPIRATION_SECONDS). Errors: 502 certificate-refused, 504 signing-timeout, 502 certificate-mismatch
 * as ProblemErrors; the tenant's own errors (KubeApiError, network) as they come. The CSR is deleted
 * whatever happens (best effort: see the csrcleaner above).
 */
export async function signClientCertificate(client: KubeClient, subject: RequestSubject, ttlSeconds: number, options: CsrSigningOptions): Promise<SignedClientCertificate> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < MIN_CSR_EXPIRATION_SECONDS) {
    throw new Error(`ttlSeconds must be a whole number of at least ${MIN_CSR_EXPIRATION_SECONDS}, got ${ttlSeconds}`);
  }
  // ECDSA P-256: a key per request costs ~1 ms instead of RSA's ~70 ms; every Kubernetes client takes it.
  const keyPem = await generatePrivateKey('ECDSA-P256');
  const request = await createCertificateRequest(subject, keyPem);
  const created = await client.request<CsrObject>('POST', CSR_PATH, {
    body: {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { generateName: 'kubeception-portal-', labels: { [LABELS.managedBy]: MANAGED_BY } },
      spec: {
        request: Buffer.from(request, 'utf8').toString('base64'),
        signerName: PORTAL_IDENTITY.clientSigner,
        expirationSeconds: ttlSeconds,
        usages: ['digital signature', 'client auth'],
      },
    },
  });
  const name = created.metadata?.name ?? '';
  try {
    await approve(client, name, created, options);
    const certPem = await waitForCertificate(client, name, options);
    const cert = checkCertificate(options.cluster, certPem, keyPem, subject);
    return { certPem, keyPem, notAfter: cert.validToDate };
  } finally {
    // Gone already is fine; any other failure leaves it to the csrcleaner rather than failing the issue.
    await client.request('DELETE', `${CSR_PATH}/${encodeURIComponent(name)}`).catch((error: unknown) => {
      if (!isNotFound(error)) options.onCleanupFailure?.(name, error);
    });
  }
}
