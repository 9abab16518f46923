import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { test } from 'node:test';
import { discoveryTokenCaCertHash } from './discovery.ts';
import { generatePrivateKey } from './keys.ts';
import { createCaCertificate } from './x509.ts';

function opensslHash(caPem: string): string {
  // The pipeline from the kubeadm documentation.
  const hex = execSync('openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum', { input: caPem, encoding: 'utf8' });
  return `sha256:${hex.split(/\s/)[0]}`;
}

for (const algorithm of ['RSA-2048', 'ECDSA-P256'] as const) {
  test(`discovery hash matches openssl's for an ${algorithm} CA`, async () => {
    const keyPem = await generatePrivateKey(algorithm);
    const caPem = await createCaCertificate('kubernetes', keyPem);
    const hash = discoveryTokenCaCertHash(caPem);
    assert.match(hash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(hash, opensslHash(caPem));
  });
}

test('two CAs have different hashes; garbage is refused', async () => {
  const [a, b] = await Promise.all([generatePrivateKey('ECDSA-P256'), generatePrivateKey('ECDSA-P256')]);
  assert.notEqual(discoveryTokenCaCertHash(await createCaCertificate('x', a)), discoveryTokenCaCertHash(await createCaCertificate('x', b)));
  assert.throws(() => discoveryTokenCaCertHash('not a certificate'), /CA certificate is not readable/);
});
