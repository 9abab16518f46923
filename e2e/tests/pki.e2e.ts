// The tenant PKI against the real Go components:
// 1. a 3-member etcd cluster (peer TLS with client-cert auth) and a kube-apiserver run on nothing but
//    the files of the planned Secrets, and every kubeconfig / credential authenticates as the identity
//    it should (admin is NOT system:masters; front-proxy headers, SA tokens and per-user certs work);
// 2. the Secrets survive a round trip through the host API server byte for byte: re-planning from what
//    the server returns changes nothing, and a SAN change replaces exactly one Secret.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { testbedConfig } from '../testbed/config.ts';
import { run } from '../testbed/exec.ts';
import { testbed, testNamespace } from '../support/testbed.ts';
import { freePort, loopbackApiserverArgs, mountSecrets, startDaemon, stopDaemons, tail, type Daemon } from '../support/processes.ts';
import { KubeClient, apply, buildUserKubeconfig, issueUserCertificate, planPki, type Applicable, type PkiPlan, type TenantPkiInput } from '../../core/index.ts';

const kubectlBin = join(testbedConfig.bin.kubernetes, 'kubectl');

function ok(plan: PkiPlan): Extract<PkiPlan, { status: 'ok' }> {
  assert.equal(plan.status, 'ok', plan.status === 'alarm' ? JSON.stringify(plan.alarms) : '');
  return plan as Extract<PkiPlan, { status: 'ok' }>;
}

test('etcd and kube-apiserver run on the planned PKI, and every credential is who it should be', { timeout: 240_000 }, async (t) => {
  for (const binary of [kubectlBin, join(testbedConfig.bin.kubernetes, 'kube-apiserver'), join(testbedConfig.bin.etcd, 'etcd')]) {
    assert.ok(existsSync(binary), `${binary} is missing: run npm run build:kubernetes`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kubeception-pki-e2e-'));
  const daemons: Daemon[] = [];
  t.after(async () => {
    await stopDaemons(daemons);
    rmSync(dir, { recursive: true, force: true });
  });

  const [apiPort, ...etcdPorts] = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  const input: TenantPkiInput = {
    name: 'pkitest',
    namespace: 'e2e',
    endpoint: `https://127.0.0.1:${apiPort}`,
    networkProfile: { serviceCIDR: '10.96.0.0/12', clusterDomain: 'cluster.local' },
  };
  const plan = ok(await planPki([], input));
  const file = mountSecrets(join(dir, 'secrets'), plan.secrets);

  // etcd: three members on loopback, peer and client TLS both with client-certificate auth.
  const members = [0, 1, 2].map((i) => ({ name: `m${i}`, client: etcdPorts[2 * i]!, peer: etcdPorts[2 * i + 1]! }));
  const initialCluster = members.map((m) => `${m.name}=https://127.0.0.1:${m.peer}`).join(',');
  for (const m of members) {
    daemons.push(
      startDaemon(`etcd-${m.name}`, join(testbedConfig.bin.etcd, 'etcd'), [
        `--name=${m.name}`,
        `--data-dir=${join(dir, `etcd-${m.name}`)}`,
        `--listen-client-urls=https://127.0.0.1:${m.client}`,
        `--advertise-client-urls=https://127.0.0.1:${m.client}`,
        `--listen-peer-urls=https://127.0.0.1:${m.peer}`,
        `--initial-advertise-peer-urls=https://127.0.0.1:${m.peer}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=pkitest',
        `--cert-file=${file('pkitest-etcd-certs', 'server.crt')}`,
        `--key-file=${file('pkitest-etcd-certs', 'server.key')}`,
        `--trusted-ca-file=${file('pkitest-etcd-certs', 'ca.crt')}`,
        '--client-cert-auth',
        `--peer-cert-file=${file('pkitest-etcd-certs', 'peer.crt')}`,
        `--peer-key-file=${file('pkitest-etcd-certs', 'peer.key')}`,
        `--peer-trusted-ca-file=${file('pkitest-etcd-certs', 'ca.crt')}`,
        '--peer-client-cert-auth',
      ], dir),
    );
  }

  const certs = (key: string) => file('pkitest-apiserver-certs', key);
  daemons.push(
    startDaemon('kube-apiserver', join(testbedConfig.bin.kubernetes, 'kube-apiserver'), [
      ...loopbackApiserverArgs({ etcdServers: members.map((m) => `https://127.0.0.1:${m.client}`), port: apiPort!, dir, certs }),
      `--kubelet-certificate-authority=${certs('ca.crt')}`,
      `--requestheader-client-ca-file=${certs('front-proxy-ca.crt')}`,
      `--proxy-client-cert-file=${certs('front-proxy-client.crt')}`,
      `--proxy-client-key-file=${certs('front-proxy-client.key')}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--service-account-key-file=${file('pkitest-sa', 'sa.pub')}`,
      `--service-account-signing-key-file=${file('pkitest-sa', 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/12',
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--enable-bootstrap-token-auth',
    ], dir),
  );

  const kubeconfigFile = (id: string) => file(`pkitest-${id}-kubeconfig`, `${id}.conf`);
  const kubectl = (kubeconfig: string, args: string[], extra: string[] = []) =>
    run(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...extra, ...args]);

  // Ready when /readyz answers through the super-admin kubeconfig (TLS verified against ca.crt).
  const deadline = Date.now() + 150_000;
  for (;;) {
    for (const d of daemons) {
      assert.equal(d.child.exitCode, null, `${d.name} exited:\n${tail(d.logPath)}`);
    }
    const ready = await kubectl(kubeconfigFile('super-admin'), ['get', '--raw=/readyz']).then((r) => r.stdout.trim() === 'ok', () => false);
    if (ready) break;
    assert.ok(Date.now() < deadline, `kube-apiserver not ready:\n${tail(join(dir, 'kube-apiserver.log'))}`);
    await sleep(1000);
  }

  const whoami = async (kubeconfig: string, extra: string[] = []) => {
    const { stdout } = await kubectl(kubeconfig, ['auth', 'whoami', '-o', 'json'], extra);
    const info = (JSON.parse(stdout) as { status: { userInfo: { username: string; groups?: string[] } } }).status.userInfo;
    return { user: info.username, groups: (info.groups ?? []).filter((g) => g !== 'system:authenticated') };
  };
  assert.deepEqual(await whoami(kubeconfigFile('super-admin')), { user: 'kubernetes-super-admin', groups: ['system:masters'] });
  assert.deepEqual(await whoami(kubeconfigFile('admin')), { user: 'kubernetes-admin', groups: ['kubeception:tenant-admins'] });
  // controller-manager and scheduler kubeconfigs point at 127.0.0.1:6443 (same pod); here the port differs.
  const local = [`--server=https://127.0.0.1:${apiPort}`];
  assert.deepEqual(await whoami(kubeconfigFile('controller-manager'), local), { user: 'system:kube-controller-manager', groups: [] });
  assert.deepEqual(await whoami(kubeconfigFile('scheduler'), local), { user: 'system:kube-scheduler', groups: [] });

  // admin is not system:masters: forbidden until the tenant bootstrap binds its group.
  await assert.rejects(kubectl(kubeconfigFile('admin'), ['get', 'namespaces']), /forbidden/i);
  await kubectl(kubeconfigFile('super-admin'), ['create', 'clusterrolebinding', 'kubeception:tenant-admins', '--clusterrole=cluster-admin', '--group=kubeception:tenant-admins']);
  const namespaces = await kubectl(kubeconfigFile('admin'), ['get', 'namespaces', '-o', 'name']);
  assert.match(namespaces.stdout, /namespace\/default/);

  // A per-user certificate from the REST API path.
  const creds = await issueUserCertificate({ ca: plan.material.cas.ca, user: 'jane_doe@example.com', groups: ['team_a:dev'], ttlSeconds: 600 });
  const userConfig = join(dir, 'jane.conf');
  writeFileSync(userConfig, buildUserKubeconfig({ clusterName: 'pkitest', server: input.endpoint, caCertPem: plan.material.cas.ca.certPem, user: 'jane_doe@example.com', credentials: creds }));
  assert.deepEqual(await whoami(userConfig), { user: 'jane_doe@example.com', groups: ['team_a:dev'] });

  // Service-account tokens are signed with sa.key and verified with sa.pub.
  await kubectl(kubeconfigFile('super-admin'), ['create', 'serviceaccount', 'probe', '-n', 'default']);
  const token = (await kubectl(kubeconfigFile('super-admin'), ['create', 'token', 'probe', '-n', 'default'])).stdout.trim();
  const byToken = await run(kubectlBin, [`--server=${input.endpoint}`, `--certificate-authority=${certs('ca.crt')}`, `--token=${token}`, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
  assert.equal(byToken.stdout, 'system:serviceaccount:default:probe');

  // The front-proxy client certificate (front-proxy CA) lets a proxy assert a user via headers.
  const review = await new Promise<{ status: { userInfo: { username: string; groups: string[] } } }>((resolve, reject) => {
    const req = request(
      `${input.endpoint}/apis/authentication.k8s.io/v1/selfsubjectreviews`,
      {
        method: 'POST',
        ca: readFileSync(certs('ca.crt')),
        cert: readFileSync(certs('front-proxy-client.crt')),
        key: readFileSync(certs('front-proxy-client.key')),
        headers: { 'content-type': 'application/json', 'X-Remote-User': 'proxied-user', 'X-Remote-Group': 'proxied-group' },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => (res.statusCode === 201 ? resolve(JSON.parse(body)) : reject(new Error(`${res.statusCode}: ${body}`))));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
  });
  assert.equal(review.status.userInfo.username, 'proxied-user');
  assert.ok(review.status.userInfo.groups.includes('proxied-group'));
});

test('PKI Secrets survive the host API server byte for byte', { timeout: 120_000 }, async (t) => {
  const tb = await testbed();
  const ns = await testNamespace(tb, 'pki');
  const client = new KubeClient(tb.kubeConfig);
  t.after(async () => {
    await ns.cleanup();
    await client.close();
  });
  const input: TenantPkiInput = {
    name: 'demo',
    namespace: ns.name,
    endpoint: 'https://10.0.0.5:31443',
    networkProfile: { serviceCIDR: '10.96.0.0/12', clusterDomain: 'cluster.local' },
  };
  const list = async () =>
    (await client.request<{ items: ISecret[] }>('GET', `/api/v1/namespaces/${ns.name}/secrets`)).items;
  const applyAll = async (plan: Extract<PkiPlan, { status: 'ok' }>) => {
    for (const change of plan.changes) await apply(client, change.secret as unknown as Applicable, { fieldManager: 'kubeception-pki-e2e' });
  };

  const first = ok(await planPki(await list(), input));
  assert.equal(first.changes.length, 13);
  await applyAll(first);

  const stored = await list();
  const again = ok(await planPki(stored, input));
  assert.deepEqual(again.changes.map((c) => `${c.name}: ${c.reasons.join('; ')}`), []);
  assert.equal(again.unchanged.length, 13);

  const withSan = { ...input, networkProfile: { ...input.networkProfile, certSANs: ['api.example.com'] } };
  const sanPlan = ok(await planPki(stored, withSan));
  assert.deepEqual(sanPlan.changes.map((c) => c.name), ['demo-apiserver-certs']);
  await applyAll(sanPlan);
  const afterSan = await list();
  const settled = ok(await planPki(afterSan, withSan));
  assert.deepEqual(settled.changes, []);
  // Every other Secret kept its resourceVersion: nothing else was written.
  for (const secret of afterSan) {
    if (secret.metadata?.name === 'demo-apiserver-certs') continue;
    const before = stored.find((s) => s.metadata?.name === secret.metadata?.name);
    if (before) assert.equal(secret.metadata?.resourceVersion, before.metadata?.resourceVersion, secret.metadata?.name);
  }
  const missingCa = await planPki(afterSan.filter((s) => s.metadata?.name !== 'demo-ca'), withSan);
  assert.equal(missingCa.status, 'alarm');
});
