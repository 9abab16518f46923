// The webhook end to end, as the host API server uses it: the operator's start (certificate Secret,
// caBundle into the ValidatingWebhookConfiguration), then AdmissionReview v1 JSON POSTed over TLS to
// 127.0.0.1 with the API server's view of it: the caBundle as the only trusted CA, `<svc>.<ns>.svc` as
// the name to verify. The tenants come from the in-memory API server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { fakeApiServerFor, type FakeApiServer } from '../../core/testing/fake-api-server.ts';
import type { TenantControlPlane } from '../../core/index.ts';
import { startAdmissionWebhook, type AdmissionWebhook } from './admission-webhook.ts';
import { VALIDATING_WEBHOOK_CONFIGURATIONS, issueWebhookTLS, webhookDnsNames } from './webhook-certificate.ts';
import { VALIDATE_PATH, startWebhookServer } from './webhook.ts';

const logger = pino({ level: 'silent' });
const service = { namespace: 'kubeception-system', name: 'kubeception-operator-webhook' };
const SERVER_NAME = 'kubeception-operator-webhook.kubeception-system.svc';
const TCPS = '/apis/kubeception.io/v1alpha1/tenantcontrolplanes';
const VWC = 'kubeception-tenantcontrolplanes';

interface Answer {
  status: number;
  text: string;
  json?: { apiVersion: string; kind: string; response: { uid: string; allowed: boolean; status?: { code: number; reason: string; message: string; details?: unknown } } };
}

/** One POST as the API server makes it: TLS verified against `caPem` for SERVER_NAME. */
function post(port: number, caPem: string, body: string, path = VALIDATE_PATH, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca: caPem, servername: SERVER_NAME, headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const json = (res.headers['content-type'] ?? '').startsWith('application/json') ? (JSON.parse(text) as Answer['json']) : undefined;
        resolve({ status: res.statusCode ?? 0, text, ...(json ? { json } : {}) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function tcp(namespace: string, name: string, networkProfile: Record<string, unknown>, extra: { uid?: string; endpoint?: string } = {}): TenantControlPlane {
  return {
    apiVersion: 'kubeception.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { namespace, name, ...(extra.uid ? { uid: extra.uid } : {}) },
    spec: { version: 'v1.36.5', networkProfile: { serviceType: 'ClusterIP', port: 6443, serviceCIDR: '10.96.0.0/12', podCIDR: '10.244.0.0/16', ...networkProfile } },
    ...(extra.endpoint ? { status: { endpoint: extra.endpoint } } : {}),
  } as TenantControlPlane;
}

/** The AdmissionReview the API server sends for a tcp create or update (fields as kube-apiserver v1.36 fills them). */
function admissionReview(operation: 'CREATE' | 'UPDATE', object: TenantControlPlane, oldObject?: TenantControlPlane): string {
  const meta = object.metadata!;
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: 'kubeception.io', version: 'v1alpha1', kind: 'TenantControlPlane' },
      resource: { group: 'kubeception.io', version: 'v1alpha1', resource: 'tenantcontrolplanes' },
      requestKind: { group: 'kubeception.io', version: 'v1alpha1', kind: 'TenantControlPlane' },
      requestResource: { group: 'kubeception.io', version: 'v1alpha1', resource: 'tenantcontrolplanes' },
      name: meta.name,
      namespace: meta.namespace,
      operation,
      userInfo: { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] },
      object,
      oldObject: oldObject ?? null,
      dryRun: false,
      options: operation === 'CREATE' ? { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'kubectl-client-side-apply' } : { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' },
    },
  });
}

async function started(t: { after: (fn: () => Promise<void>) => void }, options: { refreshIntervalMs?: number; namespace?: string } = {}) {
  const { fake, client } = await fakeApiServerFor(t);
  fake.addResource('kubeception.io/v1alpha1', 'TenantControlPlane', 'tenantcontrolplanes', true, { status: true });
  fake.put(VALIDATING_WEBHOOK_CONFIGURATIONS, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: VWC },
    webhooks: [{ name: 'address.tenantcontrolplanes.kubeception.io', clientConfig: { service: { ...service, path: VALIDATE_PATH, port: 443 } } }],
  });
  const webhook = await startAdmissionWebhook({ client, logger, port: 0, host: '127.0.0.1', service, webhookConfiguration: VWC, ...options });
  t.after(() => webhook.close());
  return { fake, client, webhook, caPem: caBundleOf(fake) };
}

function putTcp(fake: FakeApiServer, object: TenantControlPlane): void {
  fake.put(TCPS, object as unknown as Parameters<FakeApiServer['put']>[1]);
}

/** What the API server trusts: the configuration's caBundle. */
function caBundleOf(fake: FakeApiServer): string {
  const vwc = fake.get(VALIDATING_WEBHOOK_CONFIGURATIONS, undefined, VWC) as unknown as { webhooks: { clientConfig: { caBundle?: string } }[] };
  const bundle = vwc.webhooks[0]!.clientConfig.caBundle;
  assert.ok(bundle, 'the operator set caBundle');
  return Buffer.from(bundle, 'base64').toString('utf8');
}

test('over TLS with the caBundle: a colliding address is denied with what to fix, a free one allowed, an update of itself allowed', async (t) => {
  const { fake, webhook, caPem } = await started(t);
  putTcp(fake, tcp('team-a', 'first', { address: '203.0.113.10' }, { uid: 'uid-first' }));
  putTcp(fake, tcp('team-c', 'lb', { serviceType: 'LoadBalancer' }, { endpoint: 'https://[2001:db8::7]:6443' }));

  const denied = await post(webhook.port, caPem, admissionReview('CREATE', tcp('team-b', 'second', { address: '203.0.113.10' })));
  assert.equal(denied.status, 200);
  assert.equal(denied.json?.apiVersion, 'admission.k8s.io/v1');
  assert.equal(denied.json?.kind, 'AdmissionReview');
  assert.equal(denied.json?.response.allowed, false);
  assert.deepEqual(denied.json?.response.status, {
    code: 422,
    reason: 'Invalid',
    message:
      'spec.networkProfile.address 203.0.113.10 (port 6443) is already the address of TenantControlPlane team-a/first: clients of both ' +
      'would reach the same API server; choose another address, or another spec.networkProfile.port',
    details: {
      causes: [{ type: 'FieldValueDuplicate', field: 'spec.networkProfile.address', message: denied.json?.response.status?.message }],
    },
  });

  const lb = await post(webhook.port, caPem, admissionReview('CREATE', tcp('team-b', 'second', { address: '2001:DB8:0::7' })));
  assert.equal(lb.json?.response.allowed, false);
  assert.match(lb.json?.response.status?.message ?? '', /is where TenantControlPlane team-c\/lb is reached \(its status\.endpoint https:\/\/\[2001:db8::7\]:6443, given by its LoadBalancer Service\)/);

  const free = await post(webhook.port, caPem, admissionReview('CREATE', tcp('team-b', 'second', { address: '203.0.113.11' })));
  assert.deepEqual(free.json?.response, { uid: (JSON.parse(free.text) as { response: { uid: string } }).response.uid, allowed: true });

  const self = tcp('team-a', 'first', { address: '203.0.113.10', port: 6443 }, { uid: 'uid-first' });
  const update = await post(webhook.port, caPem, admissionReview('UPDATE', self, tcp('team-a', 'first', { address: '203.0.113.10' }, { uid: 'uid-first' })));
  assert.equal(update.json?.response.allowed, true, 'an update does not collide with its stored self');

  const noAddress = await post(webhook.port, caPem, admissionReview('CREATE', tcp('team-b', 'plain', {})));
  assert.equal(noAddress.json?.response.allowed, true);
});

test('the uid of the request is echoed; malformed reviews, other paths and methods are refused without a verdict', async (t) => {
  const { webhook, caPem } = await started(t);
  const body = admissionReview('CREATE', tcp('a', 'b', { address: '203.0.113.10' }));
  const answer = await post(webhook.port, caPem, body);
  assert.equal(answer.json?.response.uid, (JSON.parse(body) as { request: { uid: string } }).request.uid);
  assert.equal((await post(webhook.port, caPem, '{not json')).status, 400);
  const v1beta1 = await post(webhook.port, caPem, JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }));
  assert.equal(v1beta1.status, 400);
  assert.match(v1beta1.text, /admissionReviewVersions: \[v1\]/);
  assert.equal((await post(webhook.port, caPem, JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }))).status, 400);
  assert.equal((await post(webhook.port, caPem, body, '/validate')).status, 404);
  assert.equal((await post(webhook.port, caPem, '', VALIDATE_PATH, 'GET')).status, 405);
});

test('when the tenants cannot be listed the answer is a 500 (the API server applies failurePolicy), not a guess', async (t) => {
  const { fake, webhook, caPem } = await started(t);
  fake.failNext(1, 503, (r) => r.path.includes('tenantcontrolplanes'));
  const answer = await post(webhook.port, caPem, admissionReview('CREATE', tcp('a', 'b', { address: '203.0.113.10' })));
  assert.equal(answer.status, 500);
  assert.match(answer.text, /^cannot check the address against other tenants: /);
  const next = await post(webhook.port, caPem, admissionReview('CREATE', tcp('a', 'b', { address: '203.0.113.10' })));
  assert.equal(next.json?.response.allowed, true);
});

test('with a watched namespace only the tcps there are compared', async (t) => {
  const { fake, webhook, caPem } = await started(t, { namespace: 'tenants' });
  putTcp(fake, tcp('elsewhere', 'x', { address: '203.0.113.10' }));
  putTcp(fake, tcp('tenants', 'y', { address: '203.0.113.20' }));
  assert.equal((await post(webhook.port, caPem, admissionReview('CREATE', tcp('tenants', 'new', { address: '203.0.113.10' })))).json?.response.allowed, true);
  assert.equal((await post(webhook.port, caPem, admissionReview('CREATE', tcp('tenants', 'new', { address: '203.0.113.20' })))).json?.response.allowed, false);
  assert.ok(fake.requests.some((r) => r.method === 'GET' && r.path === '/apis/kubeception.io/v1alpha1/namespaces/tenants/tenantcontrolplanes'));
});

test('a second replica serves the same certificate; a renewal by another replica is served after the next check', async (t) => {
  const { fake, client, webhook, caPem } = await started(t);
  const other: AdmissionWebhook = await startAdmissionWebhook({ client, logger, port: 0, host: '127.0.0.1', service, webhookConfiguration: VWC });
  t.after(() => other.close());
  assert.equal(other.tls().certPem, webhook.tls().certPem, 'the replicas share the Secret');
  assert.equal((await post(other.port, caPem, admissionReview('CREATE', tcp('a', 'b', {})))).json?.response.allowed, true);

  // "another replica" renewed the serving certificate (same CA) in the Secret
  const current = webhook.tls();
  const renewed = { tls: await issueWebhookTLS(webhookDnsNames(service), { certPem: current.caCertPem, keyPem: current.caKeyPem }, new Date()) };
  const secret = fake.get('/api/v1/secrets', service.namespace, 'kubeception-operator-webhook-tls') as unknown as { data: Record<string, string> };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  fake.put('/api/v1/secrets', { ...secret, data: { ...secret.data, 'tls.crt': b64(renewed.tls.certPem), 'tls.key': b64(renewed.tls.keyPem) } } as never);
  await webhook.refresh();
  assert.equal(webhook.tls().certPem, renewed.tls.certPem);
  const peer = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: webhook.port, path: VALIDATE_PATH, method: 'POST', ca: caPem, servername: SERVER_NAME, agent: false }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate();
      res.resume();
      resolve(cert?.toString() ?? '');
    });
    req.on('error', reject);
    req.end(admissionReview('CREATE', tcp('a', 'b', {})));
  });
  assert.equal(peer, renewed.tls.certPem, 'new connections get the renewed certificate');
  assert.equal(caBundleOf(fake), caPem, 'the caBundle did not change');

  // someone cleared caBundle (helm upgrade --force): the next check puts it back
  const vwc = fake.get(VALIDATING_WEBHOOK_CONFIGURATIONS, undefined, VWC) as unknown as { webhooks: { clientConfig: Record<string, unknown> }[] };
  delete vwc.webhooks[0]!.clientConfig['caBundle'];
  fake.put(VALIDATING_WEBHOOK_CONFIGURATIONS, vwc as never);
  await webhook.refresh();
  assert.equal(caBundleOf(fake), caPem);
});

test('a client that does not trust the CA, or asks for another name, gets no answer', async (t) => {
  const tls = await issueWebhookTLS(webhookDnsNames(service), undefined, new Date());
  const server = await startWebhookServer({ port: 0, host: '127.0.0.1', certificate: tls, listTenants: async () => [], logger });
  t.after(() => server.close());
  const stranger = await issueWebhookTLS(webhookDnsNames(service), undefined, new Date());
  await assert.rejects(post(server.port, stranger.caCertPem, '{}'), /self-signed|unable to verify|certificate/i);
  await assert.rejects(
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: VALIDATE_PATH, method: 'POST', ca: tls.caCertPem, servername: 'other.example.com', agent: false }, resolve);
      req.on('error', reject);
      req.end('{}');
    }),
    /altnames|Hostname\/IP does not match/i,
  );
  assert.equal((await post(server.port, tls.caCertPem, admissionReview('CREATE', tcp('a', 'b', { address: '203.0.113.1' })))).json?.response.allowed, true);
});
