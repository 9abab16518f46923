// Requests as common HTTP clients send them (python-requests, axios, Go's net/http, DigitalOcean-style
// curl examples), not only curl's defaults: all accepted; what is wrong is still a 400/415 problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from './app.ts';
import { memoryWorld, readyStatus, testKey } from './testing.ts';

const KEY = testKey('alice');
const auth = { authorization: `Bearer ${KEY}` };

/** The headers each client adds on its own (versions as of their current releases). */
const CLIENTS: Record<string, Record<string, string>> = {
  'python-requests json=': { 'user-agent': 'python-requests/2.32.3', accept: '*/*', 'accept-encoding': 'gzip, deflate', connection: 'keep-alive', 'content-type': 'application/json' },
  'axios': { 'user-agent': 'axios/1.7.9', accept: 'application/json, text/plain, */*', 'accept-encoding': 'gzip, compress, deflate, br', 'content-type': 'application/json' },
  'axios (older)': { accept: 'application/json, text/plain, */*', 'content-type': 'application/json;charset=utf-8' },
  'Go net/http': { 'user-agent': 'Go-http-client/1.1', 'accept-encoding': 'gzip', 'content-type': 'application/json; charset=utf-8' },
  'DOKS-style docs (curl)': { 'user-agent': 'curl/8.5.0', accept: '*/*', 'content-type': 'application/json' },
  'casing and spacing': { 'content-type': 'Application/JSON ; Charset="UTF-8"', accept: 'application/problem+json, application/json;q=0.9' },
};

async function setup() {
  const world = memoryWorld({ rateLimit: { capacity: 10_000, refillPerSecond: 10_000 } });
  world.auth.add(KEY, { account: 'alice', scopes: ['read', 'write', 'kubeconfig', 'join-tokens'], groups: ['viewers'] });
  const app = await buildApp(world.deps);
  const id: string = (await app.inject({ method: 'POST', url: '/v1/clusters', headers: auth, payload: { name: 'base' } })).json().id;
  world.clusters.setStatus(id, readyStatus());
  const send = (method: string, url: string, headers: Record<string, string> = {}, body?: string) =>
    app.inject({ method: method as 'GET', url, headers: { ...auth, ...headers }, ...(body === undefined ? {} : { payload: body }) });
  return { world, app, id, send };
}

function assertProblem(response: { statusCode: number; headers: Record<string, unknown>; json(): any }, status: number, detail: RegExp) {
  assert.equal(response.statusCode, status, JSON.stringify(response.json()));
  assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.match(response.json().detail, detail);
}

for (const [client, headers] of Object.entries(CLIENTS)) {
  test(`${client}: create, read, rename, join token and delete work`, async () => {
    const { id, send } = await setup();
    const created = await send('POST', '/v1/clusters', headers, JSON.stringify({ name: client.slice(0, 60), size: 'medium' }));
    assert.equal(created.statusCode, 202, created.body);
    assert.equal(created.json().size, 'medium');
    const got = await send('GET', `/v1/clusters/${created.json().id}`, headers);
    assert.equal(got.statusCode, 200, got.body);
    assert.equal(got.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal((await send('PATCH', `/v1/clusters/${id}`, headers, '{"name":"renamed"}')).json().name, 'renamed');
    assert.equal((await send('POST', `/v1/clusters/${id}/join-tokens`, headers, '{"ttlSeconds":900}')).statusCode, 201);
    assert.equal((await send('DELETE', `/v1/clusters/${created.json().id}`, headers)).statusCode, 202);
  });
}

test('PATCH takes application/merge-patch+json (RFC 7396); other routes do not', async () => {
  const { id, send } = await setup();
  const patched = await send('PATCH', `/v1/clusters/${id}`, { 'content-type': 'application/merge-patch+json' }, '{"size":"large"}');
  assert.equal(patched.statusCode, 202, patched.body);
  assert.equal(patched.json().size, 'large');
  assertProblem(await send('PATCH', `/v1/clusters/${id}`, { 'content-type': 'application/merge-patch+json' }, '{"colour":"red"}'), 400, /body has unknown property "colour"/);
  assertProblem(await send('PATCH', `/v1/clusters/${id}`, { 'content-type': 'application/merge-patch+json' }, '{"size":3}'), 400, /body\.size must be string/);
  assertProblem(await send('POST', '/v1/clusters', { 'content-type': 'application/merge-patch+json' }, '{"name":"x"}'), 415, /application\/merge-patch\+json is for PATCH/);
});

test('no body where the route takes none or all of it is optional: fine with or without a JSON Content-Type', async () => {
  const { world, id, send } = await setup();
  const json = { 'content-type': 'application/json' };
  // DigitalOcean-style: the JSON Content-Type on every call, DELETE and GET included.
  assert.equal((await send('GET', `/v1/clusters/${id}`, json, '')).statusCode, 200);
  assert.equal((await send('POST', `/v1/clusters/${id}/join-tokens`, json, '')).statusCode, 201);
  // python-requests `requests.post(url)` and Go's `http.Post(url, "application/json", nil)`.
  assert.equal((await send('POST', `/v1/clusters/${id}/join-tokens`, { 'content-length': '0' })).statusCode, 201);
  assert.equal((await send('POST', `/v1/clusters/${id}/join-tokens`)).statusCode, 201);
  const [token] = (await send('GET', `/v1/clusters/${id}/join-tokens`)).json().items;
  assert.equal(token.expiresAt, new Date(world.clock.now().getTime() + 3600_000).toISOString(), 'defaults applied to the missing body');
  assert.equal((await send('DELETE', `/v1/clusters/${id}/join-tokens/${token.id}`, json, '')).statusCode, 204);
  assert.equal((await send('DELETE', `/v1/clusters/${id}`, json, '')).statusCode, 202);
});

test('no body where the route needs one: 400 naming the missing fields, not a parser error', async () => {
  const { id, send } = await setup();
  assertProblem(await send('POST', '/v1/clusters', { 'content-type': 'application/json' }, ''), 400, /body is missing required property "name"/);
  assertProblem(await send('POST', '/v1/clusters'), 400, /body is missing required property "name"/);
  assertProblem(await send('POST', `/v1/clusters/${id}/kubeconfig`, { 'content-type': 'application/json' }, ''), 400, /missing required property "username"/);
  assertProblem(await send('PATCH', `/v1/clusters/${id}`, { 'content-type': 'application/json' }, ''), 400, /body must NOT have fewer than 1 properties/);
  // An explicit JSON null is a body, and not an object.
  assertProblem(await send('POST', `/v1/clusters/${id}/join-tokens`, { 'content-type': 'application/json' }, 'null'), 400, /body must be object/);
});

test('still refused: other media types and charsets (415), bad JSON, unknown fields and wrong types (400)', async () => {
  const { world, send } = await setup();
  const before = (await world.clusters.list('alice')).length;
  assertProblem(await send('POST', '/v1/clusters', { 'content-type': 'application/x-www-form-urlencoded' }, 'name=x'), 415, /send Content-Type: application\/json \(not "application\/x-www-form-urlencoded"\)/);
  assertProblem(await send('POST', '/v1/clusters', {}, '{"name":"x"}'), 415, /send Content-Type: application\/json \(none was sent\)/);
  assertProblem(await send('POST', '/v1/clusters', { 'content-type': 'application/json; charset=iso-8859-1' }, '{"name":"x"}'), 415, /must be UTF-8.*charset iso-8859-1/);
  assertProblem(await send('POST', '/v1/clusters', { 'content-type': 'application/json; charset=utf-8' }, '{"name":'), 400, /JSON/);
  assertProblem(await send('POST', '/v1/clusters', { 'content-type': 'application/json; charset=utf-8' }, '{"name":"x","region":"fra1"}'), 400, /unknown property "region"/);
  assertProblem(await send('POST', '/v1/clusters', { 'content-type': 'application/json; charset=utf-8' }, '{"name":"x","size":2}'), 400, /body\.size must be string/);
  assert.equal((await world.clusters.list('alice')).length, before, 'nothing was created');
});

test('HEAD wherever GET is (authenticated like GET); trailing slashes are the same path', async () => {
  const { app, id, send } = await setup();
  const head = await send('HEAD', `/v1/clusters/${id}`);
  assert.equal(head.statusCode, 200);
  assert.equal(head.body, '');
  assert.equal((await app.inject({ method: 'HEAD', url: `/v1/clusters/${id}` })).statusCode, 401);
  assert.equal((await send('HEAD', '/v1/clusters')).statusCode, 200);
  assert.equal((await send('GET', `/v1/clusters/${id}/`)).json().id, id);
  assert.equal((await send('POST', '/v1/clusters/', { 'content-type': 'application/json' }, '{"name":"slash"}')).statusCode, 202);
});

test('a method a path does not take is 405 with Allow; an unknown path stays 404', async () => {
  const { id, send } = await setup();
  const put = await send('PUT', `/v1/clusters/${id}`, { 'content-type': 'application/json' }, '{"name":"x"}');
  assertProblem(put, 405, /PUT is not an operation of \/v1\/clusters\/c[a-z0-9]{11}; it takes GET, HEAD, PATCH, DELETE/);
  assert.equal(put.headers.allow, 'GET, HEAD, PATCH, DELETE');
  assert.equal((await send('TRACE', '/v1/clusters')).headers.allow, 'GET, HEAD, POST');
  // A body method without a Content-Type (fastify would refuse that first) is still a 405.
  assert.equal((await send('QUERY', `/v1/clusters/${id}/usage`)).statusCode, 405);
  assert.equal((await send('DELETE', '/v1/clusters')).headers.allow, 'GET, HEAD, POST');
  assertProblem(await send('GET', '/v1/nodes'), 404, /no route for GET \/v1\/nodes/);
});

test('the OpenAPI document says which bodies may be left out, that PATCH takes merge-patch, and links a created cluster to its operations', async () => {
  const { send } = await setup();
  const document = (await send('GET', '/openapi.json')).json();
  assert.equal(document.paths['/v1/clusters'].post.requestBody.required, true);
  assert.equal(document.paths['/v1/clusters/{id}/join-tokens'].post.requestBody.required, false);
  assert.equal(document.paths['/v1/clusters/{id}'].patch.requestBody.required, true);
  assert.deepEqual(Object.keys(document.paths['/v1/clusters/{id}'].patch.requestBody.content), ['application/json', 'application/merge-patch+json']);
  assert.deepEqual(document.paths['/v1/clusters'].post.responses['202'].links.getCluster, { operationId: 'getCluster', parameters: { id: '$response.body#/id' } });
  assert.ok(document.paths['/v1/clusters'].post.responses['415'] !== undefined);
  assert.equal(document.paths['/v1/clusters/{id}/join-tokens'].post['x-required-scope'], 'join-tokens');
});
