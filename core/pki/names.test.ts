import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bytesToIp, canonicalIp, firstHostIp, ipToBytes } from './ip.ts';
import { buildKubeconfig, parseKubeconfig } from './kubeconfig.ts';
import { classifySans, isDnsName, parseServerUrl } from './names.ts';

test('IP text and bytes round-trip for every IPv4 and IPv6 address', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), (bytes) => {
      assert.deepEqual(ipToBytes(bytesToIp(bytes)), bytes);
    }),
  );
});

test('different spellings of one address are one SAN', () => {
  assert.equal(canonicalIp('FD00:0:0::10'), 'fd00::10');
  assert.equal(canonicalIp('::ffff:1.2.3.4'), canonicalIp('0:0:0:0:0:ffff:102:304'));
  assert.equal(canonicalIp('1.2.3'), undefined);
  assert.deepEqual(classifySans(['API.Example.com.', '10.0.0.1', 'api.example.com', 'fd00::1', 'FD00:0::1'], 'x'), {
    dnsNames: ['api.example.com'],
    ipAddresses: ['10.0.0.1', 'fd00::1'],
  });
});

test('the first host of a service CIDR', () => {
  assert.equal(firstHostIp('10.96.0.0/12'), '10.96.0.1');
  assert.equal(firstHostIp('10.96.5.7/12'), '10.96.0.1', 'host bits are masked off');
  assert.equal(firstHostIp('172.20.0.0/16'), '172.20.0.1');
  assert.equal(firstHostIp('fd00:10:96::/108'), 'fd00:10:96::1');
  assert.throws(() => firstHostIp('10.0.0.0/31'), /too small/);
  assert.throws(() => firstHostIp('10.0.0.0/33'), /not a CIDR/);
  assert.throws(() => firstHostIp('nonsense'), /not a CIDR/);
});

test('DNS names, wildcards and server URLs', () => {
  for (const good of ['kubernetes', 'a.b.c', '*.demo-etcd.ns.svc', 'x-1.example.com']) assert.ok(isDnsName(good), good);
  for (const bad of ['', '-a', 'a-', 'a..b', 'a_b', '*.', 'a.*.b', 'UPPER', 'a'.repeat(64)]) assert.ok(!isDnsName(bad), bad);
  assert.deepEqual(parseServerUrl('https://[fd00::1]:6443', 'server'), { url: 'https://[fd00::1]:6443', host: 'fd00::1', port: 6443 });
  assert.deepEqual(parseServerUrl('https://api.example.com/', 'server'), { url: 'https://api.example.com', host: 'api.example.com', port: 443 });
  assert.throws(() => parseServerUrl('https://api.example.com/path', 'server'), /scheme:\/\/host\[:port\] only/);
  assert.throws(() => parseServerUrl('api.example.com', 'server'), /not a URL/);
});

test('kubeconfigs round-trip, and broken ones say what is missing', () => {
  const content = { clusterName: 'demo', server: 'https://1.2.3.4:6443', caCertPem: 'CA\n', userName: 'u', clientCertPem: 'C\n', clientKeyPem: 'K\n' };
  assert.deepEqual(parseKubeconfig(buildKubeconfig(content)), content);
  assert.throws(() => parseKubeconfig('kind: Config\n'), /no usable current context/);
  assert.throws(() => parseKubeconfig('{'), /not YAML/);
  const noKey = buildKubeconfig(content).replace(/client-key-data: .*\n/, '');
  assert.throws(() => parseKubeconfig(noKey), /no client-key-data/);
});
