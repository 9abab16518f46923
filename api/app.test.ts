// The routes end to end through fastify's inject, with in-memory stores (the same flows run
// against the real host in e2e/tests/api.e2e.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { SUPPORTED_VERSIONS } from '../crds/schema/versions.ts';
import { buildApp } from './app.ts';
import { InvalidTenantControlPlaneError, validateWithCrd } from './tcp-validation.ts';
import { memoryWorld, readyStatus, testKey } from './testing.ts';

async function setup() {
  const world = memoryWorld({ validateTcp: validateWithCrd, rateLimit: { capacity: 1000, refillPerSecond: 1000 } });
  world.auth.add(testKey('alice'), { account: 'alice', scopes: ['read', 'write', 'kubeconfig', 'join-tokens'], groups: ['kubeception:tenant-admins', 'viewers'] });
  world.auth.add(testKey('reader'), { account: 'alice', scopes: ['read'], groups: [] });
  const app = await buildApp(world.deps);
  const as =
    (who: string) =>
    (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${testKey(who)}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { world, app, alice: as('alice'), reader: as('reader') };
}

test('create answers 202 with Location and a Provisioning cluster built from the size', async () => {
  const { world, alice } = await setup();
  const created = await alice('POST', '/v1/clusters', { name: 'prod', size: 'large', version: SUPPORTED_VERSIONS[0] });
  assert.equal(created.statusCode, 202);
  const view = created.json();
  assert.match(view.id, /^c[a-z0-9]{11}$/);
  assert.equal(created.headers.location, `/v1/clusters/${view.id}`);
  assert.equal(view.status.phase, 'Provisioning');
  assert.equal(view.status.ready, false);
  const tcp = await world.clusters.get(view.id);
  assert.equal(tcp?.metadata.namespace, `kc-${view.id}`);
  assert.equal(tcp?.metadata.labels?.['kubeception.io/account'], 'alice');
  assert.equal(tcp?.spec.version, SUPPORTED_VERSIONS[0]);
  assert.equal(tcp?.spec.controlPlane?.replicas, 3);
  assert.deepEqual(tcp?.spec.controlPlane?.resources?.apiServer, { requests: { cpu: '1', memory: '2Gi' } });
  const defaults = (await alice('POST', '/v1/clusters', { name: 'dev' })).json();
  assert.equal(defaults.size, 'small');
  assert.equal(defaults.version, SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]);
});

test('list pages through every cluster once, oldest first, and filters', async () => {
  const { world, alice } = await setup();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    ids.push((await alice('POST', '/v1/clusters', { name: `c${i}`, size: i % 2 === 0 ? 'small' : 'medium' })).json().id);
    world.clock.advance(i === 3 ? 0 : 1000); // two clusters with the same timestamp: the id breaks the tie
  }
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; nextCursor: string | null } = (await alice('GET', `/v1/clusters?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).json();
    assert.ok(page.items.length <= 3);
    seen.push(...page.items.map((c) => c.id));
    cursor = page.nextCursor;
  } while (cursor !== null);
  assert.deepEqual([...seen].sort(), [...ids].sort());
  assert.equal(new Set(seen).size, 7);
  const medium = (await alice('GET', '/v1/clusters?size=medium')).json();
  assert.deepEqual(medium.items.map((c: { name: string }) => c.name), ['c1', 'c3', 'c5']);
  assert.equal((await alice('GET', '/v1/clusters?name=c4')).json().items.length, 1);
  assert.equal((await alice('GET', '/v1/clusters?phase=Ready')).json().items.length, 0);
});

test('update: resize and one-minor upgrade are 202; downgrades and skips are 422; renames 200', async () => {
  const { world, alice } = await setup();
  const id = (await alice('POST', '/v1/clusters', { name: 'x', version: SUPPORTED_VERSIONS[0] })).json().id;
  const resized = await alice('PATCH', `/v1/clusters/${id}`, { size: 'medium' });
  assert.equal(resized.statusCode, 202);
  assert.equal(resized.json().size, 'medium');
  assert.equal((await world.clusters.get(id))?.spec.controlPlane?.replicas, 2);

  const skip = await alice('PATCH', `/v1/clusters/${id}`, { version: SUPPORTED_VERSIONS[2] });
  assert.equal(skip.statusCode, 422);
  assert.match(skip.json().detail, /one minor version at a time/);
  assert.equal((await alice('PATCH', `/v1/clusters/${id}`, { version: SUPPORTED_VERSIONS[1] })).statusCode, 202);
  const down = await alice('PATCH', `/v1/clusters/${id}`, { version: SUPPORTED_VERSIONS[0] });
  assert.equal(down.statusCode, 422);
  assert.match(down.json().detail, /may not be lowered/);
  assert.equal((await world.clusters.get(id))?.spec.version, SUPPORTED_VERSIONS[1]);

  const renamed = await alice('PATCH', `/v1/clusters/${id}`, { name: 'y' });
  assert.equal(renamed.statusCode, 200);
  assert.equal(renamed.json().name, 'y');
  assert.equal((await alice('PATCH', `/v1/clusters/${id}`, {})).statusCode, 400, 'an empty update is refused');
});

test('delete answers 202, then the cluster is gone (404) and changes are refused', async () => {
  const { alice } = await setup();
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  const deleted = await alice('DELETE', `/v1/clusters/${id}`);
  assert.equal(deleted.statusCode, 202);
  assert.equal(deleted.json().status.phase, 'Deleting');
  assert.equal((await alice('GET', `/v1/clusters/${id}`)).statusCode, 404);
  assert.equal((await alice('DELETE', `/v1/clusters/${id}`)).statusCode, 404);
});

test('kubeconfig: a real client certificate for the user, groups and TTL, signed from a request; not cached', async () => {
  const { world, alice } = await setup();
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  const notReady = await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:ann', groups: ['viewers'] });
  assert.equal(notReady.statusCode, 409);
  assert.match(notReady.json().detail, /not ready yet \(phase Provisioning\)/);

  world.clusters.setStatus(id, readyStatus('https://10.9.8.7:31000'));
  const response = await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:ann@example.com', groups: ['viewers', 'portal:alice:dev'], ttlSeconds: 900 });
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers['cache-control'], 'no-store');
  const body = response.json();
  assert.equal(body.username, 'portal:alice:ann@example.com');
  assert.deepEqual(body.groups, ['viewers', 'portal:alice:dev']);
  const kubeconfig = parse(body.kubeconfig);
  assert.equal(kubeconfig.clusters[0].cluster.server, 'https://10.9.8.7:31000');
  const cert = new X509Certificate(Buffer.from(kubeconfig.users[0].user['client-certificate-data'], 'base64'));
  assert.match(cert.subject, /CN=portal:alice:ann@example.com/);
  assert.match(cert.subject, /O=viewers/);
  assert.match(cert.subject, /O=portal:alice:dev/);
  assert.ok(cert.checkPrivateKey(createPrivateKey(Buffer.from(kubeconfig.users[0].user['client-key-data'], 'base64'))), 'the key in the kubeconfig is the requested one');
  assert.equal(cert.validToDate.getTime(), world.clock.now().getTime() + 900_000);
  assert.equal(body.expiresAt, cert.validToDate.toISOString());
  const ca = new X509Certificate(Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64'));
  assert.ok(cert.verify(ca.publicKey), 'signed by the tenant CA');
  assert.deepEqual(world.tenants.signed, [{ username: 'portal:alice:ann@example.com', groups: ['viewers', 'portal:alice:dev'] }]);
});

test('kubeconfig: reserved names and names outside the account are 422 naming the field, groups outside the grant 403; nothing is signed', async () => {
  const { world, alice, reader } = await setup();
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  world.clusters.setStatus(id, readyStatus());
  const kubelet = await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'kube-apiserver-kubelet-client', groups: ['viewers'] });
  assert.equal(kubelet.statusCode, 422);
  assert.equal(kubelet.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(kubelet.json().type, 'https://kubeception.io/problems/identity-refused');
  assert.match(kubelet.json().detail, /^body\.username: "kube-apiserver-kubelet-client" can never be issued: .*reserved: an identity the operator issues certificates for/);
  assert.deepEqual(kubelet.json().errors.map((e: { location: string }) => e.location), ['body.username']);
  const masters = await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:ann', groups: ['system:masters'] });
  assert.equal(masters.statusCode, 422);
  assert.match(masters.json().detail, /body\.groups\[0\]: group "system:masters" can never be granted/);
  const bare = await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'ann', groups: ['viewers'] });
  assert.equal(bare.statusCode, 422);
  assert.match(bare.json().detail, /e\.g\. "portal:alice:ann"/);
  assert.equal((await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'system:kube-proxy', groups: ['viewers'] })).statusCode, 422);
  assert.equal((await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:mallory:ann', groups: ['viewers'] })).statusCode, 422);
  const other = await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:ann', groups: ['admins'] });
  assert.equal(other.statusCode, 403);
  assert.match(other.json().detail, /body\.groups\[0\]: .*allow-list: kubeception:tenant-admins, viewers/);
  assert.equal((await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:ann', groups: ['viewers'], ttlSeconds: 10 * 86400 })).statusCode, 400);
  assert.equal((await alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:ann', groups: ['viewers'], ttlSeconds: 599 })).statusCode, 400, 'shorter than a CSR may ask');
  assert.equal((await reader('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:ann', groups: ['viewers'] })).statusCode, 403);
  assert.deepEqual(world.tenants.signed, [], 'no refused identity reached the tenant');
});

test('kubeconfig: a CSR the tenant denies is 502, one it never signs 504, both problem+json', async () => {
  const { world, alice } = await setup();
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  world.clusters.setStatus(id, readyStatus());
  const ask = () => alice('POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:alice:ann', groups: ['viewers'] });
  world.tenants.signer = 'deny';
  const denied = await ask();
  assert.equal(denied.statusCode, 502);
  assert.equal(denied.json().type, 'https://kubeception.io/problems/certificate-refused');
  assert.match(denied.json().detail, /refused to sign the certificate \(Denied: TestPolicy: denied by the test\); nothing was issued/);
  world.tenants.signer = 'never';
  const late = await ask();
  assert.equal(late.statusCode, 504);
  assert.equal(late.headers['retry-after'], '10');
  assert.equal(late.json().type, 'https://kubeception.io/problems/signing-timeout');
  assert.deepEqual(world.tenants.signed, []);
});

test('join tokens: mint shows the secret once, list hides it, revoke removes it', async () => {
  const { world, alice } = await setup();
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  assert.equal((await alice('POST', `/v1/clusters/${id}/join-tokens`, {})).statusCode, 409);
  world.clusters.setStatus(id, readyStatus('https://10.0.0.5:31443'));
  const minted = await alice('POST', `/v1/clusters/${id}/join-tokens`, { ttlSeconds: 3600, description: 'rack 1' });
  assert.equal(minted.statusCode, 201);
  assert.equal(minted.headers['cache-control'], 'no-store');
  const token = minted.json();
  assert.match(token.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.equal(token.id, token.token.split('.')[0]);
  assert.match(token.joinCommand, new RegExp(`^kubeadm join 10\\.0\\.0\\.5:31443 --token ${token.token} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}$`));
  assert.equal(token.expiresAt, new Date(world.clock.now().getTime() + 3600_000).toISOString());

  const listed = (await alice('GET', `/v1/clusters/${id}/join-tokens`)).json();
  assert.deepEqual(listed.items.map((t: { id: string }) => t.id), [token.id]);
  assert.ok(!JSON.stringify(listed).includes(token.token.split('.')[1]), 'the list never shows the secret');
  assert.equal((await alice('DELETE', `/v1/clusters/${id}/join-tokens/${token.id}`)).statusCode, 204);
  assert.equal((await alice('DELETE', `/v1/clusters/${id}/join-tokens/${token.id}`)).statusCode, 404);
  assert.deepEqual((await alice('GET', `/v1/clusters/${id}/join-tokens`)).json().items, []);
});

test('usage: hours by size across a resize, per cluster and per account, deleted clusters included', async () => {
  const { world, app, alice } = await setup();
  const from = world.clock.now().toISOString();
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  world.clock.advance(2 * 3600_000);
  await alice('PATCH', `/v1/clusters/${id}`, { size: 'large' });
  // Between passes the report adds the time since the last one from the tcp itself.
  world.clock.advance(1800_000);
  const running = (await alice('GET', `/v1/clusters/${id}/usage?from=${from}`)).json();
  assert.deepEqual(running.usage.controlPlaneHours, { small: 2, medium: 0, large: 0.5, total: 2.5 });
  assert.equal(running.to, world.clock.now().toISOString(), 'up to now');
  world.clock.advance(1800_000);
  await alice('DELETE', `/v1/clusters/${id}`);
  world.clock.advance(3600_000);
  // The metering pass (the leader's, every minute) bills the deleted cluster up to its deletion.
  await app.meter.tick();
  const account = (await alice('GET', `/v1/usage?from=${from}`)).json();
  assert.deepEqual(account.totals.controlPlaneHours, { small: 2, medium: 0, large: 1, total: 3 });
  const cluster = (await alice('GET', `/v1/clusters/${id}/usage?from=${from}`)).json();
  assert.equal(cluster.usage.controlPlaneHours.total, 3);
  assert.equal(cluster.usage.deletedAt, new Date(world.clock.now().getTime() - 3600_000).toISOString());
  const bad = await alice('GET', `/v1/usage?from=${world.clock.now().toISOString()}&to=${from}`);
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().detail, /must be before/);
  const tooLong = await alice('GET', `/v1/usage?from=0615-11-14T19:01:35.1-03:28`);
  assert.equal(tooLong.statusCode, 400, 'a range of centuries would read every month in between');
  assert.match(tooLong.json().detail, /spans more than 366 days/);
});

test('another account learns nothing: every cluster route is 404 and nothing changes', async () => {
  const { world, app, alice } = await setup();
  world.auth.add(testKey('mallory'), { account: 'mallory', scopes: ['read', 'write', 'kubeconfig', 'join-tokens'], groups: ['viewers'] });
  const id = (await alice('POST', '/v1/clusters', { name: 'x' })).json().id;
  world.clusters.setStatus(id, readyStatus());
  const token = (await alice('POST', `/v1/clusters/${id}/join-tokens`, {})).json();
  const before = JSON.stringify(await world.clusters.list());
  const mallory = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${testKey('mallory')}` }, ...(payload ? { payload } : {}) });
  for (const [method, url, payload] of [
    ['GET', `/v1/clusters/${id}`],
    ['PATCH', `/v1/clusters/${id}`, { size: 'large' }],
    ['DELETE', `/v1/clusters/${id}`],
    ['POST', `/v1/clusters/${id}/kubeconfig`, { username: 'portal:mallory:m', groups: ['viewers'] }],
    ['POST', `/v1/clusters/${id}/join-tokens`, {}],
    ['GET', `/v1/clusters/${id}/join-tokens`],
    ['DELETE', `/v1/clusters/${id}/join-tokens/${token.id}`],
    ['GET', `/v1/clusters/${id}/usage`],
  ] as const) {
    const response = await mallory(method, url, payload);
    assert.equal(response.statusCode, 404, `${method} ${url}`);
    assert.equal(response.json().detail, `cluster ${id} not found`);
  }
  assert.deepEqual((await mallory('GET', '/v1/clusters')).json().items, []);
  assert.deepEqual((await mallory('GET', '/v1/usage')).json().clusters, []);
  assert.equal(JSON.stringify(await world.clusters.list()), before);
  assert.equal((await alice('GET', `/v1/clusters/${id}/join-tokens`)).json().items.length, 1);
});

test('the OpenAPI document lists every route with resolvable schemas', async () => {
  const { app } = await setup();
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  assert.equal(doc.openapi, '3.1.0');
  const operations = Object.entries(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
  assert.deepEqual(operations.sort(), [
    'DELETE /v1/clusters/{id}',
    'DELETE /v1/clusters/{id}/join-tokens/{tokenId}',
    'GET /healthz',
    'GET /readyz',
    'GET /v1/clusters',
    'GET /v1/clusters/{id}',
    'GET /v1/clusters/{id}/join-tokens',
    'GET /v1/clusters/{id}/usage',
    'GET /v1/limits',
    'GET /v1/usage',
    'GET /v1/versions',
    'PATCH /v1/clusters/{id}',
    'POST /v1/clusters',
    'POST /v1/clusters/{id}/join-tokens',
    'POST /v1/clusters/{id}/kubeconfig',
  ]);
  const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
  for (const ref of refs) {
    const name = ref.replace(/^"\$ref":"#\/components\/schemas\//, '').replace(/"$/, '');
    assert.ok(doc.components.schemas[name], `unresolved ${ref}`);
  }
  // Every schema in the document is a schema ajv can compile (with the components available).
  const ajv = new Ajv({ strict: false });
  ajv.addSchema({ $id: 'doc', components: doc.components });
  const compile = (schema: object) => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"doc#/components')));
  const create = doc.paths['/v1/clusters'].post;
  assert.equal(create['x-required-scope'], 'write');
  assert.ok(create.parameters.some((p: { name: string; in: string }) => p.name === 'idempotency-key' && p.in === 'header'));
  assert.ok(compile(create.requestBody.content['application/json'].schema)({ name: 'x' }));
  assert.ok(!compile(create.requestBody.content['application/json'].schema)({ name: 'x', size: 'xl' }));
  assert.ok(create.responses['429'] && create.responses['401'] && create.responses['202'].headers.Location);

  const page = await app.inject({ method: 'GET', url: '/docs' });
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  for (const op of operations) assert.ok(page.body.includes(op.split(' ')[1]!.replaceAll('{', '{')), op);
  assert.ok(!/<script|https?:\/\/cdn/i.test(page.body), 'no scripts, no CDN');
});

test('versions come from the CRD list, newest first', async () => {
  const { reader } = await setup();
  const body = (await reader('GET', '/v1/versions')).json();
  assert.deepEqual(body.versions.map((v: { version: string }) => v.version), [...SUPPORTED_VERSIONS].reverse());
  assert.equal(body.default, SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]);
});

test("an update the CRD's rules refuse is a 422 with the CRD's message, and nothing is written", async () => {
  const world = memoryWorld({
    validateTcp: (tcp, previous) => {
      if (previous !== undefined) throw new InvalidTenantControlPlaneError(tcp.metadata.name, 'spec.controlPlane.replicas: stand-in rule');
    },
  });
  world.auth.add(testKey('alice'), { account: 'alice', scopes: ['read', 'write'], groups: [] });
  const app = await buildApp(world.deps);
  const headers = { authorization: `Bearer ${testKey('alice')}` };
  const id = (await app.inject({ method: 'POST', url: '/v1/clusters', headers, payload: { name: 'x' } })).json().id;
  const before = await world.clusters.get(id);
  const refused = await app.inject({ method: 'PATCH', url: `/v1/clusters/${id}`, headers, payload: { size: 'large' } });
  assert.equal(refused.statusCode, 422);
  assert.equal(refused.json().type, 'https://kubeception.io/problems/refused-by-crd');
  assert.match(refused.json().detail, /stand-in rule/);
  assert.equal(await world.clusters.get(id), before);
});

test('--default-service-type: clusters created through the API get it; without it the CRD default applies', async () => {
  for (const defaultServiceType of ['LoadBalancer', 'NodePort', undefined] as const) {
    const world = memoryWorld({ validateTcp: validateWithCrd, ...(defaultServiceType === undefined ? {} : { defaultServiceType }) });
    world.auth.add(testKey('alice'), { account: 'alice', scopes: ['write', 'read'], groups: [] });
    const app = await buildApp(world.deps);
    const created = await app.inject({ method: 'POST', url: '/v1/clusters', headers: { authorization: `Bearer ${testKey('alice')}` }, payload: { name: 'x' } });
    assert.equal(created.statusCode, 202, created.body);
    const tcp = await world.clusters.get(created.json().id);
    assert.equal(tcp?.spec.networkProfile?.serviceType, defaultServiceType, String(defaultServiceType));
    if (defaultServiceType === undefined) assert.equal(tcp?.spec.networkProfile, undefined, 'nothing written: the CRD defaults the whole profile');
  }
});
