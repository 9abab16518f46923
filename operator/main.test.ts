// The operator as a process (operator/main.ts) against the in-memory API server: two replicas elect one
// leader, both are ready, /metrics says which leads, SIGTERM (and a second signal during the shutdown)
// ends the leader cleanly and frees the Lease for the standby; a missing watch namespace stops the start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fakeApiServerFor, type FakeApiServer } from '../core/testing/fake-api-server.ts';

const MAIN = new URL('./main.ts', import.meta.url).pathname;
const LEASES = '/apis/coordination.k8s.io/v1/leases';

interface LogLine { msg: string; identity?: string; leader?: string; metricsPort?: number; [k: string]: unknown }

interface Replica {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  exited: Promise<number | null>;
  waitFor: (match: (line: LogLine) => boolean, what: string) => Promise<LogLine>;
}

async function kubeconfigFile(t: { after: (fn: () => Promise<void>) => void }, fake: FakeApiServer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kubeception-operator-main-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'kubeconfig');
  await writeFile(file, fake.kubeConfig().exportConfig());
  return file;
}

function startReplica(t: { after: (fn: () => Promise<void>) => void }, kubeconfig: string, podName: string, extra: string[] = []): Replica {
  const child = spawn(process.execPath, [MAIN, '--kubeconfig', kubeconfig, '--metrics-port', '0', '--no-install-crds', '--lease-namespace', 'ops', ...extra], {
    env: { ...process.env, POD_NAME: podName, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      lines.push({ msg: text });
    }
    for (const wake of waiters) wake();
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const waitFor = async (match: (line: LogLine) => boolean, what: string): Promise<LogLine> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = lines.find(match);
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${podName}: no log line for ${what}; stderr: ${stderr}; log: ${lines.map((l) => l.msg).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const wake = () => { waiters.delete(wake); resolve(); };
        waiters.add(wake);
        setTimeout(wake, 200);
      });
    }
  };
  return { child, lines, stderr: () => stderr, exited, waitFor };
}

async function until<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const probe = async (port: number, path: string) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, text: await response.text() };
};

test('two replicas: one leads, the standby is ready too; SIGTERM twice ends the leader cleanly and the standby takes over', async (t) => {
  const { fake } = await fakeApiServerFor(t);
  fake.addResource('kubeception.io/v1alpha1', 'TenantControlPlane', 'tenantcontrolplanes', true, { status: true });
  const kubeconfig = await kubeconfigFile(t, fake);

  const a = startReplica(t, kubeconfig, 'op-a');
  const leadingA = await a.waitFor((l) => l.msg === 'started leading', 'a leading');
  assert.equal(leadingA.identity, 'op-a');
  const portA = (await a.waitFor((l) => l.msg === 'operator started', 'a started')).metricsPort!;
  const b = startReplica(t, kubeconfig, 'op-b');
  const standby = await b.waitFor((l) => l.msg === 'standing by: another replica leads', 'b standing by');
  assert.deepEqual([standby.identity, standby.leader], ['op-b', 'op-a']);
  const portB = (await b.waitFor((l) => l.msg === 'operator started', 'b started')).metricsPort!;

  await until(async () => ((await probe(portA, '/readyz')).status === 200 ? true : undefined), 'the leader ready (caches synced)');
  assert.equal((await probe(portB, '/readyz')).status, 200, 'a standby is ready: the Deployment becomes Available, a PDB lets drains through');
  assert.match((await probe(portA, '/metrics')).text, /^kubeception_leader 1$/m);
  assert.match((await probe(portB, '/metrics')).text, /^kubeception_leader 0$/m);

  // SIGTERM, and a second signal while the first shutdown runs (Ctrl-C twice, or the kubelet and a user).
  const terminated = performance.now();
  a.child.kill('SIGTERM');
  await sleep(20);
  a.child.kill('SIGINT');
  assert.equal(await a.exited, 0, `exit code; stderr: ${a.stderr()}`);
  assert.equal(a.stderr(), '', 'nothing on stderr: no crash, no unhandled rejection');
  assert.ok(a.lines.some((l) => l.msg === 'released the lease' && l.identity === 'op-a'), 'the leader released the Lease');

  const leadingB = await b.waitFor((l) => l.msg === 'started leading', 'b taking over');
  assert.equal(leadingB.identity, 'op-b');
  t.diagnostic(`SIGTERM to the leader -> the standby leads: ${Math.round(performance.now() - terminated)} ms (lease duration 15 s, retry period 2 s)`);
  await until(async () => (/^kubeception_leader 1$/m.test((await probe(portB, '/metrics')).text) ? true : undefined), 'b exporting leader 1');
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);
  assert.equal((fake.get(LEASES, 'ops', 'kubeception-operator') as { spec?: { holderIdentity?: string } }).spec?.holderIdentity, '', 'free for the next replica');
});

test('a watch namespace that does not exist: exit 1 at once with a message naming the setting', async (t) => {
  const { fake } = await fakeApiServerFor(t);
  fake.addResource('kubeception.io/v1alpha1', 'TenantControlPlane', 'tenantcontrolplanes', true, { status: true });
  const kubeconfig = await kubeconfigFile(t, fake);
  const replica = startReplica(t, kubeconfig, 'op-a', ['--namespace', 'tenats']);
  assert.equal(await replica.exited, 1);
  assert.match(replica.stderr(), /^operator failed to start: --namespace tenats \(WATCH_NAMESPACE\): the namespace does not exist in the host cluster/);
  assert.ok(!fake.requests.some((r) => r.path.startsWith(LEASES)), 'it never campaigned');
});

/** A port free right now (bound to 0, then released): the operator's --webhook-port 0 means "off". */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('the webhook on a standby as on the leader: certificate Secret, caBundle set, reviews answered; two signals end it cleanly', async (t) => {
  const { fake } = await fakeApiServerFor(t);
  fake.addResource('kubeception.io/v1alpha1', 'TenantControlPlane', 'tenantcontrolplanes', true, { status: true });
  const vwcs = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
  fake.put(vwcs, {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'kc-tcps' },
    webhooks: [{ name: 'address.tenantcontrolplanes.kubeception.io', clientConfig: { service: { namespace: 'ops', name: 'hook', path: '/validate-tenantcontrolplanes' } } }],
  });
  const kubeconfig = await kubeconfigFile(t, fake);
  const webhookArgs = (port: number) => ['--webhook-port', String(port), '--webhook-service', 'ops/hook', '--webhook-configuration', 'kc-tcps'];
  const a = startReplica(t, kubeconfig, 'op-a', webhookArgs(await freePort()));
  await a.waitFor((l) => l.msg === 'started leading', 'a leading');
  const portB = await freePort();
  const b = startReplica(t, kubeconfig, 'op-b', webhookArgs(portB));
  await b.waitFor((l) => l.msg === 'standing by: another replica leads', 'b standing by');
  const started = await b.waitFor((l) => l.msg === 'operator started', 'b started');
  assert.equal(started.webhookPort, portB);

  const vwc = fake.get(vwcs, undefined, 'kc-tcps') as unknown as { webhooks: { clientConfig: { caBundle?: string } }[] };
  const caPem = Buffer.from(vwc.webhooks[0]!.clientConfig.caBundle ?? '', 'base64').toString('utf8');
  assert.match(caPem, /^-----BEGIN CERTIFICATE-----/);
  assert.ok(fake.get('/api/v1/secrets', 'ops', 'hook-tls'), 'the certificate Secret ops/hook-tls');
  const { request } = await import('node:https');
  const review = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', kind: { group: 'kubeception.io', version: 'v1alpha1', kind: 'TenantControlPlane' }, operation: 'CREATE', namespace: 'x', name: 'y', object: { metadata: { name: 'y', namespace: 'x' }, spec: { networkProfile: { address: '203.0.113.1' } } } } });
  const answer = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: portB, path: '/validate-tenantcontrolplanes', method: 'POST', ca: caPem, servername: 'hook.ops.svc', agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(review);
  });
  assert.deepEqual(JSON.parse(answer), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } }, 'the standby answers');

  for (const replica of [a, b]) {
    replica.child.kill('SIGTERM');
    await sleep(20);
    replica.child.kill('SIGINT');
    assert.equal(await replica.exited, 0, `exit code; stderr: ${replica.stderr()}`);
    assert.equal(replica.stderr(), '', 'nothing on stderr: no crash, no unhandled rejection');
  }
});

test('a webhook that cannot get its certificate stops the start with one line naming the settings', async (t) => {
  const { fake } = await fakeApiServerFor(t);
  fake.addResource('kubeception.io/v1alpha1', 'TenantControlPlane', 'tenantcontrolplanes', true, { status: true });
  const kubeconfig = await kubeconfigFile(t, fake);
  fake.failNext(1000, 403, (r) => r.path.includes('/secrets'));
  const port = await freePort();
  const replica = startReplica(t, kubeconfig, 'op-a', ['--webhook-port', String(port), '--webhook-service', 'ops/hook']);
  assert.equal(await replica.exited, 1);
  assert.match(replica.stderr(), new RegExp(`^operator failed to start: the admission webhook \\(--webhook-port ${port}, --webhook-service ops/hook\\) did not start: GET /api/v1/namespaces/ops/secrets/hook-tls: 403`));
});
