import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError } from '../../core/index.ts';
import { ProblemError } from '../problems.ts';
import { hostUnavailable, onHost } from './kube.ts';

test('an overloaded or unreachable host becomes a 503 the portal can retry', async () => {
  for (const error of [
    new KubeApiError('GET', '/x', 503, { reason: 'ServiceUnavailable' }),
    new KubeApiError('GET', '/x', 429, { reason: 'TooManyRequests' }),
    new TypeError('fetch failed'),
    Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }),
  ]) {
    const problem = hostUnavailable(error);
    assert.ok(problem instanceof ProblemError, String(error));
    assert.equal(problem.status, 503);
    assert.equal(problem.headers['retry-after'], '5');
    await assert.rejects(onHost(() => Promise.reject(error)), (e: unknown) => e instanceof ProblemError && e.status === 503);
  }
});

test('answers that are about the request, and our own bugs, pass through unchanged', async () => {
  const notFound = new KubeApiError('GET', '/x', 404, { reason: 'NotFound' });
  assert.equal(hostUnavailable(notFound), undefined);
  assert.equal(hostUnavailable(new KubeApiError('POST', '/x', 422, { reason: 'Invalid' })), undefined);
  assert.equal(hostUnavailable(new RangeError('bug')), undefined);
  await assert.rejects(onHost(() => Promise.reject(notFound)), (e: unknown) => e === notFound);
  assert.equal(await onHost(async () => 7), 7);
});
