import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from './app.ts';
import { bearerKey, generateApiKey, grantableGroupProblem, hashApiKey, isExpired, parseKeyRecord } from './auth.ts';
import { CoarseKeyUsage, MemoryKeyUsage } from './key-usage.ts';
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
  assert.equal(parseKeyRecord({ account: 'acme', scopes: ['read'], groups: [], createdAt: now, expiresAt: '2031-01-01T00:00:00Z' }).expiresAt, '2031-01-01T00:00:00Z');
  assert.throws(() => parseKeyRecord({ account: 'acme', scopes: ['read'], groups: [], createdAt: now, expiresAt: 'next year' }), /expiresAt must be an RFC 3339 time/);
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

const get = (app: Awaited<ReturnType<typeof buildApp>>, authorization: string | undefined, remoteAddress = '127.0.0.1', headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url: '/v1/clusters', remoteAddress, headers: { ...headers, ...(authorization === undefined ? {} : { authorization }) } });

/** A well-formed key that begins with `prefix` (8 characters after kc_) and is otherwise random. */
const keyWithPrefix = (prefix: string) => `kc_${prefix}${generateApiKey().slice(3 + prefix.length)}`;

test('one address flooding bad keys is slowed down, and a valid key from that same address still works', async () => {
  const { app } = await world(3);
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await get(app, `Bearer ${generateApiKey()}`)).statusCode);
  assert.deepEqual(statuses, [401, 401, 401, 429, 429], 'random guesses: the address bucket (burst 3) runs dry');
  const limited = await get(app, undefined);
  assert.equal(limited.statusCode, 429, 'requests without a key from that address are refused too');
  assert.equal(limited.headers['retry-after'], '10', 'one token at 0.1/s');
  assert.match(limited.json().detail, /too many failed authentications from this address; retry in 10 s/);

  // behind an ingress every client has this address: the valid key is admitted, checked before the address limit
  for (let i = 0; i < 3; i++) assert.equal((await get(app, `Bearer ${testKey('reader')}`)).statusCode, 200, 'a valid key is never refused for its address');
  assert.equal((await get(app, `Bearer ${testKey('reader')}`, '10.1.2.3')).statusCode, 200);
  assert.equal((await get(app, `Bearer ${generateApiKey()}`, '10.1.2.3')).statusCode, 401, 'other addresses keep their own budget');
});

test('a brute force on one key prefix is limited, from any number of addresses; other prefixes are not', async () => {
  const w = memoryWorld({ authFailureLimit: { capacity: 1000, refillPerSecond: 1 }, keyFailureLimit: { capacity: 4, refillPerSecond: 0.1 } });
  const app = await buildApp(w.deps);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await get(app, `Bearer ${keyWithPrefix('Leaked12')}`, `10.0.0.${i + 1}`)).statusCode);
  assert.deepEqual(statuses, [401, 401, 401, 401, 429, 429], 'each guess from a fresh address, the prefix bucket (burst 4) still runs dry');
  const limited = await get(app, `Bearer ${keyWithPrefix('Leaked12')}`, '10.9.9.9');
  assert.match(limited.json().detail, /too many failed authentications with keys beginning like this one; retry in 10 s/);
  assert.equal((await get(app, `Bearer ${keyWithPrefix('Other123')}`, '10.0.0.1')).statusCode, 401, 'another prefix is unaffected');
  w.clock.advance(10_000);
  assert.equal((await get(app, `Bearer ${keyWithPrefix('Leaked12')}`, '10.0.0.1')).statusCode, 401, 'one more guess 10 s later');
  assert.equal((await get(app, `Bearer ${keyWithPrefix('Leaked12')}`, '10.0.0.1')).statusCode, 429);
});

test('an expired key is refused with 401 saying so; a key with a future expiry works until then', async () => {
  const w = memoryWorld();
  w.auth.add(testKey('expiring'), { account: 'acme', scopes: ['read'], groups: [], expiresAt: '2030-01-01T01:00:00.000Z' });
  const app = await buildApp(w.deps);
  assert.equal((await get(app, `Bearer ${testKey('expiring')}`)).statusCode, 200, 'before its expiry');
  w.clock.advance(3_600_000);
  const expired = await get(app, `Bearer ${testKey('expiring')}`);
  assert.equal(expired.statusCode, 401);
  assert.equal(expired.headers['www-authenticate'], 'Bearer realm="kubeception"');
  assert.equal(expired.json().detail, 'this API key expired at 2030-01-01T01:00:00.000Z; ask for a new one');
  assert.equal((await get(app, `Bearer ${testKey('nobody')}`)).json().detail, 'unknown or revoked API key', 'an unknown key says nothing about other keys');
  assert.equal(isExpired({ account: 'a', scopes: ['read'], groups: [], createdAt: now }, new Date('2999-01-01T00:00:00Z')), false, 'no expiry: never expires');
});

test('each admitted request tells the key-usage recorder; the coarse recorder writes once a minute per key', async () => {
  const writer = new MemoryKeyUsage();
  const usage = new CoarseKeyUsage({ writer });
  const w = memoryWorld({ keyUsage: usage });
  w.auth.add(testKey('reader'), { account: 'acme', scopes: ['read'], groups: [] });
  w.auth.add(testKey('other'), { account: 'acme', scopes: ['read'], groups: [] });
  const app = await buildApp(w.deps);
  for (let i = 0; i < 3; i++) await get(app, `Bearer ${testKey('reader')}`);
  await get(app, `Bearer ${testKey('nobody')}`);
  await usage.flush();
  assert.equal(writer.writes, 1, 'three uses within a minute: one write; a failed authentication: none');
  assert.deepEqual(writer.lastUsed.get(hashApiKey(testKey('reader'))), w.clock.now());
  await get(app, `Bearer ${testKey('other')}`);
  w.clock.advance(59_000);
  await get(app, `Bearer ${testKey('reader')}`);
  w.clock.advance(1000);
  await get(app, `Bearer ${testKey('reader')}`);
  await usage.flush();
  assert.equal(writer.writes, 3, 'another key is written at once; the first one again after 60 s');
  assert.deepEqual(writer.lastUsed.get(hashApiKey(testKey('reader'))), w.clock.now());
});

test('a failing usage write is reported and never fails the request; the next write comes an interval later', async () => {
  const errors: string[] = [];
  let calls = 0;
  const usage = new CoarseKeyUsage({
    writer: { write: async () => { calls++; throw new Error('host down'); } },
    onError: (error, keyId) => errors.push(`${keyId}: ${error.message}`),
    intervalMs: 1000,
  });
  usage.used('k1', new Date(0));
  usage.used('k1', new Date(500));
  await usage.flush();
  assert.equal(calls, 1);
  assert.deepEqual(errors, ['k1: host down']);
  usage.used('k1', new Date(1000));
  await usage.flush();
  assert.equal(calls, 2);
});

test('trusted proxies: X-Forwarded-For is believed only from the listed addresses', async () => {
  const w = memoryWorld({ trustProxy: ['10.0.0.0/24'], authFailureLimit: { capacity: 2, refillPerSecond: 0.1 } });
  const app = await buildApp(w.deps);
  const viaProxy = (client: string) => get(app, `Bearer ${generateApiKey()}`, '10.0.0.7', { 'x-forwarded-for': client });
  assert.deepEqual([(await viaProxy('203.0.113.1')).statusCode, (await viaProxy('203.0.113.1')).statusCode, (await viaProxy('203.0.113.1')).statusCode], [401, 401, 429]);
  assert.equal((await viaProxy('203.0.113.2')).statusCode, 401, 'another client behind the same proxy has its own budget');
  const spoofed = (client: string) => get(app, `Bearer ${generateApiKey()}`, '198.51.100.9', { 'x-forwarded-for': client });
  assert.deepEqual([(await spoofed('1.1.1.1')).statusCode, (await spoofed('2.2.2.2')).statusCode, (await spoofed('3.3.3.3')).statusCode], [401, 401, 429], 'an untrusted peer cannot choose its address');
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
