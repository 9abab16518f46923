// Private keys: generation (async, off the event loop), PEM encodings and small key facts.
// node:crypto does the work; node-forge's pure-JS RSA keygen takes seconds and blocks the loop.
import { createPrivateKey, createPublicKey, generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

/** Key algorithms, named as kubeadm's `encryptionAlgorithm` names them. */
export type KeyAlgorithm = 'RSA-2048' | 'ECDSA-P256';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['RSA-2048', 'ECDSA-P256'];

/** kubeadm's default, and what every Kubernetes component has accepted the longest. */
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'RSA-2048';

const generateKeyPairAsync = promisify(generateKeyPair);
const signAsync = promisify(sign);

/**
 * A fresh private key as PEM: PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`, the encodings
 * kubeadm writes (Go's tls.X509KeyPair and keyutil accept them, as do etcd and openssl).
 * Runs on libuv's thread pool; start many at once with Promise.all.
 */
export async function generatePrivateKey(algorithm: KeyAlgorithm): Promise<string> {
  if (algorithm === 'RSA-2048') {
    const { privateKey } = await generateKeyPairAsync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    return privateKey;
  }
  if (algorithm === 'ECDSA-P256') {
    const { privateKey } = await generateKeyPairAsync('ec', {
      namedCurve: 'prime256v1',
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'sec1', format: 'pem' },
    });
    return privateKey;
  }
  throw new Error(`unsupported key algorithm "${String(algorithm)}" (supported: ${KEY_ALGORITHMS.join(', ')})`);
}

/** Parses a PEM private key (PKCS#1, PKCS#8 or SEC1), with an error that says which key failed. */
export function parsePrivateKey(pem: string, what = 'private key'): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new Error(`${what} is not a readable PEM private key: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The public key a certificate is issued for, from a PEM private key or a PEM public key (a signer that
 * answers a certificate request never sees the private half).
 */
export function parseSubjectKey(pem: string, what = 'subject key'): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (error) {
    throw new Error(`${what} is not a readable PEM key: ${(error as Error).message}`, { cause: error });
  }
}

/** The key's algorithm in our vocabulary, or undefined for anything else (e.g. RSA-4096, P-384). */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa' && details?.modulusLength === 2048) return 'RSA-2048';
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return 'ECDSA-P256';
  return undefined;
}

/** A short description for messages: "rsa 4096", "ec secp384r1". */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  return `${key.asymmetricKeyType ?? 'unknown'} ${details?.modulusLength ?? details?.namedCurve ?? ''}`.trim();
}

/** SubjectPublicKeyInfo DER of a private or public key. */
export function subjectPublicKeyInfoDer(key: KeyObject): Buffer {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
}

/** The public half as a PKIX `PUBLIC KEY` PEM (what kubeadm writes to sa.pub). */
export function publicKeyPem(privateKeyPem: string): string {
  return createPublicKey(parsePrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

/** SHA-256 signature over data (PKCS#1 v1.5 for RSA, DER ECDSA-Sig-Value for EC), off the event loop. */
export async function signSha256(data: Buffer, key: KeyObject): Promise<Buffer> {
  return signAsync('sha256', data, key);
}
