// The CI subset of the upstream conformance suite (e2e/conformance/selection.ts CI_SUBSET): the same runner
// as `npm run conformance`, focused on what a tenant serves: api-machinery without webhooks, the `kubernetes`
// Service's Endpoints and EndpointSlice, DNS and Service basics, and pod-to-pod across the two workers. It
// fails when a spec fails, when a selected spec did not run, or when the suite cannot start. On the same
// tenant: the apiserver's service proxy reaches the `kubernetes` Service (it reads the v1 Endpoints).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counts } from '../conformance/report.ts';
import { CI_SUBSET, ciSubset } from '../conformance/selection.ts';
import { runConformance } from '../conformance/run.ts';

test('the conformance CI subset passes against a tenant with two workers', { timeout: 30 * 60_000 }, async (t) => {
  let proxied = '';
  let endpoints = '';
  const summary = await runConformance({
    selection: ciSubset(), nodes: 3, timeoutMinutes: 20,
    afterSuite: async (cluster) => {
      endpoints = (await cluster.kubectl(['get', 'endpoints', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}'])).stdout;
      proxied = (await cluster.kubectl(['get', '--raw', '/api/v1/namespaces/default/services/https:kubernetes:443/proxy/version'])).stdout;
    },
  });
  const n = counts(summary.results);
  t.diagnostic(`${n.passed} passed, ${n.failed} failed in ${summary.seconds.toFixed(0)} s; ${Object.entries(summary.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}; log ${summary.logFile}`);
  const failed = summary.results.filter((r) => r.state === 'failed');
  assert.deepEqual(failed.map((r) => `${r.name}: ${(r.message ?? '').slice(0, 500)}`), [], 'every selected spec passes');
  for (const focus of CI_SUBSET) {
    assert.ok(summary.results.some((r) => r.state === 'passed' && new RegExp(focus).test(r.name)), `a spec matching ${focus} ran and passed`);
  }
  assert.match(endpoints, /^\d+\.\d+\.\d+\.\d+:\d+$/, 'the kubernetes Service has v1 Endpoints');
  assert.equal((JSON.parse(proxied) as { gitVersion: string }).gitVersion, 'v1.36.5', 'the service proxy reaches the kubernetes Service');
});
