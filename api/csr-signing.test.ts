// The CSR flow against the fake API server, with a stand-in for the tenant's kube-controller-manager
// that signs approved requests of the client signer with a test CA (as its csrsigning controller does).
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCaCertificate, generatePrivateKey, inspectCertificate, readCertificateRequest, signCertificate, type KubeClient } from '../core/index.ts';
import { fakeApiServerFor, type FakeApiServer } from '../core/testing/fake-api-server.ts';
import { csrRefused, signClientCertificate, type CsrObject } from './csr-signing.ts';
import { ProblemError } from './problems.ts';

const CSRS = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
const subject = { commonName: 'portal:acme:ann', organizations: ['portal:acme:dev', 'kubeception:tenant-admins'] };
const options = { cluster: 'c1', timeoutMs: 2000, approvalMessage: 'for account acme' };

type Verdict = 'sign' | 'deny' | 'fail' | 'ignore' | 'sign-other-key';

/** Polls the CSRs like the controller-manager's signer; `verdict` decides what it does with approved ones. */
function signer(t: { after: (fn: () => Promise<void>) => void }, fake: FakeApiServer, client: KubeClient, verdict: Verdict) {
  const seen: CsrObject[] = [];
  let running = true;
  t.after(async () => {
    running = false;
  });
  void (async () => {
    const keyPem = await generatePrivateKey('ECDSA-P256');
    const ca = { certPem: await createCaCertificate('kubernetes', keyPem), keyPem };
    while (running) {
      const list = await client.request<{ items: (CsrObject & { metadata: { name: string } })[] }>('GET', CSRS).catch(() => ({ items: [] }));
      for (const csr of list.items) {
        const approved = (csr.status?.conditions ?? []).some((c) => c.type === 'Approved' && c.status === 'True');
        if (!approved || csr.status?.certificate !== undefined || (csr.status?.conditions ?? []).some((c) => c.type !== 'Approved')) continue;
        if (seen.some((s) => s.metadata?.name === csr.metadata.name)) continue;
        seen.push(structuredClone(csr));
        if (verdict === 'ignore') continue;
        const status = { ...csr.status };
        if (verdict === 'deny' || verdict === 'fail') {
          status.conditions = [...(status.conditions ?? []), { type: verdict === 'deny' ? 'Denied' : 'Failed', status: 'True', reason: 'SignerPolicy', message: 'not this one' }];
        } else {
          const facts = readCertificateRequest(Buffer.from(String(csr.spec?.request), 'base64').toString('utf8'));
          const subjectKey = verdict === 'sign' ? facts.publicKeyPem : await generatePrivateKey('ECDSA-P256');
          const validityMs = Number(csr.spec?.expirationSeconds) * 1000;
          const certPem = await signCertificate({ commonName: facts.commonName, organizations: facts.organizations, dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] }, subjectKey, ca, { validityMs });
          status.certificate = Buffer.from(certPem).toString('base64');
        }
        fake.put(CSRS, { ...csr, status } as never);
      }
      await sleep(10);
    }
  })();
  return { seen };
}

const remaining = async (client: KubeClient) => (await client.request<{ items: unknown[] }>('GET', CSRS)).items.length;

test('a certificate from the tenant signer: created for the client signer with the TTL, approved, checked, deleted', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  const run = signer(t, fake, client, 'sign');
  const signed = await signClientCertificate(client, subject, 900, options);
  const cert = new X509Certificate(signed.certPem);
  const facts = inspectCertificate(cert.raw);
  assert.equal(facts.commonName, 'portal:acme:ann');
  assert.deepEqual(facts.organizations, subject.organizations);
  assert.ok(cert.checkPrivateKey(createPrivateKey(signed.keyPem)));
  assert.match(signed.keyPem, /BEGIN EC PRIVATE KEY/);
  assert.deepEqual(signed.notAfter, cert.validToDate);
  assert.ok(Math.abs(cert.validToDate.getTime() - Date.now() - 900_000) < 5000, 'lives as long as asked');

  const [csr] = run.seen;
  assert.equal(csr?.spec?.signerName, 'kubernetes.io/kube-apiserver-client');
  assert.equal(csr?.spec?.expirationSeconds, 900);
  assert.deepEqual(csr?.spec?.usages, ['digital signature', 'client auth']);
  const approval = csr?.status?.conditions?.[0];
  assert.deepEqual([approval?.type, approval?.status, approval?.reason, approval?.message], ['Approved', 'True', 'KubeceptionPortal', 'for account acme']);
  assert.ok(fake.requests.some((r) => r.method === 'PUT' && r.path.endsWith('/approval')), 'approved through the approval subresource');
  assert.equal(await remaining(client), 0, 'the CSR is deleted after use');
});

for (const verdict of ['deny', 'fail'] as const) {
  test(`a CSR the signer marks ${verdict === 'deny' ? 'Denied' : 'Failed'}: 502 certificate-refused, the CSR deleted`, async (t) => {
    const { fake, client } = await fakeApiServerFor(t);
    signer(t, fake, client, verdict);
    const error = await signClientCertificate(client, subject, 900, options).then(() => assert.fail('issued'), (e: unknown) => e);
    assert.ok(error instanceof ProblemError);
    assert.equal(error.status, 502);
    assert.equal(error.slug, 'certificate-refused');
    assert.match(error.message, new RegExp(`cluster c1 refused to sign the certificate \\(${verdict === 'deny' ? 'Denied' : 'Failed'}: SignerPolicy: not this one\\)`));
    assert.equal(await remaining(client), 0);
  });
}

test('an approved CSR nobody signs in time: 504 signing-timeout after the time allowed, the CSR deleted', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  const run = signer(t, fake, client, 'ignore');
  const started = Date.now();
  const error = await signClientCertificate(client, subject, 900, { ...options, timeoutMs: 400 }).then(() => assert.fail('issued'), (e: unknown) => e);
  assert.ok(error instanceof ProblemError);
  assert.equal(error.status, 504);
  assert.equal(error.slug, 'signing-timeout');
  assert.equal(error.headers['retry-after'], '10');
  assert.ok(Date.now() - started >= 400 && Date.now() - started < 2000, `waited ${Date.now() - started} ms`);
  assert.equal(run.seen.length, 1, 'it was approved');
  assert.equal(await remaining(client), 0);
});

test('a certificate for another key is never handed out', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  signer(t, fake, client, 'sign-other-key');
  const error = await signClientCertificate(client, subject, 900, options).then(() => assert.fail('issued'), (e: unknown) => e);
  assert.ok(error instanceof ProblemError);
  assert.equal(error.slug, 'certificate-mismatch');
  assert.match(error.message, /for another key/);
  assert.equal(await remaining(client), 0);
});

test('a refused approval (the identity lacks the right) leaves no CSR and passes the tenant error on', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  fake.failNext(1, 403, (r) => r.method === 'PUT' && r.path.endsWith('/approval'));
  await assert.rejects(signClientCertificate(client, subject, 900, options), /403/);
  assert.equal(await remaining(client), 0);
});

test('an approval that meets a changed CSR (409) reads it again and approves', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  signer(t, fake, client, 'sign');
  fake.failNext(1, 409, (r) => r.method === 'PUT' && r.path.endsWith('/approval'));
  const signed = await signClientCertificate(client, subject, 900, options);
  assert.equal(inspectCertificate(new X509Certificate(signed.certPem).raw).commonName, 'portal:acme:ann');
  assert.equal(fake.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/approval')).length, 2);
  assert.equal(await remaining(client), 0);
});

test('TTLs below the CSR minimum are refused before anything is created; refusal messages without a reason stay readable', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  await assert.rejects(signClientCertificate(client, subject, 599, options), /at least 600/);
  assert.equal(fake.requests.length, 0);
  assert.equal(csrRefused('c1', { type: 'Denied' }).message, 'cluster c1 refused to sign the certificate (Denied); nothing was issued');
});
