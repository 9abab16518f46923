// The CI subset of the upstream conformance suite (e2e/conformance/selection.ts CI_SUBSET): the same runner
// as `npm run conformance`, focused on what a tenant serves: api-machinery without webhooks, the `kubernetes`
// Service's Endpoints and EndpointSlice, DNS and Service basics, and pod-to-pod across the two workers. It
// fails when a spec fails, when a selected spec did not run, or when the suite cannot start. On the same
// tenant, the `kubernetes` Service's v1 Endpoints are checked against its EndpointSlice. (The apiserver's
// service proxy finds them now, where it answered NotFound before, but proxies only to addresses whose
// targetRef is a pod, so `services/https:kubernetes:443/proxy` answers 503 "no endpoints available" here as
// in every kubeadm cluster.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counts } from '../conformance/report.ts';
import { CI_SUBSET, ciSubset } from '../conformance/selection.ts';
import { runConformance } from '../conformance/run.ts';

test('the conformance CI subset passes against a tenant with two workers', { timeout: 30 * 60_000 }, async (t) => {
  let endpoints = '';
  let slice = '';
  let proxy = '';
  const summary = await runConformance({
    // workers w7 and w8: apart from npm run conformance's w5 and w6, so both can run on one test bed
    selection: ciSubset(), nodes: 3, timeoutMinutes: 20, workerIndexes: [7, 8],
    afterSuite: async (cluster) => {
      endpoints = (await cluster.kubectl(['get', 'endpoints', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}'])).stdout;
      slice = (await cluster.kubectl(['get', 'endpointslices', '-n', 'default', '-l', 'kubernetes.io/service-name=kubernetes', '-o', 'jsonpath={.items[*].endpoints[0].addresses[0]}:{.items[*].ports[0].port}'])).stdout;
      proxy = await cluster.kubectl(['get', '--raw', '/api/v1/namespaces/default/services/https:kubernetes:443/proxy/version']).then((r) => r.stdout, (e: unknown) => String(e));
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
  assert.equal(endpoints, slice, 'one EndpointSlice, with the Endpoints\' address and port');
  assert.match(proxy, /no endpoints available for service/, 'the service proxy finds the Endpoints (it answered NotFound without them)');
});
