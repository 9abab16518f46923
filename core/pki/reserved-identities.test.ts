import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PORTAL_IDENTITY } from '../contract.ts';
import { CERT_IDS, tenantCertificateSpecs } from './kubeadm-set.ts';
import { reservedIdentityReason } from './reserved-identities.ts';

const input = { name: 'demo', namespace: 'tenants', endpoint: 'https://10.0.0.5:31443', networkProfile: { serviceCIDR: '10.96.0.0/12', clusterDomain: 'cluster.local' } };

test('every user and group of a certificate the operator issues is reserved (derived from the specs: they cannot drift)', () => {
  const specs = tenantCertificateSpecs(input);
  // etcd's certificates name the tenant's etcd Service and are signed by the etcd CA, which the tenant
  // apiserver does not accept for clients: nothing to reserve there.
  const names = CERT_IDS.filter((id) => !id.startsWith('etcd-')).flatMap((id) => [specs[id].request.commonName, ...specs[id].request.organizations]);
  assert.ok(names.includes('kube-apiserver-kubelet-client') && names.includes(PORTAL_IDENTITY.user));
  for (const name of names) assert.ok(reservedIdentityReason(name) !== undefined, name);
});

test('reasons name the owner; prefixes and exact names are compared case-insensitively', () => {
  assert.match(reservedIdentityReason('kube-apiserver-kubelet-client') ?? '', /identity the operator issues certificates for/);
  assert.match(reservedIdentityReason('Kubernetes-Admin') ?? '', /identity the operator issues/);
  assert.match(reservedIdentityReason('System:Masters') ?? '', /identity the operator issues/);
  assert.match(reservedIdentityReason('system:nodes') ?? '', /"system:" are reserved by Kubernetes/);
  assert.match(reservedIdentityReason('kubeadm:anything') ?? '', /"kubeadm:" are reserved by kubeadm/);
  assert.match(reservedIdentityReason('kubeception:portal') ?? '', /identity the operator issues/);
  assert.match(reservedIdentityReason('kubeception:other') ?? '', /reserved by the kubeception operator/);
  for (const free of ['portal:acme:ann', 'ann', 'dev-team', 'kube-apiserver-kubelet-client2', 'systems:x']) assert.equal(reservedIdentityReason(free), undefined, free);
});
