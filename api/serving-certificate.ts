// A serving certificate for the API where nobody provides one: `npm start` (files on disk) and the test bed
// (a Secret the chart mounts). A self-signed CA signs a certificate with the names clients dial; clients trust
// the CA (ca.crt), never "any certificate". The CA key is thrown away after signing: nothing can sign with it
// later, and a renewal is a new pair (new CA included), which clients pick up from the same ca.crt.
// Production installs bring their own pair (cert-manager or their PKI); see api/README.md.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCaCertificate, generatePrivateKey, inspectCertificate, signCertificate } from '../core/index.ts';
import type { TlsFiles } from './tls.ts';

export interface ServingTls {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

export interface ServingNames {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
}

const DAY_MS = 86_400_000;
export const SERVING_VALIDITY_MS = 365 * DAY_MS;
/** A pair closer than this to its end is replaced, so a long-running start never serves an expired one. */
export const SERVING_RENEW_BEFORE_MS = 30 * DAY_MS;

/** The names a client inside the host uses for a Service (short, namespaced, .svc, cluster.local). */
export function serviceDnsNames(name: string, namespace: string): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}

/** A new self-signed CA and a serverAuth certificate for `names` signed by it (ECDSA P-256). */
export async function issueServingTls(names: ServingNames, now: Date = new Date()): Promise<ServingTls> {
  const caKeyPem = await generatePrivateKey('ECDSA-P256');
  const caCertPem = await createCaCertificate('kubeception-api-ca', caKeyPem, { now, validityMs: SERVING_VALIDITY_MS });
  const keyPem = await generatePrivateKey('ECDSA-P256');
  const certPem = await signCertificate(
    { commonName: names.dnsNames[0] ?? names.ipAddresses[0] ?? 'kubeception-api', organizations: [], dnsNames: names.dnsNames, ipAddresses: names.ipAddresses, extKeyUsages: ['serverAuth'] },
    keyPem,
    { certPem: caCertPem, keyPem: caKeyPem },
    { now, validityMs: SERVING_VALIDITY_MS },
  );
  return { caCertPem, certPem, keyPem };
}

/** Why a kept pair cannot be served any more (undefined: it can). Pure. */
export function servingTlsProblem(tls: Partial<ServingTls>, names: ServingNames, now: Date): string | undefined {
  if (!tls.caCertPem || !tls.certPem || !tls.keyPem) return 'no complete pair yet';
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(tls.caCertPem);
    cert = new X509Certificate(tls.certPem);
    if (!cert.checkPrivateKey(createPrivateKey(tls.keyPem))) return 'the key does not match the certificate';
  } catch (error) {
    return `it does not parse: ${(error as Error).message}`;
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'the certificate is not signed by the CA';
  if (cert.validToDate.getTime() - now.getTime() < SERVING_RENEW_BEFORE_MS) return `it ends ${cert.validTo}`;
  if (cert.validFromDate.getTime() > now.getTime()) return `it is valid only from ${cert.validFrom}`;
  const facts = inspectCertificate(cert.raw);
  const missing = [...names.dnsNames.filter((n) => !facts.dnsNames.includes(n)), ...names.ipAddresses.filter((ip) => !facts.ipAddresses.includes(ip))];
  return missing.length > 0 ? `it lacks ${missing.join(', ')}` : undefined;
}

export interface ServingTlsFiles extends TlsFiles {
  /** The CA clients trust (curl --cacert, NODE_EXTRA_CA_CERTS). */
  caFile: string;
}

/**
 * ca.crt, tls.crt and tls.key in `dir`: kept when they still serve `names`, else written anew (the key 0600).
 * `created` says which; `reason` why a new pair was made.
 */
export async function ensureServingTlsFiles(dir: string, names: ServingNames, now: Date = new Date()): Promise<{ files: ServingTlsFiles; created: boolean; reason?: string }> {
  const files = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  const read = (path: string) => readFile(path, 'utf8').catch(() => undefined);
  const [caCertPem, certPem, keyPem] = await Promise.all([read(files.caFile), read(files.certFile), read(files.keyFile)]);
  const reason = servingTlsProblem({ ...(caCertPem ? { caCertPem } : {}), ...(certPem ? { certPem } : {}), ...(keyPem ? { keyPem } : {}) }, names, now);
  if (reason === undefined) return { files, created: false };
  const tls = await issueServingTls(names, now);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(files.keyFile, tls.keyPem, { mode: 0o600 });
  await chmod(files.keyFile, 0o600);
  await writeFile(files.certFile, tls.certPem);
  await writeFile(files.caFile, tls.caCertPem);
  return { files, created: true, reason };
}
