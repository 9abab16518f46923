import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { createCertificateRequest, readCertificateRequest } from './csr.ts';
import { inspectCertificate } from './der.ts';
import { generatePrivateKey, publicKeyPem } from './keys.ts';
import { run, withTempDir } from './test-support.ts';
import { createCaCertificate, signCertificate } from './x509.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

for (const algorithm of ['RSA-2048', 'ECDSA-P256'] as const) {
  test(`a ${algorithm} request carries the subject and key, and openssl verifies its signature`, async () => {
    const keyPem = await generatePrivateKey(algorithm);
    const pem = await createCertificateRequest({ commonName: 'portal:acme:jane@example.com', organizations: ['portal:acme:dev', 'ops_team'] }, keyPem);
    assert.match(pem, /^-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n$/);
    const facts = readCertificateRequest(pem);
    assert.equal(facts.commonName, 'portal:acme:jane@example.com');
    assert.deepEqual(facts.organizations, ['portal:acme:dev', 'ops_team']);
    assert.equal(facts.publicKeyPem, publicKeyPem(keyPem));
    assert.equal(facts.signatureValid, true);
    // An independent reader: openssl checks the self-signature and prints the subject (O before CN, like Go).
    const checked = withTempDir((dir) => {
      writeFileSync(join(dir, 'req.pem'), pem);
      return run('openssl', ['req', '-in', 'req.pem', '-noout', '-verify', '-subject', '-nameopt', 'RFC2253'], undefined, dir);
    });
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stdout + checked.stderr, /verify OK/i);
    assert.match(checked.stdout, /subject=CN=portal:acme:jane@example.com,O=ops_team,O=portal:acme:dev/);
  });
}

test('a request whose signature does not match its key is recognised', async () => {
  const pem = await createCertificateRequest({ commonName: 'u', organizations: [] }, await generatePrivateKey('ECDSA-P256'));
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0x01; // a bit of the signature
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal(readCertificateRequest(tampered).signatureValid, false);
});

test('a signer can issue for the public key alone (what the tenant CA does with a CSR)', async () => {
  const caKey = await generatePrivateKey('ECDSA-P256');
  const ca = { certPem: await createCaCertificate('kubernetes', caKey), keyPem: caKey };
  const userKey = await generatePrivateKey('RSA-2048');
  const facts = readCertificateRequest(await createCertificateRequest({ commonName: 'portal:acme:ann', organizations: ['g'] }, userKey));
  const certPem = await signCertificate({ commonName: facts.commonName, organizations: facts.organizations, dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] }, facts.publicKeyPem, ca);
  const cert = new X509Certificate(certPem);
  assert.ok(cert.publicKey.equals(createPublicKey(userKey)));
  assert.deepEqual(inspectCertificate(cert.raw).keyUsages, ['digitalSignature', 'keyEncipherment'], 'RSA subject: as kubeadm');
});

test('refusals: no CN, unreadable key, not a request', async () => {
  await assert.rejects(createCertificateRequest({ commonName: ' ', organizations: [] }, await generatePrivateKey('ECDSA-P256')), /non-empty CN/);
  await assert.rejects(createCertificateRequest({ commonName: 'u', organizations: [] }, 'nope'), /key for "u" is not a readable PEM private key/);
  assert.throws(() => readCertificateRequest('-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n'), /not a PEM certificate request/);
});
