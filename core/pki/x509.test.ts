import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { inspectCertificate } from './der.ts';
import { generatePrivateKey, type KeyAlgorithm } from './keys.ts';
import { goAvailable, goParseAndVerify, opensslSubject, opensslText, opensslVerify } from './test-support.ts';
import { BACKDATE_MS, CA_VALIDITY_MS, DAY_MS, LEAF_VALIDITY_MS, createCaCertificate, signCertificate, type CertAndKey } from './x509.ts';

const UTF8_TAG = 12;

async function caAndLeaf(algorithm: KeyAlgorithm, now = new Date()) {
  const [caKey, leafKey] = await Promise.all([generatePrivateKey(algorithm), generatePrivateKey(algorithm)]);
  const ca: CertAndKey = { certPem: await createCaCertificate('kubernetes', caKey, { now }), keyPem: caKey };
  const leafPem = await signCertificate(
    {
      commonName: 'kube-apiserver',
      organizations: [],
      dnsNames: ['kubernetes', '*.demo-etcd.ns.svc'],
      ipAddresses: ['10.96.0.1', 'FD00:0::1'],
      extKeyUsages: ['serverAuth'],
    },
    leafKey,
    ca,
    { now },
  );
  return { ca, leaf: { certPem: leafPem, keyPem: leafKey } };
}

for (const algorithm of ['RSA-2048', 'ECDSA-P256'] as const) {
  test(`${algorithm}: CA certificate has kubeadm's CA extensions and validity`, async () => {
    const now = new Date();
    const { ca } = await caAndLeaf(algorithm, now);
    const facts = inspectCertificate(new X509Certificate(ca.certPem).raw);
    assert.equal(facts.isCA, true);
    assert.equal(facts.basicConstraintsCritical, true);
    assert.deepEqual([...facts.keyUsages].sort(), ['cRLSign', 'digitalSignature', 'keyCertSign']);
    assert.equal(facts.keyUsageCritical, true);
    assert.match(facts.subjectKeyId ?? '', /^[0-9a-f]{40}$/);
    assert.deepEqual(facts.issuerNameDer, facts.subjectNameDer, 'self-signed: issuer bytes == subject bytes');

    const text = opensslText(ca.certPem);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    assert.match(text, /X509v3 Subject Key Identifier/);

    const cert = new X509Certificate(ca.certPem);
    const backdate = now.getTime() - cert.validFromDate.getTime();
    assert.ok(backdate >= BACKDATE_MS - 1000 && backdate <= BACKDATE_MS + 1000, `notBefore backdated ~5 min, got ${backdate} ms`);
    const lifetime = cert.validToDate.getTime() - now.getTime();
    assert.ok(Math.abs(lifetime - CA_VALIDITY_MS) < 2000, `10-year CA, got ${lifetime / DAY_MS} days`);
  });

  test(`${algorithm}: leaf certificate verifies with openssl -x509_strict and has leaf extensions`, async () => {
    const now = new Date();
    const { ca, leaf } = await caAndLeaf(algorithm, now);
    const verified = opensslVerify(ca.certPem, leaf.certPem, 'sslserver');
    assert.equal(verified.status, 0, verified.stderr + verified.stdout);
    assert.match(verified.stdout, /cert\.pem: OK/);
    // The wrong purpose must fail: the check is not vacuous.
    assert.notEqual(opensslVerify(ca.certPem, leaf.certPem, 'sslclient').status, 0);

    const facts = inspectCertificate(new X509Certificate(leaf.certPem).raw);
    const caFacts = inspectCertificate(new X509Certificate(ca.certPem).raw);
    assert.equal(facts.isCA, false);
    assert.equal(facts.basicConstraintsCritical, true);
    assert.equal(facts.keyUsageCritical, true);
    assert.deepEqual(
      facts.keyUsages,
      algorithm === 'RSA-2048' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'],
    );
    assert.deepEqual(facts.extKeyUsages, ['serverAuth']);
    assert.equal(facts.authorityKeyId, caFacts.subjectKeyId, 'AKI = issuing CA SKI');
    assert.deepEqual(facts.issuerNameDer, caFacts.subjectNameDer);
    assert.deepEqual(facts.dnsNames, ['kubernetes', '*.demo-etcd.ns.svc']);
    assert.deepEqual(facts.ipAddresses, ['10.96.0.1', 'fd00::1']);
    const text = opensslText(leaf.certPem);
    assert.match(text, /DNS:kubernetes, DNS:\*\.demo-etcd\.ns\.svc, IP Address:10\.96\.0\.1, IP Address:FD00:0:0:0:0:0:0:1/);
    assert.match(text, /X509v3 Authority Key Identifier/);
    assert.match(text, algorithm === 'RSA-2048' ? /sha256WithRSAEncryption/ : /ecdsa-with-SHA256/);

    const cert = new X509Certificate(leaf.certPem);
    assert.ok(cert.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(leaf.keyPem))));
    const lifetime = cert.validToDate.getTime() - now.getTime();
    assert.ok(Math.abs(lifetime - LEAF_VALIDITY_MS) < 2000, `1-year leaf, got ${lifetime / DAY_MS} days`);
  });
}

test('serial numbers are random, positive and 128 bits long', async () => {
  const { ca, leaf } = await caAndLeaf('ECDSA-P256');
  const serials = [ca.certPem, leaf.certPem].map((pem) => new X509Certificate(pem).serialNumber);
  for (const serial of serials) {
    // node prints the INTEGER's magnitude in hex; 128 bits with the top bit set = 32 hex digits, first >= 8.
    assert.match(serial, /^[89A-F][0-9A-F]{31}$/);
  }
  assert.notEqual(serials[0], serials[1]);
});

test('subject strings are UTF8String, so Go accepts ":", "_" and "@" in groups', async () => {
  const [caKey, key] = await Promise.all([generatePrivateKey('ECDSA-P256'), generatePrivateKey('ECDSA-P256')]);
  const ca = { certPem: await createCaCertificate('kubernetes', caKey), keyPem: caKey };
  const groups = ['kubeadm:cluster-admins', 'team_a@example.com', 'grüne'];
  const certPem = await signCertificate(
    { commonName: 'jane_doe@example.com', organizations: groups, dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] },
    key,
    ca,
  );
  const facts = inspectCertificate(new X509Certificate(certPem).raw);
  assert.deepEqual(facts.subject.map((a) => a.tag), [UTF8_TAG, UTF8_TAG, UTF8_TAG, UTF8_TAG]);
  assert.deepEqual(facts.organizations, groups);
  assert.equal(facts.commonName, 'jane_doe@example.com');
  assert.equal(
    opensslSubject(certPem),
    'subject=O=kubeadm:cluster-admins, O=team_a@example.com, O=grüne, CN=jane_doe@example.com',
  );
  const verified = opensslVerify(ca.certPem, certPem, 'sslclient');
  assert.equal(verified.status, 0, verified.stderr);
});

test('Go crypto/x509 parses and verifies our certificates (skipped without a Go toolchain)', { skip: !goAvailable() && 'go not installed' }, async () => {
  const [caKey, rsaKey, ecKey] = await Promise.all([
    generatePrivateKey('RSA-2048'),
    generatePrivateKey('RSA-2048'),
    generatePrivateKey('ECDSA-P256'),
  ]);
  const ca = { certPem: await createCaCertificate('kubernetes', caKey), keyPem: caKey };
  const request = { commonName: 'admin_user', organizations: ['kubeception:tenant-admins', 'a_b@c'], dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] as const };
  const certs = [await signCertificate(request, rsaKey, ca), await signCertificate(request, ecKey, ca)];
  const result = goParseAndVerify(ca.certPem, certs);
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n'), [
    'admin_user|kubeception:tenant-admins,a_b@c',
    'admin_user|kubeception:tenant-admins,a_b@c',
  ]);
});

test('a leaf never outlives its CA', async () => {
  const [caKey, key] = await Promise.all([generatePrivateKey('ECDSA-P256'), generatePrivateKey('ECDSA-P256')]);
  const ca = { certPem: await createCaCertificate('short', caKey, { validityMs: 10 * DAY_MS }), keyPem: caKey };
  const certPem = await signCertificate(
    { commonName: 'x', organizations: [], dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] },
    key,
    ca,
  );
  assert.equal(new X509Certificate(certPem).validTo, new X509Certificate(ca.certPem).validTo);
});

test('bad requests are refused with a clear error', async () => {
  const [caKey, key] = await Promise.all([generatePrivateKey('ECDSA-P256'), generatePrivateKey('ECDSA-P256')]);
  const ca = { certPem: await createCaCertificate('kubernetes', caKey), keyPem: caKey };
  const base = { commonName: 'x', organizations: [], dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] as const };
  await assert.rejects(signCertificate({ ...base, ipAddresses: ['10.0.0.300'] }, key, ca), /"10\.0\.0\.300" is not an IP address/);
  await assert.rejects(signCertificate({ ...base, commonName: ' ' }, key, ca), /non-empty CN/);
  await assert.rejects(signCertificate(base, 'not a key', ca), /key for "x" is not a readable PEM key/);
  await assert.rejects(signCertificate(base, key, { certPem: ca.certPem, keyPem: key }), /key does not match certificate/);
});
