// PKCS#10 certificate requests (RFC 2986): what a client sends to a signer that must never see its key,
// e.g. a tenant's CertificateSigningRequest API. forge encodes the request info (der.ts), node:crypto
// signs it, for RSA and ECDSA keys alike (forge's own CSR object knows only RSA and signs in pure JS).
import { createPublicKey, verify } from 'node:crypto';
import forge from 'node-forge';
import { derOf, encodeName, encodeSignatureAlgorithm, parseDer, OID } from './der.ts';
import { parsePrivateKey, signSha256, subjectPublicKeyInfoDer } from './keys.ts';
import { signatureAlgorithmFor } from './x509.ts';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

/** Who the requested client certificate is for: CN = user, O = groups (Kubernetes reads them so). */
export interface RequestSubject {
  commonName: string;
  organizations: readonly string[];
}

const PEM_LABEL = 'CERTIFICATE REQUEST';

/** A PEM `CERTIFICATE REQUEST` for `subject`, signed with `keyPem` (SHA-256; no attributes, no extensions). */
export async function createCertificateRequest(subject: RequestSubject, keyPem: string): Promise<string> {
  if (subject.commonName.trim() === '') throw new Error('certificate request needs a non-empty CN');
  const key = parsePrivateKey(keyPem, `key for "${subject.commonName}"`);
  const algorithm = signatureAlgorithmFor(key);
  const info = derOf(
    asn1.create(U, T.SEQUENCE, true, [
      asn1.create(U, T.INTEGER, false, asn1.integerToDer(0).getBytes()), // version 1
      encodeName(subject),
      parseDer(subjectPublicKeyInfoDer(key)),
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, []), // attributes: none
    ]),
  );
  const signature = await signSha256(info, key);
  const der = derOf(
    asn1.create(U, T.SEQUENCE, true, [parseDer(info), encodeSignatureAlgorithm(algorithm), asn1.create(U, T.BITSTRING, false, '\x00' + signature.toString('binary'))]),
  );
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${PEM_LABEL}-----\n${body}-----END ${PEM_LABEL}-----\n`;
}

export interface CertificateRequestFacts extends RequestSubject {
  /** The requester's public key, PKIX PEM. */
  publicKeyPem: string;
  /** Whether the request is signed by the key it carries (proof of possession). */
  signatureValid: boolean;
}

function children(node: Asn1 | undefined): Asn1[] {
  return Array.isArray(node?.value) ? (node.value as Asn1[]) : [];
}

/** Reads a PEM certificate request back: subject, public key, and whether its signature holds. */
export function readCertificateRequest(pem: string): CertificateRequestFacts {
  const match = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!match) throw new Error('not a PEM certificate request');
  const [info, algorithm, signature] = children(parseDer(Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64')));
  const [, subject, spki] = children(info);
  if (!info || !algorithm || !signature || !subject || !spki) throw new Error('certificate request is incomplete');
  let commonName = '';
  const organizations: string[] = [];
  for (const rdn of children(subject)) {
    for (const pair of children(rdn)) {
      const [type, value] = children(pair);
      const oid = asn1.derToOid(type?.value as string);
      const raw = typeof value?.value === 'string' ? value.value : '';
      const text = value?.type === T.UTF8 ? forge.util.decodeUtf8(raw) : raw;
      if (oid === OID.commonName) commonName = text;
      if (oid === OID.organization) organizations.push(text);
    }
  }
  const publicKey = createPublicKey({ key: derOf(spki), format: 'der', type: 'spki' });
  const signatureBytes = Buffer.from((signature.value as string).slice(1), 'binary'); // drop the unused-bits byte
  return {
    commonName,
    organizations,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    signatureValid: verify('sha256', derOf(info), publicKey, signatureBytes),
  };
}
