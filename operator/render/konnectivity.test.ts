import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { parse } from 'yaml';
import { apiServerConfigData } from './apiserver-config.ts';
import { controlPlaneMountedSecrets, renderControlPlaneDeployment } from './control-plane.ts';
import { argsToFlags } from './flags.ts';
import { KONNECTIVITY_SOCKET, egressSelectorConfiguration } from './konnectivity.ts';
import { resolveOptions } from './options.ts';
import { resolveMountedFile, sampleChecksums } from './testing.ts';
import { resolveTenant, type TenantControlPlane } from '../../core/index.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';

function render(tcp: TenantControlPlane = sampleTenant()) {
  const tenant = resolveTenant(tcp);
  const options = resolveOptions({ secretChecksums: sampleChecksums('demo') }, tenant.version.tag);
  const pod = renderControlPlaneDeployment(tenant, options).deployment.spec!.template.spec!;
  return { tenant, pod };
}

function container(pod: IPodSpec, name: string): IContainer {
  const found = pod.containers.find((c) => c.name === name);
  assert.ok(found, name);
  return found;
}

const disabled = () => sampleTenant((t) => (t.spec.addons.konnectivity = { enabled: false }));
const replicas = (n: number) => sampleTenant((t) => (t.spec.controlPlane.replicas = n));

test('konnectivity-server: UDS towards the apiserver, agents on 8132 authenticated by service account token, one count per replica', () => {
  for (const n of [1, 3]) {
    const flags = argsToFlags(container(render(replicas(n)).pod, 'konnectivity-server').args ?? []);
    assert.deepEqual(Object.fromEntries(flags), {
      logtostderr: 'true',
      v: '2',
      mode: 'grpc',
      'uds-name': '/run/konnectivity-server/konnectivity-server.socket',
      'delete-existing-uds-file': 'true',
      'server-port': '0',
      'agent-port': '8132',
      'admin-port': '8133',
      'health-port': '8134',
      'cluster-cert': '/etc/kubernetes/pki/apiserver.crt',
      'cluster-key': '/etc/kubernetes/pki/apiserver.key',
      'tls-min-version': 'VersionTLS12',
      kubeconfig: '/etc/kubernetes/konnectivity-server.conf',
      'agent-namespace': 'kube-system',
      'agent-service-account': 'konnectivity-agent',
      'authentication-audience': 'system:konnectivity-server',
      'server-count': String(n),
      'proxy-strategies': 'destHost,default',
    });
  }
});

test('konnectivity-server: agent and health ports, liveness only (ready means "an agent is connected"), a preStop sleep, hardened', () => {
  const { pod } = render();
  const server = container(pod, 'konnectivity-server');
  assert.deepEqual(server.ports, [
    { name: 'konnectivity', containerPort: 8132, protocol: 'TCP' },
    { name: 'probe-konn', containerPort: 8134, protocol: 'TCP' },
  ]);
  assert.deepEqual(server.livenessProbe?.httpGet, { path: '/healthz', port: 'probe-konn', scheme: 'HTTP' });
  assert.equal(server.readinessProbe, undefined, 'a control plane without workers (no agents) must still be ready');
  assert.equal(server.startupProbe, undefined);
  // Outlasts the apiserver's --shutdown-delay-duration (10 s), inside the grace period (30 s).
  const sleep = server.lifecycle?.preStop?.sleep?.seconds ?? 0;
  const delay = Number.parseInt(argsToFlags(container(pod, 'kube-apiserver').args ?? []).get('shutdown-delay-duration') ?? '', 10);
  assert.ok(sleep > delay && sleep < (pod.terminationGracePeriodSeconds ?? 30), `preStop sleep ${sleep} s`);
  assert.equal(server.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(server.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(server.securityContext?.capabilities, { drop: ['ALL'] });
  assert.ok(server.resources?.requests, 'requests, so the pod is not BestEffort');
});

test('the apiserver and the server share the socket directory; the server sees only the serving pair and its kubeconfig', () => {
  const { pod } = render();
  for (const name of ['kube-apiserver', 'konnectivity-server']) {
    const backing = resolveMountedFile(pod, name, KONNECTIVITY_SOCKET);
    assert.deepEqual(backing, { kind: 'emptyDir', volume: 'konnectivity-uds', readOnly: false }, name);
  }
  for (const name of ['kube-controller-manager', 'kube-scheduler']) {
    assert.equal(resolveMountedFile(pod, name, KONNECTIVITY_SOCKET).kind, 'missing', name);
  }
  const mounts = container(pod, 'konnectivity-server').volumeMounts!.map((m) => m.name);
  const seen = pod.volumes!.filter((v) => mounts.includes(v.name)).flatMap((v) =>
    (v.projected?.sources ?? []).flatMap((s) => (s.secret?.items ?? []).map((i) => `${s.secret!.name}/${i.key}`)));
  assert.deepEqual(seen.sort(), ['demo-apiserver-certs/apiserver.crt', 'demo-apiserver-certs/apiserver.key', 'demo-konnectivity-server-kubeconfig/konnectivity-server.conf']);
  assert.ok(controlPlaneMountedSecrets(resolveTenant(sampleTenant())).includes('demo-konnectivity-server-kubeconfig'), 'its checksum rolls the pods');
});

test('egress selector: the cluster egress over GRPC to the server\'s socket, mounted like the other apiserver config files', () => {
  const { tenant, pod } = render();
  const flags = argsToFlags(container(pod, 'kube-apiserver').args ?? []);
  const file = flags.get('egress-selector-config-file');
  assert.equal(file, '/etc/kubernetes/config/egress-selector.yaml');
  const backing = resolveMountedFile(pod, 'kube-apiserver', file!);
  assert.deepEqual(backing, { kind: 'configMap', name: 'demo-apiserver-config', key: 'egress-selector.yaml', readOnly: true });
  const yaml = apiServerConfigData(tenant)['egress-selector.yaml'];
  assert.ok(yaml);
  assert.deepEqual(parse(yaml), {
    apiVersion: 'apiserver.k8s.io/v1beta1',
    kind: 'EgressSelectorConfiguration',
    egressSelections: [
      { name: 'cluster', connection: { proxyProtocol: 'GRPC', transport: { uds: { udsName: '/run/konnectivity-server/konnectivity-server.socket' } } } },
    ],
  });
  assert.deepEqual(parse(yaml), egressSelectorConfiguration());
  const serverFlags = argsToFlags(container(pod, 'konnectivity-server').args ?? []);
  assert.equal(serverFlags.get('uds-name'), (parse(yaml) as { egressSelections: [{ connection: { transport: { uds: { udsName: string } } } }] }).egressSelections[0].connection.transport.uds.udsName);
});

test('a user cannot point the apiserver at another egress selector file', () => {
  const { pod } = render(sampleTenant((t) => (t.spec.controlPlane.extraArgs!.apiServer = { 'egress-selector-config-file': '/tmp/x.yaml' })));
  assert.equal(argsToFlags(container(pod, 'kube-apiserver').args ?? []).get('egress-selector-config-file'), '/etc/kubernetes/config/egress-selector.yaml');
});

test('konnectivity off: no sidecar, no egress selector, no socket volume, no server kubeconfig mounted', () => {
  const { tenant, pod } = render(disabled());
  assert.deepEqual(pod.containers.map((c) => c.name), ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  assert.equal(argsToFlags(container(pod, 'kube-apiserver').args ?? []).has('egress-selector-config-file'), false);
  assert.equal('egress-selector.yaml' in apiServerConfigData(tenant), false);
  assert.deepEqual(pod.volumes!.map((v) => v.name).filter((n) => n.startsWith('konnectivity')), []);
  assert.equal(container(pod, 'kube-apiserver').volumeMounts!.some((m) => m.name.startsWith('konnectivity')), false);
  assert.equal(controlPlaneMountedSecrets(tenant).includes('demo-konnectivity-server-kubeconfig'), false);
});

test('the server image follows the registry and the konnectivity version option', () => {
  const tenant = resolveTenant(sampleTenant());
  const options = resolveOptions({ secretChecksums: sampleChecksums('demo'), imageRegistry: 'mirror.local', konnectivityVersion: 'v0.35.1' }, tenant.version.tag);
  const pod = renderControlPlaneDeployment(tenant, options).deployment.spec!.template.spec!;
  assert.equal(container(pod, 'konnectivity-server').image, 'mirror.local/kas-network-proxy/proxy-server:v0.35.1');
  assert.throws(() => resolveOptions({ secretChecksums: {}, konnectivityVersion: 'bad tag' }, tenant.version.tag), /konnectivityVersion/);
});
