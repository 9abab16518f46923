import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { inspectCertificate } from './der.ts';
import { tenantCertificateSpecs, type TenantPkiInput } from './kubeadm-set.ts';
import { generatePrivateKey } from './keys.ts';
import { parseKubeconfig } from './kubeconfig.ts';
import { planPki, type PkiPlan } from './plan.ts';
import { FINGERPRINT_ANNOTATION, secretText } from './secrets.ts';
import { opensslVerify } from './test-support.ts';
import { DAY_MS, createCaCertificate, signCertificate } from './x509.ts';

const input: TenantPkiInput = {
  name: 'demo',
  namespace: 'team-a',
  endpoint: 'https://10.0.0.5:31443',
  networkProfile: { serviceCIDR: '10.96.0.0/12', clusterDomain: 'cluster.local' },
};

const ROOT_SECRETS = ['demo-ca', 'demo-front-proxy-ca', 'demo-etcd-ca', 'demo-sa'];

/** What the API server would hand back: our Secret plus server-set metadata. */
function asStored(secrets: readonly ISecret[]): ISecret[] {
  return secrets.map((secret, i) => {
    const copy = structuredClone(secret);
    copy.metadata = { ...copy.metadata, uid: `uid-${i}`, resourceVersion: String(100 + i), creationTimestamp: '2026-01-01T00:00:00Z' as never };
    return copy;
  });
}

function ok(plan: PkiPlan): Extract<PkiPlan, { status: 'ok' }> {
  assert.equal(plan.status, 'ok', plan.status === 'alarm' ? JSON.stringify(plan.alarms) : '');
  return plan as Extract<PkiPlan, { status: 'ok' }>;
}

function edit(secrets: readonly ISecret[], name: string, change: (secret: ISecret) => void): ISecret[] {
  return secrets.map((secret) => {
    if (secret.metadata?.name !== name) return secret;
    const copy = structuredClone(secret);
    change(copy);
    return copy;
  });
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const find = (secrets: readonly ISecret[], name: string) => secrets.find((s) => s.metadata?.name === name);

let stored: ISecret[];
before(async () => {
  const first = ok(await planPki([], input));
  stored = asStored(first.changes.map((change) => change.secret));
});

test('a new tenant gets every Secret created, roots first', async () => {
  const first = ok(await planPki([], { ...input, keyAlgorithm: 'ECDSA-P256' }));
  assert.equal(first.changes.length, 13);
  assert.ok(first.changes.every((c) => c.action === 'create'));
  assert.deepEqual(first.changes.slice(0, 4).map((c) => c.name), ROOT_SECRETS);
  assert.deepEqual(first.unchanged, []);
  assert.equal(stored.length, 13);
});

test('planning again changes nothing and leaves every Secret byte-identical', async () => {
  const plan = ok(await planPki(stored, input));
  assert.deepEqual(plan.changes, []);
  assert.equal(plan.unchanged.length, 13);
  for (const secret of plan.secrets) {
    assert.deepEqual(secret.data, find(stored, secret.metadata.name)?.data, secret.metadata.name);
  }
  assert.ok(plan.decisions.every((d) => d.action === 'keep'));
});

test('a new certSAN re-issues only the apiserver certificate, under the same CA', async () => {
  const changed = { ...input, networkProfile: { ...input.networkProfile, certSANs: ['api.example.com'] } };
  const plan = ok(await planPki(stored, changed));
  assert.deepEqual(plan.changes.map((c) => `${c.action} ${c.name}`), ['replace demo-apiserver-certs']);
  const [change] = plan.changes;
  assert.match(change?.reasons.join('\n') ?? '', /apiserver: issued \(DNS SANs differ: missing api\.example\.com\)/);
  assert.ok(plan.unchanged.includes('demo-ca'));

  const before = find(stored, 'demo-apiserver-certs');
  const after = change!.secret;
  for (const key of Object.keys(after.data)) {
    if (key.startsWith('apiserver.')) assert.notEqual(after.data[key], before?.data?.[key], key);
    else assert.equal(after.data[key], before?.data?.[key], `${key} must stay byte-identical`);
  }
  assert.notEqual(after.metadata.annotations[FINGERPRINT_ANNOTATION], before?.metadata?.annotations?.[FINGERPRINT_ANNOTATION]);
  const apiserverPem = secretText(after, 'apiserver.crt') ?? '';
  assert.ok(inspectCertificate(new X509Certificate(apiserverPem).raw).dnsNames.includes('api.example.com'));
  assert.equal(opensslVerify(secretText(find(stored, 'demo-ca'), 'ca.crt') ?? '', apiserverPem, 'sslserver').status, 0);
});

test('certificates close to expiry are re-issued, CAs are kept', async () => {
  const issuedAt = new Date(Date.now() - 340 * DAY_MS); // 1-year leaves now have ~25 days left
  const old = asStored(ok(await planPki([], input, { now: issuedAt })).secrets);

  const relaxed = ok(await planPki(old, input, { renewBeforeMs: 20 * DAY_MS }));
  assert.deepEqual(relaxed.changes, [], '25 days left is outside a 20-day window');

  const plan = ok(await planPki(old, input));
  const issued = plan.decisions.filter((d) => d.action === 'issue');
  assert.equal(issued.length, 12, 'all 12 CA-signed certificates');
  for (const decision of issued) assert.match(decision.reasons.join(), /expires on .*within the 30-day renewal window/, decision.id);
  for (const name of ROOT_SECRETS) assert.ok(plan.unchanged.includes(name), name);
  const renewed = new X509Certificate(secretText(plan.secrets.find((s) => s.metadata.name === 'demo-etcd-certs'), 'server.crt') ?? '');
  assert.ok(renewed.validToDate.getTime() - Date.now() > 360 * DAY_MS);
});

test('a missing CA next to certificates it signed is an alarm, not a new CA', async () => {
  const withoutCa = stored.filter((s) => s.metadata?.name !== 'demo-ca');
  const plan = await planPki(withoutCa, input);
  assert.equal(plan.status, 'alarm');
  assert.ok(plan.status === 'alarm');
  assert.deepEqual(plan.alarms.map((a) => a.root), ['ca']);
  assert.match(plan.alarms[0]?.reason ?? '', /cluster CA \(Secret demo-ca\) is missing but Secrets signed with it exist \(demo-apiserver-certs/);
  assert.ok(!('changes' in plan), 'no Secrets to apply');

  const withoutEtcdCa = stored.filter((s) => s.metadata?.name !== 'demo-etcd-ca');
  const etcdPlan = await planPki(withoutEtcdCa, input);
  assert.ok(etcdPlan.status === 'alarm' && etcdPlan.alarms[0]?.root === 'etcd-ca');
});

test('a missing CA with a running tenant is an alarm even when nothing else exists', async () => {
  const plan = await planPki([], input, { tenantRunning: true });
  assert.ok(plan.status === 'alarm');
  assert.deepEqual(plan.alarms.map((a) => a.root).sort(), ['ca', 'etcd-ca', 'front-proxy-ca', 'sa']);
  assert.match(plan.alarms[0]?.reason ?? '', /the tenant control plane is running/);
});

test('after an explicit go-ahead a missing CA is re-created and everything it signed re-issued', async () => {
  const withoutCa = stored.filter((s) => s.metadata?.name !== 'demo-ca');
  const plan = ok(await planPki(withoutCa, input, { regenerateMissingRoots: true }));
  const changed = plan.changes.map((c) => c.name);
  assert.deepEqual(changed, [
    'demo-ca',
    'demo-apiserver-certs',
    'demo-admin-kubeconfig',
    'demo-super-admin-kubeconfig',
    'demo-kubeconfig',
    'demo-controller-manager-kubeconfig',
    'demo-scheduler-kubeconfig',
    'demo-konnectivity-server-kubeconfig',
    'demo-portal-kubeconfig',
  ]);
  assert.ok(plan.unchanged.includes('demo-etcd-certs') && plan.unchanged.includes('demo-etcd-ca'));
  const apiserverCerts = plan.changes.find((c) => c.name === 'demo-apiserver-certs')!;
  // Re-issued under the new CA; the etcd client cert (etcd CA) kept.
  assert.match(apiserverCerts.reasons.join('\n'), /apiserver-kubelet-client: issued \(its ca CA is being created\)/);
  assert.equal(apiserverCerts.secret.data['apiserver-etcd-client.crt'], find(stored, 'demo-apiserver-certs')?.data?.['apiserver-etcd-client.crt']);
  const newCa = secretText(plan.secrets[0], 'ca.crt') ?? '';
  assert.notEqual(newCa, secretText(find(stored, 'demo-ca'), 'ca.crt'));
  const admin = parseKubeconfig(secretText(plan.secrets.find((s) => s.metadata.name === 'demo-admin-kubeconfig'), 'admin.conf') ?? '');
  assert.equal(admin.caCertPem, newCa);
  assert.equal(opensslVerify(newCa, admin.clientCertPem, 'sslclient').status, 0);
});

test('an unusable CA is an alarm', async () => {
  const otherKey = await generatePrivateKey('RSA-2048');
  const broken = edit(stored, 'demo-front-proxy-ca', (s) => {
    s.data!['ca.key'] = b64(otherKey);
  });
  const plan = await planPki(broken, input);
  assert.ok(plan.status === 'alarm');
  assert.deepEqual(plan.alarms.map((a) => [a.root, a.reason]), [
    ['front-proxy-ca', 'front-proxy CA in Secret demo-front-proxy-ca is unusable: ca.key does not match ca.crt'],
  ]);
});

test('a certificate not signed by the current CA, or with a foreign key, is re-issued alone', async () => {
  // etcd server certificate with the right subject and SANs, from some other CA.
  const [foreignCaKey, serverKey] = await Promise.all([generatePrivateKey('ECDSA-P256'), generatePrivateKey('RSA-2048')]);
  const foreignCa = { certPem: await createCaCertificate('etcd-ca', foreignCaKey), keyPem: foreignCaKey };
  const foreignCert = await signCertificate(tenantCertificateSpecs(input)['etcd-server'].request, serverKey, foreignCa);
  const tampered = edit(stored, 'demo-etcd-certs', (s) => {
    s.data!['server.crt'] = b64(foreignCert);
    s.data!['server.key'] = b64(serverKey);
  });
  const plan = ok(await planPki(tampered, input));
  assert.deepEqual(plan.changes.map((c) => c.name), ['demo-etcd-certs']);
  assert.deepEqual(plan.decisions.filter((d) => d.action === 'issue'), [
    { id: 'etcd-server', action: 'issue', reasons: ['not signed by the current etcd-ca CA'] },
  ]);
  const secret = plan.changes[0]!.secret;
  assert.equal(secret.data['peer.crt'], find(stored, 'demo-etcd-certs')?.data?.['peer.crt']);
  assert.equal(opensslVerify(secretText(find(stored, 'demo-etcd-ca'), 'ca.crt') ?? '', secretText(secret, 'server.crt') ?? '', 'sslserver').status, 0);

  const swappedKey = edit(stored, 'demo-etcd-certs', (s) => {
    s.data!['server.key'] = s.data!['peer.key']!;
  });
  const keyPlan = ok(await planPki(swappedKey, input));
  assert.deepEqual(keyPlan.decisions.filter((d) => d.action === 'issue'), [
    { id: 'etcd-server', action: 'issue', reasons: ['private key does not match the certificate'] },
  ]);
});

test('a new endpoint rewrites the kubeconfigs around the same client certificates', async () => {
  const moved = { ...input, endpoint: 'https://api.demo.example.com:6443' };
  const plan = ok(await planPki(stored, moved));
  assert.deepEqual(plan.changes.map((c) => c.name), [
    'demo-apiserver-certs', // the endpoint host joins the SANs
    'demo-admin-kubeconfig',
    'demo-super-admin-kubeconfig',
    'demo-kubeconfig',
    'demo-portal-kubeconfig', // the API's kubeconfig points where users go too
  ]);
  const adminChange = plan.changes.find((c) => c.name === 'demo-admin-kubeconfig')!;
  assert.match(adminChange.reasons.join('\n'), /admin\.conf: server https:\/\/10\.0\.0\.5:31443 -> https:\/\/api\.demo\.example\.com:6443/);
  const before = parseKubeconfig(secretText(find(stored, 'demo-admin-kubeconfig'), 'admin.conf') ?? '');
  const after = parseKubeconfig(secretText(adminChange.secret, 'admin.conf') ?? '');
  assert.equal(after.server, 'https://api.demo.example.com:6443');
  assert.equal(after.clientCertPem, before.clientCertPem);
  assert.equal(after.clientKeyPem, before.clientKeyPem);
});

test('a wrong sa.pub is repaired from sa.key, which is never replaced', async () => {
  const otherKey = await generatePrivateKey('ECDSA-P256');
  const { createPublicKey } = await import('node:crypto');
  const broken = edit(stored, 'demo-sa', (s) => {
    s.data!['sa.pub'] = b64(createPublicKey(otherKey).export({ type: 'spki', format: 'pem' }).toString());
  });
  const plan = ok(await planPki(broken, input));
  assert.deepEqual(plan.changes.map((c) => [c.name, c.reasons]), [['demo-sa', ['sa.pub does not match sa.key']]]);
  assert.equal(plan.changes[0]?.secret.data['sa.key'], find(stored, 'demo-sa')?.data?.['sa.key']);
  assert.equal(plan.changes[0]?.secret.data['sa.pub'], find(stored, 'demo-sa')?.data?.['sa.pub']);
});

test('switching the key algorithm re-issues certificates but keeps CAs and the SA key', async () => {
  const plan = ok(await planPki(stored, { ...input, keyAlgorithm: 'ECDSA-P256' }));
  for (const name of ROOT_SECRETS) assert.ok(plan.unchanged.includes(name), name);
  const issued = plan.decisions.filter((d) => d.action === 'issue');
  assert.equal(issued.length, 12);
  assert.ok(issued.every((d) => d.reasons.includes('key is RSA-2048, desired ECDSA-P256')));
  assert.match(secretText(plan.secrets.find((s) => s.metadata.name === 'demo-etcd-certs'), 'server.key') ?? '', /BEGIN EC PRIVATE KEY/);
});

test('a missing owner reference or label is fixed without touching the data', async () => {
  const owner = { apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', name: 'demo', uid: 'tcp-uid' };
  const unlabeled = edit(stored, 'demo-ca', (s) => {
    delete s.metadata!.labels!['kubeception.io/component'];
  });
  const plan = ok(await planPki(unlabeled, input, { owner }));
  assert.equal(plan.changes.length, 13, 'all lack the owner');
  const caChange = plan.changes.find((c) => c.name === 'demo-ca')!;
  assert.deepEqual(caChange.reasons, ['label kubeception.io/component is not pki', 'not owned by TenantControlPlane demo']);
  for (const change of plan.changes) {
    assert.deepEqual(change.secret.data, find(stored, change.name)?.data, change.name);
    assert.equal(change.secret.metadata.ownerReferences?.[0]?.uid, 'tcp-uid');
  }
});

test('certificates that end with a CA about to expire are not re-issued on every pass', async () => {
  const shortCa = { ...input, keyAlgorithm: 'ECDSA-P256' as const };
  const first = ok(await planPki([], shortCa, { caValidityMs: 20 * DAY_MS }));
  const leaf = new X509Certificate(secretText(first.secrets.find((s) => s.metadata.name === 'demo-etcd-certs'), 'server.crt') ?? '');
  const ca = new X509Certificate(secretText(first.secrets[0], 'ca.crt') ?? '');
  assert.equal(leaf.validTo, new X509Certificate(secretText(first.secrets.find((s) => s.metadata.name === 'demo-etcd-ca'), 'ca.crt') ?? '').validTo);
  assert.ok(ca.validToDate.getTime() - Date.now() < 21 * DAY_MS);

  const again = ok(await planPki(asStored(first.secrets), shortCa));
  assert.deepEqual(again.changes, []);
  assert.equal(again.warnings.filter((w) => /CA expires on .*explicit, staged operation/.test(w)).length, 3);
});

test('a Secret with our name that belongs to another tenant is never taken over', async () => {
  const collided = edit(stored, 'demo-etcd-ca', (s) => {
    s.metadata!.labels!['kubeception.io/tenant'] = 'demo-etcd';
  });
  const plan = await planPki(collided, input);
  assert.ok(plan.status === 'alarm');
  assert.ok(
    plan.alarms.some((a) => a.secret === 'demo-etcd-ca' && /belongs to tenant "demo-etcd"/.test(a.reason)),
    JSON.stringify(plan.alarms),
  );
});

test('a tenant from before the portal identity gets its kubeconfig on the next plan, signed by the CA it has, nothing else changes', async () => {
  const before = stored.filter((s) => s.metadata?.name !== 'demo-portal-kubeconfig');
  const plan = ok(await planPki(before, input, { tenantRunning: true }));
  assert.deepEqual(plan.changes.map((c) => [c.name, c.action]), [['demo-portal-kubeconfig', 'create']]);
  assert.equal(plan.unchanged.length, 12);
  const portal = parseKubeconfig(secretText(plan.changes[0]!.secret, 'portal.conf') ?? '');
  assert.equal(portal.userName, 'kubeception:portal');
  assert.equal(portal.caCertPem, secretText(find(stored, 'demo-ca'), 'ca.crt'), 'the existing CA, not a new one');
  const facts = inspectCertificate(new X509Certificate(portal.clientCertPem).raw);
  assert.equal(facts.commonName, 'kubeception:portal');
  assert.deepEqual(facts.organizations, [], 'no group: its RBAC binds the user alone');
  assert.equal(opensslVerify(portal.caCertPem, portal.clientCertPem, 'sslclient').status, 0);
});
