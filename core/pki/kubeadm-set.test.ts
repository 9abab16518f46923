import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import { inspectCertificate } from './der.ts';
import {
  CA_IDS,
  CERT_IDS,
  KUBECONFIG_IDS,
  generateTenantPki,
  tenantCertificateSpecs,
  type CertId,
  type PkiMaterial,
  type TenantPkiInput,
} from './kubeadm-set.ts';
import { parseKubeconfig } from './kubeconfig.ts';
import { FINGERPRINT_ANNOTATION, readPkiSecrets, renderPkiSecrets, secretText } from './secrets.ts';
import { goAvailable, goParseAndVerify, opensslText, opensslVerify } from './test-support.ts';

const input: TenantPkiInput = {
  name: 'demo',
  namespace: 'team-a',
  endpoint: 'https://203.0.113.7:31443',
  networkProfile: {
    serviceCIDR: '10.96.0.0/12',
    clusterDomain: 'tenant.local',
    address: 'demo.example.com',
    certSANs: ['api.demo.example.com', '198.51.100.9'],
  },
  serviceAddresses: ['10.100.20.30'],
};

let material: PkiMaterial;
before(async () => {
  material = await generateTenantPki(input);
});

const cert = (id: CertId) => new X509Certificate(material.certs[id].certPem);
const facts = (id: CertId) => inspectCertificate(cert(id).raw);

test('every certificate verifies against its own CA with openssl (strict, with the right purpose)', () => {
  const specs = tenantCertificateSpecs(input);
  for (const id of CERT_IDS) {
    const { issuer, request } = specs[id];
    const caPem = material.cas[issuer].certPem;
    for (const usage of request.extKeyUsages) {
      const purpose = usage === 'serverAuth' ? 'sslserver' : 'sslclient';
      const result = opensslVerify(caPem, material.certs[id].certPem, purpose);
      assert.equal(result.status, 0, `${id} (${purpose}) against ${issuer}: ${result.stderr}${result.stdout}`);
    }
    // And not against another CA of the set.
    const other = CA_IDS.find((ca) => ca !== issuer) ?? 'ca';
    assert.notEqual(opensslVerify(material.cas[other].certPem, material.certs[id].certPem).status, 0, `${id} must not verify against ${other}`);
  }
  for (const id of CA_IDS) {
    const result = opensslVerify(material.cas[id].certPem, material.cas[id].certPem);
    assert.equal(result.status, 0, `${id} self-verifies: ${result.stderr}`);
  }
});

test('apiserver serving certificate has the SANs of design §3', () => {
  const { dnsNames, ipAddresses, extKeyUsages, commonName } = facts('apiserver');
  assert.equal(commonName, 'kube-apiserver');
  assert.deepEqual(extKeyUsages, ['serverAuth']);
  for (const name of [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.tenant.local',
    'demo-apiserver',
    'demo-apiserver.team-a',
    'demo-apiserver.team-a.svc',
    'demo-apiserver.team-a.svc.cluster.local',
    'localhost',
    'demo.example.com',
    'api.demo.example.com',
  ]) {
    assert.ok(dnsNames.includes(name), `DNS SAN ${name} in ${dnsNames.join(',')}`);
  }
  assert.deepEqual([...ipAddresses].sort(), ['10.100.20.30', '10.96.0.1', '127.0.0.1', '198.51.100.9', '203.0.113.7'].sort());
  assert.match(opensslText(material.certs.apiserver.certPem), /IP Address:10\.96\.0\.1/);
});

test('dual-stack service CIDRs put the first address of each family in the SANs', () => {
  const specs = tenantCertificateSpecs({ ...input, networkProfile: { ...input.networkProfile, serviceCIDR: '10.96.0.0/12,fd00:10:96::/108' } });
  assert.ok(specs.apiserver.request.ipAddresses.includes('10.96.0.1'));
  assert.ok(specs.apiserver.request.ipAddresses.includes('fd00:10:96::1'));
});

test('etcd server and peer certificates cover the headless Service and its pods', () => {
  const expected = [
    'localhost',
    'demo-etcd',
    'demo-etcd.team-a',
    'demo-etcd.team-a.svc',
    'demo-etcd.team-a.svc.cluster.local',
    '*.demo-etcd.team-a.svc.cluster.local',
    '*.demo-etcd.team-a.svc',
    '*.demo-etcd',
  ];
  for (const id of ['etcd-server', 'etcd-peer'] as const) {
    const f = facts(id);
    assert.deepEqual(f.dnsNames, expected, id);
    assert.ok(f.ipAddresses.includes('127.0.0.1'), id);
    assert.deepEqual([...f.extKeyUsages].sort(), ['clientAuth', 'serverAuth'], id);
  }
});

test('client certificates have the subjects kubeadm (and our RBAC) expect', () => {
  const expected: Record<string, [string, string[]]> = {
    'apiserver-kubelet-client': ['kube-apiserver-kubelet-client', ['kubeadm:cluster-admins']],
    'apiserver-etcd-client': ['kube-apiserver-etcd-client', []],
    'front-proxy-client': ['front-proxy-client', []],
    admin: ['kubernetes-admin', ['kubeception:tenant-admins']],
    'super-admin': ['kubernetes-super-admin', ['system:masters']],
    'controller-manager': ['system:kube-controller-manager', []],
    scheduler: ['system:kube-scheduler', []],
    'konnectivity-server': ['system:konnectivity-server', []],
  };
  for (const [id, [cn, groups]] of Object.entries(expected)) {
    const f = facts(id as CertId);
    assert.equal(f.commonName, cn, id);
    assert.deepEqual(f.organizations, groups, id);
    assert.deepEqual(f.extKeyUsages, ['clientAuth'], id);
    assert.deepEqual(f.dnsNames, [], id);
    assert.ok(f.subject.every((a) => a.tag === 12), `${id}: UTF8String subject`);
  }
  assert.ok(!facts('admin').organizations.includes('system:masters'), 'admin is not system:masters');
});

test('Go parses the whole set, kubeadm:cluster-admins group included (skipped without Go)', { skip: !goAvailable() && 'go not installed' }, () => {
  const signedByCa = CERT_IDS.filter((id) => tenantCertificateSpecs(input)[id].issuer === 'ca');
  const result = goParseAndVerify(material.cas.ca.certPem, signedByCa.map((id) => material.certs[id].certPem));
  assert.equal(result.status, 0, result.stderr);
  assert.ok(result.stdout.includes('kube-apiserver-kubelet-client|kubeadm:cluster-admins'), result.stdout);
});

test('service-account key pair: sa.pub is the public half of sa.key', () => {
  const fromKey = createPublicKey(createPrivateKey(material.serviceAccount.keyPem)).export({ type: 'spki', format: 'der' });
  const pub = createPublicKey(material.serviceAccount.publicKeyPem).export({ type: 'spki', format: 'der' });
  assert.deepEqual(pub, fromKey);
  assert.match(material.serviceAccount.keyPem, /^-----BEGIN RSA PRIVATE KEY-----/);
  assert.match(material.serviceAccount.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
});

test('Secrets follow docs/contracts.md and kubeconfigs carry matching cert/key pairs', () => {
  const secrets = renderPkiSecrets(input, material, { owner: { apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', name: 'demo', uid: 'u-1' } });
  const byName = Object.fromEntries(secrets.map((s) => [s.metadata.name, s]));
  const keys = (name: string) => Object.keys(byName[name]?.data ?? {}).sort();
  assert.deepEqual(keys('demo-ca'), ['ca.crt', 'ca.key']);
  assert.deepEqual(keys('demo-etcd-ca'), ['ca.crt', 'ca.key']);
  assert.deepEqual(keys('demo-front-proxy-ca'), ['ca.crt', 'ca.key']);
  assert.deepEqual(keys('demo-sa'), ['sa.key', 'sa.pub']);
  assert.deepEqual(keys('demo-apiserver-certs'), [
    'apiserver-etcd-client.crt', 'apiserver-etcd-client.key', 'apiserver-kubelet-client.crt', 'apiserver-kubelet-client.key',
    'apiserver.crt', 'apiserver.key', 'ca.crt', 'etcd-ca.crt', 'front-proxy-ca.crt', 'front-proxy-client.crt', 'front-proxy-client.key',
  ]);
  assert.deepEqual(keys('demo-etcd-certs'), ['ca.crt', 'peer.crt', 'peer.key', 'server.crt', 'server.key']);
  assert.deepEqual(keys('demo-admin-kubeconfig'), ['admin.conf']);
  assert.deepEqual(keys('demo-super-admin-kubeconfig'), ['super-admin.conf']);
  assert.deepEqual(keys('demo-kubeconfig'), ['value']);
  assert.deepEqual(keys('demo-controller-manager-kubeconfig'), ['controller-manager.conf']);
  assert.deepEqual(keys('demo-scheduler-kubeconfig'), ['scheduler.conf']);
  assert.deepEqual(keys('demo-konnectivity-server-kubeconfig'), ['konnectivity-server.conf']);
  assert.equal(secretText(byName['demo-etcd-certs'], 'ca.crt'), material.cas['etcd-ca'].certPem);
  assert.equal(secretText(byName['demo-kubeconfig'], 'value'), secretText(byName['demo-admin-kubeconfig'], 'admin.conf'));

  for (const secret of secrets) {
    assert.equal(secret.type, 'Opaque');
    assert.equal(secret.metadata.namespace, 'team-a');
    assert.equal(secret.metadata.labels['kubeception.io/tenant'], 'demo');
    assert.equal(secret.metadata.labels['app.kubernetes.io/managed-by'], 'kubeception');
    assert.match(secret.metadata.labels['kubeception.io/component'] ?? '', /^(pki|kubeconfig)$/);
    assert.match(secret.metadata.annotations[FINGERPRINT_ANNOTATION] ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(secret.metadata.ownerReferences?.[0], {
      apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', name: 'demo', uid: 'u-1', controller: true, blockOwnerDeletion: true,
    });
  }

  const servers: Record<string, string> = {
    admin: 'https://203.0.113.7:31443',
    'super-admin': 'https://203.0.113.7:31443',
    'controller-manager': 'https://127.0.0.1:6443',
    scheduler: 'https://127.0.0.1:6443',
    'konnectivity-server': 'https://127.0.0.1:6443',
    portal: 'https://203.0.113.7:31443',
  };
  for (const id of KUBECONFIG_IDS) {
    const text = secretText(byName[`demo-${id}-kubeconfig`], `${id}.conf`) ?? '';
    const kubeconfig = parseKubeconfig(text);
    assert.equal(kubeconfig.server, servers[id], id);
    assert.equal(kubeconfig.caCertPem, material.cas.ca.certPem, id);
    const client = new X509Certificate(kubeconfig.clientCertPem);
    assert.ok(client.checkPrivateKey(createPrivateKey(kubeconfig.clientKeyPem)), `${id}: key matches cert`);
    assert.equal(client.serialNumber, cert(id).serialNumber, id);
    assert.equal(opensslVerify(kubeconfig.caCertPem, kubeconfig.clientCertPem, 'sslclient').status, 0, id);
  }
});

test('Secrets read back into the same material', () => {
  const { material: read, problems } = readPkiSecrets('demo', renderPkiSecrets(input, material));
  assert.deepEqual(problems, []);
  assert.deepEqual(read.cas, material.cas);
  assert.deepEqual(read.certs, material.certs);
  assert.equal(read.serviceAccountKeyPem, material.serviceAccount.keyPem);
});

test('existing material is kept as it is; only the missing parts are issued', async () => {
  const { 'etcd-peer': _dropped, ...certs } = material.certs;
  const completed = await generateTenantPki(input, { cas: material.cas, serviceAccountKeyPem: material.serviceAccount.keyPem, certs });
  assert.deepEqual(completed.cas, material.cas);
  for (const id of CERT_IDS.filter((id) => id !== 'etcd-peer')) assert.equal(completed.certs[id], material.certs[id]);
  assert.notEqual(completed.certs['etcd-peer'].certPem, material.certs['etcd-peer'].certPem);
  assert.equal(opensslVerify(material.cas['etcd-ca'].certPem, completed.certs['etcd-peer'].certPem, 'sslserver').status, 0);
});

test('bad input is refused with errors that name the field', () => {
  const withProfile = (profile: Partial<TenantPkiInput['networkProfile']>) => ({ ...input, networkProfile: { ...input.networkProfile, ...profile } });
  assert.throws(() => tenantCertificateSpecs(withProfile({ certSANs: ['bad name!'] })), /networkProfile\.certSANs: "bad name!" is neither/);
  assert.throws(() => tenantCertificateSpecs(withProfile({ serviceCIDR: '10.96.0.0' })), /"10\.96\.0\.0" is not a CIDR/);
  assert.throws(() => tenantCertificateSpecs(withProfile({ clusterDomain: 'Bad_Domain' })), /clusterDomain/);
  assert.throws(() => tenantCertificateSpecs({ ...input, name: 'Demo' }), /tenant name "Demo" must be a DNS label/);
  assert.throws(() => tenantCertificateSpecs({ ...input, endpoint: 'http://1.2.3.4:6443' }), /endpoint .* must use https/);
  assert.throws(() => tenantCertificateSpecs({ ...input, serviceAddresses: ['-x-'] }), /serviceAddresses/);
});
