// The running API fuzzed from its own /openapi.json with schemathesis (PyPI, installed into a cached
// venv by e2e/api-fuzz/schemathesis.ts): every operation, valid and invalid input, and the stateful
// phase that follows the document's links (create a cluster, then get, patch, delete it...). No
// answer may be a 5xx, every answer must match the document (status, content type, headers, body),
// invalid requests must be refused and an undocumented method answered 405.
//
// The API runs over the test bed's host with the per-cluster layout (`kcfuzz-<id>` namespaces that
// no operator watches: the clusters it creates never run), a quota of 5 clusters bounding what the
// fuzzer can create. KUBECEPTION_API_FUZZ_EXAMPLES sets the cases per operation (default 30).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createApiKey } from '../../api/host/auth-store.ts';
import { KubeClient } from '../../api/host/kube.ts';
import { SCOPES } from '../../api/types.ts';
import { fuzzApi } from '../api-fuzz/schemathesis.ts';
import { applyCrd, closeApiTest, startApiReplica, waitApiReady, type ApiReplica } from '../support/api.ts';
import { testbed, testNamespace } from '../support/testbed.ts';

const PREFIX = 'kcfuzz-';
const EXAMPLES = Number(process.env.KUBECEPTION_API_FUZZ_EXAMPLES ?? 30);

let host: KubeClient;
const replicas: ApiReplica[] = [];
let key: string;
let cleanupState: () => Promise<void> = async () => {};

before(async () => {
  const tb = await testbed();
  host = new KubeClient(tb.kubeConfig);
  await applyCrd(tb);
  const ns = await testNamespace(tb, 'kc-fuzz-state');
  cleanupState = ns.cleanup;
  key = (await createApiKey({ client: host, namespace: ns.name }, { account: 'fuzz', scopes: [...SCOPES], groups: ['kubeception:tenant-admins'] })).key;
  replicas.push(
    await startApiReplica(tb, {
      namespace: ns.name,
      layout: { kind: 'per-cluster', prefix: PREFIX },
      defaultLimits: { maxClusters: 5, maxJoinTokensPerCluster: 5, maxKubeconfigsPerHour: 100 },
    }),
  );
  await waitApiReady(replicas[0]!);
});

after(() => closeApiTest(host, replicas, PREFIX, cleanupState));

test('schemathesis from /openapi.json: no 5xx, every answer as documented, invalid input refused', { timeout: 15 * 60_000 }, async (t) => {
  const result = await fuzzApi({ baseUrl: replicas[0]!.base, apiKey: key, maxExamples: EXAMPLES }, (line) => t.diagnostic(line));
  const summary = result.output.slice(result.output.lastIndexOf('SUMMARY'));
  t.diagnostic(summary);
  assert.ok(result.ok, `schemathesis exited ${result.exitCode}:\n${result.output.slice(-20_000)}`);
  const selected = /Selected: (\d+)\/(\d+)/.exec(summary);
  const tested = /Tested: (\d+)/.exec(summary);
  assert.ok(selected !== null && tested !== null && selected[1] === selected[2] && tested[1] === selected[1], `every operation was exercised:\n${summary}`);
});
