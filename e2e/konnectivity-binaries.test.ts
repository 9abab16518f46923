// The real proxy-server and proxy-agent (the test bed's build, ~/.cache/kubeception/konnectivity) run with
// exactly the arguments the operator renders: every flag parses, the server opens the apiserver's socket
// and its health port, the agent dials the server and is refused until its token is reviewed (no
// apiserver here). Paths and ports are moved into a temporary folder and free ports; nothing else changes.
// Skipped when the binaries are not built (`bash e2e/build/build-kubernetes.sh konnectivity`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testbedConfig as c } from './testbed/config.ts';
import { freePort } from './support/processes.ts';
import { generateTenantPki, renderPkiSecrets, resolveTenant } from '../core/index.ts';
import { sampleTenant } from '../core/testing/sample-tenant.ts';
import { renderControlPlaneDeployment, resolveOptions } from '../operator/render/index.ts';
import { renderTenantBootstrap } from '../operator/tenant/index.ts';
import { sampleChecksums } from '../operator/render/testing.ts';
import { testCa } from '../operator/tenant/testing.ts';

const server = join(c.bin.konnectivity, 'proxy-server');
const agent = join(c.bin.konnectivity, 'proxy-agent');
const built = existsSync(server) && existsSync(agent);

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function status(url: string): Promise<{ code: number; body: string }> {
  const res = await fetch(url);
  return { code: res.status, body: await res.text() };
}

test('the real konnectivity binaries run with the rendered arguments (skipped without the build)', { skip: !built && 'konnectivity binaries not built', timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'konnectivity-'));
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const [agentPort, adminPort, healthPort, agentAdmin, agentHealth] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);

  // The server's files as its projected volume lays them out.
  const tenant = resolveTenant(sampleTenant());
  const pkiInput = { name: 'demo', namespace: 'tenant-demo', endpoint: 'https://127.0.0.1:6443', networkProfile: tenant.spec.networkProfile };
  const secrets = renderPkiSecrets(pkiInput, await generateTenantPki(pkiInput));
  const text = (name: string, key: string) => Buffer.from(secrets.find((x) => x.metadata.name === name)!.data[key]!, 'base64').toString('utf8');
  mkdirSync(join(dir, 'etc', 'pki'), { recursive: true });
  mkdirSync(join(dir, 'run'));
  writeFileSync(join(dir, 'etc', 'pki', 'apiserver.crt'), text('demo-apiserver-certs', 'apiserver.crt'));
  writeFileSync(join(dir, 'etc', 'pki', 'apiserver.key'), text('demo-apiserver-certs', 'apiserver.key'));
  writeFileSync(join(dir, 'etc', 'konnectivity-server.conf'), text('demo-konnectivity-server-kubeconfig', 'konnectivity-server.conf'));

  const pod = renderControlPlaneDeployment(tenant, resolveOptions({ secretChecksums: sampleChecksums('demo') }, tenant.version.tag)).deployment.spec!.template.spec!;
  const relocate = (arg: string) => arg
    .replace('/etc/kubernetes', join(dir, 'etc'))
    .replace('/run/konnectivity-server', join(dir, 'run'))
    .replace(/^--agent-port=8132$/, `--agent-port=${agentPort}`)
    .replace(/^--admin-port=8133$/, `--admin-port=${adminPort}`)
    .replace(/^--health-port=8134$/, `--health-port=${healthPort}`);
  const serverArgs = pod.containers.find((x) => x.name === 'konnectivity-server')!.args!.map(relocate);
  const serverLog: string[] = [];
  const s = spawn(server, serverArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(s);
  s.stderr.on('data', (d: Buffer) => serverLog.push(d.toString()));
  s.on('exit', (code) => serverLog.push(`exited ${code}`));

  const live = await until('the server\'s /healthz', async () => ((await status(`http://127.0.0.1:${healthPort}/healthz`)).code === 200 ? true : undefined)).catch((e: Error) => {
    throw new Error(`${e.message}\n${serverLog.join('').slice(-3000)}`);
  });
  assert.equal(live, true);
  assert.ok(existsSync(join(dir, 'run', 'konnectivity-server.socket')), 'the socket the egress selector names');
  const notReady = await status(`http://127.0.0.1:${healthPort}/readyz`);
  assert.deepEqual([notReady.code, notReady.body], [500, 'no connection to any proxy agent'], 'why the container has no readiness probe');

  // The agent as the DaemonSet runs it, pointed at this server.
  const plan = renderTenantBootstrap({
    clusterName: 'demo', spec: tenant.spec, caCertPem: (await testCa()).certPem, endpoint: 'https://127.0.0.1:6443',
    konnectivityServer: { host: '127.0.0.1', port: agentPort },
  });
  const daemonSet = plan.objects.find((o) => o.object.kind === 'DaemonSet' && o.part === 'konnectivity')!.object as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  mkdirSync(join(dir, 'agent'));
  writeFileSync(join(dir, 'agent', 'ca.crt'), text('demo-ca', 'ca.crt'));
  writeFileSync(join(dir, 'agent', 'token'), 'not-a-reviewed-token');
  const agentArgs = daemonSet.spec.template.spec.containers[0]!.args.map((arg) => arg
    .replace('/var/run/secrets/konnectivity-agent', join(dir, 'agent'))
    .replace(/^--admin-server-port=8133$/, `--admin-server-port=${agentAdmin}`)
    .replace(/^--health-server-port=8134$/, `--health-server-port=${agentHealth}`)
    .replace('$(HOST_IP)', '127.0.0.1'));
  const agentLog: string[] = [];
  const a = spawn(agent, agentArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(a);
  a.stderr.on('data', (d: Buffer) => agentLog.push(d.toString()));
  await until('the agent\'s /healthz', async () => ((await status(`http://127.0.0.1:${agentHealth}/healthz`)).code === 200 ? true : undefined)).catch((e: Error) => {
    throw new Error(`${e.message}\n${agentLog.join('').slice(-3000)}`);
  });
  // It reached the server over TLS (the server's certificate verified against the tenant CA for
  // 127.0.0.1) and was turned away at the token review: no apiserver answers the server's kubeconfig.
  await until('the server to refuse the agent\'s token', async () => {
    const log = serverLog.join('');
    return log.includes('Connect request from agent') && log.includes('Failed to validate authentication token') ? true : undefined;
  });
  assert.match(serverLog.join(''), /tokenreviews/, 'the server asks its kubeconfig\'s apiserver (https://127.0.0.1:6443) to review the token');
  assert.doesNotMatch(agentLog.join(''), /certificate signed by unknown authority|x509/i, 'the agent trusts the server certificate');
  assert.notEqual((await status(`http://127.0.0.1:${agentHealth}/readyz`)).code, 200, 'an agent without a tunnel is not ready');
});
