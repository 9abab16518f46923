// X.509 in ASN.1/DER with node-forge's asn1 module: encoding the parts of a certificate we issue, and
// reading back the facts the planner and the tests compare (subject, SANs, usages, key identifiers).
// We build the TBSCertificate ourselves instead of forge's Certificate object because forge can only
// put RSA keys into it and signs in pure JS (~70 ms per RSA signature, blocking the event loop);
// node:crypto signs the DER we build here (~1 ms, thread pool) for RSA and ECDSA alike.
import { createHash } from 'node:crypto';
import forge from 'node-forge';
import { bytesToIp } from './ip.ts';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
} as const;

export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

/** RFC 5280 KeyUsage bit names, in bit order. */
export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof KEY_USAGE_BITS)[number];

const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

function bin(buffer: Uint8Array): string {
  return Buffer.from(buffer).toString('binary');
}

export function derOf(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

export function parseDer(der: Uint8Array): Asn1 {
  // decodeBitStrings:false keeps BIT STRING contents raw (key usage bits, signatures).
  const fromDer = asn1.fromDer as unknown as (bytes: string, options: object) => Asn1;
  return fromDer(bin(der), { strict: true, parseAllBytes: true, decodeBitStrings: false });
}

/**
 * A Name with O attributes, then CN (the order Go's pkix.Name writes), every value a UTF8String:
 * forge's default PrintableString cannot carry `_`, `@` or `:`, and Go rejects such certificates.
 */
export function encodeName(subject: { commonName: string; organizations: readonly string[] }): Asn1 {
  const attributes = [
    ...subject.organizations.map((value) => ({ type: OID.organization, value, valueTagClass: T.UTF8 })),
    { type: OID.commonName, value: subject.commonName, valueTagClass: T.UTF8 },
  ];
  const toAsn1 = forge.pki.distinguishedNameToAsn1 as unknown as (dn: { attributes: object[] }) => Asn1;
  return toAsn1({ attributes });
}

/** UTCTime until 2049, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5); whole seconds. */
function encodeTime(date: Date): Asn1 {
  const seconds = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return seconds.getUTCFullYear() < 2050
    ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(seconds))
    : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(seconds));
}

export interface ExtensionsSpec {
  isCA: boolean;
  keyUsages: readonly KeyUsage[];
  extKeyUsages: readonly ExtKeyUsage[];
  dnsNames: readonly string[];
  ipAddresses: readonly Uint8Array[];
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
}

/** The `[3] Extensions` of a TBSCertificate (wrapper included); forge encodes the standard ones from their names. */
export function encodeExtensions(spec: ExtensionsSpec): Asn1 {
  const extensions: object[] = [
    { name: 'basicConstraints', critical: true, cA: spec.isCA },
    {
      name: 'keyUsage',
      critical: true,
      ...Object.fromEntries(spec.keyUsages.map((usage) => [usage, true])),
    },
  ];
  if (spec.extKeyUsages.length > 0) {
    extensions.push({ name: 'extKeyUsage', ...Object.fromEntries(spec.extKeyUsages.map((u) => [u, true])) });
  }
  if (spec.dnsNames.length + spec.ipAddresses.length > 0) {
    extensions.push({
      name: 'subjectAltName',
      altNames: [
        ...spec.dnsNames.map((value) => ({ type: 2, value })),
        // Raw address bytes: forge's own IP parser does not know every IPv6 spelling.
        ...spec.ipAddresses.map((bytes) => ({ type: 7, value: bin(bytes) })),
      ],
    });
  }
  if (spec.subjectKeyId) {
    extensions.push({
      name: 'subjectKeyIdentifier',
      value: asn1.create(U, T.OCTETSTRING, false, bin(spec.subjectKeyId)),
    });
  }
  if (spec.authorityKeyId) {
    // Explicit bytes: forge's `keyIdentifier: true` would use the subject's key, not the issuer's.
    extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: bin(spec.authorityKeyId) });
  }
  // setExtensions fills in the DER values; the key is not needed since both identifiers are given.
  const holder = forge.pki.createCertificate();
  holder.setExtensions(extensions as unknown[] as never[]);
  const toAsn1 = (forge.pki as unknown as { certificateExtensionsToAsn1(e: unknown[]): Asn1 })
    .certificateExtensionsToAsn1;
  return toAsn1(holder.extensions);
}

export type SignatureAlgorithm = 'sha256WithRSAEncryption' | 'ecdsaWithSHA256';

export function encodeSignatureAlgorithm(algorithm: SignatureAlgorithm): Asn1 {
  const oid = asn1.create(U, T.OID, false, asn1.oidToDer(OID[algorithm]).getBytes());
  // RSA carries an explicit NULL parameter; ECDSA has none (RFC 5758 3.2).
  return algorithm === 'sha256WithRSAEncryption'
    ? asn1.create(U, T.SEQUENCE, true, [oid, asn1.create(U, T.NULL, false, '')])
    : asn1.create(U, T.SEQUENCE, true, [oid]);
}

export interface TbsSpec {
  serial: Uint8Array; // DER INTEGER contents (already minimal and positive)
  signatureAlgorithm: SignatureAlgorithm;
  issuerNameDer: Uint8Array; // the issuer's subject Name, byte for byte (Go matches chains on raw bytes)
  notBefore: Date;
  notAfter: Date;
  subjectName: Asn1;
  subjectPublicKeyInfoDer: Uint8Array;
  extensions: Asn1;
}

export function encodeTbsCertificate(spec: TbsSpec): Buffer {
  const tbs = asn1.create(U, T.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(U, T.INTEGER, false, asn1.integerToDer(2).getBytes()), // v3
    ]),
    asn1.create(U, T.INTEGER, false, bin(spec.serial)),
    encodeSignatureAlgorithm(spec.signatureAlgorithm),
    parseDer(spec.issuerNameDer),
    asn1.create(U, T.SEQUENCE, true, [encodeTime(spec.notBefore), encodeTime(spec.notAfter)]),
    spec.subjectName,
    parseDer(spec.subjectPublicKeyInfoDer),
    spec.extensions, // already wrapped in [3]
  ]);
  return derOf(tbs);
}

export function encodeCertificate(tbsDer: Uint8Array, algorithm: SignatureAlgorithm, signature: Uint8Array): Buffer {
  return derOf(
    asn1.create(U, T.SEQUENCE, true, [
      parseDer(tbsDer),
      encodeSignatureAlgorithm(algorithm),
      asn1.create(U, T.BITSTRING, false, '\x00' + bin(signature)),
    ]),
  );
}

// ---- reading certificates back ----

export interface NameAttribute {
  oid: string;
  value: string;
  /** ASN.1 universal tag of the value: 12 UTF8String, 19 PrintableString, ... */
  tag: number;
}

export interface CertificateFacts {
  serialHex: string;
  subject: NameAttribute[];
  commonName: string | undefined;
  organizations: string[];
  subjectNameDer: Buffer;
  issuerNameDer: Buffer;
  subjectPublicKeyInfoDer: Buffer;
  isCA: boolean;
  basicConstraintsCritical: boolean;
  keyUsages: KeyUsage[];
  keyUsageCritical: boolean;
  /** Extended key usages by name where known, else by OID. */
  extKeyUsages: string[];
  dnsNames: string[];
  ipAddresses: string[];
  subjectKeyId: string | undefined; // hex
  authorityKeyId: string | undefined; // hex
  signatureAlgorithmOid: string;
}

function bytesOf(node: Asn1): Buffer {
  return Buffer.from(node.value as string, 'binary');
}

function children(node: Asn1 | undefined): Asn1[] {
  return Array.isArray(node?.value) ? (node.value as Asn1[]) : [];
}

function oidOf(node: Asn1 | undefined): string {
  return node ? asn1.derToOid(node.value as string) : '';
}

function readName(name: Asn1): NameAttribute[] {
  return children(name).flatMap((rdn) =>
    children(rdn).map((pair) => {
      const [type, value] = children(pair);
      const raw = (value?.value as string) ?? '';
      const tag = value?.type ?? 0;
      return {
        oid: oidOf(type),
        // UTF8String needs decoding; PrintableString and IA5String are ASCII already.
        value: tag === T.UTF8 ? forge.util.decodeUtf8(raw) : raw,
        tag,
      };
    }),
  );
}

const EKU_NAMES: Record<string, string> = { [OID.serverAuth]: 'serverAuth', [OID.clientAuth]: 'clientAuth' };

/** Reads a DER certificate. Throws if the structure is not an X.509 certificate. */
export function inspectCertificate(der: Uint8Array): CertificateFacts {
  const cert = parseDer(der);
  const [tbs, signatureAlgorithm] = children(cert);
  const fields = children(tbs);
  // v1 certificates have no [0] version; skip it when present.
  const offset = fields[0]?.tagClass === asn1.Class.CONTEXT_SPECIFIC && fields[0]?.type === 0 ? 1 : 0;
  const serial = fields[offset];
  const issuer = fields[offset + 2];
  const subject = fields[offset + 4];
  const spki = fields[offset + 5];
  if (!tbs || !serial || !issuer || !subject || !spki || !signatureAlgorithm) {
    throw new Error('not an X.509 certificate: TBSCertificate is incomplete');
  }
  const facts: CertificateFacts = {
    serialHex: bytesOf(serial).toString('hex'),
    subject: readName(subject),
    commonName: undefined,
    organizations: [],
    subjectNameDer: derOf(subject),
    issuerNameDer: derOf(issuer),
    subjectPublicKeyInfoDer: derOf(spki),
    isCA: false,
    basicConstraintsCritical: false,
    keyUsages: [],
    keyUsageCritical: false,
    extKeyUsages: [],
    dnsNames: [],
    ipAddresses: [],
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    signatureAlgorithmOid: oidOf(children(signatureAlgorithm)[0]),
  };
  facts.commonName = facts.subject.findLast((a) => a.oid === OID.commonName)?.value;
  facts.organizations = facts.subject.filter((a) => a.oid === OID.organization).map((a) => a.value);

  const extensionsWrapper = fields.find((f) => f.tagClass === asn1.Class.CONTEXT_SPECIFIC && f.type === 3);
  for (const extension of children(children(extensionsWrapper)[0])) {
    const parts = children(extension);
    const oid = oidOf(parts[0]);
    const critical = parts.length === 3 && (parts[1]?.value as string) !== '\x00';
    const valueNode = parts[parts.length - 1];
    if (!valueNode) continue;
    const value = parseDer(bytesOf(valueNode));
    switch (oid) {
      case OID.basicConstraints: {
        const flag = children(value)[0];
        facts.isCA = flag?.type === T.BOOLEAN && (flag.value as string) !== '\x00';
        facts.basicConstraintsCritical = critical;
        break;
      }
      case OID.keyUsage: {
        const bits = bytesOf(value).subarray(1); // first byte = unused bit count
        facts.keyUsages = KEY_USAGE_BITS.filter((_, i) => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0);
        facts.keyUsageCritical = critical;
        break;
      }
      case OID.extKeyUsage:
        facts.extKeyUsages = children(value).map((node) => EKU_NAMES[oidOf(node)] ?? oidOf(node));
        break;
      case OID.subjectAltName:
        for (const name of children(value)) {
          if (name.tagClass !== asn1.Class.CONTEXT_SPECIFIC) continue;
          if (name.type === 2) facts.dnsNames.push(name.value as string);
          if (name.type === 7) facts.ipAddresses.push(bytesToIp(bytesOf(name)));
        }
        break;
      case OID.subjectKeyIdentifier:
        facts.subjectKeyId = bytesOf(value).toString('hex');
        break;
      case OID.authorityKeyIdentifier: {
        const keyId = children(value).find((n) => n.tagClass === asn1.Class.CONTEXT_SPECIFIC && n.type === 0);
        facts.authorityKeyId = keyId ? bytesOf(keyId).toString('hex') : undefined;
        break;
      }
    }
  }
  return facts;
}

/**
 * RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents (what Go and openssl
 * compute), used for SubjectKeyIdentifier and the AuthorityKeyIdentifier of what the CA signs.
 */
export function keyIdentifierFromSpki(spkiDer: Uint8Array): Buffer {
  const [, publicKeyBits] = children(parseDer(spkiDer));
  if (!publicKeyBits) throw new Error('SubjectPublicKeyInfo has no public key');
  return createHash('sha1').update(bytesOf(publicKeyBits).subarray(1)).digest();
}
