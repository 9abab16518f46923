import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp } from './app.ts';
import { describeValidation, ProblemError } from './problems.ts';
import { memoryWorld, testKey } from './testing.ts';

const KEY = testKey('alice');

async function app() {
  const world = memoryWorld({ bodyLimit: 1024 });
  world.auth.add(KEY, { account: 'alice', scopes: ['read', 'write', 'kubeconfig'], groups: [] });
  const instance = await buildApp(world.deps);
  // A route that fails the way a bug would, registered before the app is ready.
  instance.get('/boom', async () => {
    throw new TypeError('secret internal detail');
  });
  return instance;
}

const auth = { authorization: `Bearer ${KEY}` };

function assertProblem(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, detail: RegExp) {
  assert.equal(response.statusCode, status);
  assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = response.json() as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.match(String(body.type), /^https:\/\/kubeception\.io\/problems\/[a-z0-9-]+$/);
  assert.equal(typeof body.title, 'string');
  assert.match(String(body.detail), detail);
  assert.equal(body.requestId, response.headers['x-request-id']);
  return body;
}

test('unknown routes are 404 problems naming the route', async () => {
  const response = await (await app()).inject({ method: 'GET', url: '/v2/whatever?x=1' });
  assertProblem(response, 404, /no route for GET \/v2\/whatever/);
});

test('schema violations list every field with a readable message', async () => {
  const response = await (await app()).inject({ method: 'POST', url: '/v1/clusters', headers: auth, payload: { size: 'huge', colour: 'red' } });
  const body = assertProblem(response, 400, /body is missing required property "name".*body has unknown property "colour".*body\.size must be one of: small, medium, large/);
  assert.deepEqual(body.errors, [
    { location: 'body', message: 'is missing required property "name"' },
    { location: 'body', message: 'has unknown property "colour"' },
    { location: 'body.size', message: 'must be one of: small, medium, large' },
  ]);
});

test('bodies are not coerced: a number as a string is refused', async () => {
  const response = await (await app()).inject({ method: 'POST', url: '/v1/clusters', headers: auth, payload: { name: 7 } });
  assertProblem(response, 400, /body\.name must be string/);
});

test('query strings and path parameters are validated', async () => {
  const instance = await app();
  assertProblem(await instance.inject({ method: 'GET', url: '/v1/clusters?limit=0', headers: auth }), 400, /query\.limit must be >= 1/);
  assertProblem(await instance.inject({ method: 'GET', url: '/v1/clusters?sort=name', headers: auth }), 400, /query has unknown property "sort"/);
  assertProblem(await instance.inject({ method: 'GET', url: '/v1/clusters/NOT-AN-ID', headers: auth }), 400, /path\.id must match pattern/);
  assertProblem(await instance.inject({ method: 'GET', url: '/v1/clusters?cursor=abc', headers: auth }), 400, /cursor is not a cursor/);
  // Routes without query parameters refuse them instead of ignoring them (DELETE ?force=true must not delete).
  assertProblem(await instance.inject({ method: 'DELETE', url: '/v1/clusters/cabcdefghijk?force=true', headers: auth }), 400, /query has unknown property "force"/);
});

test('malformed JSON, wrong media type, empty and oversized bodies are client errors', async () => {
  const instance = await app();
  assertProblem(
    await instance.inject({ method: 'POST', url: '/v1/clusters', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"name":' }),
    400,
    /JSON/i,
  );
  assertProblem(
    await instance.inject({ method: 'POST', url: '/v1/clusters', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'name=x' }),
    415,
    /the API takes JSON bodies: send Content-Type: application\/json \(not "text\/plain"\)/,
  );
  // An empty body is no body: the schema names what is missing.
  assertProblem(await instance.inject({ method: 'POST', url: '/v1/clusters', headers: { ...auth, 'content-type': 'application/json' }, payload: '' }), 400, /missing required property "name"/);
  assertProblem(
    await instance.inject({ method: 'POST', url: '/v1/clusters', headers: auth, payload: { name: 'x'.repeat(2000) } }),
    413,
    /too large/i,
  );
  assertProblem(
    await instance.inject({ method: 'POST', url: '/v1/clusters', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"__proto__":{"x":1},"name":"a"}' }),
    400,
    /not valid JSON/i,
  );
});

test('unexpected errors are 500 problems that hide internals and quote the request id', async () => {
  const response = await (await app()).inject({ method: 'GET', url: '/boom', headers: { 'x-request-id': 'portal-123' } });
  const body = assertProblem(response, 500, /quote request id portal-123/);
  assert.ok(!JSON.stringify(body).includes('secret internal detail'));
});

test('a reasonable X-Request-Id is echoed, an unreasonable one replaced', async () => {
  const instance = await app();
  const kept = await instance.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123.x' } });
  assert.equal(kept.headers['x-request-id'], 'abc-123.x');
  const replaced = await instance.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id <script>' } });
  assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('ProblemError extensions never override the standard members', () => {
  const problem = new ProblemError(409, 'conflict', 'nope', { extensions: { status: 200, phase: 'Provisioning' } }).toProblem('/x', 'r1');
  assert.equal(problem.status, 409);
  assert.equal(problem.phase, 'Provisioning');
});

test('describeValidation names the part and the property path', () => {
  const { detail, errors } = describeValidation('querystring', [{ instancePath: '/a/0/b', message: 'must be integer', keyword: 'type' }]);
  assert.equal(detail, 'query.a.0.b must be integer');
  assert.deepEqual(errors, [{ location: 'query.a.0.b', message: 'must be integer' }]);
});
