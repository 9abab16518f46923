// The tenant bootstrap (operator/tenant) against a real tenant control plane: etcd, kube-apiserver and
// kube-controller-manager (bootstrapsigner, tokencleaner, csrsigning) on loopback, run from the PKI that
// operator/pki plans and the authentication config operator/render writes. The objects are cluster-scoped,
// so they need a cluster of their own, not a namespace of the host test bed. Checked here:
// - the RBAC does what kubeadm's does (can-i as a bootstrap token, anonymous cluster-info only) and the
//   admin kubeconfig works only after it;
// - a second bootstrap changes nothing (every resourceVersion stays), an edited Corefile survives, and
//   turning kube-proxy off removes its objects and on brings them back;
// - a minted token gets cluster-info signed, and the real `kubeadm join phase preflight` discovers the
//   cluster with it, pins the CA and reads kubeadm-config, kubelet-config and kube-proxy with its identity;
// - a kubelet-serving CSR from a node is approved and signed; one naming a foreign address is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { testbedConfig } from '../testbed/config.ts';
import { run } from '../testbed/exec.ts';
import { eventually } from '../support/testbed.ts';
import { KubeClient, buildUserKubeconfig, discoveryTokenCaCertHash, formatToken, getOrUndefined, issueUserCertificate, mintJoinToken, planPki, type PkiPlan, type TenantPkiInput } from '../../core/index.ts';
import { authenticationConfiguration } from '../../operator/render/apiserver-config.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';
import {
  approveKubeletServingCsrs,
  bootstrapStatus,
  bootstrapTenant,
  renderTenantBootstrap,
  summarizeBootstrap,
  type TenantBootstrapInput,
  type TenantBootstrapPlan,
} from '../../operator/tenant/index.ts';
import { describeRef, refOfObject } from '../../operator/tenant/objects.ts';
import { testCa } from '../../operator/tenant/testing.ts';
import { freePort, loopbackApiserverArgs, mountSecrets, startDaemon, stopDaemons, tail, type Daemon } from '../support/processes.ts';

const bin = (name: string) => join(testbedConfig.bin.kubernetes, name);
const etcdBin = join(testbedConfig.bin.etcd, 'etcd');

/** GET without credentials, trusting only the tenant CA: what token discovery does first. */
function anonymousGet(url: string, caPem: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: caPem, method: 'GET', timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Stored {
  metadata?: { resourceVersion?: string; uid?: string };
  data?: Record<string, string>;
}

async function resourceVersions(client: KubeClient, plan: TenantBootstrapPlan): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const entry of plan.objects) {
    const found = await getOrUndefined<Stored & { apiVersion?: string; kind?: string }>(client, refOfObject(entry.object));
    out[describeRef(refOfObject(entry.object))] = found?.metadata?.resourceVersion;
  }
  return out;
}

test('tenant bootstrap on a real control plane: kubeadm RBAC, idempotency, Corefile edits, add-on toggles, kubeadm join discovery, serving CSRs', { timeout: 300_000 }, async (t) => {
  for (const binary of [bin('kube-apiserver'), bin('kube-controller-manager'), bin('kubectl'), bin('kubeadm'), etcdBin]) {
    assert.ok(existsSync(binary), `${binary} is missing: run npm run build:kubernetes`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kubeception-tenant-bootstrap-e2e-'));
  const daemons: Daemon[] = [];
  const clients: KubeClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await stopDaemons(daemons);
    if (!process.env.KUBECEPTION_KEEP_TEST_NAMESPACES) rmSync(dir, { recursive: true, force: true });
  });

  // --- a tenant control plane on loopback, from operator/pki's Secrets -------------------------------
  const [apiPort, etcdClient, etcdPeer, kcmPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const endpoint = `https://127.0.0.1:${apiPort}`;
  const tcp = sampleTenant((x) => (x.metadata!.name = 'boot'));
  const pkiInput: TenantPkiInput = { name: 'boot', namespace: 'e2e', endpoint, networkProfile: tcp.spec.networkProfile };
  const pki = await planPki([], pkiInput);
  assert.equal(pki.status, 'ok');
  const plan0 = pki as Extract<PkiPlan, { status: 'ok' }>;
  const file = mountSecrets(join(dir, 'secrets'), plan0.secrets);
  const certs = (key: string) => file('boot-apiserver-certs', key);
  const caPem = plan0.material.cas.ca.certPem;

  daemons.push(
    startDaemon('etcd', etcdBin, [
      '--name=m0',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=https://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=https://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=https://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=https://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=m0=https://127.0.0.1:${etcdPeer}`,
      `--cert-file=${file('boot-etcd-certs', 'server.crt')}`,
      `--key-file=${file('boot-etcd-certs', 'server.key')}`,
      `--trusted-ca-file=${file('boot-etcd-certs', 'ca.crt')}`,
      '--client-cert-auth',
      `--peer-cert-file=${file('boot-etcd-certs', 'peer.crt')}`,
      `--peer-key-file=${file('boot-etcd-certs', 'peer.key')}`,
      `--peer-trusted-ca-file=${file('boot-etcd-certs', 'ca.crt')}`,
      '--peer-client-cert-auth',
    ], dir),
  );

  // Anonymous access exactly as the rendered tenant apiserver allows it (health + cluster-info).
  const [, minor, patch] = tcp.spec.version.slice(1).split('.').map(Number);
  const authnConfig = authenticationConfiguration({ major: 1, minor: minor!, patch: patch!, tag: tcp.spec.version });
  assert.ok(authnConfig, 'the tenant version has an AuthenticationConfiguration');
  writeFileSync(join(dir, 'authentication.yaml'), JSON.stringify(authnConfig));
  daemons.push(
    startDaemon('kube-apiserver', bin('kube-apiserver'), [
      ...loopbackApiserverArgs({ etcdServers: [`https://127.0.0.1:${etcdClient}`], port: apiPort, dir, certs }),
      `--service-account-key-file=${file('boot-sa', 'sa.pub')}`,
      `--service-account-signing-key-file=${file('boot-sa', 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-cluster-ip-range=${tcp.spec.networkProfile.serviceCIDR}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--enable-bootstrap-token-auth',
      // As the rendered tenant apiserver (and kubeadm): kube-proxy runs privileged.
      '--allow-privileged=true',
      `--authentication-config=${join(dir, 'authentication.yaml')}`,
    ], dir),
  );

  const superAdminConf = file('boot-super-admin-kubeconfig', 'super-admin.conf');
  const adminConf = file('boot-admin-kubeconfig', 'admin.conf');
  const kubectl = (kubeconfig: string, args: string[]) => run(bin('kubectl'), [`--kubeconfig=${kubeconfig}`, ...args]);
  const deadline = Date.now() + 150_000;
  for (;;) {
    for (const d of daemons) assert.equal(d.child.exitCode, null, `${d.name} exited:\n${tail(d.logPath)}`);
    if (await kubectl(superAdminConf, ['get', '--raw=/readyz']).then((r) => r.stdout.trim() === 'ok', () => false)) break;
    assert.ok(Date.now() < deadline, `kube-apiserver not ready:\n${tail(join(dir, 'kube-apiserver.log'))}`);
    await sleep(1000);
  }
  // Started once the apiserver serves (in a pod, kubelet would restart it until the RBAC defaults exist).
  // controller-manager.conf points at 127.0.0.1:6443 (same pod); here the port differs.
  const kcmConf = join(dir, 'controller-manager.conf');
  writeFileSync(kcmConf, readFileSync(file('boot-controller-manager-kubeconfig', 'controller-manager.conf'), 'utf8').replace('https://127.0.0.1:6443', endpoint));
  daemons.push(
    startDaemon('kube-controller-manager', bin('kube-controller-manager'), [
      `--kubeconfig=${kcmConf}`,
      `--authentication-kubeconfig=${kcmConf}`,
      `--authorization-kubeconfig=${kcmConf}`,
      '--controllers=bootstrapsigner,tokencleaner,csrsigning',
      // As rendered (design §4): each controller acts as its own ServiceAccount; the bootstrapsigner's is
      // the one the built-in RBAC lets update kube-public/cluster-info.
      '--use-service-account-credentials=true',
      `--cluster-signing-cert-file=${file('boot-ca', 'ca.crt')}`,
      `--cluster-signing-key-file=${file('boot-ca', 'ca.key')}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${join(dir, 'kcm-cert-dir')}`,
    ], dir),
  );

  const superAdmin = new KubeConfig();
  superAdmin.loadFromFile(superAdminConf);
  const client = new KubeClient(superAdmin);
  clients.push(client);

  // --- bootstrap ----------------------------------------------------------------------------------
  // The admin kubeconfig is not system:masters: nothing until the bootstrap binds its group.
  await assert.rejects(kubectl(adminConf, ['get', 'namespaces']), /forbidden/i);
  const input: TenantBootstrapInput = {
    clusterName: 'boot',
    spec: tcp.spec,
    caCertPem: caPem,
    endpoint,
    node: { cgroupDriver: 'cgroupfs', failCgroupV1: false },
  };
  const plan = renderTenantBootstrap(input);
  // kube-system and kube-public are made by the apiserver shortly after it is ready.
  const first = await eventually('the first bootstrap (system namespaces exist)', () => bootstrapTenant(superAdmin, plan), 30_000, 1000);
  assert.equal(first.applied.length + first.created.length, plan.objects.length);
  assert.deepEqual(first.created.map(describeRef), ['ConfigMap kube-system/coredns']);
  await kubectl(adminConf, ['get', 'namespaces']);

  // kubeadm's RBAC, asked of the real authorizer.
  // `kubectl auth can-i` answers on stdout and exits 1 for "no".
  const canI = async (args: string[], as: string[]) =>
    spawnSync(bin('kubectl'), [`--kubeconfig=${superAdminConf}`, 'auth', 'can-i', ...args, ...as], { encoding: 'utf8' }).stdout.trim();
  const token = ['--as=system:bootstrap:abcdef', '--as-group=system:bootstrappers:kubeadm:default-node-token', '--as-group=system:bootstrappers'];
  assert.equal(await canI(['create', 'certificatesigningrequests.certificates.k8s.io'], token), 'yes');
  assert.equal(await canI(['create', 'certificatesigningrequests.certificates.k8s.io', '--subresource=nodeclient'], token), 'yes');
  assert.equal(await canI(['get', 'nodes'], token), 'yes');
  assert.equal(await canI(['list', 'nodes'], token), 'no');
  assert.equal(await canI(['get', 'configmaps/kubeadm-config', '-n', 'kube-system'], token), 'yes');
  assert.equal(await canI(['get', 'configmaps/kubelet-config', '-n', 'kube-system'], token), 'yes');
  assert.equal(await canI(['get', 'configmaps/kube-proxy', '-n', 'kube-system'], token), 'yes');
  assert.equal(await canI(['get', 'configmaps/coredns', '-n', 'kube-system'], token), 'no');
  assert.equal(await canI(['get', 'secrets', '-n', 'kube-system'], token), 'no');
  const rotation = ['--as=system:node:w1', '--as-group=system:nodes'];
  assert.equal(await canI(['create', 'certificatesigningrequests.certificates.k8s.io', '--subresource=selfnodeclient'], rotation), 'yes');
  assert.equal(await canI(['get', 'nodes/w1/proxy'], ['--as=kube-apiserver-kubelet-client', '--as-group=kubeadm:cluster-admins']), 'yes');
  // Anonymous: cluster-info and nothing else.
  const info = await anonymousGet(`${endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info`, caPem);
  assert.equal(info.status, 200, info.body);
  assert.match((JSON.parse(info.body) as { data: { kubeconfig: string } }).data.kubeconfig, new RegExp(`server: ${endpoint}`));
  const denied = await anonymousGet(`${endpoint}/api/v1/namespaces/kube-system/configmaps/kubeadm-config`, caPem);
  assert.ok(denied.status === 401 || denied.status === 403, `anonymous kubeadm-config read: ${denied.status}`);

  // --- idempotency: a second bootstrap writes nothing ---------------------------------------------
  const before = await resourceVersions(client, plan);
  assert.ok(Object.values(before).every((rv) => rv !== undefined), JSON.stringify(before));
  const second = await bootstrapTenant(client, plan);
  assert.deepEqual(second.created, []);
  assert.deepEqual(second.pruned, []);
  assert.deepEqual(await resourceVersions(client, plan), before, 'a second bootstrap must not change any object');

  // --- an edited Corefile survives -----------------------------------------------------------------
  const edited = '.:53 {\n    errors\n    forward . 9.9.9.9\n    reload\n}\n';
  await kubectl(adminConf, ['-n', 'kube-system', 'patch', 'configmap', 'coredns', '--type=merge', `--patch=${JSON.stringify({ data: { Corefile: edited } })}`]);
  const editedRv = (await getOrUndefined<Stored & { kind?: string }>(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'coredns' }))!.metadata!.resourceVersion;
  const third = await bootstrapTenant(client, plan);
  assert.deepEqual(third.kept.map(describeRef), ['ConfigMap kube-system/coredns']);
  const corefile = (await getOrUndefined<Stored & { kind?: string }>(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'coredns' }))!;
  assert.equal(corefile.data?.Corefile, edited);
  assert.equal(corefile.metadata?.resourceVersion, editedRv);

  // --- add-ons off and on again --------------------------------------------------------------------
  const noProxy = renderTenantBootstrap({ ...input, spec: { ...tcp.spec, addons: { ...tcp.spec.addons, kubeProxy: { enabled: false } } } });
  const removed = await bootstrapTenant(client, noProxy);
  assert.deepEqual(removed.pruned.map(describeRef).sort(), [
    'ClusterRoleBinding kubeadm:node-proxier',
    'ConfigMap kube-system/kube-proxy',
    'DaemonSet kube-system/kube-proxy',
    'Role kube-system/kube-proxy',
    'RoleBinding kube-system/kube-proxy',
    'ServiceAccount kube-system/kube-proxy',
  ]);
  await eventually('the kube-proxy DaemonSet to be gone', async () =>
    (await getOrUndefined(client, { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-proxy' })) === undefined ? true : undefined, 30_000);
  const offConfig = parse((await getOrUndefined<Stored & { kind?: string }>(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-system', name: 'kubeadm-config' }))!.data!.ClusterConfiguration!) as { proxy: { disabled?: boolean } };
  assert.equal(offConfig.proxy.disabled, true);
  assert.equal((await bootstrapStatus(client, noProxy)).find((r) => r.part === 'kube-proxy')?.reason, 'Disabled');
  assert.ok(await getOrUndefined(client, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'kube-system', name: 'coredns' }), 'CoreDNS is untouched');
  const back = await bootstrapTenant(client, plan);
  assert.deepEqual(back.pruned, []);
  assert.ok(await getOrUndefined(client, { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-proxy' }));

  // --- a join token: cluster-info gets signed, and the real kubeadm discovers the cluster ----------
  const minted = await mintJoinToken(client, { ttlSeconds: 600, description: 'tenant-bootstrap e2e' });
  await eventually('the bootstrapsigner to sign cluster-info for the new token', async () => {
    const cm = await getOrUndefined<Stored & { kind?: string }>(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kube-public', name: 'cluster-info' });
    return cm?.data?.[`jws-kubeconfig-${minted.token.id}`] ? true : undefined;
  }, 60_000, 1000);
  const reports = await bootstrapStatus(client, plan);
  const byPart = Object.fromEntries(reports.map((r) => [r.part, `${r.status}/${r.reason}`]));
  assert.deepEqual(byPart, {
    rbac: 'True/Applied',
    'cluster-info': 'True/Published',
    'kubeadm-config': 'True/Applied',
    'kubelet-config': 'True/Applied',
    // No controllers for Deployments or DaemonSets run here, and no nodes exist.
    coredns: 'False/RollingOut',
    'kube-proxy': 'False/RollingOut',
    konnectivity: 'False/RollingOut',
    cni: 'False/RollingOut',
  });
  assert.match(reports.find((r) => r.part === 'cluster-info')!.message, /signed for 1 token/);
  assert.equal(summarizeBootstrap(reports).ok, true);

  // `kubeadm join phase preflight` runs token discovery (anonymous cluster-info, JWS check, CA pin,
  // secure re-read) and then reads kubeadm-config, kubelet-config and kube-proxy as the token. The host
  // checks it also runs (ports, swap, a container runtime) are about this machine and are ignored.
  const caHash = discoveryTokenCaCertHash(caPem);
  const preflight = await run(bin('kubeadm'), [
    'join', 'phase', 'preflight', `127.0.0.1:${apiPort}`,
    `--token=${formatToken(minted.token)}`,
    `--discovery-token-ca-cert-hash=${caHash}`,
    '--node-name=e2e-worker',
    '--cri-socket=unix:///run/kubeception-e2e-no-such.sock',
    '--ignore-preflight-errors=all',
    '--v=5',
  ]).catch((error: Error) => assert.fail(`kubeadm join phase preflight failed:\n${error.message}`));
  const kubeadmLog = preflight.stdout + preflight.stderr;
  writeFileSync(join(dir, 'kubeadm-join-preflight.log'), kubeadmLog);
  assert.match(kubeadmLog, /Cluster info signature and contents are valid and TLS certificate validates against pinned roots/);
  assert.match(kubeadmLog, /Reading configuration from the "kubeadm-config" ConfigMap/);
  assert.doesNotMatch(kubeadmLog, /No kubeproxy\.config\.k8s\.io\/v1alpha1 config is loaded/, 'kube-proxy config is readable with the token');
  // kubeadm warns about every component-config value that differs from its own defaults: there are none.
  assert.doesNotMatch(kubeadmLog, /The recommended value for/);
  // A wrong CA pin is refused by the same kubeadm.
  const wrongPin = `sha256:${'0'.repeat(64)}`;
  await assert.rejects(
    run(bin('kubeadm'), ['join', 'phase', 'preflight', `127.0.0.1:${apiPort}`, `--token=${formatToken(minted.token)}`, `--discovery-token-ca-cert-hash=${wrongPin}`, '--node-name=e2e-worker', '--cri-socket=unix:///run/kubeception-e2e-no-such.sock', '--ignore-preflight-errors=all']),
    /none of the public keys|cluster CA found in cluster-info ConfigMap is invalid/,
  );

  // --- kubelet serving certificates ----------------------------------------------------------------
  const nodeCreds = await issueUserCertificate({ ca: plan0.material.cas.ca, user: 'system:node:worker-1', groups: ['system:nodes'], ttlSeconds: 600, allowSystemIdentities: true });
  const nodeConf = join(dir, 'worker-1.conf');
  writeFileSync(nodeConf, buildUserKubeconfig({ clusterName: 'boot', server: endpoint, caCertPem: caPem, user: 'system:node:worker-1', credentials: nodeCreds }));
  const nodeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'worker-1' },
    status: { addresses: [{ type: 'InternalIP', address: '10.1.2.3' }, { type: 'Hostname', address: 'worker-1' }] },
  };
  writeFileSync(join(dir, 'node.json'), JSON.stringify(nodeObject));
  await kubectl(nodeConf, ['create', '-f', join(dir, 'node.json')]);
  const csrFor = (name: string, san: string) => {
    const pem = execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-subj', '/O=system:nodes/CN=system:node:worker-1', '-addext', `subjectAltName=${san}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const body = {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: { request: Buffer.from(pem).toString('base64'), signerName: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'] },
    };
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(body));
    return kubectl(nodeConf, ['create', '-f', join(dir, `${name}.json`)]);
  };
  await csrFor('serving-good', 'DNS:worker-1,IP:10.1.2.3');
  await csrFor('serving-spoof', 'DNS:worker-1,IP:10.96.0.1');
  const approval = await approveKubeletServingCsrs(client);
  assert.deepEqual(approval.approved, ['serving-good']);
  assert.deepEqual(approval.refused.map((r) => r.name), ['serving-spoof']);
  const issued = await eventually('the kubelet serving certificate to be signed', async () => {
    const csr = await client.request<{ status?: { certificate?: string } }>('GET', '/apis/certificates.k8s.io/v1/certificatesigningrequests/serving-good');
    return csr.status?.certificate;
  }, 60_000, 1000);
  const cert = new X509Certificate(Buffer.from(issued, 'base64'));
  assert.ok(cert.verify(new X509Certificate(caPem).publicKey), 'signed by the tenant CA');
  assert.match(cert.subject, /CN=system:node:worker-1/);
  assert.match(cert.subjectAltName ?? '', /IP Address:10\.1\.2\.3/);
  const spoof = await client.request<{ status?: { conditions?: unknown[]; certificate?: string } }>('GET', '/apis/certificates.k8s.io/v1/certificatesigningrequests/serving-spoof');
  assert.equal(spoof.status?.certificate, undefined);
  assert.equal((spoof.status?.conditions ?? []).length, 0, 'left pending, not approved');
});

test('the real kubeadm strictly accepts the ClusterConfiguration, KubeletConfiguration and KubeProxyConfiguration we publish', async (t) => {
  assert.ok(existsSync(bin('kubeadm')), `${bin('kubeadm')} is missing: run npm run build:kubernetes`);
  const dir = mkdtempSync(join(tmpdir(), 'kubeception-kubeadm-validate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const variants: [string, Partial<TenantBootstrapInput>][] = [
    ['defaults', {}],
    ['test bed workers', { node: { cgroupDriver: 'cgroupfs', failCgroupV1: false, kubelet: { imageGCHighThresholdPercent: 100 } } }],
    ['IPv6 endpoint, other registry', { endpoint: 'https://[fd00::5]:6443', imageRegistry: 'registry.local:5000/k8s' }],
  ];
  for (const [name, change] of variants) {
    const tcp = sampleTenant();
    const plan = renderTenantBootstrap({ clusterName: 'demo', spec: tcp.spec, caCertPem: (await testCa()).certPem, endpoint: 'https://10.0.0.5:31443', ...change });
    const data = (configMap: string) => (plan.objects.find((o) => o.object.kind === 'ConfigMap' && o.object.metadata?.name === configMap)!.object as unknown as Stored).data!;
    const documents = [data('kubeadm-config').ClusterConfiguration, data('kubelet-config').kubelet, data('kube-proxy')['config.conf']];
    const path = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(path, documents.join('---\n'));
    const result = spawnSync(bin('kubeadm'), ['config', 'validate', '--config', path], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${name}: ${result.stderr}`);
  }
  // The check has teeth: the same documents with an unknown kubelet field are rejected.
  const good = readFileSync(join(dir, 'defaults.yaml'), 'utf8');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, good.replace('kind: KubeletConfiguration\n', 'kind: KubeletConfiguration\nnoSuchField: 1\n'));
  const rejected = spawnSync(bin('kubeadm'), ['config', 'validate', '--config', bad], { encoding: 'utf8' });
  assert.notEqual(rejected.status, 0);
  assert.match(rejected.stderr, /unknown field "noSuchField"/);
});
