// konnectivity end to end on a throwaway control plane (not the host test bed, which the NAT'd worker tests
// use): etcd and the real kube-apiserver with the egress selector the operator renders, the rendered
// konnectivity-server beside it (same socket, its kubeconfig from operator/pki), the tenant bootstrap applied
// for real (agent ServiceAccount, the auth-delegator binding, the agent DaemonSet), and the rendered
// proxy-agent run as a process with a real token of kube-system/konnectivity-agent for the server's
// audience. A "kubelet" (an HTTPS server on this machine's address) is reached through the node proxy:
// - without an agent the apiserver answers "No agent available": its traffic to nodes goes to konnectivity;
// - with the agent the request arrives through the tunnel (the server reviewed the agent's token);
// - after the server restarts (a control-plane pod restart) the agent reconnects: measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { testbedConfig } from '../testbed/config.ts';
import { run } from '../testbed/exec.ts';
import { KubeClient, planPki, resolveTenant, type PkiPlan, type TenantPkiInput } from '../../core/index.ts';
import { sampleTenant } from '../../core/testing/sample-tenant.ts';
import { apiServerConfigData } from '../../operator/render/apiserver-config.ts';
import { renderControlPlaneDeployment, resolveOptions } from '../../operator/render/index.ts';
import { sampleChecksums } from '../../operator/render/testing.ts';
import { bootstrapStatus, bootstrapTenant, renderTenantBootstrap } from '../../operator/tenant/index.ts';
import { freePort, loopbackApiserverArgs, mountSecrets, startDaemon, stopDaemons, tail, type Daemon } from '../support/processes.ts';

const bin = (name: string) => join(testbedConfig.bin.kubernetes, name);
const etcdBin = join(testbedConfig.bin.etcd, 'etcd');
const konnectivity = (name: string) => join(testbedConfig.bin.konnectivity, name);

/** An address of this machine the apiserver's node proxy accepts (not loopback or link-local). */
function machineAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address;
  }
  throw new Error('no non-loopback IPv4 address on this machine');
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number, logs: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${logs()}`);
    await sleep(100);
  }
}

test('konnectivity: the rendered apiserver egress, server and agent carry node traffic, and recover from a server restart', { timeout: 180_000 }, async (t) => {
  for (const binary of [bin('kube-apiserver'), bin('kubectl'), etcdBin, konnectivity('proxy-server'), konnectivity('proxy-agent')]) {
    assert.ok(existsSync(binary), `${binary} is missing: run npm run testbed -- build`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kubeception-konnectivity-e2e-'));
  const daemons: Daemon[] = [];
  const clients: KubeClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await stopDaemons(daemons);
    rmSync(dir, { recursive: true, force: true });
  });
  const [apiPort, etcdClient, etcdPeer, agentPort, adminPort, healthPort, agentAdmin, agentHealth, kubeletPort] = await Promise.all([
    freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(),
  ]);
  const endpoint = `https://127.0.0.1:${apiPort}`;
  const tcp = sampleTenant((x) => (x.metadata!.name = 'konn'));
  const tenant = resolveTenant(tcp);
  const pkiInput: TenantPkiInput = { name: 'konn', namespace: 'e2e', endpoint, networkProfile: tcp.spec.networkProfile };
  const pki = (await planPki([], pkiInput)) as Extract<PkiPlan, { status: 'ok' }>;
  assert.equal(pki.status, 'ok');
  const file = mountSecrets(join(dir, 'secrets'), pki.secrets);
  const certs = (key: string) => file('konn-apiserver-certs', key);

  // The pod's paths, moved into dir: /etc/kubernetes (the server's projected volume), the socket's emptyDir.
  const etc = join(dir, 'etc');
  mkdirSync(join(etc, 'pki'), { recursive: true });
  mkdirSync(join(etc, 'config'));
  mkdirSync(join(dir, 'run'));
  const relocate = (s: string) => s.replaceAll('/run/konnectivity-server', join(dir, 'run')).replaceAll('/etc/kubernetes', etc);
  for (const [key, value] of Object.entries(apiServerConfigData(tenant))) writeFileSync(join(etc, 'config', key), relocate(value));
  writeFileSync(join(etc, 'pki', 'apiserver.crt'), pki.material.certs.apiserver.certPem);
  writeFileSync(join(etc, 'pki', 'apiserver.key'), pki.material.certs.apiserver.keyPem);
  const kubeconfigText = Buffer.from(pki.secrets.find((s) => s.metadata.name === 'konn-konnectivity-server-kubeconfig')!.data['konnectivity-server.conf']!, 'base64').toString();
  writeFileSync(join(etc, 'konnectivity-server.conf'), kubeconfigText.replace('https://127.0.0.1:6443', endpoint)); // same pod: 6443 there

  const pod = renderControlPlaneDeployment(tenant, resolveOptions({ secretChecksums: sampleChecksums('konn') }, tenant.version.tag)).deployment.spec!.template.spec!;
  const apiArgs = pod.containers.find((c) => c.name === 'kube-apiserver')!.args!;
  const renderedFlag = (name: string) => relocate(apiArgs.find((a) => a.startsWith(`--${name}=`))!);
  const serverArgs = pod.containers.find((c) => c.name === 'konnectivity-server')!.args!.map((a) => relocate(a)
    .replace(/^--agent-port=8132$/, `--agent-port=${agentPort}`)
    .replace(/^--admin-port=8133$/, `--admin-port=${adminPort}`)
    .replace(/^--health-port=8134$/, `--health-port=${healthPort}`));

  daemons.push(startDaemon('etcd', etcdBin, [
    '--name=m0', `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=https://127.0.0.1:${etcdClient}`, `--advertise-client-urls=https://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=https://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=https://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=m0=https://127.0.0.1:${etcdPeer}`,
    `--cert-file=${file('konn-etcd-certs', 'server.crt')}`, `--key-file=${file('konn-etcd-certs', 'server.key')}`,
    `--trusted-ca-file=${file('konn-etcd-certs', 'ca.crt')}`, '--client-cert-auth',
    `--peer-cert-file=${file('konn-etcd-certs', 'peer.crt')}`, `--peer-key-file=${file('konn-etcd-certs', 'peer.key')}`,
    `--peer-trusted-ca-file=${file('konn-etcd-certs', 'ca.crt')}`, '--peer-client-cert-auth',
  ], dir));
  daemons.push(startDaemon('kube-apiserver', bin('kube-apiserver'), [
    ...loopbackApiserverArgs({ etcdServers: [`https://127.0.0.1:${etcdClient}`], port: apiPort, dir, certs }),
    `--service-account-key-file=${file('konn-sa', 'sa.pub')}`,
    `--service-account-signing-key-file=${file('konn-sa', 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-cluster-ip-range=${tcp.spec.networkProfile.serviceCIDR}`,
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    '--kubelet-preferred-address-types=InternalIP',
    renderedFlag('authentication-config'),
    renderedFlag('egress-selector-config-file'),
  ], dir));
  let server = startDaemon('konnectivity-server', konnectivity('proxy-server'), serverArgs, dir);
  daemons.push(server);

  const superAdmin = file('konn-super-admin-kubeconfig', 'super-admin.conf');
  const kubectl = (args: string[]) => run(bin('kubectl'), [`--kubeconfig=${superAdmin}`, ...args]);
  const logs = () => daemons.map((d) => `--- ${d.name}\n${tail(d.logPath, 15)}`).join('\n');
  await until('kube-apiserver /readyz', async () => ((await kubectl(['get', '--raw=/readyz'])).stdout.trim() === 'ok' ? true : undefined), 120_000, logs);

  // The tenant bootstrap as the operator writes it, the agents told to dial this server.
  const kc = new KubeConfig();
  kc.loadFromFile(superAdmin);
  const client = new KubeClient(kc);
  clients.push(client);
  const plan = renderTenantBootstrap({
    clusterName: 'konn', spec: tcp.spec, caCertPem: pki.material.cas.ca.certPem, endpoint,
    konnectivityServer: { host: '127.0.0.1', port: agentPort },
  });
  await until('the tenant bootstrap (system namespaces exist)', async () => { await bootstrapTenant(client, plan); return true; }, 30_000, logs);
  const report = (await bootstrapStatus(client, plan)).find((r) => r.part === 'konnectivity');
  assert.equal(report?.written, true, JSON.stringify(report));

  // A "kubelet" on this machine's address (the node proxy refuses loopback), and its Node.
  const address = machineAddress();
  writeFileSync(join(dir, 'kubelet.crt'), pki.material.certs.apiserver.certPem);
  writeFileSync(join(dir, 'kubelet.key'), pki.material.certs.apiserver.keyPem);
  writeFileSync(join(dir, 'kubelet.mjs'), [
    "import { createServer } from 'node:https'; import { readFileSync } from 'node:fs';",
    `createServer({ cert: readFileSync(${JSON.stringify(join(dir, 'kubelet.crt'))}), key: readFileSync(${JSON.stringify(join(dir, 'kubelet.key'))}) },`,
    `  (req, res) => res.end('node says ' + req.url)).listen(${kubeletPort}, ${JSON.stringify(address)});`,
  ].join('\n'));
  daemons.push(startDaemon('kubelet', process.execPath, [join(dir, 'kubelet.mjs')], dir));
  writeFileSync(join(dir, 'node.json'), JSON.stringify({
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' },
    status: { addresses: [{ type: 'InternalIP', address }], daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } } },
  }));
  await kubectl(['create', '-f', join(dir, 'node.json')]);
  const nodeGet = (path: string) => kubectl(['get', '--raw', `/api/v1/nodes/n1/proxy/${path}`]).then((r) => r.stdout, (e: Error) => `failed: ${e.message}`);

  const before = await nodeGet('no-agent');
  assert.match(before, /No agent available/, 'node traffic goes to konnectivity, not straight to the node');

  // The agent as the DaemonSet runs it, with a real token for the server's audience and the tenant CA.
  const token = (await kubectl(['create', 'token', 'konnectivity-agent', '-n', 'kube-system', '--audience=system:konnectivity-server'])).stdout.trim();
  mkdirSync(join(dir, 'agent'));
  writeFileSync(join(dir, 'agent', 'token'), token);
  writeFileSync(join(dir, 'agent', 'ca.crt'), pki.material.cas.ca.certPem);
  const daemonSet = plan.objects.find((o) => o.part === 'konnectivity' && o.object.kind === 'DaemonSet')!.object as unknown as {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  const agentArgs = daemonSet.spec.template.spec.containers[0]!.args.map((a) => a
    .replace('/var/run/secrets/konnectivity-agent', join(dir, 'agent'))
    .replace(/^--admin-server-port=8133$/, `--admin-server-port=${agentAdmin}`)
    .replace(/^--health-server-port=8134$/, `--health-server-port=${agentHealth}`)
    .replace('$(HOST_IP)', address));
  daemons.push(startDaemon('konnectivity-agent', konnectivity('proxy-agent'), agentArgs, dir));
  const agentReady = async () => ((await fetch(`http://127.0.0.1:${agentHealth}/readyz`)).status === 200 ? true : undefined);
  await until('the agent to hold a tunnel (its token reviewed by the server)', agentReady, 30_000, logs);
  assert.equal(await nodeGet('through-konnectivity'), 'node says /through-konnectivity');

  // A control-plane pod restart, as far as konnectivity sees it: the server goes, a new one comes.
  await stopDaemons([server]);
  const restarted = Date.now();
  server = startDaemon('konnectivity-server-2', konnectivity('proxy-server'), serverArgs, dir);
  daemons.push(server);
  await until('node traffic through a new server', async () => ((await nodeGet('after-restart')) === 'node says /after-restart' ? true : undefined), 60_000, logs);
  t.diagnostic(`node proxy through konnectivity again ${Date.now() - restarted} ms after the server restarted`);
});
