import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from './app.ts';
import { bearerKey, generateApiKey, grantableGroupProblem, hashApiKey, parseKeyRecord } from './auth.ts';
import { parseKeySecret } from './host/auth-store.ts';
import { memoryWorld, testKey } from './testing.ts';
import { productVersion } from '../core/index.ts';

const now = '2030-01-01T00:00:00.000Z';

test('generated keys are well-formed, distinct, and only their hash identifies them', () => {
  const a = generateApiKey();
  const b = generateApiKey();
  assert.match(a, /^kc_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
  assert.equal(bearerKey(`Bearer ${a}`), a);
  assert.equal(bearerKey(`bearer   ${a}`), a);
  assert.match(hashApiKey(a), /^[0-9a-f]{64}$/);
  assert.notEqual(hashApiKey(a), hashApiKey(b));
  for (const bad of [undefined, a, `Basic ${a}`, 'Bearer kc_short', `Bearer ${a}x`, `Bearer ${a} extra`]) assert.equal(bearerKey(bad), undefined, String(bad));
});

test('key records: accounts are DNS labels, scopes known, system groups never grantable', () => {
  assert.deepEqual(parseKeyRecord({ account: 'acme', scopes: ['read', 'read'], groups: ['devs'], createdAt: now }), {
    account: 'acme',
    scopes: ['read'],
    groups: ['devs'],
    createdAt: now,
  });
  assert.throws(() => parseKeyRecord({ account: 'Acme Corp', scopes: ['read'], groups: [], createdAt: now }), /invalid account/);
  assert.throws(() => parseKeyRecord({ account: 'acme', scopes: [], groups: [], createdAt: now }), /invalid scopes/);
  assert.throws(() => parseKeyRecord({ account: 'acme', scopes: ['admin'], groups: [], createdAt: now }), /invalid scopes/);
  assert.throws(() => parseKeyRecord({ account: 'acme', scopes: ['read'], groups: ['system:masters'], createdAt: now }), /reserved/);
  assert.throws(() => parseKeyRecord({ account: 'acme', scopes: ['read'], groups: ['SYSTEM:nodes'], createdAt: now }), /reserved/);
  assert.equal(grantableGroupProblem('kubeception:tenant-admins'), undefined);
  assert.match(grantableGroupProblem('a b') ?? '', /not a valid group/);
});

test('a malformed entry in the key Secret is skipped, the others still work', () => {
  const good = Buffer.from(JSON.stringify({ account: 'acme', scopes: ['read'], groups: [], createdAt: now })).toString('base64');
  const bad = Buffer.from('{"account":"acme","scopes":["root"]}').toString('base64');
  const skipped: string[] = [];
  const records = parseKeySecret(
    { data: { ['a'.repeat(64)]: good, ['b'.repeat(64)]: bad, 'not-a-hash': good } },
    (keyId) => skipped.push(keyId),
  );
  assert.deepEqual([...records.keys()], ['a'.repeat(64)]);
  assert.deepEqual(skipped.sort(), ['b'.repeat(64), 'not-a-hash']);
});

async function world(failureBurst = 20) {
  const w = memoryWorld({ authFailureLimit: { capacity: failureBurst, refillPerSecond: 0.1 } });
  w.auth.add(testKey('reader'), { account: 'acme', scopes: ['read'], groups: [] });
  w.auth.add(testKey('writer'), { account: 'acme', scopes: ['read', 'write'], groups: [] });
  return { w, app: await buildApp(w.deps) };
}

test('requests are mapped to 401 / 403 / success by key and scope', async () => {
  const { w, app } = await world();
  const call = (authorization: string | undefined, method: 'GET' | 'POST' = 'GET') =>
    app.inject({ method, url: '/v1/clusters', headers: authorization === undefined ? {} : { authorization }, ...(method === 'POST' ? { payload: { name: 'x' } } : {}) });

  const missing = await call(undefined);
  assert.equal(missing.statusCode, 401);
  assert.equal(missing.headers['www-authenticate'], 'Bearer realm="kubeception"');
  assert.match(missing.json().detail, /missing credentials/);
  assert.match((await call('Basic dXNlcjpwYXNz')).json().detail, /malformed Authorization header/);
  assert.match((await call(`Bearer ${testKey('nobody')}`)).json().detail, /unknown or revoked/);

  const forbidden = await call(`Bearer ${testKey('reader')}`, 'POST');
  assert.equal(forbidden.statusCode, 403);
  assert.match(forbidden.json().detail, /has scopes \[read\]; POST \/v1\/clusters needs "write"/);
  assert.equal((await w.clusters.list()).length, 0, 'the forbidden create did nothing');

  assert.equal((await call(`Bearer ${testKey('reader')}`)).statusCode, 200);
  assert.equal((await call(`Bearer ${testKey('writer')}`, 'POST')).statusCode, 202);

  w.auth.revoke(testKey('writer'));
  assert.equal((await call(`Bearer ${testKey('writer')}`, 'POST')).statusCode, 401, 'a revoked key stops working');
});

test('repeated failed authentications from one address are slowed down; valid keys are not', async () => {
  const { app } = await world(3);
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    statuses.push((await app.inject({ method: 'GET', url: '/v1/clusters', headers: { authorization: `Bearer ${testKey(`guess${i}`)}` } })).statusCode);
  }
  assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
  const limited = await app.inject({ method: 'GET', url: '/v1/clusters', headers: { authorization: `Bearer ${testKey('reader')}` } });
  assert.equal(limited.statusCode, 429, 'the address is blocked before any key lookup');
  const other = await app.inject({ method: 'GET', url: '/v1/clusters', remoteAddress: '10.1.2.3', headers: { authorization: `Bearer ${testKey('reader')}` } });
  assert.equal(other.statusCode, 200, 'other addresses are unaffected');
});

test('public endpoints need no key', async () => {
  const { app } = await world();
  for (const url of ['/healthz', '/readyz', '/openapi.json', '/docs']) assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
});

test('the health answers say which version answers, as the OpenAPI document describes', async () => {
  const { app } = await world();
  for (const url of ['/healthz', '/readyz']) assert.deepEqual((await app.inject({ method: 'GET', url })).json(), { status: 'ok', version: productVersion }, url);
  const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const schema = openapi.paths['/healthz'].get.responses['200'].content['application/json'].schema;
  assert.equal(schema.properties.version.type, 'string');
});
