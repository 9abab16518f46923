import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { API_TLS_SECRET, ensureApiTlsSecret } from './api-tls.ts';

/** kubectl against a tiny in-memory namespace store: create namespace, get/apply/delete one Secret. */
function fakeKubectl() {
  const namespaces = new Set<string>();
  const secrets = new Map<string, { type?: string; data?: Record<string, string> }>();
  const calls: string[] = [];
  const kubectl = async (args: string[], input?: string): Promise<{ stdout: string }> => {
    calls.push(args.slice(0, 2).join(' '));
    const [verb, kind, name] = args;
    const namespace = args[args.indexOf('-n') + 1] ?? '';
    if (verb === 'create' && kind === 'namespace') {
      if (namespaces.has(name!)) throw new Error(`Error from server (AlreadyExists): namespaces "${name}" already exists`);
      namespaces.add(name!);
      return { stdout: '' };
    }
    if (verb === 'get' && kind === 'secret') {
      const secret = secrets.get(`${namespace}/${name}`);
      if (secret === undefined) throw new Error('Error from server (NotFound)');
      return { stdout: JSON.stringify(secret) };
    }
    if (verb === 'delete' && kind === 'secret') {
      secrets.delete(`${namespace}/${name}`);
      return { stdout: '' };
    }
    if (verb === 'apply') {
      const secret = JSON.parse(input!) as { metadata: { name: string; namespace: string }; type: string; data: Record<string, string> };
      assert.ok(namespaces.has(secret.metadata.namespace), 'the namespace exists before the Secret');
      secrets.set(`${secret.metadata.namespace}/${secret.metadata.name}`, { type: secret.type, data: secret.data });
      return { stdout: '' };
    }
    throw new Error(`unexpected kubectl ${args.join(' ')}`);
  };
  return { kubectl, secrets, calls };
}

test('the test bed API certificate Secret: made once with the Service names, kept while valid, replaced when broken', async () => {
  const fake = fakeKubectl();
  const ca = await ensureApiTlsSecret(fake.kubectl, 'kubeception-system');
  const secret = fake.secrets.get(`kubeception-system/${API_TLS_SECRET}`)!;
  assert.equal(secret.type, 'kubernetes.io/tls');
  const pem = (key: string) => Buffer.from(secret.data![key]!, 'base64').toString('utf8');
  assert.equal(pem('ca.crt'), ca);
  const cert = new X509Certificate(pem('tls.crt'));
  assert.ok(cert.checkIssued(new X509Certificate(ca)));
  for (const name of ['kubeception-api', 'kubeception-api.kubeception-system.svc', 'kubeception-api.kubeception-system.svc.cluster.local']) assert.equal(cert.checkHost(name), name);

  assert.equal(await ensureApiTlsSecret(fake.kubectl, 'kubeception-system'), ca, 'an existing valid Secret is kept: reinstalls serve the same CA');
  assert.ok(!fake.calls.includes('delete secret'));

  secret.data!['tls.key'] = Buffer.from('not a key').toString('base64');
  const renewed = await ensureApiTlsSecret(fake.kubectl, 'kubeception-system');
  assert.notEqual(renewed, ca, 'a broken pair is replaced');
  assert.ok(fake.calls.includes('delete secret'));
});
