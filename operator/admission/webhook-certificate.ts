// The admission webhook's serving certificate: a self-signed CA and a certificate for the webhook Service,
// kept in one Secret so every replica serves the same one, and the CA put into the
// ValidatingWebhookConfiguration's caBundle so the host API server trusts it.
//
// A valid Secret is never regenerated. A serving certificate that nears its end (or lacks a Service name)
// is re-signed by the same CA, so the caBundle does not change; only a missing, broken or expiring CA gives
// a new CA. Replicas race on first start: the create is create-only (409 -> read the winner's), a renewal
// is a PUT with the read resourceVersion (409 -> read again).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import {
  LABELS,
  MANAGED_BY,
  createCaCertificate,
  generatePrivateKey,
  inspectCertificate,
  isConflict,
  isNotFound,
  signCertificate,
  type KubeClient,
  type Logger,
} from '../../core/index.ts';

/** Keys of the Secret (type kubernetes.io/tls, so tls.crt and tls.key are the serving pair). */
export const WEBHOOK_TLS_KEYS = { caCert: 'ca.crt', caKey: 'ca.key', cert: 'tls.crt', key: 'tls.key' } as const;

const DAY_MS = 86_400_000;
export const WEBHOOK_CA_VALIDITY_MS = 10 * 365 * DAY_MS;
export const WEBHOOK_CERT_VALIDITY_MS = 365 * DAY_MS;
/** Renew this long before the end, so a replica that checks once a minute never serves an expired one. */
export const WEBHOOK_RENEW_BEFORE_MS = 30 * DAY_MS;
/** ECDSA P-256: generated in milliseconds, accepted by every API server since 1.0. */
const KEY_ALGORITHM = 'ECDSA-P256';

export interface WebhookTLS {
  caCertPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

export interface ServiceRef {
  namespace: string;
  name: string;
}

/** The names the API server may dial for a service reference (it uses `<name>.<namespace>.svc`). */
export function webhookDnsNames(service: ServiceRef): string[] {
  const { name, namespace } = service;
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}

/** The Secret holding the webhook's CA and serving certificate: `<service>-tls`, beside the Service. */
export function webhookSecretName(service: ServiceRef): string {
  return `${service.name}-tls`;
}

export type Assessment =
  | { action: 'keep'; tls: WebhookTLS }
  | { action: 'renew-certificate'; reason: string; ca: { certPem: string; keyPem: string } }
  | { action: 'new-ca'; reason: string };

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const value = data?.[key];
  return value === undefined || value === '' ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

function parseCert(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** What to do with the Secret's data (base64 values, as the API returns them) at `now`. Pure. */
export function assessWebhookTLS(data: Record<string, string> | undefined, dnsNames: readonly string[], now: Date): Assessment {
  const caCertPem = decode(data, WEBHOOK_TLS_KEYS.caCert);
  const caKeyPem = decode(data, WEBHOOK_TLS_KEYS.caKey);
  const renewBy = now.getTime() + WEBHOOK_RENEW_BEFORE_MS;
  if (!caCertPem || !caKeyPem) return { action: 'new-ca', reason: data ? 'the Secret holds no CA' : 'no Secret yet' };
  const ca = parseCert(caCertPem);
  if (!ca) return { action: 'new-ca', reason: 'the CA certificate does not parse' };
  if (!ca.ca || !inspectCertificate(ca.raw).isCA) return { action: 'new-ca', reason: 'the CA certificate is not a CA' };
  if (!keyMatches(ca, caKeyPem)) return { action: 'new-ca', reason: 'the CA key does not match the CA certificate' };
  if (ca.validToDate.getTime() <= renewBy) return { action: 'new-ca', reason: `the CA expires ${ca.validTo}` };
  if (ca.validFromDate.getTime() > now.getTime()) return { action: 'new-ca', reason: `the CA is valid only from ${ca.validFrom}` };

  const renew = (reason: string): Assessment => ({ action: 'renew-certificate', reason, ca: { certPem: caCertPem, keyPem: caKeyPem } });
  const certPem = decode(data, WEBHOOK_TLS_KEYS.cert);
  const keyPem = decode(data, WEBHOOK_TLS_KEYS.key);
  if (!certPem || !keyPem) return renew('the Secret holds no serving certificate');
  const cert = parseCert(certPem);
  if (!cert) return renew('the serving certificate does not parse');
  if (!keyMatches(cert, keyPem)) return renew('the serving key does not match the certificate');
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return renew('the serving certificate is not signed by the CA');
  if (cert.validToDate.getTime() <= renewBy) return renew(`the serving certificate expires ${cert.validTo}`);
  if (cert.validFromDate.getTime() > now.getTime()) return renew(`the serving certificate is valid only from ${cert.validFrom}`);
  const names = new Set(inspectCertificate(cert.raw).dnsNames);
  const missing = dnsNames.filter((n) => !names.has(n));
  if (missing.length > 0) return renew(`the serving certificate lacks ${missing.join(', ')}`);
  return { action: 'keep', tls: { caCertPem, caKeyPem, certPem, keyPem } };
}

/** A serving certificate for `dnsNames`, signed by `ca` when given, else by a new self-signed CA. */
export async function issueWebhookTLS(dnsNames: readonly string[], ca: { certPem: string; keyPem: string } | undefined, now: Date): Promise<WebhookTLS> {
  let caCertPem = ca?.certPem;
  let caKeyPem = ca?.keyPem;
  if (!caCertPem || !caKeyPem) {
    caKeyPem = await generatePrivateKey(KEY_ALGORITHM);
    caCertPem = await createCaCertificate('kubeception-admission-webhook-ca', caKeyPem, { now, validityMs: WEBHOOK_CA_VALIDITY_MS });
  }
  const keyPem = await generatePrivateKey(KEY_ALGORITHM);
  const certPem = await signCertificate(
    { commonName: dnsNames[2] ?? dnsNames[0] ?? 'kubeception-admission-webhook', organizations: [], dnsNames, ipAddresses: [], extKeyUsages: ['serverAuth'] },
    keyPem,
    { certPem: caCertPem, keyPem: caKeyPem },
    { now, validityMs: WEBHOOK_CERT_VALIDITY_MS },
  );
  return { caCertPem, caKeyPem, certPem, keyPem };
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown };
  type?: string;
  data?: Record<string, string>;
}

function secretData(tls: WebhookTLS): Record<string, string> {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return {
    [WEBHOOK_TLS_KEYS.caCert]: b64(tls.caCertPem),
    [WEBHOOK_TLS_KEYS.caKey]: b64(tls.caKeyPem),
    [WEBHOOK_TLS_KEYS.cert]: b64(tls.certPem),
    [WEBHOOK_TLS_KEYS.key]: b64(tls.keyPem),
  };
}

export interface EnsureOptions {
  client: KubeClient;
  service: ServiceRef;
  logger: Logger;
  now?: () => Date;
}

export interface EnsuredTLS {
  tls: WebhookTLS;
  /** What this call did: nothing (the Secret was valid), or which part it (re)issued. */
  outcome: 'kept' | 'created' | 'renewed-certificate' | 'new-ca';
}

const ATTEMPTS = 5;

/**
 * Reads the webhook Secret and returns its certificate when valid; else issues what is missing (a
 * certificate from the kept CA, or a new CA) and writes it, create-only or guarded by resourceVersion, so
 * replicas racing end up with the one that won.
 */
export async function ensureWebhookTLS(options: EnsureOptions): Promise<EnsuredTLS> {
  const { client, service, logger } = options;
  const name = webhookSecretName(service);
  const path = `/api/v1/namespaces/${encodeURIComponent(service.namespace)}/secrets`;
  const dnsNames = webhookDnsNames(service);
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const now = options.now?.() ?? new Date();
    const existing = await client.request<SecretObject>('GET', `${path}/${encodeURIComponent(name)}`).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    const assessment = assessWebhookTLS(existing?.data, dnsNames, now);
    if (assessment.action === 'keep') return { tls: assessment.tls, outcome: 'kept' };
    const tls = await issueWebhookTLS(dnsNames, assessment.action === 'renew-certificate' ? assessment.ca : undefined, now);
    const outcome = existing === undefined ? 'created' : assessment.action === 'renew-certificate' ? 'renewed-certificate' : 'new-ca';
    try {
      if (existing === undefined) {
        await client.request('POST', path, {
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name, namespace: service.namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
            type: 'kubernetes.io/tls',
            data: secretData(tls),
          } satisfies SecretObject,
        });
      } else {
        // Keep what others put on it (labels, annotations, its type, which is immutable); replace the data.
        await client.request('PUT', `${path}/${encodeURIComponent(name)}`, { body: { ...existing, data: secretData(tls) } });
      }
    } catch (error) {
      if (isConflict(error)) continue; // another replica wrote first: judge what it wrote
      throw error;
    }
    logger.info({ secret: `${service.namespace}/${name}`, outcome, reason: assessment.reason }, 'admission webhook certificate issued');
    return { tls, outcome };
  }
  throw new Error(`the admission webhook Secret ${service.namespace}/${name} kept changing under ${ATTEMPTS} attempts to write it`);
}

interface WebhookConfigurationObject {
  metadata: { name: string; resourceVersion?: string };
  webhooks?: Array<{ name: string; clientConfig?: { caBundle?: string; [k: string]: unknown }; [k: string]: unknown }>;
  [k: string]: unknown;
}

export const VALIDATING_WEBHOOK_CONFIGURATIONS = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

/**
 * Puts the CA into caBundle of every webhook of the ValidatingWebhookConfiguration `name`. A read, then a
 * PUT guarded by resourceVersion only when something differs; 'missing' when the configuration does not
 * exist (yet). Each replica runs it; they write the same value, so a 409 just means it is read again.
 */
export async function ensureCaBundle(client: KubeClient, name: string, caCertPem: string, fieldManager: string): Promise<'updated' | 'unchanged' | 'missing'> {
  const bundle = Buffer.from(caCertPem, 'utf8').toString('base64');
  const path = `${VALIDATING_WEBHOOK_CONFIGURATIONS}/${encodeURIComponent(name)}`;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let current: WebhookConfigurationObject;
    try {
      current = await client.request<WebhookConfigurationObject>('GET', path);
    } catch (error) {
      if (isNotFound(error)) return 'missing';
      throw error;
    }
    const webhooks = current.webhooks ?? [];
    if (webhooks.every((w) => w.clientConfig?.caBundle === bundle)) return 'unchanged';
    const next = { ...current, webhooks: webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: bundle } })) };
    try {
      await client.request('PUT', path, { body: next, query: { fieldManager } });
      return 'updated';
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
  throw new Error(`the ValidatingWebhookConfiguration ${name} kept changing under ${ATTEMPTS} attempts to set its caBundle`);
}
