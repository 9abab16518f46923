// Reachable from anywhere, tried from where the customer stands. A cluster is created through the REST
// API (LoadBalancer by default: MetalLB on the test bed's public network); its kubeconfig is used from the
// customer network namespace, which has no route into the host; a worker behind NAT joins with the join
// command the API mints, and logs, exec, port-forward and a webhook served on that worker work through
// konnectivity. Then: how long logs/exec are gone while the control plane rolls; a NodePort tenant at the
// test bed's VIP keeps its endpoint when the node holding the VIP is lost; a load balancer that never
// assigns an address leaves the tenant in a clear non-ready state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { CREATED_BY_API, LABELS } from '../../core/index.ts';
import { GENERATED_FILES } from '../../crds/generate.ts';
import { CRD_NAME } from '../../crds/schema/tenant-control-plane.ts';
import { buildApp } from '../../api/app.ts';
import { createApiKey } from '../../api/host/auth-store.ts';
import { apiFetch, loopbackHttps } from '../support/api-client.ts';
import { hostDependencies, type HostDependencies } from '../../api/host/index.ts';
import { KubeClient } from '../../api/host/kube.ts';
import { runOperator } from '../../operator/main.ts';
import { parseConfig } from '../../operator/config.ts';
import { eventually, testbed, testNamespace, type Testbed } from '../support/testbed.ts';
import { testbedConfig as c } from '../testbed/config.ts';
import { run } from '../testbed/exec.ts';
import { helloImage } from '../testbed/images.ts';
import { customerKubectl, httpGetIn, tcpConnects } from '../testbed/customer.ts';
import { removeNatWorker, startNatWorker } from '../testbed/nat-worker.ts';
import { joinWorker } from '../testbed/worker.ts';
import { setPublicLink } from '../testbed/host-nodes.ts';
import { vipHolderNode } from '../testbed/vip.ts';

const TCP_BASE = '/apis/kubeception.io/v1alpha1';
const TENANT_ADMINS = 'kubeception:tenant-admins';
const READY_TIMEOUT_MS = 4 * 60_000;

let tb: Testbed;
let host: KubeClient;
let ns: { name: string; cleanup: () => Promise<void> };
let deps: HostDependencies;
let app: FastifyInstance;
let base = '';
let key = '';
let operator: { stop: () => Promise<void> } | undefined;
let dir = '';
const figures: string[] = [];

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await apiFetch(base + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

const tcpPath = (name: string) => `${TCP_BASE}/namespaces/${ns.name}/tenantcontrolplanes/${name}`;
const tcpOf = (name: string) => host.request<any>('GET', tcpPath(name));
const conditionOf = (tcp: any, type: string) => (tcp.status?.conditions ?? []).find((x: { type: string }) => x.type === type);

/** The IPv4 address as a number, for range checks. */
const ipNumber = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);

before(async () => {
  tb = await testbed();
  host = new KubeClient(tb.kubeConfig);
  dir = mkdtempSync(join(tmpdir(), 'kc-reach-'));
  await tb.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=kubeception-e2e-reach', '-f', GENERATED_FILES.crd]);
  await tb.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `customresourcedefinition/${CRD_NAME}`]);
  ns = await testNamespace(tb, 'kc-reach');
  // One operator watching only this namespace, publishing NodePort tenants at the test bed's VIP, as
  // `npm start` runs it on the test bed; one API creating LoadBalancer clusters (its default).
  operator = await runOperator(parseConfig([], {
    KUBECONFIG: tb.kubeconfigPath,
    WATCH_NAMESPACE: ns.name,
    LEASE_NAMESPACE: ns.name,
    METRICS_PORT: '0',
    IMAGE_PULL_POLICY: 'Never',
    NODE_ADDRESS: c.public.vip,
    LOG_LEVEL: 'warn',
  }));
  deps = hostDependencies({ kubeConfig: tb.kubeConfig, namespace: ns.name, layout: { kind: 'shared', namespace: ns.name } });
  await deps.start();
  // HTTPS with a loopback certificate, as the API serves by default; call() trusts its CA only
  app = await buildApp({ ...deps, defaultServiceType: 'LoadBalancer', https: await loopbackHttps() });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  key = (await createApiKey({ client: host, namespace: ns.name }, { account: 'acme', scopes: ['read', 'write', 'kubeconfig', 'join-tokens'], groups: [TENANT_ADMINS] })).key;
  await eventually('the API is ready', async () => ((await call('GET', '/readyz')).status === 200 ? true : undefined), 30_000);
});

after(async () => {
  await removeNatWorker(1).catch(() => undefined);
  const tcps = `${TCP_BASE}/namespaces/${ns.name}/tenantcontrolplanes`;
  const left = async () => (await host.request<{ items: any[] }>('GET', tcps).catch(() => ({ items: [] }))).items;
  if ((await left()).length > 0) {
    await host.request('DELETE', tcps).catch(() => undefined);
    await eventually('the tcps are gone', async () => ((await left()).length === 0 ? true : undefined), 90_000, 1000).catch(() => undefined);
  }
  await operator?.stop().catch(() => undefined);
  for (const tcp of await left()) {
    await host.request('PATCH', `${tcps}/${tcp.metadata.name}`, { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } }).catch(() => undefined);
  }
  await app?.close();
  await deps?.close();
  await ns?.cleanup();
  await host?.close();
  rmSync(dir, { recursive: true, force: true });
  if (figures.length) console.log(`# reachability figures: ${figures.join('; ')}`);
});

test('a cluster made through the API, used from the customer network: kubeconfig, NAT\'d worker, logs, exec, port-forward, webhook, control-plane roll', { timeout: 20 * 60_000 }, async (t) => {
  // --- create through REST: a load balancer address from the public pool --------------------------
  const created = await call('POST', '/v1/clusters', { name: 'reach' });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const id: string = created.body.id;
  const createdAt = Date.now();
  const service = `${id}-apiserver`;
  const lbAddress = await eventually('a load balancer address', async () => {
    const { stdout } = await tb.kubectl(['get', 'service', service, '-n', ns.name, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
    return stdout.trim() || undefined;
  }, 60_000, 100);
  figures.push(`LB address assigned ${Date.now() - createdAt} ms after the create`);
  assert.ok(ipNumber(lbAddress) >= ipNumber(c.public.pool.first) && ipNumber(lbAddress) <= ipNumber(c.public.pool.last), `${lbAddress} is in the public pool`);
  const tcp = await tcpOf(id);
  assert.equal(tcp.spec.networkProfile.serviceType, 'LoadBalancer', 'the API\'s default exposure');

  const view = await eventually(`cluster ${id} ready`, async () => {
    const got = await call('GET', `/v1/clusters/${id}`);
    assert.equal(got.status, 200);
    if (!got.body.status.ready) assert.equal(got.body.status.endpoint, null, 'no endpoint is shown before it is reachable');
    return got.body.status.ready ? got.body : undefined;
  }, READY_TIMEOUT_MS, 1000);
  figures.push(`ready ${((Date.now() - createdAt) / 1000).toFixed(1)} s after the create`);
  assert.equal(view.status.endpoint, `https://${lbAddress}:6443`);
  const endpointCondition = conditionOf(await tcpOf(id), 'Endpoint');
  assert.equal(endpointCondition.status, 'True');
  assert.equal(endpointCondition.reason, 'Reachable');

  // --- the kubeconfig from the customer network, which has no route into the host ------------------
  // A 504 signing-timeout says "retry later" (Retry-After): a portal does, once, and the figure shows it.
  const askedAt = Date.now();
  let issued = await call('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:acme:admin', groups: [TENANT_ADMINS], ttlSeconds: 3600 });
  if (issued.status === 504 && issued.body.type === 'https://kubeception.io/problems/signing-timeout') {
    figures.push(`kubeconfig signing timed out once (${issued.body.detail})`);
    await sleep(Number(issued.headers.get('retry-after') ?? 10) * 1000);
    issued = await call('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:acme:admin', groups: [TENANT_ADMINS], ttlSeconds: 3600 });
  }
  assert.equal(issued.status, 200, JSON.stringify(issued.body));
  figures.push(`kubeconfig signed through the tenant's CSR API in ${((Date.now() - askedAt) / 1000).toFixed(1)} s`);
  const kubeconfig = join(dir, 'acme.kubeconfig');
  writeFileSync(kubeconfig, issued.body.kubeconfig, { mode: 0o600 });
  const tenant = (args: string[], input?: string) => customerKubectl(kubeconfig, args, input);
  assert.equal(JSON.parse((await tenant(['get', '--raw', '/version'])).stdout).gitVersion, 'v1.36.5');
  const clusterIP = (await tb.kubectl(['get', 'service', service, '-n', ns.name, '-o', 'jsonpath={.spec.clusterIP}'])).stdout.trim();
  const podIP = (await tb.kubectl(['get', 'pods', '-n', ns.name, '-l', `kubeception.io/tenant=${id},kubeception.io/component=control-plane`, '-o', 'jsonpath={.items[0].status.podIP}'])).stdout.trim();
  assert.equal(await tcpConnects(c.public.customer.netns, clusterIP, 6443), false, `the customer has no route to the ClusterIP ${clusterIP}`);
  assert.equal(await tcpConnects(c.public.customer.netns, podIP, 6443), false, `the customer has no route to the pod IP ${podIP}`);

  // --- a worker behind NAT joins with the REST-minted join command ---------------------------------
  const minted = await call('POST', `/v1/clusters/${id}/join-tokens`, { ttlSeconds: 3600, description: 'NAT worker' });
  assert.equal(minted.status, 201, JSON.stringify(minted.body));
  assert.match(minted.body.joinCommand, new RegExp(`^kubeadm join ${lbAddress.replaceAll('.', '\\.')}:6443 `), 'the join command uses the endpoint');
  const worker = await startNatWorker(1);
  assert.equal(await tcpConnects(c.public.customer.netns, worker.ip, 10250), false, 'nothing can open a connection to the NAT\'d worker');
  await joinWorker(worker, minted.body.joinCommand);
  await eventually('the NAT\'d worker Ready', async () => {
    const out = await tenant(['get', 'node', worker.netns, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    return out.stdout.trim() === 'True' ? true : undefined;
  }, 180_000, 1000);
  await eventually('the konnectivity agent running on the worker', async () => {
    const out = JSON.parse((await tenant(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=konnectivity-agent', '-o', 'json'])).stdout);
    return out.items.some((p: any) => p.spec.nodeName === worker.netns && p.status.phase === 'Running') ? true : undefined;
  }, 120_000, 1000);

  // --- a pod on that worker: HTTPS server and webhook ----------------------------------------------
  await tenant(['create', 'namespace', 'shop']);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=hello.shop.svc',
    '-addext', 'subjectAltName=DNS:hello.shop.svc', '-keyout', join(dir, 'hello.key'), '-out', join(dir, 'hello.crt')]);
  await tenant(['create', 'secret', 'tls', 'hello-tls', '-n', 'shop', `--cert=${join(dir, 'hello.crt')}`, `--key=${join(dir, 'hello.key')}`]);
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'hello', namespace: 'shop', labels: { app: 'hello' } },
    spec: {
      nodeName: worker.netns,
      containers: [{
        name: 'hello', image: helloImage, imagePullPolicy: 'Never', ports: [{ containerPort: 8443 }],
        env: [{ name: 'PORT', value: '8443' }, { name: 'TLS_CERT_FILE', value: '/tls/tls.crt' }, { name: 'TLS_KEY_FILE', value: '/tls/tls.key' }],
        volumeMounts: [{ name: 'tls', mountPath: '/tls', readOnly: true }],
      }],
      volumes: [{ name: 'tls', secret: { secretName: 'hello-tls' } }],
    },
  };
  await tenant(['apply', '-f', '-'], JSON.stringify(pod));
  await tenant(['expose', 'pod', 'hello', '-n', 'shop', '--port=443', '--target-port=8443']);
  await eventually('the hello pod Running', async () => ((await tenant(['get', 'pod', 'hello', '-n', 'shop', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running' ? true : undefined), 120_000, 1000);

  const logs = await eventually('kubectl logs through konnectivity', async () => {
    const out = (await tenant(['logs', '-n', 'shop', 'hello'])).stdout;
    return out.includes('hello-server') ? out : undefined;
  }, 120_000, 2000);
  assert.match(logs, /hello-server hello listening on :8443 \(https\)/);
  const kubernetesIP = (await tenant(['get', 'service', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}'])).stdout.trim();
  const resolved = await eventually('kubectl exec through konnectivity', async () => (await tenant(['exec', '-n', 'shop', 'hello', '--', '/hello', '-resolve', 'kubernetes.default.svc.cluster.local'])).stdout.trim() || undefined, 120_000, 2000);
  assert.equal(resolved, kubernetesIP, 'exec ran in the pod, and the tenant\'s DNS on the worker answered');

  // port-forward from the customer network to the pod on the NAT'd worker
  const forward = spawn('ip', ['netns', 'exec', c.public.customer.netns, join(c.bin.kubernetes, 'kubectl'), `--kubeconfig=${kubeconfig}`, 'port-forward', '-n', 'shop', 'pod/hello', '18443:8443'], { stdio: 'ignore' });
  try {
    const answer = await eventually('an HTTPS answer through kubectl port-forward', async () => {
      const got = await httpGetIn(c.public.customer.netns, 'https://127.0.0.1:18443/', { insecure: true });
      return got.status === 200 ? got.body : undefined;
    }, 60_000, 1000);
    assert.match(answer, /hello from kubeception \(hello\)/);
  } finally {
    forward.kill('SIGTERM');
  }

  // a ValidatingWebhook served by the pod on the NAT'd worker: the tenant apiserver calls it through konnectivity
  const caBundle = Buffer.from((await run('cat', [join(dir, 'hello.crt')])).stdout).toString('base64');
  const webhook = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'hello-names' },
    webhooks: [{
      name: 'names.hello.shop.svc', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10,
      clientConfig: { service: { namespace: 'shop', name: 'hello', port: 443, path: '/validate' }, caBundle },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'], scope: 'Namespaced' }],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
    }],
  };
  await tenant(['apply', '-f', '-'], JSON.stringify(webhook));
  await eventually('the webhook refuses a denied- name', async () => {
    const refused = await tenant(['create', 'configmap', 'denied-by-webhook', '-n', 'shop']).then(() => undefined, (e: Error) => e.message);
    if (refused === undefined) await tenant(['delete', 'configmap', 'denied-by-webhook', '-n', 'shop']);
    return refused?.includes('names starting with denied- are not allowed') ? true : undefined;
  }, 60_000, 2000);
  await tenant(['create', 'configmap', 'allowed-by-webhook', '-n', 'shop']);
  assert.match((await tenant(['logs', '-n', 'shop', 'hello'])).stdout, /webhook allowed-by-webhook: allowed=true/);

  // --- a rolling restart of the control plane: how long logs and exec are gone ----------------------
  await tb.kubectl(['patch', 'tcp', id, '-n', ns.name, '--type=merge', '-p', '{"spec":{"controlPlane":{"replicas":2}}}']);
  await eventually('2 ready control-plane replicas', async () => ((await tcpOf(id)).status?.controlPlane?.readyReplicas === 2 ? true : undefined), READY_TIMEOUT_MS, 1000);
  const samples: { at: number; logs: boolean; exec: boolean }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const at = Date.now();
      const [l, e] = await Promise.all([
        tenant(['logs', '-n', 'shop', 'hello', '--tail=1', '--request-timeout=3s']).then(() => true, () => false),
        tenant(['exec', '-n', 'shop', 'hello', '--request-timeout=3s', '--', '/hello', '-resolve', 'kubernetes.default.svc.cluster.local']).then(() => true, () => false),
      ]);
      samples.push({ at, logs: l, exec: e });
      await sleep(Math.max(0, 500 - (Date.now() - at)));
    }
  })();
  await sleep(3000);
  const rollStarted = Date.now();
  await tb.kubectl(['rollout', 'restart', `deployment/${id}-control-plane`, '-n', ns.name]);
  await tb.kubectl(['rollout', 'status', `deployment/${id}-control-plane`, '-n', ns.name, '--timeout=300s']);
  const rolled = Date.now();
  // After the roll, the agents must have found the new servers: both work again, and stay working.
  await eventually('logs and exec after the roll', async () => {
    const recent = samples.filter((s) => s.at > rolled);
    return recent.length >= 6 && recent.slice(-6).every((s) => s.logs && s.exec) ? true : undefined;
  }, 120_000, 1000).catch(async (error: unknown) => {
    // What the agent and the servers say: which servers the agent holds tunnels to.
    const agent = await tb.kubectl(['--kubeconfig', kubeconfig, 'logs', '-n', 'kube-system', '-l', 'k8s-app=konnectivity-agent', '--tail=40']).then((r) => r.stdout, (e: Error) => e.message);
    const servers = await tb.kubectl(['logs', '-n', ns.name, '-l', `kubeception.io/tenant=${id},kubeception.io/component=control-plane`, '-c', 'konnectivity-server', '--tail=20', '--prefix']).then((r) => r.stdout, (e: Error) => e.message);
    const recent = samples.filter((s) => s.at > rolled).slice(-10).map((s) => `${s.logs ? 'L' : 'l'}${s.exec ? 'E' : 'e'}`).join(' ');
    throw new Error(`${String(error)}\nlast samples (L/E ok, l/e failed): ${recent}\nagent:\n${agent}\nservers:\n${servers}`, { cause: error });
  });
  sampling = false;
  await sampler;
  const gap = (kind: 'logs' | 'exec') => {
    const failed = samples.filter((s) => s.at >= rollStarted && !s[kind]);
    return failed.length === 0 ? 0 : failed[failed.length - 1]!.at - failed[0]!.at + 500;
  };
  const failedCount = (kind: 'logs' | 'exec') => samples.filter((s) => s.at >= rollStarted && !s[kind]).length;
  figures.push(`control-plane roll (2 replicas) ${((rolled - rollStarted) / 1000).toFixed(1)} s: logs unavailable ${failedCount('logs')} of ${samples.filter((s) => s.at >= rollStarted).length} samples (span ${(gap('logs') / 1000).toFixed(1)} s), exec ${failedCount('exec')} (span ${(gap('exec') / 1000).toFixed(1)} s)`);
  t.diagnostic(figures[figures.length - 1]!);

  // --- delete through REST: the cluster and its load balancer address go -------------------------
  await removeNatWorker(1);
  assert.equal((await call('DELETE', `/v1/clusters/${id}`)).status, 202);
  await eventually('the cluster gone', async () => ((await call('GET', `/v1/clusters/${id}`)).status === 404 ? true : undefined), 120_000, 1000);
});

// The node is cut off from the public network (its cable pulled), not lost as a whole: a whole node's loss
// under a 2-replica tenant is install.e2e's test, and the single etcd replica on a local volume may live
// on exactly that node, which no exposure can help.
test('a NodePort tenant at the VIP keeps its endpoint when the node holding the VIP is cut off from the public network', { timeout: 10 * 60_000 }, async (t) => {
  const tcp = {
    apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', metadata: { name: 'np', namespace: ns.name },
    spec: { version: 'v1.36.5', controlPlane: { replicas: 2 }, networkProfile: { serviceType: 'NodePort' } },
  };
  await tb.kubectl(['apply', '-f', '-'], JSON.stringify(tcp));
  const ready = await eventually('np Ready', async () => {
    const got = await tcpOf('np');
    return conditionOf(got, 'Ready')?.status === 'True' ? got : undefined;
  }, READY_TIMEOUT_MS, 1000);
  const endpoint: string = ready.status.endpoint;
  assert.match(endpoint, new RegExp(`^https://${c.public.vip.replaceAll('.', '\\.')}:\\d+$`), 'published at the VIP, not at a node');
  const adminConf = join(dir, 'np.kubeconfig');
  writeFileSync(adminConf, Buffer.from((await tb.kubectl(['get', 'secret', 'np-admin-kubeconfig', '-n', ns.name, '-o', 'jsonpath={.data.admin\\.conf}'])).stdout, 'base64'), { mode: 0o600 });
  const readyz = () => customerKubectl(adminConf, ['get', '--raw', '/readyz', '--request-timeout=2s']).then((r) => r.stdout.trim() === 'ok', () => false);
  assert.equal(await readyz(), true, 'the customer reaches the NodePort tenant at the VIP');

  const holder = await vipHolderNode();
  assert.ok(holder, 'a node holds the VIP');
  const cutAt = Date.now();
  await setPublicLink(holder, false);
  try {
    let streak = 0;
    await eventually('the tenant answering at the VIP again, 5 times in a row', async () => {
      streak = (await readyz()) ? streak + 1 : 0;
      return streak >= 5 ? true : undefined;
    }, 180_000, 200);
    figures.push(`VIP holder ${holder}'s public cable pulled: the NodePort tenant answered again (5 in a row) after ${((Date.now() - cutAt) / 1000).toFixed(1)} s`);
    t.diagnostic(figures[figures.length - 1]!);
    const now = await vipHolderNode();
    assert.notEqual(now, holder, 'the VIP moved');
    assert.equal((await tcpOf('np')).status.endpoint, endpoint, 'the endpoint customers hold did not change');
  } finally {
    await setPublicLink(holder, true);
  }
  await tb.kubectl(['delete', 'tcp', 'np', '-n', ns.name, '--wait=false']);
});

/** A cluster id of the API's form (c + 11 of [a-z0-9]), so the API shows the tcp to its account. */
const NOLB = 'cnolbaddress';

test('a load balancer that assigns no address: Endpoint False with the reason, an Event, a clear non-ready cluster in the API, no endpoint, nothing crash-loops', { timeout: 6 * 60_000 }, async () => {
  // 10.196.0.250 is outside MetalLB's pool: it will never be assigned (as with an exhausted pool).
  const tcp = {
    apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane',
    // labelled as the API labels its clusters, so the API shows it to its account
    metadata: { name: NOLB, namespace: ns.name, labels: { [LABELS.account]: 'acme', [LABELS.size]: 'small', [LABELS.createdBy]: CREATED_BY_API } },
    spec: { version: 'v1.36.5', networkProfile: { serviceType: 'LoadBalancer', address: '10.196.0.250' } },
  };
  await tb.kubectl(['apply', '-f', '-'], JSON.stringify(tcp));
  const pending = await eventually('Endpoint False with the load balancer\'s refusal', async () => {
    const got = await tcpOf(NOLB);
    const endpoint = conditionOf(got, 'Endpoint');
    return endpoint?.status === 'False' && endpoint.reason === 'AddressPending' && /reported/.test(endpoint.message) && got.status?.controlPlane?.readyReplicas === 1 ? got : undefined;
  }, READY_TIMEOUT_MS, 1000);
  assert.equal(pending.status.endpoint, undefined, 'no endpoint is published');
  assert.equal(conditionOf(pending, 'Ready').status, 'False');
  assert.match(conditionOf(pending, 'Ready').message, /Endpoint: the load balancer has not assigned an address/);
  const events = (await tb.kubectl(['get', 'events', '-n', ns.name, '--field-selector', `involvedObject.name=${NOLB},reason=EndpointPending`, '-o', 'json'])).stdout;
  assert.equal(JSON.parse(events).items.length, 1, 'one EndpointPending Event, not one per reconcile');
  const seen = await call('GET', `/v1/clusters/${NOLB}`);
  assert.equal(seen.status, 200);
  assert.equal(seen.body.status.ready, false);
  assert.equal(seen.body.status.endpoint, null);
  assert.match(seen.body.status.message, /Endpoint: the load balancer has not assigned an address/);
  const restarts = (await tb.kubectl(['get', 'pods', '-n', ns.name, '-l', `kubeception.io/tenant=${NOLB}`, '-o', 'jsonpath={.items[*].status.containerStatuses[*].restartCount}'])).stdout.trim().split(/\s+/).map(Number);
  assert.ok(restarts.every((r) => r === 0), `no container restarted: ${restarts.join(' ')}`);
  await tb.kubectl(['delete', 'tcp', NOLB, '-n', ns.name, '--wait=false']);
});
