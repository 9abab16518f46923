import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { apiServerConfigData } from './apiserver-config.ts';
import { renderControlPlaneDeployment } from './control-plane.ts';
import { renderEtcdStatefulSet } from './etcd.ts';
import { argsToFlags, type FlagMap } from './flags.ts';
import { ANNOTATIONS, SECRET_KEYS, resolveTenant, secretNames, type TenantControlPlane } from '../../core/index.ts';
import { resolveOptions, type RenderOptions } from './options.ts';
import { resolveMountedFile, sampleChecksums } from './testing.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';

function render(tcp: TenantControlPlane = sampleTenant(), checksums = sampleChecksums('demo'), extra: Partial<RenderOptions> = {}) {
  const tenant = resolveTenant(tcp);
  const options = resolveOptions({ secretChecksums: checksums, ...extra }, tenant.version.tag);
  return { tenant, options, ...renderControlPlaneDeployment(tenant, options) };
}

function podOf(tcp?: TenantControlPlane, extra?: Partial<RenderOptions>): IPodSpec {
  return render(tcp, undefined, extra).deployment.spec!.template.spec!;
}

function containerOf(pod: IPodSpec, name: string): IContainer {
  const c = pod.containers.find((x) => x.name === name);
  assert.ok(c, `container ${name}`);
  return c;
}

function flagsOf(pod: IPodSpec, name: string): FlagMap {
  return argsToFlags(containerOf(pod, name).args ?? []);
}

test('the three control-plane containers run the tenant version from the registry with absolute binary paths, konnectivity beside them', () => {
  const tenant = resolveTenant(sampleTenant());
  const options = resolveOptions({ secretChecksums: sampleChecksums('demo'), imageRegistry: 'registry.local:5000/k8s/' }, 'v1.36.5');
  const pod = renderControlPlaneDeployment(tenant, options).deployment.spec!.template.spec!;
  assert.deepEqual(
    pod.containers.map((c) => [c.name, c.image, c.command]),
    [
      ...['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((n) => [
        n,
        `registry.local:5000/k8s/${n}:v1.36.5`,
        [`/usr/local/bin/${n}`],
      ]),
      ['konnectivity-server', 'registry.local:5000/k8s/kas-network-proxy/proxy-server:v0.36.0', ['/proxy-server']],
    ],
  );
});

test('apiserver carries the secure defaults of design §4', () => {
  const flags = flagsOf(podOf(), 'kube-apiserver');
  const expected: Record<string, string> = {
    'authorization-mode': 'Node,RBAC',
    'enable-admission-plugins': 'NodeRestriction',
    'enable-bootstrap-token-auth': 'true',
    profiling: 'false',
    'service-account-lookup': 'true',
    'tls-min-version': 'VersionTLS12',
    'kubelet-certificate-authority': '/etc/kubernetes/pki/ca.crt',
    'kubelet-preferred-address-types': 'InternalIP,ExternalIP,Hostname',
    'secure-port': '6443',
    'endpoint-reconciler-type': 'none',
    'advertise-address': '$(POD_IP)',
    'requestheader-allowed-names': 'front-proxy-client',
  };
  for (const [name, value] of Object.entries(expected)) assert.equal(flags.get(name), value, `--${name}`);
  assert.ok(flags.get('audit-policy-file'), 'an audit policy');
  assert.ok(flags.get('audit-log-path'), 'an audit log');
  // With the AuthenticationConfiguration the flag must be absent: the apiserver refuses both.
  assert.equal(flags.has('anonymous-auth'), false);
  assert.ok(flags.get('authentication-config'));
});

test('$(POD_IP) in --advertise-address is backed by an env var from the pod IP', () => {
  const api = containerOf(podOf(), 'kube-apiserver');
  const env = (api.env ?? []).find((e) => e.name === 'POD_IP');
  assert.equal(env?.valueFrom?.fieldRef?.fieldPath, 'status.podIP');
});

test('flags follow the spec: CIDRs, cluster domain, etcd members', () => {
  const tcp = sampleTenant((t) => {
    t.spec.networkProfile.serviceCIDR = '10.100.0.0/16';
    t.spec.networkProfile.podCIDR = '10.50.0.0/16';
    t.spec.networkProfile.clusterDomain = 'tenant.example';
    t.spec.etcd.replicas = 3;
  });
  const pod = podOf(tcp);
  const api = flagsOf(pod, 'kube-apiserver');
  const kcm = flagsOf(pod, 'kube-controller-manager');
  assert.equal(api.get('service-cluster-ip-range'), '10.100.0.0/16');
  assert.equal(kcm.get('service-cluster-ip-range'), '10.100.0.0/16');
  assert.equal(kcm.get('cluster-cidr'), '10.50.0.0/16');
  assert.equal(kcm.get('allocate-node-cidrs'), 'true');
  assert.equal(api.get('service-account-issuer'), 'https://kubernetes.default.svc.tenant.example');
  assert.equal(api.get('service-account-jwks-uri'), 'https://kubernetes.default.svc.tenant.example/openid/v1/jwks', 'pods reach the keys at the issuer, not at the pod IP');
  // etcd lives in the HOST cluster: its names use the host domain, not the tenant's.
  assert.deepEqual(api.get('etcd-servers')!.split(','), [0, 1, 2].map(
    (i) => `https://demo-etcd-${i}.demo-etcd.tenant-demo.svc.cluster.local:2379`,
  ));
});

test('controller-manager and scheduler: signing with the tenant CA, bootstrap controllers, leader election', () => {
  const pod = podOf();
  const kcm = flagsOf(pod, 'kube-controller-manager');
  assert.equal(kcm.get('controllers'), '*,bootstrapsigner,tokencleaner');
  assert.equal(kcm.get('cluster-signing-cert-file'), '/etc/kubernetes/pki/ca.crt');
  assert.equal(kcm.get('cluster-signing-key-file'), '/etc/kubernetes/pki/ca.key');
  assert.equal(kcm.get('use-service-account-credentials'), 'true');
  assert.equal(kcm.get('root-ca-file'), '/etc/kubernetes/pki/ca.crt');
  assert.equal(kcm.get('service-account-private-key-file'), '/etc/kubernetes/pki/sa.key');
  assert.equal(kcm.get('kubeconfig'), '/etc/kubernetes/controller-manager.conf');
  assert.equal(kcm.get('leader-elect'), 'true');
  const sched = flagsOf(pod, 'kube-scheduler');
  assert.equal(sched.get('kubeconfig'), '/etc/kubernetes/scheduler.conf');
  assert.equal(sched.get('leader-elect'), 'true');
  assert.equal(sched.get('profiling'), 'false');
});

// A flag named like a file/dir (not a boolean switch such as --delete-existing-uds-file) must hold an
// absolute path; every absolute path must be backed by a volume.
const PATH_FLAG = /(-file|file|-certificate|-key|-authority|kubeconfig|-config|-dir|-path)$/;

test('every file flag of every container is backed by a mounted Secret/ConfigMap key that exists', () => {
  const tcp = sampleTenant((t) => (t.spec.etcd.replicas = 3));
  const { tenant, options, deployment } = render(tcp);
  const etcd = renderEtcdStatefulSet(tenant, options);
  const names = secretNames('demo');
  const keysBySecret = new Map<string, readonly string[]>(
    Object.entries(names).map(([id, name]) => [name, SECRET_KEYS[id as keyof typeof SECRET_KEYS]]),
  );
  const configMapKeys = Object.keys(apiServerConfigData(tenant));
  const pods: [IPodSpec, string[]][] = [
    [deployment.spec!.template.spec!, []],
    [etcd.spec!.template.spec!, (etcd.spec!.volumeClaimTemplates ?? []).map((t) => t.metadata!.name!)],
  ];
  const checked = new Set<string>();
  for (const [pod, claims] of pods) {
    for (const c of pod.containers) {
      for (const [flag, value] of argsToFlags(c.args ?? [])) {
        if (PATH_FLAG.test(flag) && value !== 'true' && value !== 'false') assert.ok(value.startsWith('/'), `${c.name} --${flag}=${value} must be an absolute path`);
        if (!value.startsWith('/')) continue;
        const backing = resolveMountedFile(pod, c.name, value, claims);
        if (backing.kind === 'missing') assert.fail(`${c.name} --${flag}: ${backing.reason}`);
        if (backing.kind === 'secret') {
          assert.ok(keysBySecret.get(backing.name)?.includes(backing.key), `${c.name} --${flag}: ${backing.name} has no key ${backing.key}`);
        } else if (backing.kind === 'configMap') {
          assert.ok(configMapKeys.includes(backing.key), `${c.name} --${flag}: ConfigMap has no key ${backing.key}`);
        } else {
          assert.equal(backing.readOnly, false, `${c.name} --${flag}: ${value} must be writable`);
        }
        checked.add(`${c.name} ${flag}`);
      }
    }
  }
  // The walk above must have covered the files that matter (guards against a silently empty walk).
  for (const expected of [
    'kube-apiserver tls-private-key-file',
    'kube-apiserver etcd-keyfile',
    'kube-apiserver etcd-cafile',
    'kube-apiserver kubelet-client-key',
    'kube-apiserver service-account-signing-key-file',
    'kube-apiserver requestheader-client-ca-file',
    'kube-apiserver authentication-config',
    'kube-apiserver audit-policy-file',
    'kube-apiserver audit-log-path',
    'kube-controller-manager cluster-signing-key-file',
    'kube-controller-manager kubeconfig',
    'kube-scheduler kubeconfig',
    'kube-apiserver egress-selector-config-file',
    'konnectivity-server kubeconfig',
    'konnectivity-server cluster-cert',
    'konnectivity-server cluster-key',
    'konnectivity-server uds-name',
    'etcd data-dir',
    'etcd peer-key-file',
    'etcd trusted-ca-file',
  ]) {
    assert.ok(checked.has(expected), `${expected} was not checked`);
  }
});

test('least privilege: only the controller-manager sees the CA key, the scheduler only its kubeconfig', () => {
  const pod = podOf();
  const secretsSeenBy = (container: string) => {
    const mountNames = containerOf(pod, container).volumeMounts!.map((m) => m.name);
    const out = new Set<string>();
    for (const v of pod.volumes ?? []) {
      if (!mountNames.includes(v.name)) continue;
      for (const s of v.projected?.sources ?? []) if (s.secret) for (const i of s.secret.items ?? []) out.add(`${s.secret.name}/${i.key}`);
    }
    return out;
  };
  assert.equal(secretsSeenBy('kube-apiserver').has('demo-ca/ca.key'), false);
  assert.equal(secretsSeenBy('kube-controller-manager').has('demo-ca/ca.key'), true);
  assert.deepEqual([...secretsSeenBy('kube-scheduler')], ['demo-scheduler-kubeconfig/scheduler.conf']);
});

test('a changed Secret checksum or apiserver config changes the pod template annotation', () => {
  const base = render().deployment.spec!.template.metadata!.annotations![ANNOTATIONS.configChecksum];
  assert.match(base!, /^[0-9a-f]{64}$/);
  const rotated = { ...sampleChecksums('demo'), 'demo-apiserver-certs': 'rotated' };
  const afterRotation = render(sampleTenant(), rotated).deployment.spec!.template.metadata!.annotations![ANNOTATIONS.configChecksum];
  assert.notEqual(afterRotation, base);
  // A Secret the pod does not mount does not roll it.
  const unrelated = { ...sampleChecksums('demo'), 'demo-admin-kubeconfig': 'changed' };
  assert.equal(render(sampleTenant(), unrelated).deployment.spec!.template.metadata!.annotations![ANNOTATIONS.configChecksum], base);
  // An older version renders no authentication config file: the ConfigMap digest changes.
  const older = render(sampleTenant((t) => (t.spec.version = 'v1.31.4' as never)), undefined, { etcdVersion: '3.5.21-0' }).deployment.spec!.template.metadata!.annotations![ANNOTATIONS.configChecksum];
  assert.notEqual(older, base);
});

test('a mounted Secret without a checksum is an error naming it', () => {
  const checksums = sampleChecksums('demo');
  delete checksums['demo-sa'];
  assert.throws(() => render(sampleTenant(), checksums), /no checksum for demo-sa/);
});

test('rolling update never drops below the requested replicas', () => {
  for (const replicas of [1, 3]) {
    const d = render(sampleTenant((t) => (t.spec.controlPlane.replicas = replicas))).deployment;
    assert.equal(d.spec!.replicas, replicas);
    assert.deepEqual(d.spec!.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  }
});

test('resources come from the spec; probes hit the health endpoints over HTTPS', () => {
  const tcp = sampleTenant((t) => {
    t.spec.controlPlane.resources.apiServer = { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } };
  });
  const pod = podOf(tcp);
  assert.deepEqual(containerOf(pod, 'kube-apiserver').resources, { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } });
  assert.deepEqual(containerOf(pod, 'kube-scheduler').resources, { requests: { cpu: '50m', memory: '64Mi' } });
  const probe = (name: string, kind: 'livenessProbe' | 'readinessProbe') => {
    const c = containerOf(pod, name);
    const get = c[kind]?.httpGet;
    const port = c.ports!.find((p) => p.name === get?.port)?.containerPort;
    return [get?.path, port, get?.scheme];
  };
  assert.deepEqual(probe('kube-apiserver', 'livenessProbe'), ['/livez', 6443, 'HTTPS']);
  assert.deepEqual(probe('kube-apiserver', 'readinessProbe'), ['/readyz', 6443, 'HTTPS']);
  assert.deepEqual(probe('kube-controller-manager', 'livenessProbe'), ['/healthz', 10257, 'HTTPS']);
  assert.deepEqual(probe('kube-scheduler', 'livenessProbe'), ['/healthz', 10259, 'HTTPS']);
  // The probe ports are the ones the components are told to serve on.
  assert.equal(flagsOf(pod, 'kube-controller-manager').get('secure-port'), '10257');
  assert.equal(flagsOf(pod, 'kube-scheduler').get('secure-port'), '10259');
});

test('pods run hardened: non-root, read-only root, RuntimeDefault seccomp, no capabilities, no SA token', () => {
  const pod = podOf();
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.notEqual(pod.securityContext?.runAsUser, 0);
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
  assert.equal(pod.automountServiceAccountToken, false);
  for (const c of pod.containers) {
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true, c.name);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false, c.name);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], c.name);
    assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${c.name} has requests`);
  }
});

test('extraArgs are merged on top of the defaults; protected flags are ignored with a warning', () => {
  const tcp = sampleTenant((t) => {
    t.spec.controlPlane.extraArgs = {
      apiServer: {
        'kubelet-preferred-address-types': 'InternalIP',
        'feature-gates': 'SomeGate=true',
        'authorization-mode': 'AlwaysAllow',
        '--anonymous-auth': 'true',
        'etcd-servers': 'http://evil:2379',
        'enable-admission-plugins': 'AlwaysPullImages',
        'disable-admission-plugins': 'NodeRestriction,ServiceAccount',
      },
      controllerManager: { 'node-monitor-grace-period': '20s', controllers: '*' },
      scheduler: { 'leader-elect': 'false', v: '4' },
    };
  });
  const { deployment, warnings } = render(tcp);
  const pod = deployment.spec!.template.spec!;
  const api = flagsOf(pod, 'kube-apiserver');
  assert.equal(api.get('kubelet-preferred-address-types'), 'InternalIP');
  assert.equal(api.get('feature-gates'), 'SomeGate=true');
  assert.equal(api.get('authorization-mode'), 'Node,RBAC');
  assert.equal(api.has('anonymous-auth'), false);
  assert.ok(!api.get('etcd-servers')!.includes('evil'));
  assert.equal(api.get('enable-admission-plugins'), 'NodeRestriction');
  assert.equal(api.has('disable-admission-plugins'), false);
  const kcm = flagsOf(pod, 'kube-controller-manager');
  assert.equal(kcm.get('node-monitor-grace-period'), '20s');
  assert.equal(kcm.get('controllers'), '*,bootstrapsigner,tokencleaner');
  const sched = flagsOf(pod, 'kube-scheduler');
  assert.equal(sched.get('leader-elect'), 'true');
  assert.equal(sched.get('v'), '4');
  assert.deepEqual(
    warnings.map((w) => `${w.component}:${w.flag}`).sort(),
    [
      'apiServer:anonymous-auth',
      'apiServer:authorization-mode',
      'apiServer:disable-admission-plugins',
      'apiServer:enable-admission-plugins',
      'apiServer:etcd-servers',
      'controllerManager:controllers',
      'scheduler:leader-elect',
    ],
  );
});

test('Kubernetes older than 1.32 gets no authentication config (anonymous limited by RBAC only)', () => {
  const pod = podOf(sampleTenant((t) => (t.spec.version = 'v1.31.4' as never)), { etcdVersion: '3.5.21-0' });
  const api = flagsOf(pod, 'kube-apiserver');
  assert.equal(api.has('authentication-config'), false);
  assert.equal(api.has('anonymous-auth'), false);
});
