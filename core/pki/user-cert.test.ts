import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import { inspectCertificate } from './der.ts';
import { generatePrivateKey } from './keys.ts';
import { parseKubeconfig } from './kubeconfig.ts';
import { opensslVerify } from './test-support.ts';
import { buildUserKubeconfig, issueUserCertificate } from './user-cert.ts';
import { DAY_MS, createCaCertificate, type CertAndKey } from './x509.ts';

let ca: CertAndKey;
before(async () => {
  const keyPem = await generatePrivateKey('RSA-2048');
  ca = { certPem: await createCaCertificate('kubernetes', keyPem), keyPem };
});

test('issues a client certificate for the user and groups, honouring the TTL', async () => {
  const now = new Date();
  const creds = await issueUserCertificate({ ca, user: 'jane@example.com', groups: ['team_a', 'billing:viewers'], ttlSeconds: 3600, now });
  const cert = new X509Certificate(creds.certPem);
  const facts = inspectCertificate(cert.raw);
  assert.equal(facts.commonName, 'jane@example.com');
  assert.deepEqual(facts.organizations, ['team_a', 'billing:viewers']);
  assert.deepEqual(facts.extKeyUsages, ['clientAuth']);
  assert.equal(cert.validToDate.getTime(), Math.floor(now.getTime() / 1000) * 1000 + 3600_000);
  assert.deepEqual(creds.notAfter, cert.validToDate);
  assert.ok(creds.notBefore < now);
  assert.ok(cert.checkPrivateKey(createPrivateKey(creds.keyPem)));
  const verified = opensslVerify(ca.certPem, creds.certPem, 'sslclient');
  assert.equal(verified.status, 0, verified.stderr);

  const kubeconfig = parseKubeconfig(
    buildUserKubeconfig({ clusterName: 'demo', server: 'https://10.0.0.5:31443', caCertPem: ca.certPem, user: 'jane@example.com', credentials: creds }),
  );
  assert.equal(kubeconfig.userName, 'jane@example.com');
  assert.equal(kubeconfig.clusterName, 'demo');
  assert.equal(kubeconfig.clientCertPem, creds.certPem);
  assert.equal(kubeconfig.clientKeyPem, creds.keyPem);
});

test('refuses system:masters, whatever else is asked', async () => {
  await assert.rejects(issueUserCertificate({ ca, user: 'mallory', groups: ['dev', 'system:masters'], ttlSeconds: 600 }), /refusing to issue a certificate in "system:masters"/);
  await assert.rejects(
    issueUserCertificate({ ca, user: 'mallory', groups: ['system:masters'], ttlSeconds: 600, allowSystemIdentities: true }),
    /system:masters/,
  );
});

test('other system: identities need an explicit opt-in', async () => {
  await assert.rejects(issueUserCertificate({ ca, user: 'system:kube-scheduler', ttlSeconds: 600 }), /reserved "system:" identities \(system:kube-scheduler\)/);
  await assert.rejects(issueUserCertificate({ ca, user: 'node-1', groups: ['system:nodes'], ttlSeconds: 600 }), /system:nodes/);
  const creds = await issueUserCertificate({ ca, user: 'system:node:node-1', groups: ['system:nodes'], ttlSeconds: 600, allowSystemIdentities: true, keyAlgorithm: 'ECDSA-P256' });
  assert.deepEqual(inspectCertificate(new X509Certificate(creds.certPem).raw).organizations, ['system:nodes']);
});

test('bad TTLs and identities are refused with clear errors', async () => {
  await assert.rejects(issueUserCertificate({ ca, user: 'u', ttlSeconds: 59 }), /ttlSeconds must be a whole number of at least 60, got 59/);
  await assert.rejects(issueUserCertificate({ ca, user: 'u', ttlSeconds: 1.5 }), /whole number/);
  await assert.rejects(issueUserCertificate({ ca, user: 'u', ttlSeconds: (11 * 365 * DAY_MS) / 1000 }), /outlives the CA/);
  await assert.rejects(issueUserCertificate({ ca, user: '', ttlSeconds: 600 }), /user name must be non-empty/);
  await assert.rejects(issueUserCertificate({ ca, user: 'u', groups: ['a', 'a'], ttlSeconds: 600 }), /duplicates/);
  await assert.rejects(issueUserCertificate({ ca, user: 'u\n', ttlSeconds: 600 }), /user name/);
});
