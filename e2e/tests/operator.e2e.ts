// The operator against the real test bed, end to end: one TenantControlPlane (NodePort) is created while
// the operator is killed (SIGKILL) at random points, then reconciled by an in-process operator until the
// tenant API server really serves; its children, certificates and status are checked; children are
// deleted and must come back with the same CA; a child the API server refuses shows in the status and
// recovers; a deleted CA raises an alarm instead of a new CA; and deleting the tcp removes everything.
//
// The operator here only watches this test's namespace and keeps its Lease there, so it never touches
// other engineers' tenants on the shared test bed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { eventually, testbed, testNamespace, type Testbed } from '../support/testbed.ts';
import { testbedConfig } from '../testbed/config.ts';
import { run } from '../testbed/exec.ts';
import { OperatorProcess } from '../bench/operator-process.ts';
import { runOperator } from '../../operator/main.ts';
import { parseConfig, type OperatorConfig } from '../../operator/config.ts';
import { FINALIZER, KubeClient, apply, isNotFound, type Applicable, type TenantControlPlane } from '../../core/index.ts';

const NAME = 'demo';
const GROUP_PATH = '/apis/kubeception.io/v1alpha1';
const tcpPath = (ns: string, name = '') => `${GROUP_PATH}/namespaces/${ns}/tenantcontrolplanes${name ? `/${name}` : ''}`;

/** Every host object of tenant `demo` (docs/contracts.md), by collection. */
const COLLECTIONS = {
  Secret: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  Service: (ns: string) => `/api/v1/namespaces/${ns}/services`,
  ConfigMap: (ns: string) => `/api/v1/namespaces/${ns}/configmaps`,
  StatefulSet: (ns: string) => `/apis/apps/v1/namespaces/${ns}/statefulsets`,
  Deployment: (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`,
  NetworkPolicy: (ns: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`,
  PodDisruptionBudget: (ns: string) => `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`,
} as const;
type Kind = keyof typeof COLLECTIONS;

const EXPECTED: Record<Kind, string[]> = {
  Secret: [
    'demo-ca', 'demo-etcd-ca', 'demo-front-proxy-ca', 'demo-sa', 'demo-apiserver-certs', 'demo-etcd-certs',
    'demo-admin-kubeconfig', 'demo-super-admin-kubeconfig', 'demo-kubeconfig', 'demo-controller-manager-kubeconfig', 'demo-scheduler-kubeconfig',
    'demo-konnectivity-server-kubeconfig', 'demo-portal-kubeconfig',
  ],
  Service: ['demo-apiserver', 'demo-etcd'],
  ConfigMap: ['demo-apiserver-config'],
  StatefulSet: ['demo-etcd'],
  Deployment: ['demo-control-plane'],
  NetworkPolicy: ['demo-etcd'],
  PodDisruptionBudget: ['demo-control-plane', 'demo-etcd'],
};
/** Objects every namespace has, not made by the operator. */
const NOT_OURS = new Set(['ConfigMap/kube-root-ca.crt']);

interface Meta {
  name: string;
  uid: string;
  labels?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
}
interface Obj {
  metadata: Meta;
  data?: Record<string, string>;
  [k: string]: unknown;
}

const secretData = (secret: Obj, key: string): Buffer => {
  const value = secret.data?.[key];
  assert.ok(value, `Secret ${secret.metadata.name} has no key ${key}`);
  return Buffer.from(value, 'base64');
};

/** Every object of the operator's kinds in the namespace, as "Kind/name" -> object. */
async function namespaceObjects(client: KubeClient, ns: string): Promise<Map<string, Obj>> {
  const out = new Map<string, Obj>();
  for (const [kind, path] of Object.entries(COLLECTIONS) as [Kind, (ns: string) => string][]) {
    const list = await client.request<{ items: Obj[] }>('GET', path(ns));
    for (const item of list.items) if (!NOT_OURS.has(`${kind}/${item.metadata.name}`)) out.set(`${kind}/${item.metadata.name}`, item);
  }
  return out;
}

const expectedKeys = () => Object.entries(EXPECTED).flatMap(([kind, names]) => names.map((n) => `${kind}/${n}`)).sort();

async function readTcp(client: KubeClient, ns: string): Promise<TenantControlPlane | undefined> {
  return client.request<TenantControlPlane>('GET', tcpPath(ns, NAME)).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
}

async function readObject(client: KubeClient, kind: Kind, ns: string, name: string): Promise<Obj | undefined> {
  return client.request<Obj>('GET', `${COLLECTIONS[kind](ns)}/${name}`).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
}

const conditionOf = (tcp: TenantControlPlane | undefined, type: string) => tcp?.status?.conditions?.find((c) => c.type === type);

/** The four roots of the tenant's PKI: uid and bytes, which must never change once created. */
interface RootIdentity {
  uid: string;
  crt: string;
}
async function roots(client: KubeClient, ns: string): Promise<Map<string, RootIdentity>> {
  const out = new Map<string, RootIdentity>();
  for (const [name, key] of [['demo-ca', 'ca.crt'], ['demo-etcd-ca', 'ca.crt'], ['demo-front-proxy-ca', 'ca.crt'], ['demo-sa', 'sa.pub']] as const) {
    const secret = await readObject(client, 'Secret', ns, name);
    if (secret?.data?.[key]) out.set(name, { uid: secret.metadata.uid, crt: secret.data[key] });
  }
  return out;
}

function assertSameRoots(first: Map<string, RootIdentity>, now: Map<string, RootIdentity>, when: string): void {
  for (const [name, identity] of first) {
    const current = now.get(name);
    assert.ok(current, `${when}: ${name} disappeared`);
    assert.equal(current.uid, identity.uid, `${when}: ${name} was re-created (uid changed)`);
    assert.equal(current.crt, identity.crt, `${when}: ${name} has a different CA`);
  }
}

/** `openssl x509 -text` facts of one certificate. */
async function certFacts(file: string): Promise<{ subject: string; text: string; sans: string[] }> {
  const { stdout: subject } = await run('openssl', ['x509', '-in', file, '-noout', '-subject', '-nameopt', 'RFC2253']);
  const { stdout: text } = await run('openssl', ['x509', '-in', file, '-noout', '-text']);
  const sanLine = /X509v3 Subject Alternative Name:.*\n\s*(.*)\n/.exec(text)?.[1] ?? '';
  const sans = sanLine.split(',').map((s) => s.trim()).filter(Boolean);
  return { subject: subject.trim(), text, sans };
}

/** True when a DNS SAN list covers `host` exactly or by a one-label wildcard. */
const covers = (sans: string[], host: string) =>
  sans.includes(`DNS:${host}`) || sans.some((s) => s.startsWith('DNS:*.') && host.endsWith(s.slice(5)) && !host.slice(0, -s.slice(5).length).includes('.'));

function operatorConfig(tb: Testbed, ns: string): OperatorConfig {
  return {
    ...parseConfig([], {}),
    kubeconfig: tb.kubeconfigPath,
    namespace: ns,
    leaseNamespace: ns,
    metricsPort: 0,
    concurrency: 2,
    imagePullPolicy: 'Never',
    // The PKI alarm of step (e) is logged at error level on purpose; OPERATOR_E2E_LOG_LEVEL=info shows everything.
    logLevel: process.env.OPERATOR_E2E_LOG_LEVEL ?? 'fatal',
  };
}

test('the operator builds a tenant control plane that serves, survives crashes and deletions, and cleans up', { timeout: 600_000 }, async (t) => {
  const tb = await testbed();
  const client = new KubeClient(tb.kubeConfig);
  const { name: ns, cleanup } = await testNamespace(tb, 'op-e2e');
  const dir = mkdtempSync(join(tmpdir(), 'kubeception-operator-e2e-'));
  // A restarted operator container keeps its pod name, and so its Lease identity: it takes over at once.
  const identity = `operator-e2e-${ns}`;
  process.env.POD_NAME = identity;
  let operator: { stop: () => Promise<void> } | undefined;
  const children: OperatorProcess[] = [];
  t.after(async () => {
    for (const child of children) await child.kill();
    await operator?.stop();
    if (!process.env.KUBECEPTION_KEEP_TEST_NAMESPACES) {
      // The finalizer needs the operator: if a step failed before the tcp was deleted, drop it by hand.
      await client.request('PATCH', tcpPath(ns, NAME), { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } }).catch(() => undefined);
      await cleanup();
    }
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The CRD: the operator installs it at start, but the tcp is created before any operator runs.
  const crd = parse(readFileSync(join(testbedConfig.repoRoot, 'crds', 'kubeception.io_tenantcontrolplanes.yaml'), 'utf8')) as Applicable;
  await apply(client, crd, { fieldManager: 'kubeception-operator' });
  await eventually('the TenantControlPlane CRD to be served', () => client.request('GET', tcpPath(ns)), 30_000);
  await client.request('POST', tcpPath(ns), {
    body: {
      apiVersion: 'kubeception.io/v1alpha1',
      kind: 'TenantControlPlane',
      metadata: { name: NAME, namespace: ns },
      spec: { version: testbedConfig.versions.kubernetes, networkProfile: { serviceType: 'NodePort' } },
    },
  });

  let firstRoots = new Map<string, RootIdentity>();
  // Later steps build on the converged tenant; after a failed convergence they would only add noise.
  let converged = false;
  const needsTenant = () => ({ skip: converged ? false : 'the tenant did not converge' });

  await t.test('(d) killed at random points during the create, it converges to one set of objects with the first CA', async () => {
    const kills: string[] = [];
    for (let i = 0; i < 6; i++) {
      const child = new OperatorProcess({ kubeconfig: tb.kubeconfigPath, namespace: ns, leaseNamespace: ns, identity, concurrency: 2, logLevel: 'info' });
      children.push(child);
      await child.reconciling(90_000);
      // Kill points: every other run right after the n-th PKI Secret write (n random; the writes take well
      // under a second, a timer alone rarely lands in them), or after a random 0-3 s once the caches synced.
      const pkiTargeted = i % 2 === 0;
      const delay = i === 0 ? 60_000 : Math.round(Math.random() * 3000) + (pkiTargeted ? 3000 : 0);
      // The first kill always lands right after the first root (the cluster CA) is written: the worst point.
      const nth = i === 0 ? 1 : 1 + Math.floor(Math.random() * EXPECTED.Secret.length);
      let written = 0;
      const point = await Promise.race([
        sleep(delay).then(() => `${delay} ms after sync`),
        ...(pkiTargeted
          ? [child.waitForLog(`PKI secret #${nth} written`, (l) => l.msg === 'PKI secret written' && ++written === nth, delay + 1000)
            .then(() => `right after PKI Secret write #${nth}`, () => new Promise<string>(() => undefined))]
          : []),
      ]);
      await child.kill();
      children.splice(children.indexOf(child), 1);
      if (i === 0) assert.match(point, /^right after PKI Secret write #1$/, 'the first run is killed inside its PKI writes');
      const now = await roots(client, ns);
      const objects = await namespaceObjects(client, ns);
      kills.push(`kill ${i + 1} ${point}: ${objects.size} objects, roots ${[...now.keys()].join(',') || 'none'}`);
      // A root, once written, is never replaced by a later run.
      assertSameRoots(firstRoots, now, `after kill ${i + 1}`);
      for (const [name, identityOfRoot] of now) if (!firstRoots.has(name)) firstRoots.set(name, identityOfRoot);
      // Half-done PKI is not a missing CA: no alarm while the tenant is being created.
      const pki = conditionOf(await readTcp(client, ns), 'PKI');
      assert.notEqual(pki?.status, 'False', `after kill ${i + 1}: ${pki?.reason}: ${pki?.message}`);
    }
    t.diagnostic(kills.join('\n'));

    operator = await runOperator(operatorConfig(tb, ns));
    await eventually('every child of the tenant to exist', async () => {
      const keys = [...(await namespaceObjects(client, ns)).keys()].sort();
      return JSON.stringify(keys) === JSON.stringify(expectedKeys()) ? keys : undefined;
    }, 120_000, 1000);
    const final = await roots(client, ns);
    assert.equal(final.size, 4, 'all four roots exist');
    assertSameRoots(firstRoots, final, 'after convergence');
    firstRoots = final;
    converged = true;
  });

  await t.test('(a) every child exists once, labelled and owned by the tcp', needsTenant(), async () => {
    const tcp = await readTcp(client, ns);
    assert.ok(tcp?.metadata?.uid);
    assert.ok(tcp.metadata.finalizers?.includes(FINALIZER), `finalizer ${FINALIZER} is set`);
    const objects = await namespaceObjects(client, ns);
    assert.deepEqual([...objects.keys()].sort(), expectedKeys(), 'exactly the contract objects, no duplicates or extras');
    for (const [key, obj] of objects) {
      const owners = obj.metadata.ownerReferences ?? [];
      assert.equal(owners.length, 1, `${key} has one owner: ${JSON.stringify(owners)}`);
      const [owner] = owners;
      assert.deepEqual(
        { apiVersion: owner!.apiVersion, kind: owner!.kind, name: owner!.name, uid: owner!.uid, controller: owner!.controller },
        { apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', name: NAME, uid: tcp.metadata.uid, controller: true },
        key,
      );
      assert.equal(obj.metadata.labels?.['kubeception.io/tenant'], NAME, `${key} label kubeception.io/tenant`);
      assert.equal(obj.metadata.labels?.['app.kubernetes.io/managed-by'], 'kubeception', `${key} label managed-by`);
    }
  });

  await t.test('(c) status reaches PKI, Datastore, APIServer and Endpoint True, and the tenant API serves v1.36.5', needsTenant(), async () => {
    const tcp = await eventually('conditions PKI, Datastore, APIServer and Endpoint to be True', async () => {
      const current = await readTcp(client, ns);
      const ok = ['PKI', 'Datastore', 'APIServer', 'Endpoint'].every((type) => conditionOf(current, type)?.status === 'True');
      return ok ? current : undefined;
    }, 240_000, 2000).catch(async (err: unknown) => {
      const current = await readTcp(client, ns);
      throw new Error(`${String(err)}\nconditions: ${JSON.stringify(current?.status?.conditions, null, 1)}`);
    });
    const status = tcp.status!;
    assert.equal(status.observedGeneration, tcp.metadata!.generation);
    assert.match(status.endpoint ?? '', /^https:\/\/10\.199\.0\.1:3\d{4}$/, 'NodePort endpoint on the node address');
    assert.equal(status.controlPlane?.readyReplicas, 1);
    assert.deepEqual(status.kubeconfigSecrets, { admin: 'demo-admin-kubeconfig', clusterAPI: 'demo-kubeconfig' });

    const superAdmin = await readObject(client, 'Secret', ns, 'demo-super-admin-kubeconfig');
    const kubeconfig = join(dir, 'super-admin.conf');
    writeFileSync(kubeconfig, secretData(superAdmin!, 'super-admin.conf'), { mode: 0o600 });
    const server = (parse(secretData(superAdmin!, 'super-admin.conf').toString()) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server;
    assert.equal(server, status.endpoint, 'the kubeconfig points at status.endpoint');
    // The API server may still be finishing its post-start hooks right after the pod turned ready.
    const version = await eventually('GET /version on the tenant API', async () => {
      const { stdout } = await run(`${tb.binDir}/kubectl`, ['--kubeconfig', kubeconfig, 'get', '--raw', '/version', '--request-timeout=10s']);
      return JSON.parse(stdout) as { gitVersion: string };
    }, 60_000, 2000);
    assert.equal(version.gitVersion, testbedConfig.versions.kubernetes);
  });

  await t.test('(b) every certificate verifies against its CA, with the right SANs, usages and groups', needsTenant(), async () => {
    const tcp = await readTcp(client, ns);
    const endpointHost = new URL(tcp!.status!.endpoint!).hostname;
    const objects = await namespaceObjects(client, ns);
    const secret = (name: string) => objects.get(`Secret/${name}`)!;
    const file = (name: string, data: Buffer | string) => {
      const path = join(dir, name);
      writeFileSync(path, data);
      return path;
    };
    const cas = {
      ca: file('ca.crt', secretData(secret('demo-ca'), 'ca.crt')),
      'etcd-ca': file('etcd-ca.crt', secretData(secret('demo-etcd-ca'), 'ca.crt')),
      'front-proxy-ca': file('front-proxy-ca.crt', secretData(secret('demo-front-proxy-ca'), 'ca.crt')),
    };
    // The roots: self-signed CAs whose key matches.
    for (const [id, secretName] of [['ca', 'demo-ca'], ['etcd-ca', 'demo-etcd-ca'], ['front-proxy-ca', 'demo-front-proxy-ca']] as const) {
      const path = cas[id];
      const { stdout } = await run('openssl', ['verify', '-CAfile', path, path]);
      assert.match(stdout, /: OK/, `${id} is self-signed`);
      const facts = await certFacts(path);
      assert.match(facts.text, /CA:TRUE/, `${id} basicConstraints CA:TRUE`);
      assert.match(facts.text, /Certificate Sign/, `${id} keyUsage keyCertSign`);
      assert.ok(new X509Certificate(secretData(secret(secretName), 'ca.crt')).checkPrivateKey(createPrivateKey(secretData(secret(secretName), 'ca.key'))), `${id} key matches`);
    }
    // The service-account key pair belongs together.
    const saPub = createPublicKey(createPrivateKey(secretData(secret('demo-sa'), 'sa.key'))).export({ type: 'spki', format: 'pem' });
    assert.equal(saPub.toString().trim(), secretData(secret('demo-sa'), 'sa.pub').toString().trim(), 'sa.pub is the public half of sa.key');
    // The CA copies in the leaf Secrets are the CAs.
    const apiCerts = secret('demo-apiserver-certs');
    assert.ok(secretData(apiCerts, 'ca.crt').equals(secretData(secret('demo-ca'), 'ca.crt')));
    assert.ok(secretData(apiCerts, 'etcd-ca.crt').equals(secretData(secret('demo-etcd-ca'), 'ca.crt')));
    assert.ok(secretData(apiCerts, 'front-proxy-ca.crt').equals(secretData(secret('demo-front-proxy-ca'), 'ca.crt')));
    assert.ok(secretData(secret('demo-etcd-certs'), 'ca.crt').equals(secretData(secret('demo-etcd-ca'), 'ca.crt')));

    const RSA_LEAF_USAGE = /X509v3 Key Usage: critical\n\s*Digital Signature, Key Encipherment\n/;
    interface Leaf { what: string; cert: Buffer; key: Buffer; ca: keyof typeof cas; eku: string; subject: RegExp; sans?: (sans: string[]) => void }
    const leaves: Leaf[] = [
      {
        what: 'apiserver', cert: secretData(apiCerts, 'apiserver.crt'), key: secretData(apiCerts, 'apiserver.key'), ca: 'ca', eku: 'TLS Web Server Authentication', subject: /^subject=CN=kube-apiserver$/,
        sans: (sans) => {
          for (const san of [`IP Address:${endpointHost}`, 'IP Address:10.96.0.1', 'DNS:kubernetes.default.svc.cluster.local', 'DNS:kubernetes', `DNS:demo-apiserver.${ns}.svc`]) {
            assert.ok(sans.includes(san), `apiserver SANs ${sans.join(', ')} lack ${san}`);
          }
        },
      },
      { what: 'apiserver-kubelet-client', cert: secretData(apiCerts, 'apiserver-kubelet-client.crt'), key: secretData(apiCerts, 'apiserver-kubelet-client.key'), ca: 'ca', eku: 'TLS Web Client Authentication', subject: /^subject=CN=kube-apiserver-kubelet-client,O=(kubeadm:cluster-admins|system:masters)$/ },
      { what: 'apiserver-etcd-client', cert: secretData(apiCerts, 'apiserver-etcd-client.crt'), key: secretData(apiCerts, 'apiserver-etcd-client.key'), ca: 'etcd-ca', eku: 'TLS Web Client Authentication', subject: /^subject=CN=kube-apiserver-etcd-client$/ },
      { what: 'front-proxy-client', cert: secretData(apiCerts, 'front-proxy-client.crt'), key: secretData(apiCerts, 'front-proxy-client.key'), ca: 'front-proxy-ca', eku: 'TLS Web Client Authentication', subject: /^subject=CN=front-proxy-client$/ },
      ...(['server', 'peer'] as const).map((which): Leaf => ({
        what: `etcd ${which}`, cert: secretData(secret('demo-etcd-certs'), `${which}.crt`), key: secretData(secret('demo-etcd-certs'), `${which}.key`), ca: 'etcd-ca',
        eku: 'TLS Web Server Authentication, TLS Web Client Authentication', subject: /^subject=CN=/,
        sans: (sans) => {
          assert.ok(covers(sans, `demo-etcd-0.demo-etcd.${ns}.svc.cluster.local`), `etcd ${which} SANs ${sans.join(', ')} lack the member's DNS name`);
          assert.ok(covers(sans, `demo-etcd.${ns}.svc`), `etcd ${which} SANs lack the Service`);
          assert.ok(sans.includes('IP Address:127.0.0.1'), `etcd ${which} SANs lack 127.0.0.1`);
        },
      })),
    ];
    // Kubeconfigs: the embedded client certificates and who they say they are.
    const kubeconfigs = [
      { secret: 'demo-admin-kubeconfig', key: 'admin.conf', subject: /^subject=CN=kubernetes-admin,O=kubeception:tenant-admins$/, server: tcp!.status!.endpoint! },
      { secret: 'demo-super-admin-kubeconfig', key: 'super-admin.conf', subject: /^subject=CN=kubernetes-super-admin,O=system:masters$/, server: tcp!.status!.endpoint! },
      { secret: 'demo-kubeconfig', key: 'value', subject: /^subject=CN=kubernetes-admin,O=kubeception:tenant-admins$/, server: tcp!.status!.endpoint! },
      { secret: 'demo-controller-manager-kubeconfig', key: 'controller-manager.conf', subject: /^subject=CN=system:kube-controller-manager$/, server: 'https://127.0.0.1:6443' },
      { secret: 'demo-scheduler-kubeconfig', key: 'scheduler.conf', subject: /^subject=CN=system:kube-scheduler$/, server: 'https://127.0.0.1:6443' },
      { secret: 'demo-konnectivity-server-kubeconfig', key: 'konnectivity-server.conf', subject: /^subject=CN=system:konnectivity-server$/, server: 'https://127.0.0.1:6443' },
      { secret: 'demo-portal-kubeconfig', key: 'portal.conf', subject: /^subject=CN=kubeception:portal$/, server: tcp!.status!.endpoint! },
    ];
    for (const k of kubeconfigs) {
      const doc = parse(secretData(secret(k.secret), k.key).toString()) as {
        clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
        users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
      };
      assert.equal(doc.clusters[0]!.cluster.server, k.server, `${k.secret} server`);
      assert.ok(Buffer.from(doc.clusters[0]!.cluster['certificate-authority-data'], 'base64').equals(secretData(secret('demo-ca'), 'ca.crt')), `${k.secret} trusts the cluster CA`);
      leaves.push({
        what: `${k.secret} client`, cert: Buffer.from(doc.users[0]!.user['client-certificate-data'], 'base64'), key: Buffer.from(doc.users[0]!.user['client-key-data'], 'base64'),
        ca: 'ca', eku: 'TLS Web Client Authentication', subject: k.subject,
      });
    }
    assert.ok(secretData(secret('demo-kubeconfig'), 'value').equals(secretData(secret('demo-admin-kubeconfig'), 'admin.conf')), 'the Cluster API kubeconfig is admin.conf');

    for (const [i, leaf] of leaves.entries()) {
      const path = file(`leaf-${i}.crt`, leaf.cert);
      const { stdout } = await run('openssl', ['verify', '-CAfile', cas[leaf.ca], '-purpose', leaf.eku.startsWith('TLS Web Server') ? 'sslserver' : 'sslclient', path]);
      assert.match(stdout, /: OK/, `${leaf.what} verifies against the ${leaf.ca}`);
      // ...and against no other of the tenant's CAs.
      for (const other of Object.keys(cas) as (keyof typeof cas)[]) {
        if (other === leaf.ca) continue;
        await assert.rejects(run('openssl', ['verify', '-CAfile', cas[other], path]), `${leaf.what} must not verify against the ${other}`);
      }
      const facts = await certFacts(path);
      assert.match(facts.subject, leaf.subject, `${leaf.what} subject`);
      assert.match(facts.text, RSA_LEAF_USAGE, `${leaf.what} key usage`);
      assert.match(facts.text, new RegExp(`X509v3 Extended Key Usage: *\\n\\s*${leaf.eku}\\n`), `${leaf.what} extended key usage`);
      assert.match(facts.text, /CA:FALSE/, `${leaf.what} is no CA`);
      assert.ok(new X509Certificate(leaf.cert).checkPrivateKey(createPrivateKey(leaf.key)), `${leaf.what} key matches its certificate`);
      leaf.sans?.(facts.sans);
    }
  });

  await t.test('(g) a child refused by a ResourceQuota: READY False with the reason in describe and an Event, recovery once it is gone', needsTenant(), async () => {
    const kubectl = async (args: string[]) => (await run(`${tb.binDir}/kubectl`, ['--kubeconfig', tb.kubeconfigPath, '--namespace', ns, ...args])).stdout;
    const quotaPath = `/api/v1/namespaces/${ns}/resourcequotas`;
    // No Deployment may be created in the namespace; the control plane's is deleted, so the operator's
    // re-create is refused by the quota admission (403 Forbidden, exceeded quota).
    await client.request('POST', quotaPath, {
      body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-deployments' }, spec: { hard: { 'count/deployments.apps': '0' } } },
    });
    await eventually('the quota to be enforced (status.hard set)', async () => {
      const quota = await client.request<{ status?: { hard?: Record<string, string> } }>('GET', `${quotaPath}/no-deployments`);
      return quota.status?.hard ? true : undefined;
    }, 30_000, 500);
    const generation = (await readTcp(client, ns))!.metadata!.generation;
    await client.request('DELETE', `${COLLECTIONS.Deployment(ns)}/demo-control-plane`);

    const failed = await eventually('the tcp to report the refused Deployment', async () => {
      const current = await readTcp(client, ns);
      return conditionOf(current, 'APIServer')?.reason === 'ApplyFailed' ? current : undefined;
    }, 60_000, 500);
    const apiServer = conditionOf(failed, 'APIServer')!;
    assert.equal(apiServer.status, 'False');
    assert.match(apiServer.message, /Deployment demo-control-plane: 403 Forbidden: .*exceeded quota: no-deployments/, 'the message names the object and the API server\'s answer');
    const ready = conditionOf(failed, 'Ready')!;
    assert.deepEqual([ready.status, ready.reason], ['False', 'ApplyFailed']);
    assert.match(ready.message, /^APIServer: Deployment demo-control-plane: 403 Forbidden/);
    assert.equal(failed!.status!.phase, 'Failed');
    assert.equal(failed!.status!.observedGeneration, generation, 'observedGeneration is written on failure too');

    // What a user sees: READY False in `kubectl get tcp`, the reason and a Warning Event in `kubectl describe tcp`.
    assert.match(await kubectl(['get', 'tcp', NAME, '--no-headers']), new RegExp(`^${NAME}\\s+\\S+\\s+False\\s`));
    const describe = await eventually('kubectl describe to show the ReconcileFailed Event', async () => {
      const text = await kubectl(['describe', 'tcp', NAME]);
      return /Warning\s+ReconcileFailed/.test(text) ? text : undefined;
    }, 30_000, 1000);
    assert.match(describe, /ApplyFailed/);
    assert.match(describe, /exceeded quota: no-deployments/);

    // The cause goes away: the operator's retries recreate the Deployment, and the tenant is Ready again.
    await client.request('DELETE', `${quotaPath}/no-deployments`);
    const recovered = await eventually('the tenant to recover: Ready True', async () => {
      const current = await readTcp(client, ns);
      return conditionOf(current, 'Ready')?.status === 'True' ? current : undefined;
    }, 300_000, 2000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}\nconditions: ${JSON.stringify((await readTcp(client, ns))?.status?.conditions, null, 1)}`);
    });
    assert.equal(conditionOf(recovered, 'APIServer')?.status, 'True');
    assert.equal(recovered!.status!.phase, 'Ready');
    assert.ok(await readObject(client, 'Deployment', ns, 'demo-control-plane'), 'the Deployment is back');
  });

  await t.test('(e) deleted children come back with the same CA; a deleted CA raises an alarm, not a new CA', needsTenant(), async () => {
    const superAdminPath = join(dir, 'super-admin.conf');
    const tenantKubectl = async (args: string[]) => run(`${tb.binDir}/kubectl`, ['--kubeconfig', superAdminPath, '--request-timeout=10s', ...args]);
    const writeSuperAdmin = async () => {
      const superAdmin = await readObject(client, 'Secret', ns, 'demo-super-admin-kubeconfig');
      writeFileSync(superAdminPath, secretData(superAdmin!, 'super-admin.conf'), { mode: 0o600 });
    };
    // Something stored in the tenant, to see whether its etcd data survives the deletions.
    await writeSuperAdmin();
    await tenantKubectl(['create', 'configmap', 'marker', '--namespace=default', '--from-literal=written=before-deletions']);

    // The datastore's claim is owned by the tcp too (not only by the StatefulSet), so it outlives the StatefulSet.
    const tcpUid = (await readTcp(client, ns))!.metadata!.uid!;
    const claimPath = `/api/v1/namespaces/${ns}/persistentvolumeclaims/data-demo-etcd-0`;
    const claim = await eventually('the etcd claim to be owned by the tcp', async () => {
      const pvc = await client.request<Obj>('GET', claimPath);
      return pvc.metadata.ownerReferences?.some((r) => r.uid === tcpUid && !r.controller) ? pvc : undefined;
    }, 30_000, 1000);

    for (const [kind, name] of [['Deployment', 'demo-control-plane'], ['StatefulSet', 'demo-etcd'], ['Service', 'demo-apiserver'], ['Secret', 'demo-apiserver-certs']] as const) {
      const before = await readObject(client, kind, ns, name);
      assert.ok(before, `${kind} ${name} exists before`);
      await client.request('DELETE', `${COLLECTIONS[kind](ns)}/${name}`);
      const after = await eventually(`${kind} ${name} to be re-created`, async () => {
        const current = await readObject(client, kind, ns, name);
        return current && current.metadata.uid !== before.metadata.uid ? current : undefined;
      }, 60_000, 500);
      assert.equal(after.metadata.ownerReferences?.[0]?.name, NAME, `re-created ${kind} ${name} is owned by the tcp`);
      assertSameRoots(firstRoots, await roots(client, ns), `after deleting ${kind} ${name}`);
    }
    assert.deepEqual([...(await namespaceObjects(client, ns)).keys()].sort(), expectedKeys(), 'no extra objects after the re-creations');
    assert.equal((await client.request<Obj>('GET', claimPath)).metadata.uid, claim.metadata.uid, 'the etcd claim survived its StatefulSet');

    // The tenant serves again: a new node port (new endpoint), re-issued apiserver certificate, rolled pods.
    const tcp = await eventually('the tenant to be back: APIServer and Datastore True on a new endpoint', async () => {
      const current = await readTcp(client, ns);
      const ok = ['PKI', 'Datastore', 'APIServer', 'Endpoint'].every((type) => conditionOf(current, type)?.status === 'True');
      return ok ? current : undefined;
    }, 240_000, 2000);
    await writeSuperAdmin();
    const kubeconfigServer = (parse(readFileSync(superAdminPath, 'utf8')) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server;
    assert.equal(kubeconfigServer, tcp.status!.endpoint, 'the kubeconfig follows the new endpoint');
    const marker = await eventually('the tenant API to serve the marker ConfigMap', async () => {
      const { stdout } = await tenantKubectl(['get', 'configmap', 'marker', '--namespace=default', '--ignore-not-found', '-o', 'jsonpath={.data.written}']);
      return stdout;
    }, 90_000, 2000);
    assert.equal(marker, 'before-deletions', 'the tenant keeps its etcd data when its etcd StatefulSet is re-created');

    // The CA: gone while the tenant runs. A new one would silently break every kubeconfig and node.
    const ca = await readObject(client, 'Secret', ns, 'demo-ca');
    const deployment = await readObject(client, 'Deployment', ns, 'demo-control-plane');
    await client.request('DELETE', `${COLLECTIONS.Secret(ns)}/demo-ca`);
    const alarmed = await eventually('the PKI condition to turn False', async () => {
      const current = await readTcp(client, ns);
      return conditionOf(current, 'PKI')?.status === 'False' ? current : undefined;
    }, 60_000, 500);
    const pki = conditionOf(alarmed, 'PKI')!;
    assert.equal(pki.reason, 'RootMissing');
    assert.match(pki.message, /demo-ca/, 'the message names the missing Secret');
    assert.match(pki.message, /refusing to create a new one/, 'the message says what the operator does not do');
    assert.equal(alarmed?.status?.phase, 'Failed');
    assert.equal(conditionOf(alarmed, 'Ready')?.status, 'False');
    const event = await eventually('a PKIAlarm Event on the tcp', async () => {
      const events = await client.request<{ items: { reason: string; type: string; note: string; regarding: { kind: string; name: string } }[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${ns}/events`);
      return events.items.find((e) => e.reason === 'PKIAlarm' && e.regarding.kind === 'TenantControlPlane' && e.regarding.name === NAME);
    }, 30_000, 500);
    assert.equal(event.type, 'Warning');
    assert.match(event.note, /demo-ca/);
    // Give the operator a few more passes: still no CA, and the running control plane is left alone.
    await sleep(5000);
    assert.equal(await readObject(client, 'Secret', ns, 'demo-ca'), undefined, 'no new CA was created');
    assert.equal((await readObject(client, 'Deployment', ns, 'demo-control-plane'))?.metadata.uid, deployment!.metadata.uid, 'the control plane was not touched');
    assert.ok(ca, 'the CA existed before');
  });

  await t.test('(f) deleting the tcp removes every child and releases the finalizer', async () => {
    operator ??= await runOperator(operatorConfig(tb, ns));
    await client.request('DELETE', tcpPath(ns, NAME));
    await eventually('the tcp to be gone (finalizer released)', async () => ((await readTcp(client, ns)) === undefined ? true : undefined), 60_000, 500);
    const leftovers = await eventually('every child to be garbage-collected', async () => {
      const left = [...(await namespaceObjects(client, ns)).keys()];
      return left.length === 0 ? left : undefined;
    }, 120_000, 1000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; left: ${[...(await namespaceObjects(client, ns)).keys()].join(', ')}`);
    });
    assert.deepEqual(leftovers, []);
    const pvcs = await eventually('the etcd volume claims to be deleted', async () => {
      const list = await client.request<{ items: Obj[] }>('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims`);
      return list.items.length === 0 ? list.items : undefined;
    }, 120_000, 1000);
    assert.deepEqual(pvcs, []);
  });
});
