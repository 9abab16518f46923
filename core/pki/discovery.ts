// kubeadm's discovery-token-ca-cert-hash: pins the cluster CA for `kubeadm join`.
import { createHash, X509Certificate } from 'node:crypto';

/** `sha256:<hex>` over the CA certificate's SubjectPublicKeyInfo DER, as `kubeadm join` expects. */
export function discoveryTokenCaCertHash(caCertPem: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(caCertPem);
  } catch (error) {
    throw new Error(`CA certificate is not readable: ${(error as Error).message}`, { cause: error });
  }
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}
