import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCaCertificate, generatePrivateKey, signCertificate } from '../../core/index.ts';
import { mergeConfig, parseEndpoint, resolveInput, TenantBootstrapInputError, type TenantBootstrapInput } from './input.ts';
import { sampleInput, testCa } from './testing.ts';

test('defaults: kubeadm cgroup driver, CoreDNS tag of the minor, upstream registry, every add-on on, agents dial the endpoint host on 8132', async () => {
  const resolved = resolveInput(await sampleInput());
  assert.equal(resolved.kubernetesVersion, 'v1.36.5');
  assert.equal(resolved.coreDNSVersion, 'v1.14.2');
  assert.equal(resolved.imageRegistry, 'registry.k8s.io');
  assert.equal(resolved.imagePullPolicy, 'IfNotPresent');
  assert.equal(resolved.coreDNSReplicas, 2);
  assert.deepEqual(resolved.addons, { coreDNS: true, kubeProxy: true, konnectivity: true, cni: true });
  assert.equal(resolved.flannelVersion, 'v0.28.10');
  assert.equal(resolved.flannelImageRegistry, 'ghcr.io/flannel-io');
  assert.equal(resolved.konnectivityVersion, 'v0.36.0');
  assert.deepEqual(resolved.konnectivityServer, { host: '10.0.0.5', port: 8132 });
  assert.deepEqual(resolved.node, { cgroupDriver: 'systemd', failCgroupV1: undefined, serverTLSBootstrap: true, kubelet: {}, kubeProxy: {} });
  assert.deepEqual(resolved.endpoint, { url: 'https://10.0.0.5:31443', host: '10.0.0.5', port: 31443, hostPort: '10.0.0.5:31443' });
});

test('endpoints: default port 443, IPv6 in brackets for host:port, only https and no path', () => {
  assert.deepEqual(parseEndpoint('https://api.example.com'), { url: 'https://api.example.com:443', host: 'api.example.com', port: 443, hostPort: 'api.example.com:443' });
  assert.deepEqual(parseEndpoint('https://[fd00::5]:6443/'), { url: 'https://[fd00::5]:6443', host: 'fd00::5', port: 6443, hostPort: '[fd00::5]:6443' });
  assert.throws(() => parseEndpoint('http://10.0.0.5:6443'), /must use https/);
  assert.throws(() => parseEndpoint('https://10.0.0.5:6443/api'), /scheme, host and port only/);
  assert.throws(() => parseEndpoint('10.0.0.5:6443'), TenantBootstrapInputError);
});

const base = await sampleInput();

/** A copy of the sample with one change. */
function patched(change: (input: TenantBootstrapInput) => void): TenantBootstrapInput {
  const input = structuredClone(base);
  change(input);
  return input;
}

test('the CA must be a readable CA certificate', async () => {
  assert.throws(() => resolveInput({ ...base, caCertPem: 'nope' }), /caCertPem must be a PEM certificate/);
  const ca = await testCa();
  const leafKey = await generatePrivateKey('ECDSA-P256');
  const leaf = await signCertificate({ commonName: 'leaf', organizations: [], dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] }, leafKey, ca);
  assert.throws(() => resolveInput({ ...base, caCertPem: leaf }), /is not a CA certificate/);
  const broken = ca.certPem.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
  assert.throws(() => resolveInput({ ...base, caCertPem: broken }), /not a readable certificate|not a CA/);
  const other = await createCaCertificate('other', await generatePrivateKey('ECDSA-P256'));
  assert.equal(resolveInput({ ...base, caCertPem: other }).caCertPem, other);
});

test('network facts are checked: DNS IP inside the service CIDR, CIDRs, domain, names, versions', () => {
  const bad = (change: (input: TenantBootstrapInput) => void, pattern: RegExp) => assert.throws(() => resolveInput(patched(change)), pattern);
  bad((i) => (i.spec.networkProfile.dnsServiceIP = '10.200.0.10'), /outside serviceCIDR 10\.96\.0\.0\/12/);
  bad((i) => (i.spec.networkProfile.dnsServiceIP = 'ten'), /dnsServiceIP "ten" is not an IP/);
  bad((i) => (i.spec.networkProfile.podCIDR = '10.244.0.0'), /podCIDR "10\.244\.0\.0" is not a CIDR/);
  bad((i) => (i.spec.networkProfile.clusterDomain = 'Cluster_Local'), /clusterDomain/);
  bad((i) => (i.clusterName = 'Demo'), /clusterName "Demo" is not a DNS label/);
  bad((i) => ((i.spec as { version: string }).version = 'v2.0.0'), /no CoreDNS version is known for Kubernetes v2\.0\.0.*pass versions\.coreDNS/);
  // With an explicit CoreDNS tag an unknown minor is fine.
  const explicit = patched((i) => {
    (i.spec as { version: string }).version = 'v1.99.0';
    i.versions = { coreDNS: 'v9.9.9' };
  });
  assert.equal(resolveInput(explicit).coreDNSVersion, 'v9.9.9');
  assert.equal(resolveInput(explicit).kubernetesVersion, 'v1.99.0');
});

test('node settings are checked and carried through', () => {
  assert.throws(() => resolveInput({ ...base, node: { cgroupDriver: 'cgroupv2' as never } }), /cgroupDriver "cgroupv2" must be systemd or cgroupfs/);
  assert.throws(() => resolveInput({ ...base, node: { kubelet: { kind: 'Pod' } } }), /node\.kubelet may not set kind/);
  assert.throws(() => resolveInput({ ...base, node: { kubeProxy: [] as never } }), /node\.kubeProxy must be an object/);
  assert.throws(() => resolveInput({ ...base, coreDNSReplicas: 0 }), /coreDNSReplicas 0/);
  assert.throws(() => resolveInput({ ...base, imagePullPolicy: 'Sometimes' as never }), /imagePullPolicy/);
  const resolved = resolveInput({ ...base, imageRegistry: 'registry.local:5000/k8s/', node: { cgroupDriver: 'cgroupfs', failCgroupV1: false } });
  assert.equal(resolved.imageRegistry, 'registry.local:5000/k8s');
  assert.equal(resolved.node.cgroupDriver, 'cgroupfs');
  assert.equal(resolved.node.failCgroupV1, false);
});

test('mergeConfig merges objects deeply, replaces lists and scalars, removes on null, leaves inputs alone', () => {
  const base = { a: { b: 1, c: [1, 2] }, d: 'x', e: true };
  const extra = { a: { c: [3], f: 2 }, d: null, g: { h: 1 } };
  const merged = mergeConfig(base, extra);
  assert.deepEqual(merged, { a: { b: 1, c: [3], f: 2 }, e: true, g: { h: 1 } });
  assert.deepEqual(base, { a: { b: 1, c: [1, 2] }, d: 'x', e: true });
});
