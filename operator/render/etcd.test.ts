import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  etcdHealthPaths,
  etcdServers,
  etcdQuotaBytes,
  renderEtcdNetworkPolicy,
  renderEtcdService,
  renderEtcdStatefulSet,
} from './etcd.ts';
import { argsToFlags } from './flags.ts';
import { selectorLabels } from './metadata.ts';
import { ANNOTATIONS, etcdSans, resolveTenant, type TenantControlPlane } from '../../core/index.ts';
import { resolveOptions, type RenderOptions } from './options.ts';
import { sampleChecksums } from './testing.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';

function statefulSet(tcp: TenantControlPlane = sampleTenant(), options: Partial<RenderOptions> = {}) {
  return renderEtcdStatefulSet(resolveTenant(tcp), resolveOptions({ secretChecksums: sampleChecksums('demo'), ...options }, tcp.spec.version));
}

function etcdFlags(tcp?: TenantControlPlane, options?: Partial<RenderOptions>) {
  const sts = statefulSet(tcp, options);
  return argsToFlags(sts.spec!.template.spec!.containers[0]!.args!);
}

test('3 replicas: initial-cluster names 3 peers by their pod DNS names, Parallel start', () => {
  const tcp = sampleTenant((t) => (t.spec.etcd.replicas = 3));
  const sts = statefulSet(tcp);
  assert.equal(sts.spec!.replicas, 3);
  assert.equal(sts.spec!.podManagementPolicy, 'Parallel');
  assert.equal(sts.spec!.serviceName, 'demo-etcd');
  const flags = etcdFlags(tcp);
  const peers = flags.get('initial-cluster')!.split(',');
  assert.deepEqual(peers, [0, 1, 2].map((i) => `demo-etcd-${i}=https://demo-etcd-${i}.demo-etcd.tenant-demo.svc.cluster.local:2380`));
  // Each member names itself like its initial-cluster entry: $(POD_NAME) is the StatefulSet pod name.
  assert.equal(flags.get('name'), '$(POD_NAME)');
  assert.equal(flags.get('initial-advertise-peer-urls'), 'https://$(POD_NAME).demo-etcd.tenant-demo.svc.cluster.local:2380');
  const env = sts.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === 'POD_NAME');
  assert.equal(env?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
});

test('1 replica: a single-member cluster', () => {
  assert.deepEqual(etcdFlags().get('initial-cluster')!.split(','), [
    'demo-etcd-0=https://demo-etcd-0.demo-etcd.tenant-demo.svc.cluster.local:2380',
  ]);
});

test('member names use the HOST cluster domain option', () => {
  const flags = etcdFlags(sampleTenant(), { hostClusterDomain: 'host.internal' });
  assert.match(flags.get('initial-cluster')!, /demo-etcd-0\.demo-etcd\.tenant-demo\.svc\.host\.internal:2380$/);
});

test('mutual TLS on client and peer ports with the etcd-certs Secret', () => {
  const flags = etcdFlags();
  assert.equal(flags.get('client-cert-auth'), 'true');
  assert.equal(flags.get('peer-client-cert-auth'), 'true');
  assert.match(flags.get('listen-client-urls')!, /^https:/);
  assert.match(flags.get('listen-peer-urls')!, /^https:/);
  assert.match(flags.get('advertise-client-urls')!, /^https:/);
  assert.equal(flags.get('trusted-ca-file'), '/etc/kubernetes/pki/etcd/ca.crt');
  assert.equal(flags.get('peer-trusted-ca-file'), '/etc/kubernetes/pki/etcd/ca.crt');
  assert.equal(flags.get('data-dir'), '/var/lib/etcd/data');
  assert.equal(flags.get('listen-metrics-urls'), 'http://0.0.0.0:2381');
  const pod = statefulSet().spec!.template.spec!;
  const certs = pod.volumes!.find((v) => v.name === 'etcd-certs');
  assert.equal(certs?.secret?.secretName, 'demo-etcd-certs');
});

test('the data lives on a claim of the spec size and class; quota stays below the volume', () => {
  const tcp = sampleTenant((t) => (t.spec.etcd.storage = { size: '10Gi', storageClassName: 'fast' }));
  const claim = statefulSet(tcp).spec!.volumeClaimTemplates![0]!;
  assert.equal(claim.spec!.resources!.requests!.storage, '10Gi');
  assert.equal(claim.spec!.storageClassName, 'fast');
  assert.equal(claim.metadata!.name, 'data');
  const quota = Number(etcdFlags(tcp).get('quota-backend-bytes'));
  assert.ok(quota > 0 && quota < 10 * 2 ** 30);
  // No class given: the field is absent so the cluster default applies.
  assert.equal('storageClassName' in statefulSet().spec!.volumeClaimTemplates![0]!.spec!, false);
  assert.equal(etcdQuotaBytes('1Gi'), Math.floor(0.8 * 2 ** 30));
  assert.equal(etcdQuotaBytes('100Gi'), 8 * 2 ** 30);
  assert.throws(() => etcdQuotaBytes('1 GB'), /storage\.size/);
  assert.throws(() => etcdQuotaBytes('10Mi'), /too small/);
});

test('probes use the metrics listener; old etcd images get /health', () => {
  const c = statefulSet().spec!.template.spec!.containers[0]!;
  const metricsPort = c.ports!.find((p) => p.name === 'metrics')!.containerPort;
  assert.equal(metricsPort, 2381);
  assert.equal(c.livenessProbe?.httpGet?.port, 'metrics');
  assert.equal(c.livenessProbe?.httpGet?.path, '/livez');
  assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
  assert.deepEqual(etcdHealthPaths('3.5.10-0'), { liveness: '/health?serializable=true', readiness: '/health' });
  assert.deepEqual(etcdHealthPaths('v3.5.11'), { liveness: '/livez', readiness: '/readyz' });
  assert.deepEqual(etcdHealthPaths('v3.6.16'), { liveness: '/livez', readiness: '/readyz' });
  assert.equal(etcdFlags(sampleTenant(), { etcdVersion: '3.4.23' }).has('tls-min-version'), false);
  assert.equal(etcdFlags(sampleTenant(), { etcdVersion: 'v3.6.16' }).get('tls-min-version'), 'TLS1.2');
});

test('image, command, resources and hardening', () => {
  const tcp = sampleTenant((t) => (t.spec.etcd.resources = { requests: { cpu: '500m', memory: '1Gi' } }));
  const sts = statefulSet(tcp, { imageRegistry: 'reg.local', etcdVersion: 'v3.6.16', imagePullPolicy: 'Never' });
  const pod = sts.spec!.template.spec!;
  const c = pod.containers[0]!;
  assert.equal(c.image, 'reg.local/etcd:v3.6.16');
  assert.equal(c.imagePullPolicy, 'Never');
  assert.deepEqual(c.command, ['/usr/local/bin/etcd']);
  assert.deepEqual(c.resources, { requests: { cpu: '500m', memory: '1Gi' } });
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.ok(pod.securityContext?.fsGroup, 'fsGroup makes the data volume writable for the non-root user');
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
});

test('a changed etcd-certs checksum changes the pod template; other Secrets do not', () => {
  const annotation = (checksums: Record<string, string>) =>
    statefulSet(sampleTenant(), { secretChecksums: checksums }).spec!.template.metadata!.annotations![ANNOTATIONS.configChecksum];
  const base = annotation(sampleChecksums('demo'));
  assert.notEqual(annotation({ ...sampleChecksums('demo'), 'demo-etcd-certs': 'new' }), base);
  assert.equal(annotation({ ...sampleChecksums('demo'), 'demo-apiserver-certs': 'new' }), base);
});

test('headless Service publishes not-ready members on client and peer ports', () => {
  const svc = renderEtcdService(resolveTenant(sampleTenant()));
  assert.equal(svc.metadata!.name, 'demo-etcd');
  assert.equal(svc.spec!.clusterIP, 'None');
  assert.equal(svc.spec!.publishNotReadyAddresses, true);
  assert.deepEqual(svc.spec!.ports!.map((p) => [p.name, p.port]), [['client', 2379], ['peer', 2380]]);
  assert.deepEqual(svc.spec!.selector, selectorLabels('demo', 'etcd'));
});

test('NetworkPolicy: only this tenant\'s control plane reaches 2379, only members reach 2380', () => {
  const np = renderEtcdNetworkPolicy(resolveTenant(sampleTenant()));
  assert.deepEqual(np.spec!.podSelector!.matchLabels, selectorLabels('demo', 'etcd'));
  assert.deepEqual(np.spec!.policyTypes, ['Ingress']);
  const allowed = (port: number) =>
    np.spec!.ingress!
      .filter((rule) => rule.ports!.some((p) => p.port === port))
      .flatMap((rule) => rule.from!.map((peer) => JSON.stringify(peer.podSelector?.matchLabels ?? {})));
  assert.deepEqual(allowed(2379).sort(), [
    JSON.stringify(selectorLabels('demo', 'control-plane')),
    JSON.stringify(selectorLabels('demo', 'etcd')),
  ].sort());
  assert.deepEqual(allowed(2380), [JSON.stringify(selectorLabels('demo', 'etcd'))]);
  // No rule admits peers from other namespaces.
  assert.ok(np.spec!.ingress!.every((rule) => rule.from!.every((peer) => peer.namespaceSelector === undefined && peer.ipBlock === undefined)));
});

test('operator/pki\'s etcd certificate names cover every member URL the renderer emits', () => {
  const tcp = sampleTenant((t) => (t.spec.etcd.replicas = 3));
  const { dnsNames } = etcdSans({
    name: 'demo',
    namespace: 'tenant-demo',
    endpoint: 'https://192.0.2.1:6443',
    networkProfile: tcp.spec.networkProfile,
  });
  // X.509 host name matching: exact, or a leading `*.` standing for exactly one label.
  const covered = (host: string) =>
    dnsNames.some((san) => san === host || (san.startsWith('*.') && host.slice(host.indexOf('.') + 1) === san.slice(2)));
  const urls = [
    ...etcdFlags(tcp).get('initial-cluster')!.split(',').map((e) => e.split('=')[1]!),
    ...etcdServers(resolveTenant(tcp), resolveOptions({ secretChecksums: {} }, tcp.spec.version)).split(','),
  ];
  assert.equal(urls.length, 6);
  for (const url of urls) assert.ok(covered(new URL(url).hostname), url);
});
