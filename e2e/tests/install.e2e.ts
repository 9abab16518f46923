// The operator and the API installed into the host cluster as a platform team would: `helm install` of the
// chart with the locally built images, on the 3-node host. One release, shared by the scenarios in order:
// leader and standby; a tcp applied with kubectl and a cluster created through the API from a pod, both Ready;
// the admission webhook refusing an address another tenant is reached at;
// the leader killed during a create; `helm upgrade` to a rebuilt image that leaves every tenant pod alone; a
// host node lost under a 2-replica control plane; `helm uninstall` that leaves tenants running and a reinstall
// that adopts them. Least privilege is checked with `kubectl auth can-i` and a real request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, podOutput, testbed, type Testbed } from '../support/testbed.ts';
import { probeEvery200ms, superAdminCredentials, tenantStatus } from '../support/tenant-probe.ts';
import { testbedConfig as c } from '../testbed/config.ts';
import { run } from '../testbed/exec.ts';
import { cutHostNode, hostNodeImageTargets, hostNodeMachine, removeHostNode, startHostNode } from '../testbed/host-nodes.ts';
import { importProductImages } from '../testbed/images.ts';
import { ensureApiTlsSecret } from '../testbed/api-tls.ts';
import { CREATED_BY_API, LABELS } from '../../core/index.ts';
import { helm as runHelm } from '../../manifests/helm.ts';

const NS = 'kubeception-system';
const RELEASE = 'kubeception';
const CHART = join(c.repoRoot, 'manifests', 'kubeception');
const TENANTS = 'install-e2e';
const OPERATOR_SA = `system:serviceaccount:${NS}:kubeception-operator`;
const API_SA = `system:serviceaccount:${NS}:kubeception-api`;
/** Values for the test bed: images are imported into every node, never pulled; API clusters get a NodePort. */
const TESTBED_VALUES = ['--set', 'image.pullPolicy=Never', '--set', 'operator.tenantImagePullPolicy=Never', '--set', 'api.defaultServiceType=NodePort'];
const READY_TIMEOUT_MS = 5 * 60_000;

let tb: Testbed;
/** helm against the test bed; throws with helm's output when it fails. */
async function helm(args: string[]): Promise<string> {
  const result = await runHelm([`--kubeconfig=${tb.kubeconfigPath}`, ...args]);
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.stdout;
}
const kubectl = (args: string[], input?: string) => tb.kubectl(args, input);
const json = async <T>(args: string[]): Promise<T> => JSON.parse((await kubectl([...args, '-o', 'json'])).stdout) as T;

interface Pod {
  metadata: { name: string; uid: string; namespace: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[]; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; containerStatuses?: { name: string; restartCount: number; ready: boolean }[] };
}

/** `kubectl auth can-i` answers on stdout and exits 1 for "no". */
function canI(args: string[]): Promise<string> {
  return new Promise((resolve) => execFile(join(c.bin.kubernetes, 'kubectl'), [`--kubeconfig=${tb.kubeconfigPath}`, 'auth', 'can-i', ...args],
    (_err, stdout) => resolve(stdout.trim())));
}

async function tcpReady(namespace: string, name: string): Promise<boolean> {
  const out = await kubectl(['get', 'tcp', name, '-n', namespace, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).catch(() => ({ stdout: '' }));
  return out.stdout.trim() === 'True';
}

const waitReady = (namespace: string, name: string, timeoutMs = READY_TIMEOUT_MS) =>
  eventually(`tcp ${namespace}/${name} to be Ready`, async () => ((await tcpReady(namespace, name)) ? true : undefined), timeoutMs, 1000);

async function operatorPods(): Promise<Pod[]> {
  const list = await json<{ items: Pod[] }>(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=operator']);
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

async function leaseHolder(): Promise<string> {
  return (await kubectl(['get', 'lease', 'kubeception-operator', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}'])).stdout.trim();
}

/** A pod's /metrics through the host API server's pod proxy. */
async function metrics(pod: string): Promise<string> {
  return (await kubectl(['get', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}:9090/proxy/metrics`])).stdout;
}

/** Every pod of every tenant: uid, restarts and owner, to compare before and after an operator change. */
async function tenantPods(): Promise<Map<string, { uid: string; restarts: number; owner: string; node: string }>> {
  const list = await json<{ items: Pod[] }>(['get', 'pods', '-A', '-l', 'kubeception.io/tenant']);
  return new Map(list.items.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, {
    uid: p.metadata.uid,
    restarts: (p.status.containerStatuses ?? []).reduce((sum, s) => sum + s.restartCount, 0),
    owner: p.metadata.ownerReferences?.[0]?.name ?? '',
    node: p.spec.nodeName ?? '',
  }]));
}

/** The tenant pods once every one of them runs and is ready and none is being deleted (after a node loss). */
async function settledTenantPods(): Promise<Awaited<ReturnType<typeof tenantPods>>> {
  await eventually('every tenant pod running and ready, none terminating', async () => {
    const list = await json<{ items: Pod[] }>(['get', 'pods', '-A', '-l', 'kubeception.io/tenant']);
    const settled = list.items.every((p) => !p.metadata.deletionTimestamp && p.status.phase === 'Running' && p.status.containerStatuses?.every((s) => s.ready));
    return settled ? true : undefined;
  }, 3 * 60_000, 1000);
  return tenantPods();
}

function assertUntouched(before: Awaited<ReturnType<typeof tenantPods>>, now: Awaited<ReturnType<typeof tenantPods>>, what: string): void {
  assert.deepEqual([...now.keys()].sort(), [...before.keys()].sort(), `${what}: the same tenant pods exist`);
  for (const [name, pod] of before) assert.deepEqual(now.get(name), pod, `${what}: ${name} untouched (uid, restarts, ReplicaSet)`);
}

function applyTcp(name: string, replicas = 1): Promise<unknown> {
  return kubectl(['apply', '-n', TENANTS, '-f', '-'], `apiVersion: kubeception.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: ${name}
spec:
  version: v${c.versions.kubernetes.replace(/^v/, '')}
  controlPlane:
    replicas: ${replicas}
  networkProfile:
    serviceType: NodePort
`);
}

/** The CA of the API's certificate Secret, which ensureApiTlsSecret makes before every install (the chart serves HTTPS). */
let apiCa = '';

async function installChart(extra: string[] = []): Promise<number> {
  apiCa = await ensureApiTlsSecret(kubectl, NS);
  const started = Date.now();
  await helm(['upgrade', '--install', RELEASE, CHART, '--namespace', NS, '--create-namespace', '--take-ownership', ...TESTBED_VALUES, ...extra, '--wait', '--timeout', '4m']);
  return Date.now() - started;
}

before(async () => {
  tb = await testbed();
  await kubectl(['create', 'namespace', TENANTS]).catch(() => undefined);
});

after(async () => {
  // tenants first, while an operator runs their finalizers (installed again if a test left it uninstalled)
  if ((await runHelm([`--kubeconfig=${tb.kubeconfigPath}`, 'status', RELEASE, '-n', NS])).code !== 0) await installChart().catch(() => undefined);
  await kubectl(['delete', 'tcp', '--all', '-n', TENANTS, '--wait=true', '--timeout=120s']).catch(() => undefined);
  const apiNamespaces = await kubectl(['get', 'ns', '-l', `${LABELS.createdBy}=${CREATED_BY_API}`, '-o', 'name']).catch(() => ({ stdout: '' }));
  for (const ns of apiNamespaces.stdout.split('\n').filter(Boolean)) {
    await kubectl(['delete', 'tcp', '--all', '-n', ns.replace('namespace/', ''), '--wait=true', '--timeout=120s']).catch(() => undefined);
    await kubectl(['delete', ns, '--wait=false']).catch(() => undefined);
  }
  await helm(['uninstall', RELEASE, '--namespace', NS, '--wait']).catch(() => undefined);
  // waited for: the next test file installs into a namespace of the same name
  await kubectl(['delete', 'namespace', NS, TENANTS, '--wait=true', '--timeout=180s']).catch(() => undefined);
});

test('helm install: operator leader and standby, API replicas, least privilege', async (t) => {
  const ms = await installChart();
  t.diagnostic(`helm install -> operator and API Ready (helm --wait): ${(ms / 1000).toFixed(1)} s`);
  const pods = await operatorPods();
  assert.equal(pods.length, 2, 'two operator replicas');
  assert.notEqual(pods[0]!.spec.nodeName, pods[1]!.spec.nodeName, 'the operator replicas run on different nodes');
  const holder = await eventually('a leader', async () => (await leaseHolder()) || undefined, 60_000);
  assert.ok(pods.some((p) => p.metadata.name === holder), `the Lease is held by an operator pod (${holder})`);
  const leading = await Promise.all(pods.map(async (p) => /^kubeception_leader 1$/m.test(await metrics(p.metadata.name))));
  assert.deepEqual(leading.sort(), [false, true], 'one pod leads, the other stands by (and both are Ready)');

  // least privilege
  assert.equal(await canI(['get', 'secrets', '-A', `--as=${API_SA}`]), 'no', 'the API reads no Secret cluster-wide');
  assert.equal(await canI(['list', 'secrets', '-n', 'kube-system', `--as=${API_SA}`]), 'no');
  assert.equal(await canI(['get', 'secrets/kubeception-api-keys', '-n', NS, `--as=${API_SA}`]), 'yes', 'the API reads its key store');
  for (const verb of ['patch', 'update', 'delete']) {
    assert.equal(await canI([verb, 'secrets/kubeception-api-keys', '-n', NS, `--as=${API_SA}`]), 'no', `the API cannot ${verb} its key store: keys-cli is its only writer`);
  }
  assert.equal(await canI(['create', 'secrets', '-n', NS, `--as=${API_SA}`]), 'no', 'the API creates no Secret');
  assert.equal(await canI(['patch', 'configmaps/kubeception-api-key-usage', '-n', NS, `--as=${API_SA}`]), 'yes', 'it records last use in its own ConfigMap');
  assert.equal(await canI(['create', 'customresourcedefinitions', `--as=${OPERATOR_SA}`]), 'no', 'the operator writes no CRD');
  assert.equal(await canI(['patch', 'customresourcedefinitions/tenantcontrolplanes.kubeception.io', `--as=${OPERATOR_SA}`]), 'no');
  assert.equal(await canI(['delete', 'namespaces', `--as=${OPERATOR_SA}`]), 'no', 'the operator deletes no namespace');
  assert.equal(await canI(['create', 'clusterrolebindings', `--as=${API_SA}`]), 'no');
  assert.equal(await canI(['escalate', 'clusterroles', `--as=${OPERATOR_SA}`]), 'no');
  // RBAC lets the API delete namespaces; the admission policy allows only those it created
  await assert.rejects(kubectl(['delete', 'namespace', TENANTS, '--dry-run=server', `--as=${API_SA}`]), /created by the API|kubeception/i,
    'the API may not delete a namespace it did not create');
});

test('a tcp applied with kubectl and a cluster created through the API from a pod both become Ready', async (t) => {
  const applied = Date.now();
  await applyTcp('inst-a', 2);
  // an API key for a portal account, made with the key CLI against the host
  const key = (await run(process.execPath, [join(c.repoRoot, 'api', 'keys-cli.ts'), 'create', '--account', 'acme', '--kubeconfig', tb.kubeconfigPath])).stdout.match(/kc_[A-Za-z0-9_-]+/)?.[0];
  assert.ok(key, 'the key CLI printed a key');
  const imageRef = (await kubectl(['get', 'deploy', 'kubeception-api', '-n', NS, '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).stdout;
  // A portal in the host: HTTPS to the Service's name, trusting the test bed's API CA only. First it floods
  // bad keys from its one address (a shared ingress would look the same), then creates with its valid key.
  const script = `
const https = require('node:https');
const { randomBytes } = require('node:crypto');
const call = (key, method, body, headers) => new Promise((resolve, reject) => {
  const req = https.request(${JSON.stringify(`https://kubeception-api.${NS}.svc/v1/clusters`)}, { method, ca: ${JSON.stringify(apiCa)}, headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json', ...headers } }, (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => (text += chunk));
    res.on('end', () => resolve({ status: res.statusCode, text }));
  });
  req.on('error', reject);
  req.end(body);
});
(async () => {
  const flood = [];
  for (let i = 0; i < 60; i++) flood.push((await call('kc_' + randomBytes(32).toString('base64url'), 'GET')).status);
  console.log('flood ' + flood.join(','));
  const r = await call(${JSON.stringify(key)}, 'POST', JSON.stringify({ name: 'portal', size: 'small' }), { 'idempotency-key': 'install-e2e-1' });
  console.log(r.status, r.text);
  process.exit(r.status === 202 ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });`;
  const out = await podOutput(tb, TENANTS, 'portal-client', imageRef, ['/usr/local/bin/node', '-e', script]);
  const id = /"id":"([a-z0-9-]+)"/.exec(out.log)?.[1];
  assert.ok(out.phase === 'Succeeded' && id, `the API answered 202 with a cluster id over HTTPS: ${out.log}`);
  // 60 failures over 2 replicas: one of them saw at least 30, more than its burst of 20
  const flood = (/^flood (\S+)$/m.exec(out.log)?.[1] ?? '').split(',');
  assert.ok(flood.length === 60 && flood.every((status) => status === '401' || status === '429') && flood.includes('429'), `the flood of bad keys was limited (${flood.join(',')}), and the valid key still created the cluster`);
  const apiNamespace = (await kubectl(['get', 'tcp', '-A', '-l', `${LABELS.createdBy}=${CREATED_BY_API}`, '-o', 'jsonpath={.items[0].metadata.namespace}'])).stdout;
  await waitReady(TENANTS, 'inst-a');
  t.diagnostic(`kubectl apply -> Ready with the in-cluster operator (2 apiservers): ${((Date.now() - applied) / 1000).toFixed(1)} s`);
  await waitReady(apiNamespace, id);
  // the operator granted the API exactly this cluster's portal kubeconfig: no CA key, no admin identity
  assert.equal(await canI(['get', `secrets/${id}-portal-kubeconfig`, '-n', apiNamespace, `--as=${API_SA}`]), 'yes');
  for (const secret of ['ca', 'etcd-ca', 'front-proxy-ca', 'sa', 'admin-kubeconfig', 'super-admin-kubeconfig', 'kubeconfig']) {
    assert.equal(await canI(['get', `secrets/${id}-${secret}`, '-n', apiNamespace, `--as=${API_SA}`]), 'no', `the API may not read ${id}-${secret}`);
  }
  assert.equal(await canI(['get', 'secrets/inst-a-portal-kubeconfig', '-n', TENANTS, `--as=${API_SA}`]), 'no', 'not the Secrets of a tcp the API did not make');
  const cpPods = (await json<{ items: Pod[] }>(['get', 'pods', '-n', TENANTS, '-l', 'kubeception.io/tenant=inst-a,kubeception.io/component=control-plane'])).items;
  assert.equal(new Set(cpPods.map((p) => p.spec.nodeName)).size, 2, 'the two apiserver replicas run on two nodes');
});

test('the admission webhook: caBundle set, an address another tenant is reached at is refused, a free one admitted', async (t) => {
  const vwc = await json<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(['get', 'validatingwebhookconfiguration', 'kubeception-tenantcontrolplanes']);
  assert.match(Buffer.from(vwc.webhooks[0]!.clientConfig.caBundle ?? '', 'base64').toString('utf8'), /^-----BEGIN CERTIFICATE-----/, 'the operator set the caBundle');
  assert.equal(await canI(['update', 'secrets/kubeception-operator-webhook-tls', '-n', NS, `--as=${OPERATOR_SA}`]), 'yes');
  assert.equal(await canI(['update', 'secrets/kubeception-api-keys', '-n', NS, `--as=${OPERATOR_SA}`]), 'no', 'no other Secret of the release namespace');
  // inst-a (NodePort) is reached at its status.endpoint: a tcp asking for that address and node port collides
  const endpoint = new URL((await kubectl(['get', 'tcp', 'inst-a', '-n', TENANTS, '-o', 'jsonpath={.status.endpoint}'])).stdout.trim());
  const candidate = (name: string, networkProfile: string) => `apiVersion: kubeception.io/v1alpha1
kind: TenantControlPlane
metadata:
  name: ${name}
spec:
  version: v${c.versions.kubernetes.replace(/^v/, '')}
  networkProfile:
${networkProfile}`;
  const host = endpoint.hostname.replace(/^\[|\]$/g, '');
  const reviewed = Date.now();
  const refused = await kubectl(['create', '--dry-run=server', '-n', TENANTS, '-f', '-'], candidate('inst-clash', `    serviceType: NodePort\n    nodePort: ${endpoint.port}\n    address: ${host}\n`))
    .then((r) => assert.fail(`admitted: ${r.stdout}`), (error: Error) => error.message);
  t.diagnostic(`a refused create (server dry run through the webhook): ${Date.now() - reviewed} ms`);
  // The webhook answers 422 Invalid naming the field, which kubectl prints as an invalid request.
  assert.match(refused, /The request is invalid: spec\.networkProfile\.address: spec\.networkProfile\.address \S+ \(port \d+\) is where TenantControlPlane install-e2e\/inst-a is reached/);
  const admitted = Date.now();
  await kubectl(['create', '--dry-run=server', '-n', TENANTS, '-f', '-'], candidate('inst-free', '    address: 198.51.100.201\n'));
  t.diagnostic(`an admitted create with an address (server dry run through the webhook): ${Date.now() - admitted} ms`);
});

test('the leader is killed during a create: the standby takes over and the new tcp becomes Ready', async (t) => {
  const holder = await leaseHolder();
  const killed = Date.now();
  await kubectl(['delete', 'pod', holder, '-n', NS, '--wait=false']);
  await applyTcp('inst-b');
  const newHolder = await eventually('another operator pod to lead', async () => {
    const h = await leaseHolder();
    return h && h !== holder ? h : undefined;
  }, 60_000, 200);
  const takeoverMs = Date.now() - killed;
  t.diagnostic(`leader pod deleted -> ${newHolder} leads: ${(takeoverMs / 1000).toFixed(1)} s (lease duration 15 s)`);
  assert.ok(takeoverMs < 15_000, `taken over within the lease duration (${takeoverMs} ms)`);
  await waitReady(TENANTS, 'inst-b');
  t.diagnostic(`tcp created during the failover Ready ${((Date.now() - killed) / 1000).toFixed(1)} s after the leader was killed`);
});

test('helm upgrade to a rebuilt image replaces the operator and leaves every tenant pod untouched', async (t) => {
  await helm(['status', RELEASE, '-n', NS]);
  await eventually('both operator pods Ready', async () => ((await operatorPods()).length === 2 ? true : undefined), 120_000);
  const tenantsBefore = await settledTenantPods();
  const operatorsBefore = new Set((await operatorPods()).map((p) => p.metadata.uid));
  const version = '0.1.1-e2e';
  const built = Date.now();
  await importProductImages(c, hostNodeImageTargets(), { version });
  t.diagnostic(`images rebuilt as ${version} and imported into every node: ${((Date.now() - built) / 1000).toFixed(1)} s`);
  const upgraded = Date.now();
  await helm(['upgrade', RELEASE, CHART, '--namespace', NS, '--reuse-values', '--set', `image.tag=${version}`, '--wait', '--timeout', '4m']);
  t.diagnostic(`helm upgrade -> new operator and API pods Ready: ${((Date.now() - upgraded) / 1000).toFixed(1)} s`);
  const operators = await operatorPods();
  assert.ok(operators.every((p) => !operatorsBefore.has(p.metadata.uid)), 'every operator pod was replaced');
  for (const p of operators) assert.match(await metrics(p.metadata.name), new RegExp(`kubeception_build_info\\{version="${version.replaceAll('.', '\\.')}"\\} 1`));
  // give the new leader time to reconcile every tenant (it resyncs all of them when it starts leading)
  const holder = await eventually('a new leader', async () => {
    const h = await leaseHolder();
    return operators.some((p) => p.metadata.name === h) ? h : undefined;
  }, 60_000, 500);
  await eventually('the new leader to have reconciled every tenant', async () => {
    const text = await metrics(holder);
    const done = [...text.matchAll(/^kubeception_reconcile_duration_seconds_count\{[^}]*result="success"[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
    return done >= 3 ? true : undefined;
  }, 120_000, 1000);
  await sleep(10_000); // anything a reconcile rolled would show by now
  assertUntouched(tenantsBefore, await tenantPods(), 'after the operator upgrade');
  t.diagnostic(`${tenantsBefore.size} tenant pods: same UIDs, 0 restarts, same ReplicaSets after the upgrade`);
});

test('a host node running one of two apiservers is lost: the tenant keeps answering and the replica is replaced', async (t) => {
  const selector = 'kubeception.io/tenant=inst-a';
  const pods = (await json<{ items: Pod[] }>(['get', 'pods', '-n', TENANTS, '-l', selector])).items;
  const etcdNode = pods.find((p) => p.metadata.labels?.['kubeception.io/component'] === 'etcd')?.spec.nodeName;
  const apiserverNodes = pods.filter((p) => p.metadata.labels?.['kubeception.io/component'] === 'control-plane').map((p) => p.spec.nodeName!);
  let victim = apiserverNodes.find((n) => n !== c.nodeName && n !== etcdNode);
  if (!victim) {
    // etcd shares the only node machine that runs an apiserver: move etcd off it first (before probing)
    victim = apiserverNodes.find((n) => n !== c.nodeName)!;
    await kubectl(['cordon', victim]);
    await kubectl(['delete', 'pod', '-n', TENANTS, '-l', `${selector},kubeception.io/component=etcd`]);
    await kubectl(['uncordon', victim]);
    await waitReady(TENANTS, 'inst-a');
  }
  assert.ok(victim, `an apiserver runs on a node machine (${apiserverNodes.join(', ')})`);
  const creds = await superAdminCredentials(tb, TENANTS, 'inst-a');
  const endpoint = (await kubectl(['get', 'tcp', 'inst-a', '-n', TENANTS, '-o', 'jsonpath={.status.endpoint}'])).stdout;
  const machine = hostNodeMachine(victim);
  const probe = probeEvery200ms(endpoint, '/readyz', creds, 1000);
  const cut = Date.now();
  try {
    await cutHostNode(machine);
    const replaced = await eventually('a replacement apiserver Ready on another node', async () => {
      const now = (await json<{ items: Pod[] }>(['get', 'pods', '-n', TENANTS, '-l', `${selector},kubeception.io/component=control-plane`])).items;
      const ready = now.filter((p) => !p.metadata.deletionTimestamp && p.spec.nodeName !== victim && p.status.containerStatuses?.every((s) => s.ready));
      return ready.length === 2 ? ready : undefined;
    }, 5 * 60_000, 1000);
    const replacedMs = Date.now() - cut;
    await sleep(5_000);
    const { probes, failures } = await probe.stop();
    const lastFailure = failures.at(-1)?.at;
    t.diagnostic(`node ${victim} lost: replica replaced after ${(replacedMs / 1000).toFixed(1)} s; ${probes} probes of /readyz every 200 ms, ${failures.length} failed` +
      (lastFailure ? ` (the last ${((lastFailure - cut) / 1000).toFixed(1)} s after the loss)` : ''));
    assert.ok(replaced.every((p) => p.spec.nodeName !== victim));
    assert.ok(failures.length < probes / 2, 'most probes were answered');
    assert.equal(await tenantStatus(endpoint, '/readyz', creds, 1000), 200, 'the tenant answers');
  } finally {
    await probe.stop();
    // the machine comes back as the same node, for the tests after this one
    await removeHostNode(machine);
    await startHostNode(machine);
  }
});

test('helm uninstall leaves the tenants running; a reinstall adopts them without a restart', async (t) => {
  const before = await settledTenantPods();
  await helm(['uninstall', RELEASE, '--namespace', NS, '--wait']);
  await eventually('the operator pods to be gone', async () => ((await operatorPods()).length === 0 ? true : undefined), 120_000);
  const kept = (await kubectl(['get', 'crd', 'tenantcontrolplanes.kubeception.io', '-o', 'name'])).stdout.trim();
  assert.equal(kept, 'customresourcedefinition.apiextensions.k8s.io/tenantcontrolplanes.kubeception.io', 'the CRD is kept');
  assert.ok(await tcpReady(TENANTS, 'inst-a'), 'the tcps are kept');
  assertUntouched(before, await tenantPods(), 'after helm uninstall');
  const ms = await installChart();
  t.diagnostic(`reinstall -> Ready: ${(ms / 1000).toFixed(1)} s`);
  await waitReady(TENANTS, 'inst-b');
  await sleep(15_000);
  assertUntouched(before, await tenantPods(), 'after the reinstall');
});

test('values that make no sense fail helm install with a clear message and change nothing', async () => {
  const releasesBefore = await helm(['list', '-A', '-q']);
  const refused = async (set: string, message: RegExp) => {
    const result = await runHelm([`--kubeconfig=${tb.kubeconfigPath}`, 'install', 'bad', CHART, '--namespace', NS, '--set', set]);
    assert.notEqual(result.code, 0, `helm install --set ${set} fails`);
    assert.match(result.stderr, message, `helm install --set ${set} says what to fix`);
  };
  // against the cluster: a watch namespace that does not exist (lookup, which helm template cannot do)
  await refused('watchNamespace=does-not-exist', /watchNamespace "does-not-exist" does not exist in the cluster/);
  // the schema: no operator replica with leader election on, no image
  await refused('operator.replicas=0', /operator\/replicas.*minimum/);
  await refused('image.operator.repository=', /image\/operator\/repository/);
  assert.equal(await helm(['list', '-A', '-q']), releasesBefore, 'no release was made');
});
