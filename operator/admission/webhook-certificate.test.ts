import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { fakeApiServerFor } from '../../core/testing/fake-api-server.ts';
import { inspectCertificate } from '../../core/index.ts';
import {
  VALIDATING_WEBHOOK_CONFIGURATIONS,
  WEBHOOK_RENEW_BEFORE_MS,
  assessWebhookTLS,
  ensureCaBundle,
  ensureWebhookTLS,
  issueWebhookTLS,
  webhookDnsNames,
  webhookSecretName,
  type WebhookTLS,
} from './webhook-certificate.ts';

const logger = pino({ level: 'silent' });
const service = { namespace: 'kubeception-system', name: 'kubeception-operator-webhook' };
const dnsNames = webhookDnsNames(service);
const SECRETS = '/api/v1/secrets';
const DAY = 86_400_000;

function dataOf(tls: WebhookTLS): Record<string, string> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return { 'ca.crt': b64(tls.caCertPem), 'ca.key': b64(tls.caKeyPem), 'tls.crt': b64(tls.certPem), 'tls.key': b64(tls.keyPem) };
}

test('the certificate is for the names the API server dials, signed by the CA in the bundle, for serverAuth', async () => {
  assert.deepEqual(dnsNames, [
    'kubeception-operator-webhook',
    'kubeception-operator-webhook.kubeception-system',
    'kubeception-operator-webhook.kubeception-system.svc',
    'kubeception-operator-webhook.kubeception-system.svc.cluster.local',
  ]);
  assert.equal(webhookSecretName(service), 'kubeception-operator-webhook-tls');
  const tls = await issueWebhookTLS(dnsNames, undefined, new Date());
  const ca = new X509Certificate(tls.caCertPem);
  const cert = new X509Certificate(tls.certPem);
  assert.ok(ca.ca && !cert.ca);
  assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
  const facts = inspectCertificate(cert.raw);
  assert.deepEqual(facts.dnsNames, dnsNames);
  assert.deepEqual(facts.extKeyUsages, ['serverAuth']);
  assert.equal(cert.checkHost('kubeception-operator-webhook.kubeception-system.svc'), 'kubeception-operator-webhook.kubeception-system.svc');
  const years = (c: X509Certificate) => (c.validToDate.getTime() - c.validFromDate.getTime()) / (365 * DAY);
  assert.ok(years(ca) > 9.9 && years(cert) > 0.99 && years(cert) < 1.01, `CA ${years(ca)} years, certificate ${years(cert)} years`);
});

test('assessment: a valid Secret is kept; a certificate near its end, for other names or not from the CA is re-signed by the same CA', async () => {
  const now = new Date();
  const tls = await issueWebhookTLS(dnsNames, undefined, now);
  assert.equal(assessWebhookTLS(dataOf(tls), dnsNames, now).action, 'keep');

  const nearEnd = new Date(now.getTime() + 365 * DAY - WEBHOOK_RENEW_BEFORE_MS + DAY);
  const renew = assessWebhookTLS(dataOf(tls), dnsNames, nearEnd);
  assert.equal(renew.action, 'renew-certificate');
  assert.match(renew.action === 'renew-certificate' ? renew.reason : '', /^the serving certificate expires/);
  assert.equal(renew.action === 'renew-certificate' ? renew.ca.certPem : '', tls.caCertPem, 'the CA is kept: the caBundle does not change');

  const moved = webhookDnsNames({ namespace: 'ops', name: 'hook' });
  assert.match(JSON.stringify(assessWebhookTLS(dataOf(tls), moved, now)), /renew-certificate.*lacks hook, hook\.ops/);

  const stranger = await issueWebhookTLS(dnsNames, undefined, now);
  assert.match(JSON.stringify(assessWebhookTLS({ ...dataOf(tls), 'tls.crt': dataOf(stranger)['tls.crt']!, 'tls.key': dataOf(stranger)['tls.key']! }, dnsNames, now)), /not signed by the CA/);
  assert.match(JSON.stringify(assessWebhookTLS({ ...dataOf(tls), 'tls.key': dataOf(stranger)['tls.key']! }, dnsNames, now)), /serving key does not match/);
  assert.match(JSON.stringify(assessWebhookTLS({ ...dataOf(tls), 'tls.crt': '' }, dnsNames, now)), /holds no serving certificate/);
});

test('assessment: no Secret, no CA, a broken or mismatched CA key, a CA near its end: a new CA', async () => {
  const now = new Date();
  const tls = await issueWebhookTLS(dnsNames, undefined, now);
  const other = await issueWebhookTLS(dnsNames, undefined, now);
  const reasonOf = (data: Record<string, string> | undefined, at = now) => {
    const a = assessWebhookTLS(data, dnsNames, at);
    return a.action === 'new-ca' ? a.reason : `not new-ca: ${a.action}`;
  };
  assert.equal(reasonOf(undefined), 'no Secret yet');
  assert.equal(reasonOf({}), 'the Secret holds no CA');
  assert.equal(reasonOf({ ...dataOf(tls), 'ca.crt': Buffer.from('garbage').toString('base64') }), 'the CA certificate does not parse');
  assert.equal(reasonOf({ ...dataOf(tls), 'ca.key': dataOf(other)['ca.key']! }), 'the CA key does not match the CA certificate');
  assert.equal(reasonOf({ ...dataOf(tls), 'ca.crt': dataOf(tls)['tls.crt']!, 'ca.key': dataOf(tls)['tls.key']! }), 'the CA certificate is not a CA');
  assert.match(reasonOf(dataOf(tls), new Date(now.getTime() + 10 * 365 * DAY - WEBHOOK_RENEW_BEFORE_MS + DAY)), /^the CA expires/);
});

test('ensureWebhookTLS: creates the Secret once, then reuses it without writing; never regenerates a valid one', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  const first = await ensureWebhookTLS({ client, service, logger });
  assert.equal(first.outcome, 'created');
  const stored = fake.get(SECRETS, 'kubeception-system', 'kubeception-operator-webhook-tls') as unknown as { type: string; data: Record<string, string>; metadata: { resourceVersion: string; labels: Record<string, string> } };
  assert.equal(stored.type, 'kubernetes.io/tls');
  assert.deepEqual(stored.data, dataOf(first.tls));
  assert.equal(stored.metadata.labels['app.kubernetes.io/managed-by'], 'kubeception');

  const writesBefore = fake.requests.filter((r) => r.method !== 'GET').length;
  const again = await ensureWebhookTLS({ client, service, logger });
  assert.equal(again.outcome, 'kept');
  assert.deepEqual(again.tls, first.tls);
  assert.equal(fake.requests.filter((r) => r.method !== 'GET').length, writesBefore, 'a valid Secret is read, not written');
});

test('ensureWebhookTLS: renewal re-signs with the kept CA (same caBundle); a deleted CA key gives a new CA', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  const first = await ensureWebhookTLS({ client, service, logger });
  const later = new Date(Date.now() + 340 * DAY);
  const renewed = await ensureWebhookTLS({ client, service, logger, now: () => later });
  assert.equal(renewed.outcome, 'renewed-certificate');
  assert.equal(renewed.tls.caCertPem, first.tls.caCertPem);
  assert.notEqual(renewed.tls.certPem, first.tls.certPem);
  assert.ok(new X509Certificate(renewed.tls.certPem).validToDate.getTime() > later.getTime() + 300 * DAY);

  // someone emptied the CA key: a new CA, and the Secret keeps its other metadata
  const stored = fake.get(SECRETS, 'kubeception-system', 'kubeception-operator-webhook-tls') as unknown as { data: Record<string, string>; metadata: Record<string, unknown> };
  fake.put(SECRETS, { ...stored, metadata: { ...stored.metadata, annotations: { note: 'kept' } }, data: { ...stored.data, 'ca.key': '' } } as never);
  const fresh = await ensureWebhookTLS({ client, service, logger });
  assert.equal(fresh.outcome, 'new-ca');
  assert.notEqual(fresh.tls.caCertPem, first.tls.caCertPem);
  const after = fake.get(SECRETS, 'kubeception-system', 'kubeception-operator-webhook-tls') as { metadata: { annotations?: Record<string, string> } };
  assert.equal(after.metadata.annotations?.note, 'kept');
});

test('ensureWebhookTLS: replicas starting at once end with the same certificate (create-only, then read the winner)', async (t) => {
  const { client } = await fakeApiServerFor(t);
  const results = await Promise.all([1, 2, 3].map(() => ensureWebhookTLS({ client, service, logger })));
  assert.equal(new Set(results.map((r) => r.tls.certPem)).size, 1, 'one certificate for all');
  assert.equal(results.filter((r) => r.outcome === 'created').length, 1, 'one replica created it, the others read it');
});

test('ensureCaBundle: sets caBundle on every webhook once; missing configuration reported, not thrown', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  assert.equal(await ensureCaBundle(client, 'kubeception-tenantcontrolplanes', 'CA PEM', 'kubeception-operator'), 'missing');
  fake.put(VALIDATING_WEBHOOK_CONFIGURATIONS, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'kubeception-tenantcontrolplanes' },
    webhooks: [
      { name: 'address.tenantcontrolplanes.kubeception.io', clientConfig: { service: { namespace: 'ns', name: 'hook', path: '/validate-tenantcontrolplanes', port: 443 } } },
      { name: 'second.kubeception.io', clientConfig: { service: { namespace: 'ns', name: 'hook' }, caBundle: 'b2xk' } },
    ],
  });
  assert.equal(await ensureCaBundle(client, 'kubeception-tenantcontrolplanes', 'CA PEM', 'kubeception-operator'), 'updated');
  const stored = fake.get(VALIDATING_WEBHOOK_CONFIGURATIONS, undefined, 'kubeception-tenantcontrolplanes') as unknown as { webhooks: { clientConfig: { caBundle: string; service: { path?: string } } }[] };
  assert.deepEqual(stored.webhooks.map((w) => w.clientConfig.caBundle), [Buffer.from('CA PEM').toString('base64'), Buffer.from('CA PEM').toString('base64')]);
  assert.equal(stored.webhooks[0]!.clientConfig.service.path, '/validate-tenantcontrolplanes', 'the rest of clientConfig is kept');
  assert.equal(await ensureCaBundle(client, 'kubeception-tenantcontrolplanes', 'CA PEM', 'kubeception-operator'), 'unchanged');
  const put = fake.requests.find((r) => r.method === 'PUT');
  assert.equal(put?.query.get('fieldManager'), 'kubeception-operator');
});
