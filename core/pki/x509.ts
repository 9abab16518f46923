// Issuing certificates: self-signed CAs and CA-signed leaves, with kubeadm's extensions.
// Keys come in as PEM (see keys.ts); forge encodes the certificate (der.ts); node:crypto signs it.
import { randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import {
  derOf,
  encodeCertificate,
  encodeExtensions,
  encodeName,
  encodeTbsCertificate,
  inspectCertificate,
  keyIdentifierFromSpki,
  type ExtKeyUsage,
  type KeyUsage,
  type SignatureAlgorithm,
} from './der.ts';
import { ipToBytes } from './ip.ts';
import { parsePrivateKey, parseSubjectKey, signSha256, subjectPublicKeyInfoDer } from './keys.ts';

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
export const YEAR_MS = 365 * DAY_MS;

/** kubeadm: CAs for 10 years, everything else for 1 year. */
export const CA_VALIDITY_MS = 10 * YEAR_MS;
export const LEAF_VALIDITY_MS = YEAR_MS;
/** notBefore lies this far in the past, so clocks a little behind ours accept a fresh certificate. */
export const BACKDATE_MS = 5 * MINUTE_MS;

/** A PEM certificate with its PEM private key. */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

/** Who a certificate is for: the subject, its SANs and what it may be used for. */
export interface CertificateRequest {
  commonName: string;
  /** Subject O values; Kubernetes reads them as the groups of a client certificate. */
  organizations: readonly string[];
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  extKeyUsages: readonly ExtKeyUsage[];
}

export interface IssueOptions {
  /** Issue as of this time (default: now). */
  now?: Date;
  /** Lifetime from `now` (default: 1 year for leaves, 10 years for CAs). */
  validityMs?: number;
  /** How far notBefore lies before `now` (default 5 minutes). */
  backdateMs?: number;
}

/** 128 random bits, top bit set so the number is exactly 128 bits long, with a 0x00 byte in front
 *  so the DER INTEGER stays positive (RFC 5280 allows up to 20 octets). */
export function randomSerial(): Buffer {
  const bits = randomBytes(16);
  bits[0] = (bits[0] ?? 0) | 0x80;
  return Buffer.concat([Buffer.from([0]), bits]);
}

/** The SHA-256 signature algorithm of an RSA or ECDSA key (what node:crypto signs with for it). */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'sha256WithRSAEncryption';
  if (key.asymmetricKeyType === 'ec') return 'ecdsaWithSHA256';
  throw new Error(`cannot sign with a ${key.asymmetricKeyType ?? 'unknown'} key (RSA or ECDSA only)`);
}

function validateRequest(request: CertificateRequest): Uint8Array[] {
  if (request.commonName.trim() === '') throw new Error('certificate subject needs a non-empty CN');
  return request.ipAddresses.map((ip) => {
    const bytes = ipToBytes(ip);
    if (!bytes) throw new Error(`"${ip}" is not an IP address`);
    return bytes;
  });
}

/** A CA ready to sign: its subject Name bytes, key id, key and end of validity. */
export interface Signer {
  nameDer: Uint8Array;
  keyId: Uint8Array;
  privateKey: KeyObject;
  notAfter: Date;
}

async function issue(
  request: CertificateRequest,
  subjectKey: KeyObject,
  signer: Signer | 'self',
  isCA: boolean,
  keyUsages: KeyUsage[],
  options: IssueOptions,
  defaultValidityMs: number,
): Promise<string> {
  const ipAddresses = validateRequest(request);
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - (options.backdateMs ?? BACKDATE_MS));
  let notAfter = new Date(now.getTime() + (options.validityMs ?? defaultValidityMs));
  if (signer !== 'self' && notAfter > signer.notAfter) notAfter = signer.notAfter; // never outlive the CA
  if (notAfter <= notBefore) throw new Error('certificate validity must end after it starts');

  const spki = subjectPublicKeyInfoDer(subjectKey);
  const subjectKeyId = keyIdentifierFromSpki(spki);
  const subjectName = encodeName(request);
  const signingKey = signer === 'self' ? subjectKey : signer.privateKey;
  const signatureAlgorithm = signatureAlgorithmFor(signingKey);
  const tbs = encodeTbsCertificate({
    serial: randomSerial(),
    signatureAlgorithm,
    issuerNameDer: signer === 'self' ? derOf(subjectName) : signer.nameDer, // self-signed: byte-identical
    notBefore,
    notAfter,
    subjectName,
    subjectPublicKeyInfoDer: spki,
    extensions: encodeExtensions({
      isCA,
      keyUsages,
      extKeyUsages: request.extKeyUsages,
      dnsNames: request.dnsNames,
      ipAddresses,
      // Like Go: CAs carry their own key id, signed certificates point at their CA's.
      subjectKeyId: isCA ? subjectKeyId : undefined,
      authorityKeyId: signer === 'self' ? undefined : signer.keyId,
    }),
  });
  const signature = await signSha256(tbs, signingKey);
  return new X509Certificate(encodeCertificate(tbs, signatureAlgorithm, signature)).toString();
}

/** A self-signed CA certificate for the key (basicConstraints CA:true, keyCertSign+cRLSign+digitalSignature). */
export async function createCaCertificate(
  commonName: string,
  keyPem: string,
  options: IssueOptions = {},
): Promise<string> {
  const key = parsePrivateKey(keyPem, `key of CA "${commonName}"`);
  const request: CertificateRequest = { commonName, organizations: [], dnsNames: [], ipAddresses: [], extKeyUsages: [] };
  return issue(request, key, 'self', true, ['digitalSignature', 'keyCertSign', 'cRLSign'], options, CA_VALIDITY_MS);
}

/** Everything needed from a CA to sign with it, read once. */
export function loadSigner(ca: CertAndKey): Signer {
  const cert = new X509Certificate(ca.certPem);
  const facts = inspectCertificate(cert.raw);
  const privateKey = parsePrivateKey(ca.keyPem, `key of CA "${facts.commonName ?? '?'}"`);
  if (!facts.isCA) throw new Error(`certificate "${facts.commonName ?? '?'}" is not a CA`);
  if (!cert.checkPrivateKey(privateKey)) throw new Error(`CA "${facts.commonName ?? '?'}": key does not match certificate`);
  return {
    nameDer: facts.subjectNameDer,
    keyId: facts.subjectKeyId ? Buffer.from(facts.subjectKeyId, 'hex') : keyIdentifierFromSpki(facts.subjectPublicKeyInfoDer),
    privateKey,
    notAfter: cert.validToDate,
  };
}

/**
 * A certificate for `subjectKeyPem` (private or public key PEM) signed by the CA: basicConstraints
 * CA:false, keyUsage digitalSignature (+ keyEncipherment for RSA keys, as kubeadm does), the requested
 * extended key usages and SANs, authorityKeyIdentifier = the CA's key id. Never outlives the CA.
 */
export async function signCertificate(
  request: CertificateRequest,
  subjectKeyPem: string,
  ca: CertAndKey | Signer,
  options: IssueOptions = {},
): Promise<string> {
  const signer = 'certPem' in ca ? loadSigner(ca) : ca;
  const subjectKey = parseSubjectKey(subjectKeyPem, `key for "${request.commonName}"`);
  const keyUsages: KeyUsage[] =
    subjectKey.asymmetricKeyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
  return issue(request, subjectKey, signer, false, keyUsages, options, LEAF_VALIDITY_MS);
}
