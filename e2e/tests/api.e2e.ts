// The REST API against the real host API server of the test bed, through real HTTP: the portal flow
// with a live operator and a real tenant, object-level authorization, a property test of bad input,
// idempotent creates under concurrency across two API replicas, and usage that survives an API restart.
//
// The portal flow runs an API with the shared-namespace layout (`--cluster-namespace`) and an
// in-process operator that watches only that namespace: its one cluster really runs, and kubectl
// talks to it with the kubeconfig the API hands out. Every other test uses the per-cluster layout
// (`kcapi-<id>` namespaces) that no operator of this file watches, so those clusters never run (on
// a 2-core test bed, one tenant at a time).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { Ajv, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { GENERATED_FILES } from '../../crds/generate.ts';
import { CRD_NAME } from '../../crds/schema/tenant-control-plane.ts';
import { buildApp, DEFAULT_AUTH_FAILURE_LIMIT, DEFAULT_KEY_FAILURE_LIMIT, type AppDependencies } from '../../api/app.ts';
import { generateApiKey, hashApiKey } from '../../api/auth.ts';
import { API_KEYS_SECRET, createApiKey, type KeyStoreLocation } from '../../api/host/auth-store.ts';
import { hostDependencies, type HostDependencies } from '../../api/host/index.ts';
import { KEY_USAGE_CONFIGMAP, readKeyUsage } from '../../api/host/key-usage-store.ts';
import { KubeClient } from '../../api/host/kube.ts';
import type { NamespaceLayout } from '../../api/host/cluster-store.ts';
import { runOperator } from '../../operator/main.ts';
import { parseConfig } from '../../operator/config.ts';
import { apiFetch, loopbackHttps } from '../support/api-client.ts';
import { deleteNamespaces, markClusterReady } from '../support/api.ts';
import { eventually, testbed, testNamespace, type Testbed } from '../support/testbed.ts';
import { testbedConfig } from '../testbed/config.ts';
import { run } from '../testbed/exec.ts';

const PREFIX = 'kcapi-';
const PER_CLUSTER: NamespaceLayout = { kind: 'per-cluster', prefix: PREFIX };
/** Create -> Ready takes 25-60 s on the test bed when it has the machine to itself. */
const READY_TIMEOUT_MS = 150_000;
/** The whole portal flow, cleanup not included. */
const FLOW_TIMEOUT_MS = 4 * 60_000;
/** Bound to cluster-admin in every tenant by the operator. */
const TENANT_ADMINS = 'kubeception:tenant-admins';
/** A group alice's key may grant that nothing in a tenant binds. */
const UNBOUND_GROUP = 'portal:auditors';
/** The API's service account as the operator's --api-service-account names it (it need not exist for RBAC). */
const API_SERVICE_ACCOUNT_NAME = 'kubeception-api';
const PROPERTY_RUNS = Number(process.env.KUBECEPTION_API_E2E_RUNS ?? 400);
const TCP_BASE = '/apis/kubeception.io/v1alpha1';

let tb: Testbed;
let host: KubeClient;
let stateNamespace: string;
let cleanupState: () => Promise<void> = async () => {};
interface Replica {
  deps: HostDependencies;
  app: FastifyInstance;
  base: string;
}
const replicas: Replica[] = [];
const keys: Record<'alice' | 'mallory' | 'reader', string> = { alice: '', mallory: '', reader: '' };

/** One API replica over the host, listening on loopback; closed with the others of `into`. */
async function startReplica(layout: NamespaceLayout = PER_CLUSTER, into: Replica[] = replicas, limits: Pick<AppDependencies, 'authFailureLimit' | 'keyFailureLimit'> = {}): Promise<Replica> {
  const deps = hostDependencies({ kubeConfig: tb.kubeConfig, namespace: stateNamespace, layout });
  await deps.start();
  const app = await buildApp({
    ...deps,
    rateLimit: { capacity: 100_000, refillPerSecond: 100_000 },
    authFailureLimit: { capacity: 100_000, refillPerSecond: 100_000 },
    keyFailureLimit: { capacity: 100_000, refillPerSecond: 100_000 },
    ...limits,
    // HTTPS, as the API serves by default: call() trusts the loopback CA and nothing else
    https: await loopbackHttps(),
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const replica = { deps, app, base };
  into.push(replica);
  return replica;
}

async function closeReplicas(list: Replica[]): Promise<void> {
  for (const { app, deps } of list.splice(0)) {
    await app.close();
    await deps.close();
  }
}

/** `kubectl auth can-i`'s answer; it exits 1 when the answer is no, so the exit code says nothing. */
function canI(kubeconfig: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(`${tb.binDir}/kubectl`, [`--kubeconfig=${kubeconfig}`, 'auth', 'can-i', ...args], (error, stdout, stderr) => {
      const answer = stdout.trim().split(/\s/)[0];
      if (answer === 'yes' || answer === 'no') resolve(answer);
      else reject(new Error(`kubectl auth can-i ${args.join(' ')} failed: ${stderr.trim() || error?.message}`));
    }),
  );
}

/**
 * The objects of tenant `id` in a host namespace, as kind/name: the operator labels and names them
 * after the tenant and the tcp owns them (docs/contracts.md), so any of the three counts.
 */
async function tenantObjects(namespace: string, id: string, uid: string): Promise<string[]> {
  const kinds = 'tenantcontrolplanes,pods,deployments,replicasets,statefulsets,services,endpointslices,secrets,configmaps,networkpolicies,poddisruptionbudgets,persistentvolumeclaims';
  const { stdout } = await tb.kubectl(['get', kinds, '-n', namespace, '-o', 'json']);
  const items: any[] = JSON.parse(stdout).items;
  return items
    .filter(
      (o) =>
        o.metadata.labels?.['kubeception.io/tenant'] === id ||
        o.metadata.name === id ||
        o.metadata.name.startsWith(`${id}-`) ||
        (o.metadata.ownerReferences ?? []).some((r: { uid: string }) => r.uid === uid),
    )
    .map((o) => `${o.kind}/${o.metadata.name}`);
}

interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON from the API under test. */
  body: any;
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await apiFetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON (the docs page)
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

const api = (method: string, path: string, options?: Parameters<typeof call>[3]) => call(replicas[0]!.base, method, path, options);

async function tcpOf(id: string): Promise<Record<string, any> | undefined> {
  try {
    return await host.request('GET', `${TCP_BASE}/namespaces/${PREFIX}${id}/tenantcontrolplanes/${id}`);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** What the operator would write once a control plane serves (here without one). */
const markReady = (id: string, endpoint?: string): Promise<void> => markClusterReady(host, `${PREFIX}${id}`, id, endpoint);

/**
 * Everything the API could change in the host. For tcps: what the API writes (spec via generation,
 * labels, annotations), not status, which an operator, if one runs, keeps updating; for the API's own
 * ConfigMaps and Secrets: their resourceVersions. Objects already being deleted are left out: they
 * vanish on their own, and an object the API deletes still shows, as one that went missing. The keys'
 * last-use record (KEY_USAGE_CONFIGMAP) is left out too: every admitted request may touch it, by design.
 */
async function hostState(): Promise<string> {
  const tcps = await host.request<{ items: any[] }>('GET', `${TCP_BASE}/tenantcontrolplanes`);
  const namespaces = await host.request<{ items: any[] }>('GET', '/api/v1/namespaces');
  const configMaps = await host.request<{ items: any[] }>('GET', `/api/v1/namespaces/${stateNamespace}/configmaps`);
  const secrets = await host.request<{ items: any[] }>('GET', `/api/v1/namespaces/${stateNamespace}/secrets`);
  const name = (o: any) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const live = (o: any) => o.metadata.deletionTimestamp === undefined;
  return [
    ...tcps.items
      .filter((o) => live(o) && o.metadata.namespace.startsWith(PREFIX))
      .map((o) => `tcp ${name(o)} generation=${o.metadata.generation} ${JSON.stringify(o.metadata.labels)} ${JSON.stringify(o.metadata.annotations)}`),
    ...namespaces.items.filter((o) => live(o) && o.metadata.name.startsWith(PREFIX)).map((o) => `ns ${name(o)}`),
    ...configMaps.items.filter((o) => live(o) && o.metadata.name !== KEY_USAGE_CONFIGMAP).map((o) => `cm ${name(o)}@${o.metadata.resourceVersion}`),
    ...secrets.items.filter(live).map((o) => `secret ${name(o)}@${o.metadata.resourceVersion}`),
  ]
    .sort()
    .join('\n');
}

before(async () => {
  tb = await testbed();
  host = new KubeClient(tb.kubeConfig);
  await tb.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=kubeception-e2e-api', '-f', GENERATED_FILES.crd]);
  await tb.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `customresourcedefinition/${CRD_NAME}`]);
  const ns = await testNamespace(tb, 'kc-api-state');
  stateNamespace = ns.name;
  cleanupState = ns.cleanup;
  const location: KeyStoreLocation = { client: host, namespace: stateNamespace };
  keys.alice = (await createApiKey(location, { account: 'alice', scopes: ['read', 'write', 'kubeconfig', 'join-tokens'], groups: [TENANT_ADMINS, UNBOUND_GROUP] })).key;
  keys.mallory = (await createApiKey(location, { account: 'mallory', scopes: ['read', 'write', 'kubeconfig', 'join-tokens'], groups: ['kubeception:tenant-admins'] })).key;
  keys.reader = (await createApiKey(location, { account: 'alice', scopes: ['read'], groups: [] })).key;
  await startReplica();
  // Discovery of a CRD can lag its Established condition.
  await eventually('the API is ready', async () => ((await api('GET', '/readyz')).status === 200 ? true : undefined), 30_000);
});

after(async () => {
  await closeReplicas(replicas);
  await deleteNamespaces(host, PREFIX);
  await cleanupState();
  await host.close();
});

test('portal flow with a live operator: create, poll until ready, kubeconfig with kubectl, join token, usage, delete, 404, usage survives a restart', { timeout: FLOW_TIMEOUT_MS }, async (t) => {
  const started = Date.now();
  const timings: string[] = [];
  const mark = (what: string) => timings.push(`${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // All clusters of this API in one namespace, and an operator that watches only that namespace (and
  // keeps its Lease there): the only tenant that runs is this test's, whatever else is on the test bed.
  const ns = await testNamespace(tb, 'kc-api-flow');
  const tcps = `${TCP_BASE}/namespaces/${ns.name}/tenantcontrolplanes`;
  const flowReplicas: Replica[] = [];
  // eslint-disable-next-line prefer-const -- assigned below, after t.after registers the cleanup (a const would be in its TDZ there)
  let operator: { stop: () => Promise<void> } | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kc-api-e2e-'));
  t.after(async () => {
    // Even after a failure: tcps go while the operator still runs their finalizer, then the operator
    // stops, then (should one be stuck) finalizers are dropped so the namespace can go.
    const left = async () => (await host.request<{ items: any[] }>('GET', tcps).catch(() => ({ items: [] }))).items;
    if ((await left()).length > 0) {
      await host.request('DELETE', tcps).catch(() => {});
      await eventually(`the tcps in ${ns.name} are gone`, async () => ((await left()).length === 0 ? true : undefined), 60_000, 1000).catch(() => {});
    }
    await operator?.stop().catch((error: Error) => t.diagnostic(`stopping the operator failed: ${error.message}`));
    for (const tcp of await left()) {
      await host.request('PATCH', `${tcps}/${tcp.metadata.name}`, { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } }).catch(() => {});
    }
    await closeReplicas(flowReplicas);
    await ns.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  operator = await runOperator(
    parseConfig([], {
      KUBECONFIG: tb.kubeconfigPath,
      WATCH_NAMESPACE: ns.name,
      LEASE_NAMESPACE: ns.name,
      METRICS_PORT: '0',
      IMAGE_PULL_POLICY: 'Never',
      CONCURRENCY: '2',
      LOG_LEVEL: 'warn',
      // The per-tcp Role that lets the API's service account read the one Secret it needs.
      API_SERVICE_ACCOUNT: `${stateNamespace}/${API_SERVICE_ACCOUNT_NAME}`,
    }),
  );
  const replica = await startReplica({ kind: 'shared', namespace: ns.name }, flowReplicas);
  const flow = (method: string, path: string, options?: Parameters<typeof call>[3]) => call(replica.base, method, path, options);
  mark('operator and API started');

  const created = await flow('POST', '/v1/clusters', { key: keys.alice, body: { name: 'portal', size: 'small' }, headers: { 'idempotency-key': `flow-${Date.now()}` } });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const id: string = created.body.id;
  const createdAt = Date.now();
  assert.equal(created.headers.get('location'), `/v1/clusters/${id}`);
  assert.match(created.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

  // The real API server accepted the object (CRD schema and CEL rules) and filled in its defaults.
  const tcp = await host.request<any>('GET', `${tcps}/${id}`);
  assert.equal(tcp.metadata.labels['kubeception.io/account'], 'alice');
  assert.equal(tcp.spec.networkProfile.serviceCIDR, '10.96.0.0/12');
  assert.equal(tcp.spec.controlPlane.replicas, 1);

  const polled = await flow('GET', `/v1/clusters/${id}`, { key: keys.alice });
  assert.equal(polled.status, 200);
  assert.ok(['Provisioning', 'Ready'].includes(polled.body.status.phase), polled.body.status.phase);
  if (!polled.body.status.ready) {
    // Nothing can be done inside a cluster that does not serve yet: the portal is told to poll.
    const early = await flow('POST', `/v1/clusters/${id}/kubeconfig`, { key: keys.alice, body: { username: 'portal:alice:portal-user', groups: [TENANT_ADMINS] } });
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.match(early.body.detail, /not ready yet/);
    assert.equal((await flow('POST', `/v1/clusters/${id}/join-tokens`, { key: keys.alice, body: {} })).status, 409);
  }

  // Poll as the portal does, until the operator reports the control plane serving.
  const view = await eventually(
    `cluster ${id} to become ready`,
    async () => {
      const got = await flow('GET', `/v1/clusters/${id}`, { key: keys.alice });
      assert.equal(got.status, 200, JSON.stringify(got.body));
      assert.notEqual(got.body.status.phase, 'Failed', JSON.stringify(got.body.status));
      return got.body.status.ready === true ? got.body : undefined;
    },
    READY_TIMEOUT_MS,
    1000,
  );
  mark(`ready (${((Date.now() - createdAt) / 1000).toFixed(1)} s after the create)`);
  assert.equal(view.status.phase, 'Ready');
  assert.equal(view.status.version, 'v1.36.5');
  assert.match(view.status.endpoint, /^https:\/\/[^/]+:\d+$/);
  const owned = await tenantObjects(ns.name, id, tcp.metadata.uid);
  assert.ok(owned.length >= 10, `the operator made the tenant's objects: ${owned.join(', ')}`);

  // Two API deployments on one host (this shared-namespace one and the per-cluster one of the other
  // tests) keep to their own clusters, even for one account: lists, gets and the meter stay apart.
  const elsewhere: string = (await api('POST', '/v1/clusters', { key: keys.alice, body: { name: 'per-cluster layout' } })).body.id;
  assert.deepEqual((await flow('GET', '/v1/clusters', { key: keys.alice })).body.items.map((c: { id: string }) => c.id), [id]);
  assert.equal((await flow('GET', `/v1/clusters/${elsewhere}`, { key: keys.alice })).status, 404);
  assert.ok(!(await api('GET', '/v1/clusters', { key: keys.alice })).body.items.some((c: { id: string }) => c.id === id));
  assert.equal((await api('GET', `/v1/clusters/${id}`, { key: keys.alice })).status, 404);
  assert.equal((await api('DELETE', `/v1/clusters/${elsewhere}`, { key: keys.alice })).status, 202);

  // The API's service account may read this cluster's portal kubeconfig and no CA key, no admin
  // kubeconfig (the operator's per-tcp Role; asked of the host's authorizer, impersonating the account).
  const apiServiceAccount = `system:serviceaccount:${stateNamespace}:${API_SERVICE_ACCOUNT_NAME}`;
  for (const [secret, answer] of [[`${id}-ca`, 'no'], [`${id}-etcd-ca`, 'no'], [`${id}-admin-kubeconfig`, 'no'], [`${id}-super-admin-kubeconfig`, 'no'], [`${id}-portal-kubeconfig`, 'yes']] as const) {
    assert.equal(await canI(tb.kubeconfigPath, ['get', `secret/${secret}`, '-n', ns.name, `--as=${apiServiceAccount}`]), answer, `the API's service account reads ${secret}: ${answer}`);
  }
  assert.equal(await canI(tb.kubeconfigPath, ['list', 'secrets', '-n', ns.name, `--as=${apiServiceAccount}`]), 'no');

  const kubectl = (kubeconfig: string, args: string[]) => run(`${tb.binDir}/kubectl`, [`--kubeconfig=${kubeconfig}`, ...args]);
  /** A kubeconfig from the API, written to a file for kubectl. */
  const kubeconfigFor = async (name: string, groups: string[]) => {
    const username = `portal:alice:${name}`;
    const issued = await flow('POST', `/v1/clusters/${id}/kubeconfig`, { key: keys.alice, body: { username, groups, ttlSeconds: 600 } });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(issued.headers.get('cache-control'), 'no-store');
    assert.equal(issued.body.username, username);
    assert.deepEqual(issued.body.groups, groups);
    const path = join(dir, `${name}.kubeconfig`);
    writeFileSync(path, issued.body.kubeconfig, { mode: 0o600 });
    return path;
  };

  // Reserved identities are refused before anything reaches the tenant: the apiserver->kubelet client
  // (bound to system:kubelet-api-admin), the operator's admin user, names outside the account's space.
  for (const [body, field] of [
    [{ username: 'kube-apiserver-kubelet-client', groups: [UNBOUND_GROUP] }, 'body.username'],
    [{ username: 'kubernetes-admin', groups: [TENANT_ADMINS] }, 'body.username'],
    [{ username: 'portal:mallory:eve', groups: [UNBOUND_GROUP] }, 'body.username'],
    [{ username: 'portal:alice:eve', groups: ['system:masters'] }, 'body.groups[0]'],
    [{ username: 'portal:alice:eve', groups: ['kubeadm:cluster-admins'] }, 'body.groups[0]'],
  ] as const) {
    const refused = await flow('POST', `/v1/clusters/${id}/kubeconfig`, { key: keys.alice, body });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.ok(refused.body.detail.startsWith(`${field}: `), refused.body.detail);
  }

  // The group the portal asks for decides what the person may do in the tenant: the operator binds
  // kubeception:tenant-admins to cluster-admin; a group the key may grant but nothing binds gets nothing.
  // The certificates come from the tenant's own signer (the API holds no CA key).
  const admin = await kubeconfigFor('portal-admin', [TENANT_ADMINS]);
  const version = JSON.parse((await kubectl(admin, ['get', '--raw', '/version'])).stdout);
  assert.equal(version.gitVersion, 'v1.36.5');
  const whoami = JSON.parse((await kubectl(admin, ['auth', 'whoami', '-o', 'json'])).stdout);
  assert.equal(whoami.status.userInfo.username, 'portal:alice:portal-admin');
  assert.deepEqual(whoami.status.userInfo.groups.filter((g: string) => g !== 'system:authenticated'), [TENANT_ADMINS]);
  assert.equal(await canI(admin, ['create', 'namespaces']), 'yes');
  const auditor = await kubeconfigFor('portal-auditor', [UNBOUND_GROUP, 'portal:alice:auditors']);
  assert.equal(JSON.parse((await kubectl(auditor, ['get', '--raw', '/version'])).stdout).gitVersion, 'v1.36.5', 'authenticated');
  const auditorWho = JSON.parse((await kubectl(auditor, ['auth', 'whoami', '-o', 'json'])).stdout);
  assert.equal(auditorWho.status.userInfo.username, 'portal:alice:portal-auditor');
  assert.deepEqual(auditorWho.status.userInfo.groups.filter((g: string) => g !== 'system:authenticated'), [UNBOUND_GROUP, 'portal:alice:auditors']);
  assert.equal(await canI(auditor, ['create', 'namespaces']), 'no');
  await assert.rejects(kubectl(auditor, ['get', 'namespaces']), /forbidden/i);
  // The API deleted its CSRs after use; its tenant identity may do what the portal needs and no more.
  const csrs = JSON.parse((await kubectl(admin, ['get', 'csr', '-o', 'json'])).stdout).items.map((c: { metadata: { name: string } }) => c.metadata.name);
  assert.deepEqual(csrs.filter((name: string) => name.startsWith('kubeception-portal-')), [], 'no CSR of the API is left behind');
  // (`signers` is no discoverable resource, so kubectl cannot ask about `approve` on it; the unit tests pin that rule.)
  for (const [args, answer] of [
    [['create', 'certificatesigningrequests.certificates.k8s.io'], 'yes'],
    [['update', 'certificatesigningrequests.certificates.k8s.io', '--subresource=approval'], 'yes'],
    [['create', 'secrets', '-n', 'kube-system'], 'yes'],
    [['list', 'nodes'], 'yes'],
    [['get', 'secrets', '-n', 'default'], 'no'],
    [['delete', 'nodes'], 'no'],
    [['create', 'namespaces'], 'no'],
  ] as const) {
    assert.equal(await canI(admin, [...args, '--as=kubeception:portal']), answer, `kubeception:portal: ${args.join(' ')}`);
  }
  mark('kubeconfigs checked with kubectl');

  // A join token: the bootstrap-token Secret is in the tenant, and the join command pins the tenant CA.
  const minted = await flow('POST', `/v1/clusters/${id}/join-tokens`, { key: keys.alice, body: { ttlSeconds: 3600, description: 'portal flow' } });
  assert.equal(minted.status, 201, JSON.stringify(minted.body));
  const [tokenId, tokenSecret] = minted.body.token.split('.');
  const stored = JSON.parse((await kubectl(admin, ['get', 'secret', '-n', 'kube-system', `bootstrap-token-${tokenId}`, '-o', 'json'])).stdout);
  assert.equal(stored.type, 'bootstrap.kubernetes.io/token');
  assert.equal(Buffer.from(stored.data['token-secret'], 'base64').toString('utf8'), tokenSecret);
  assert.equal(Buffer.from(stored.data['usage-bootstrap-authentication'], 'base64').toString('utf8'), 'true');
  const ca = await host.request<any>('GET', `/api/v1/namespaces/${ns.name}/secrets/${id}-ca`);
  const caCertPem = Buffer.from(ca.data['ca.crt'], 'base64').toString('utf8');
  // kubeadm's documented way to compute the discovery hash, independent of our code.
  const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: caCertPem }) });
  const expectedHash = `sha256:${createHash('sha256').update(spki).digest('hex')}`;
  assert.equal(minted.body.joinCommand, `kubeadm join ${new URL(view.status.endpoint).host} --token ${minted.body.token} --discovery-token-ca-cert-hash ${expectedHash}`);
  const listed = await flow('GET', `/v1/clusters/${id}/join-tokens`, { key: keys.alice });
  assert.ok(listed.body.items.some((token: { id: string; description: string | null }) => token.id === tokenId && token.description === 'portal flow'), JSON.stringify(listed.body));
  assert.ok(!JSON.stringify(listed.body).includes(tokenSecret), 'lists never show the secret');
  assert.equal((await flow('DELETE', `/v1/clusters/${id}/join-tokens/${tokenId}`, { key: keys.alice })).status, 204);
  await assert.rejects(kubectl(admin, ['get', 'secret', '-n', 'kube-system', `bootstrap-token-${tokenId}`]), /not ?found/i);
  mark('join token checked');

  const usage = await flow('GET', '/v1/usage', { key: keys.alice });
  assert.equal(usage.status, 200);
  const mine = usage.body.clusters.find((c: { clusterId: string }) => c.clusterId === id);
  assert.ok(mine?.controlPlaneHours.small > 0, JSON.stringify(usage.body));
  assert.equal(mine.deletedAt, null);
  // The metering pass (in a deployment: the replica holding the metering Lease, every minute) stores it.
  assert.deepEqual((await replica.app.meter.tick()).failed, []);

  const deleted = await flow('DELETE', `/v1/clusters/${id}`, { key: keys.alice });
  assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
  assert.equal(deleted.body.status.phase, 'Deleting');
  const deletedAt = Date.now();
  await eventually(`cluster ${id} answers 404`, async () => ((await flow('GET', `/v1/clusters/${id}`, { key: keys.alice })).status === 404 ? true : undefined), 60_000, 500);
  mark(`404 (${((Date.now() - deletedAt) / 1000).toFixed(1)} s after the delete)`);
  // The tcp owned everything the operator made: the host's garbage collector takes it all.
  await eventually(
    `the tenant objects of ${id} leave ${ns.name}`,
    async () => ((await tenantObjects(ns.name, id, tcp.metadata.uid)).length === 0 ? true : undefined),
    120_000,
    1000,
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}; left: ${(await tenantObjects(ns.name, id, tcp.metadata.uid)).join(', ')}`);
  });
  mark(`tenant objects gone (${((Date.now() - deletedAt) / 1000).toFixed(1)} s after the delete)`);
  assert.deepEqual((await host.request<{ items: unknown[] }>('GET', tcps)).items, []);
  assert.deepEqual((await replica.app.meter.tick()).failed, []);

  // A new API process (nothing in memory) still bills the deleted cluster, and stopped at the deletion.
  const fresh = await startReplica({ kind: 'shared', namespace: ns.name }, flowReplicas);
  const billed = await call(fresh.base, 'GET', '/v1/usage', { key: keys.alice });
  const record = billed.body.clusters.find((c: { clusterId: string }) => c.clusterId === id);
  assert.ok(record !== undefined, 'usage of the deleted cluster is still there');
  assert.notEqual(record.deletedAt, null);
  assert.ok(record.controlPlaneHours.small >= mine.controlPlaneHours.small);
  const perCluster = await call(fresh.base, 'GET', `/v1/clusters/${id}/usage`, { key: keys.alice });
  assert.equal(perCluster.status, 200);
  assert.equal(perCluster.body.usage.controlPlaneHours.total, record.controlPlaneHours.total);
  mark('done');
  t.diagnostic(`timings: ${timings.join('; ')}`);
});

test("another account gets 404 on every route of the first account's cluster, and nothing changes", async () => {
  const id: string = (await api('POST', '/v1/clusters', { key: keys.alice, body: { name: 'private' } })).body.id;
  await markReady(id);
  const before = await hostState();
  const table: [string, string, unknown?][] = [
    ['GET', `/v1/clusters/${id}`],
    ['PATCH', `/v1/clusters/${id}`, { size: 'large' }],
    ['PATCH', `/v1/clusters/${id}`, { version: 'v1.36.5', name: 'mine now' }],
    ['DELETE', `/v1/clusters/${id}`],
    ['POST', `/v1/clusters/${id}/kubeconfig`, { username: 'mallory', groups: ['kubeception:tenant-admins'] }],
    ['POST', `/v1/clusters/${id}/join-tokens`, {}],
    ['GET', `/v1/clusters/${id}/join-tokens`],
    ['DELETE', `/v1/clusters/${id}/join-tokens/abcdef`],
    ['GET', `/v1/clusters/${id}/usage`],
  ];
  for (const [method, path, body] of table) {
    const answer = await api(method, path, { key: keys.mallory, ...(body === undefined ? {} : { body }) });
    assert.equal(answer.status, 404, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(answer.body.detail, `cluster ${id} not found`, `${method} ${path}`);
  }
  const list = await api('GET', '/v1/clusters', { key: keys.mallory });
  assert.ok(!list.body.items.some((c: { id: string }) => c.id === id));
  const usage = await api('GET', '/v1/usage', { key: keys.mallory });
  assert.ok(!usage.body.clusters.some((c: { clusterId: string }) => c.clusterId === id));
  assert.equal(await hostState(), before);
  // The owner still has it, unchanged.
  const mine = await api('GET', `/v1/clusters/${id}`, { key: keys.alice });
  assert.equal(mine.body.size, 'small');
  assert.equal(mine.body.name, 'private');
});

/** ajv configured as the API validates: defaults, coercion for query strings. */
function compileValidators(openapi: any) {
  const ajv = new Ajv({ strict: false, coerceTypes: 'array', useDefaults: true, allowUnionTypes: true });
  formatsModule.default(ajv);
  ajv.addSchema({ $id: 'doc', components: openapi.components });
  const compile = (schema: unknown): ValidateFunction => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"doc#/components')));
  const operations: { method: string; path: string; body?: ValidateFunction; query: ValidateFunction; queryNames: string[] }[] = [];
  for (const [path, methods] of Object.entries<any>(openapi.paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const [method, op] of Object.entries<any>(methods)) {
      const queryParams = (op.parameters ?? []).filter((p: any) => p.in === 'query');
      const querySchema = {
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(queryParams.map((p: any) => [p.name, p.schema])),
      };
      operations.push({
        method: method.toUpperCase(),
        path,
        query: compile(querySchema),
        queryNames: queryParams.map((p: any) => p.name),
        ...(op.requestBody ? { body: compile(op.requestBody.content['application/json'].schema) } : {}),
      });
    }
  }
  return operations;
}

test('property: generated invalid bodies, query strings and headers never give a 5xx and never change state', async (t) => {
  const id: string = (await api('POST', '/v1/clusters', { key: keys.alice, body: { name: 'target' } })).body.id;
  await markReady(id);
  const openapi = (await api('GET', '/openapi.json')).body;
  const operations = compileValidators(openapi);
  assert.ok(operations.length >= 12);
  const before = await hostState();

  const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
  const pathValue = fc.oneof(fc.constant(id), fc.constant('cnotmine0000'), fc.string({ maxLength: 20 }));
  const tokenId = fc.oneof(fc.constant('abcdef'), fc.string({ maxLength: 10 }));
  const json = fc.jsonValue({ maxDepth: 3 });

  type Case = { op: (typeof operations)[number]; id: string; tokenId: string; fault: { kind: string; value: unknown } };
  const faultFor = (op: (typeof operations)[number]) => {
    const faults: fc.Arbitrary<{ kind: string; value: unknown }>[] = [
      // Query strings: names and values the operation's schema refuses (unknown names, bad values).
      fc
        .dictionary(fc.oneof(fc.constantFrom(...op.queryNames, 'limit', 'from', 'force'), printable.filter((s) => s.length > 0)), printable, { minKeys: 1, maxKeys: 3 })
        .filter((q) => !op.query(structuredClone(q)))
        .map((value) => ({ kind: 'query', value })),
      // Credentials that are not an API key.
      printable.map((value) => ({ kind: 'authorization', value })),
    ];
    if (op.body !== undefined) {
      const validate = op.body;
      faults.push(json.filter((body) => !validate(structuredClone(body))).map((value) => ({ kind: 'body', value })));
      faults.push(
        printable
          // An empty body is no body: valid where every field is optional (a join token's).
          .filter((raw) => raw !== '')
          .filter((raw) => {
            try {
              JSON.parse(raw);
              return false;
            } catch {
              return true;
            }
          })
          .map((value) => ({ kind: 'raw', value })),
      );
      faults.push(printable.filter((ct) => !/json/i.test(ct) && ct.trim() !== '').map((value) => ({ kind: 'content-type', value })));
    }
    if (op.method === 'POST' && op.path === '/v1/clusters') {
      faults.push(
        fc.oneof(fc.string({ minLength: 256, maxLength: 300 }), fc.constant(''), fc.constant('has space')).map((value) => ({ kind: 'idempotency-key', value })),
      );
    }
    return fc.oneof(...faults);
  };
  const cases: fc.Arbitrary<Case> = fc
    .constantFrom(...operations)
    .chain((op) => fc.record({ op: fc.constant(op), id: pathValue, tokenId, fault: faultFor(op) }));

  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(cases, async ({ op, id: pathId, tokenId: token, fault }) => {
      let path = op.path.replace('{id}', encodeURIComponent(pathId)).replace('{tokenId}', encodeURIComponent(token));
      const options: Parameters<typeof call>[3] = { key: keys.alice, headers: {} };
      const validBody = op.path === '/v1/clusters' ? { name: 'should-not-exist' } : op.path.endsWith('/kubeconfig') ? { username: 'portal:alice:u', groups: ['kubeception:tenant-admins'] } : op.method === 'PATCH' ? { size: 'large' } : {};
      if (op.body !== undefined) options.body = validBody;
      switch (fault.kind) {
        case 'query':
          path += `?${new URLSearchParams(fault.value as Record<string, string>).toString()}`;
          break;
        case 'authorization':
          options.headers!.authorization = fault.value as string;
          delete options.key;
          break;
        case 'body':
          options.body = fault.value;
          break;
        case 'raw':
          delete options.body;
          options.rawBody = fault.value as string;
          options.headers!['content-type'] = 'application/json';
          break;
        case 'content-type':
          delete options.body;
          options.rawBody = JSON.stringify(validBody);
          options.headers!['content-type'] = fault.value as string;
          break;
        case 'idempotency-key':
          options.headers!['idempotency-key'] = fault.value as string;
          break;
      }
      const answer = await call(replicas[0]!.base, op.method, path, options).catch((error: Error) => {
        // undici refuses some header values client-side: that request never reached the API.
        if (/header/i.test(error.message) || error.name === 'TypeError') return undefined;
        throw error;
      });
      if (answer === undefined) return;
      const key = `${op.method} ${op.path} ${fault.kind} -> ${answer.status}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      assert.ok(answer.status < 500, `${op.method} ${path} (${fault.kind}: ${JSON.stringify(fault.value)}) answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      assert.ok(answer.status >= 400, `${op.method} ${path} (${fault.kind}: ${JSON.stringify(fault.value)}) was accepted with ${answer.status}`);
      assert.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(typeof answer.body.detail, 'string');
      assert.ok(answer.body.detail.length > 0);
    }),
    { numRuns: PROPERTY_RUNS },
  );
  assert.equal(await hostState(), before, 'no request changed anything in the host');
  const outcomes = [...seen].sort().map(([k, n]) => `${k} x${n}`);
  t.diagnostic(`outcomes:\n${outcomes.join('\n')}`);
  // The generated requests reached many routes with many kinds of faults.
  assert.ok(new Set([...seen.keys()].map((k) => k.split(' ').slice(0, 2).join(' '))).size >= 10, outcomes.join('\n'));
});

test('20 parallel creates with one Idempotency-Key, spread over two API replicas, make one cluster', async () => {
  while (replicas.length < 2) await startReplica();
  const [a, b] = replicas as [(typeof replicas)[number], (typeof replicas)[number]];
  const key = `burst-${Date.now()}`;
  const body = { name: 'burst', size: 'medium' };
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => call((i % 2 === 0 ? a : b).base, 'POST', '/v1/clusters', { key: keys.alice, body, headers: { 'idempotency-key': key } })),
  );
  assert.deepEqual([...new Set(answers.map((r) => r.status))], [202], JSON.stringify(answers.map((r) => r.body)));
  const ids = new Set(answers.map((r) => r.body.id));
  assert.equal(ids.size, 1, `ids: ${[...ids].join(', ')}`);
  const [id] = [...ids] as [string];
  const tcps = await host.request<{ items: any[] }>('GET', `${TCP_BASE}/tenantcontrolplanes`, { query: { labelSelector: 'kubeception.io/account=alice' } });
  const burst = tcps.items.filter((o) => o.metadata.annotations?.['kubeception.io/display-name'] === 'burst');
  assert.deepEqual(burst.map((o) => o.metadata.name), [id]);
  assert.equal(burst[0].spec.controlPlane.replicas, 2);

  const replay = await call(b.base, 'POST', '/v1/clusters', { key: keys.alice, body: { size: 'medium', name: 'burst' }, headers: { 'idempotency-key': key } });
  assert.equal(replay.status, 202);
  assert.equal(replay.body.id, id);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  const changed = await call(a.base, 'POST', '/v1/clusters', { key: keys.alice, body: { name: 'burst', size: 'large' }, headers: { 'idempotency-key': key } });
  assert.equal(changed.status, 422);
  assert.match(changed.body.detail, /different request/);
});

test('kubeconfig, join tokens and node counts against a real API server (the host cluster stands in for a ready tenant)', async (t) => {
  const id: string = (await api('POST', '/v1/clusters', { key: keys.alice, body: { name: 'stand-in' } })).body.id;
  const namespace = `${PREFIX}${id}`;
  // What the operator would have made: the API's portal kubeconfig Secret (the only one it reads; no CA
  // key anywhere), and a Ready status. The host's admin kubeconfig stands in for the portal identity and
  // the host API server for the tenant: its kube-controller-manager signs the API's CSRs with the host CA.
  const secret = (name: string, data: Record<string, string>) =>
    host.request('POST', `/api/v1/namespaces/${namespace}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) },
    });
  const caCertPem = readFileSync(join(testbedConfig.pkiDir, 'ca.crt'), 'utf8');
  await secret(`${id}-portal-kubeconfig`, { 'portal.conf': readFileSync(tb.kubeconfigPath, 'utf8') });
  const apiCsrs = async () =>
    (await host.request<{ items: { metadata: { name: string } }[] }>('GET', '/apis/certificates.k8s.io/v1/certificatesigningrequests')).items.map((c) => c.metadata.name).filter((n) => n.startsWith('kubeception-portal-'));
  const csrsBefore = await apiCsrs();
  const endpoint = tb.kubeConfig.getCurrentCluster()!.server;
  await markReady(id, endpoint);
  await eventually('the API sees the cluster ready', async () => ((await api('GET', `/v1/clusters/${id}`, { key: keys.alice })).body.status.ready ? true : undefined), 10_000, 200);

  const dir = mkdtempSync(join(tmpdir(), 'kc-api-e2e-'));
  try {
    const issued = await api('POST', `/v1/clusters/${id}/kubeconfig`, { key: keys.alice, body: { username: 'portal:alice:e2e-portal-user', groups: ['kubeception:tenant-admins'], ttlSeconds: 600 } });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(issued.headers.get('cache-control'), 'no-store');
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, issued.body.kubeconfig, { mode: 0o600 });
    const whoami = JSON.parse((await tb.kubectl(['auth', 'whoami', '-o', 'json', `--kubeconfig=${path}`])).stdout);
    assert.equal(whoami.status.userInfo.username, 'portal:alice:e2e-portal-user');
    assert.deepEqual(whoami.status.userInfo.groups.filter((g: string) => g !== 'system:authenticated'), ['kubeception:tenant-admins']);
    // Signed by the "tenant's" signer for the TTL asked (expirationSeconds), pinned to its CA, CSR gone.
    const issuedCert = new X509Certificate(Buffer.from(parseYaml(issued.body.kubeconfig).users[0].user['client-certificate-data'], 'base64'));
    assert.ok(issuedCert.verify(new X509Certificate(caCertPem).publicKey));
    assert.ok(Math.abs(issuedCert.validToDate.getTime() - Date.parse(issued.body.expiresAt)) < 1000);
    assert.ok(issuedCert.validToDate.getTime() - Date.now() <= 600_000 + 5000, `no longer than asked: ${issuedCert.validTo}`);
    assert.deepEqual(await apiCsrs(), csrsBefore, 'the API deleted its CSR');
    const kubelet = await api('POST', `/v1/clusters/${id}/kubeconfig`, { key: keys.alice, body: { username: 'kube-apiserver-kubelet-client', groups: ['kubeception:tenant-admins'] } });
    assert.equal(kubelet.status, 422, JSON.stringify(kubelet.body));
    assert.match(kubelet.body.detail, /^body\.username: "kube-apiserver-kubelet-client" can never be issued/);
    const masters = await api('POST', `/v1/clusters/${id}/kubeconfig`, { key: keys.alice, body: { username: 'portal:alice:x', groups: ['system:masters'] } });
    assert.equal(masters.status, 422);
    assert.deepEqual(await apiCsrs(), csrsBefore, 'refused identities never became a CSR');

    const minted = await api('POST', `/v1/clusters/${id}/join-tokens`, { key: keys.alice, body: { ttlSeconds: 900, description: 'api e2e' } });
    assert.equal(minted.status, 201, JSON.stringify(minted.body));
    const [tokenId, tokenSecret] = minted.body.token.split('.');
    // kubeadm's documented way to compute the discovery hash, independent of our code.
    const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: caCertPem }) });
    const expectedHash = `sha256:${createHash('sha256').update(spki).digest('hex')}`;
    const hostPort = new URL(endpoint).host;
    assert.equal(minted.body.joinCommand, `kubeadm join ${hostPort} --token ${minted.body.token} --discovery-token-ca-cert-hash ${expectedHash}`);
    const stored = await host.request<any>('GET', `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${tokenId}`);
    const value = (k: string) => Buffer.from(stored.data[k], 'base64').toString('utf8');
    assert.equal(stored.type, 'bootstrap.kubernetes.io/token');
    assert.equal(value('token-secret'), tokenSecret);
    assert.equal(value('auth-extra-groups'), 'system:bootstrappers:kubeadm:default-node-token');
    assert.equal(value('usage-bootstrap-authentication'), 'true');
    assert.equal(value('expiration'), minted.body.expiresAt.replace(/\.\d{3}Z$/, 'Z'));
    // The bootstrap token authenticator accepts it, where the API server runs one (tenants do; the
    // test bed host may not, then it answers Unauthorized for every token).
    const asToken = await run(`${tb.binDir}/kubectl`, ['auth', 'whoami', '-o', 'json', `--server=${endpoint}`, `--token=${minted.body.token}`, `--certificate-authority=${join(testbedConfig.pkiDir, 'ca.crt')}`]).then(
      (r) => JSON.parse(r.stdout),
      (error: Error) => {
        assert.match(error.message, /Unauthorized/);
        t.diagnostic('the host API server has no bootstrap-token authenticator: token login not checked');
        return undefined;
      },
    );
    if (asToken !== undefined) assert.equal(asToken.status.userInfo.username, `system:bootstrap:${tokenId}`);

    const listed = await api('GET', `/v1/clusters/${id}/join-tokens`, { key: keys.alice });
    assert.ok(listed.body.items.some((t: { id: string; description: string }) => t.id === tokenId && t.description === 'api e2e'));
    assert.ok(!JSON.stringify(listed.body).includes(tokenSecret));
    assert.equal((await api('DELETE', `/v1/clusters/${id}/join-tokens/${tokenId}`, { key: keys.alice })).status, 204);
    await assert.rejects(host.request('GET', `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${tokenId}`), /404/);
    assert.equal((await api('DELETE', `/v1/clusters/${id}/join-tokens/${tokenId}`, { key: keys.alice })).status, 404);

    // Node hours: the metering loop counts the nodes of the "tenant".
    const nodes = (await host.request<{ items: unknown[] }>('GET', '/api/v1/nodes')).items.length;
    await replicas[0]!.app.meter.tick();
    await sleep(1200);
    const usage = await api('GET', `/v1/clusters/${id}/usage`, { key: keys.alice });
    assert.ok(nodes === 0 || usage.body.usage.nodeHours > 0, JSON.stringify(usage.body));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await api('DELETE', `/v1/clusters/${id}`, { key: keys.alice });
  }
});

test('the periodic tasks: metering closes usage of a cluster deleted behind the API, orphans and expired keys are collected', async () => {
  const { app, deps } = replicas[0]!;
  const id: string = (await api('POST', '/v1/clusters', { key: keys.alice, body: { name: 'out-of-band' }, headers: { 'idempotency-key': `oob-${Date.now()}` } })).body.id;
  await host.request('DELETE', `${TCP_BASE}/namespaces/${PREFIX}${id}/tenantcontrolplanes/${id}`);
  await eventually(`tcp ${id} is gone`, async () => ((await tcpOf(id)) === undefined ? true : undefined), 30_000);
  // The replica's cache saw it leave (the meter bills it up to then, though no pass saw it before).
  await eventually(`the cache lets go of ${id}`, async () => ((await deps.clusters.list()).some((t) => t.metadata.name === id) ? undefined : true), 10_000, 100);

  const tick = await app.meter.tick();
  assert.ok(tick.written >= 1, JSON.stringify(tick));
  const usage = await api('GET', `/v1/clusters/${id}/usage`, { key: keys.alice });
  assert.equal(usage.status, 200);
  assert.notEqual(usage.body.usage.deletedAt, null, 'billing stopped when the cluster left');
  assert.equal((await app.meter.tick()).written, 0, 'a second pass has nothing to write');

  // Its namespace is an orphan now; collected once the grace period (for creates in flight) is over.
  assert.equal(await deps.clusters.collectGarbage(new Date()), 0, 'not within the grace period');
  assert.ok((await deps.clusters.collectGarbage(new Date(Date.now() + 10 * 60_000))) >= 1);
  await eventually(`namespace ${PREFIX}${id} is deleted`, async () =>
    host.request<any>('GET', `/api/v1/namespaces/${PREFIX}${id}`).then(
      (ns) => (ns.metadata.deletionTimestamp !== undefined ? true : undefined),
      () => true,
    ),
  );

  // Idempotency records live 24 h.
  assert.equal(await deps.idempotency.expire(new Date()), 0);
  assert.ok((await deps.idempotency.expire(new Date(Date.now() + 25 * 3600_000))) >= 2);
});

test('authentication on the real key store: expired keys say so, a guessed prefix is limited, an address flooding bad keys cannot lock out a valid key, last use is recorded outside the key store', async (t) => {
  const location: KeyStoreLocation = { client: host, namespace: stateNamespace };
  const own: Replica[] = [];
  try {
    // the product's failure limits, not the generous ones of the other tests
    const replica = await startReplica(PER_CLUSTER, own, { authFailureLimit: DEFAULT_AUTH_FAILURE_LIMIT, keyFailureLimit: DEFAULT_KEY_FAILURE_LIMIT });
    const list = (key: string) => call(replica.base, 'GET', '/v1/clusters', { key });
    const keyStoreVersion = async () => (await host.request<any>('GET', `/api/v1/namespaces/${stateNamespace}/secrets/${API_KEYS_SECRET}`)).metadata.resourceVersion as string;
    const storeBefore = await keyStoreVersion();

    // 1. a key that expires in 6 s: admitted now, 401 "expired" after
    const expiresAt = new Date(Date.now() + 6000).toISOString();
    const expiring = (await createApiKey(location, { account: 'alice', scopes: ['read'], groups: [], expiresAt })).key;
    const storeWithNewKey = await keyStoreVersion();
    // the replica re-reads the key store for an unknown key at most once a second
    await eventually('the new key is admitted before its expiry', async () => ((await list(expiring)).status === 200 ? true : undefined), 4000, 250);
    await sleep(Math.max(0, Date.parse(expiresAt) - Date.now()) + 500);
    const expired = await list(expiring);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.detail, `this API key expired at ${expiresAt}; ask for a new one`);

    // 2. guesses sharing one prefix (what a leaked beginning of a key allows): limited after the burst
    const guess = () => `kc_Guess123${generateApiKey().slice(11)}`;
    const guesses: number[] = [];
    for (let i = 0; i <= DEFAULT_KEY_FAILURE_LIMIT.capacity; i++) guesses.push((await list(guess())).status);
    assert.deepEqual(guesses, [...Array<number>(DEFAULT_KEY_FAILURE_LIMIT.capacity).fill(401), 429], 'the prefix bucket runs dry');
    assert.match((await list(guess())).body.detail, /too many failed authentications with keys beginning like this one/);

    // 3. one address (everyone behind an ingress) floods random keys until it is limited...
    let flooded = 0;
    let answer = await list(generateApiKey());
    while (answer.status === 401 && flooded < 3 * DEFAULT_AUTH_FAILURE_LIMIT.capacity) {
      flooded++;
      answer = await list(generateApiKey());
    }
    assert.equal(answer.status, 429, `the address is limited after ${flooded} more failures`);
    assert.match(answer.body.detail, /too many failed authentications from this address/);
    // ...and valid keys from that same address keep working, interleaved with the flood
    for (let i = 0; i < 5; i++) {
      assert.equal((await list(generateApiKey())).status, 429, 'the flood stays limited');
      assert.equal((await list(keys.alice)).status, 200, 'a valid key is admitted before any address limit');
      assert.equal((await list(keys.reader)).status, 200);
    }
    t.diagnostic(`address limited after ${flooded + 1} flood requests (after the prefix guesses); valid keys admitted throughout`);

    // 4. last use lands in its own ConfigMap; the key store Secret is written by keys-cli only
    const used = await eventually('the last use of the expiring key is recorded', async () => (await readKeyUsage(location)).get(hashApiKey(expiring)), 10_000, 200);
    assert.ok(Date.parse(used) < Date.parse(expiresAt), `used while it was valid (${used}), and not recorded when refused`);
    assert.ok((await readKeyUsage(location)).has(hashApiKey(keys.alice)));
    assert.notEqual(storeWithNewKey, storeBefore, 'createApiKey (keys-cli) wrote the key store');
    assert.equal(await keyStoreVersion(), storeWithNewKey, 'the API never wrote the key store');
  } finally {
    await closeReplicas(own);
  }
});

test('health, readiness, versions, OpenAPI and docs are served', async () => {
  assert.equal((await api('GET', '/healthz')).status, 200);
  assert.equal((await api('GET', '/readyz')).status, 200);
  const versions = await api('GET', '/v1/versions', { key: keys.reader });
  assert.equal(versions.status, 200);
  assert.ok(versions.body.versions.length > 0);
  const readerCreate = await api('POST', '/v1/clusters', { key: keys.reader, body: { name: 'x' } });
  assert.equal(readerCreate.status, 403);
  const openapi = await api('GET', '/openapi.json');
  assert.equal(openapi.body.openapi, '3.1.0');
  const docs = await api('GET', '/docs');
  assert.match(String(docs.body), /<h1>Kubeception API/);
});
