import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1';
import { clusterInfoKubeconfig, readClusterInfoKubeconfig, renderClusterInfo } from './cluster-info.ts';
import { resolveInput } from './input.ts';
import { renderKubeadmConfig } from './kubeadm-config.ts';
import { componentConfigChecksum, renderKubeletConfig } from './kubelet-config.ts';
import { sampleInput, testCa } from './testing.ts';

type Data = { metadata: { name: string; namespace: string; annotations?: Record<string, string> }; data: Record<string, string> };
const only = (objects: { object: unknown }[]) => {
  assert.equal(objects.length, 1);
  const cm = objects[0]!.object as Data;
  new ConfigMap(cm as never).validate();
  return cm;
};

test('cluster-info holds one unnamed cluster: the tenant endpoint and the CA, nothing else', async () => {
  const input = resolveInput(await sampleInput());
  const cm = only(renderClusterInfo(input));
  assert.equal(`${cm.metadata.namespace}/${cm.metadata.name}`, 'kube-public/cluster-info');
  assert.deepEqual(Object.keys(cm.data), ['kubeconfig']);
  const doc = parse(cm.data.kubeconfig!) as Record<string, unknown>;
  assert.equal(doc.kind, 'Config');
  assert.equal(doc.users, null);
  assert.equal(doc.contexts, null);
  const clusters = doc.clusters as { name: string; cluster: Record<string, string> }[];
  assert.equal(clusters.length, 1);
  assert.equal(clusters[0]!.name, '');
  assert.deepEqual(Object.keys(clusters[0]!.cluster).sort(), ['certificate-authority-data', 'server']);
  const read = readClusterInfoKubeconfig(cm.data.kubeconfig!);
  assert.equal(read.server, 'https://10.0.0.5:31443');
  // The CA data is the tenant CA, byte for byte, and still a certificate.
  assert.equal(read.caCertPem, (await testCa()).certPem);
  assert.ok(new X509Certificate(read.caCertPem).ca);
});

test('cluster-info text is stable for the same input (the JWS signatures cover its bytes)', async () => {
  const { certPem } = await testCa();
  assert.equal(clusterInfoKubeconfig('https://a:1', certPem), clusterInfoKubeconfig('https://a:1', certPem));
  assert.notEqual(clusterInfoKubeconfig('https://a:1', certPem), clusterInfoKubeconfig('https://a:2', certPem));
  assert.throws(() => readClusterInfoKubeconfig('apiVersion: v1\nclusters: []\n'), /no unnamed cluster/);
});

test('kubeadm-config: a v1beta4 ClusterConfiguration with the tenant facts kubeadm join reads', async () => {
  const cm = only(renderKubeadmConfig(resolveInput(await sampleInput((i) => (i.imageRegistry = 'registry.local/k8s')))));
  assert.equal(`${cm.metadata.namespace}/${cm.metadata.name}`, 'kube-system/kubeadm-config');
  assert.deepEqual(Object.keys(cm.data), ['ClusterConfiguration']);
  const config = parse(cm.data.ClusterConfiguration!) as Record<string, unknown>;
  assert.equal(config.apiVersion, 'kubeadm.k8s.io/v1beta4');
  assert.equal(config.kind, 'ClusterConfiguration');
  assert.equal(config.kubernetesVersion, 'v1.36.5');
  assert.equal(config.clusterName, 'demo');
  assert.equal(config.controlPlaneEndpoint, '10.0.0.5:31443');
  assert.equal(config.certificatesDir, '/etc/kubernetes/pki');
  assert.equal(config.imageRepository, 'registry.local/k8s');
  assert.deepEqual(config.networking, { dnsDomain: 'cluster.local', podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/12' });
  assert.deepEqual(config.dns, { imageRepository: 'registry.local/k8s/coredns', imageTag: 'v1.14.2' });
  assert.deepEqual(config.proxy, {});
  // Keys sorted like kubeadm writes them: the same input, the same bytes.
  const keys = Object.keys(config);
  assert.deepEqual(keys, [...keys].sort());
});

test('kubeadm-config says which add-ons are off', async () => {
  const input = await sampleInput((i) => {
    i.spec.addons.coreDNS.enabled = false;
    i.spec.addons.kubeProxy.enabled = false;
  });
  const config = parse(only(renderKubeadmConfig(resolveInput(input))).data.ClusterConfiguration!) as { dns: { disabled?: boolean }; proxy: { disabled?: boolean } };
  assert.equal(config.dns.disabled, true);
  assert.equal(config.proxy.disabled, true);
});

test('kubelet-config: kubeadm defaults, the tenant DNS, key "kubelet", kubeadm checksum annotation', async () => {
  const cm = only(renderKubeletConfig(resolveInput(await sampleInput((i) => (i.spec.networkProfile.dnsServiceIP = '10.96.0.53')))));
  assert.equal(`${cm.metadata.namespace}/${cm.metadata.name}`, 'kube-system/kubelet-config');
  assert.deepEqual(Object.keys(cm.data), ['kubelet']);
  const config = parse(cm.data.kubelet!) as Record<string, unknown>;
  assert.equal(config.apiVersion, 'kubelet.config.k8s.io/v1beta1');
  assert.equal(config.kind, 'KubeletConfiguration');
  assert.deepEqual(config.clusterDNS, ['10.96.0.53']);
  assert.equal(config.clusterDomain, 'cluster.local');
  assert.equal(config.cgroupDriver, 'systemd');
  assert.equal(config.failCgroupV1, undefined, 'left to kubelet unless asked');
  assert.deepEqual(config.authentication, { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' } });
  assert.deepEqual(config.authorization, { mode: 'Webhook' });
  assert.equal(config.rotateCertificates, true);
  assert.equal(config.serverTLSBootstrap, true);
  assert.equal(config.staticPodPath, '/etc/kubernetes/manifests');
  assert.equal(cm.metadata.annotations?.['kubeadm.kubernetes.io/component-config.hash'], componentConfigChecksum(cm.data));
});

test('kubelet-config node knobs: cgroupfs and failCgroupV1 for the test bed, extra fields merged last', async () => {
  const input = await sampleInput((i) => {
    i.node = {
      cgroupDriver: 'cgroupfs',
      failCgroupV1: false,
      serverTLSBootstrap: false,
      kubelet: { imageGCHighThresholdPercent: 100, authentication: { webhook: { cacheTTL: '10s' } }, clusterDNS: ['10.96.0.11'] },
    };
  });
  const config = parse(only(renderKubeletConfig(resolveInput(input))).data.kubelet!) as Record<string, unknown>;
  assert.equal(config.cgroupDriver, 'cgroupfs');
  assert.equal(config.failCgroupV1, false);
  assert.equal(config.serverTLSBootstrap, false);
  assert.equal(config.imageGCHighThresholdPercent, 100);
  assert.deepEqual(config.authentication, { anonymous: { enabled: false }, webhook: { enabled: true, cacheTTL: '10s' }, x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' } });
  assert.deepEqual(config.clusterDNS, ['10.96.0.11']);
});

test("component-config checksum is kubeadm's (its own test vector) and orders by key", () => {
  // cmd/kubeadm/app/componentconfigs/checksums_test.go: data {foo: bar} without binaryData.
  assert.equal(componentConfigChecksum({ foo: 'bar' }), 'sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9');
  assert.equal(componentConfigChecksum({ b: 'x', a: 'y' }), componentConfigChecksum({ a: 'y', b: 'x' }));
  assert.notEqual(componentConfigChecksum({ a: 'x', b: 'y' }), componentConfigChecksum({ a: 'y', b: 'x' }));
});
