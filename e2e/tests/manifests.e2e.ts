// The install manifests are accepted by a real API server (server-side dry run: schema, RBAC rules and
// object validation), together with the CRD they need.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testbed } from '../support/testbed.ts';

test('manifests/ and the CRD pass a server-side dry run', async () => {
  const tb = await testbed();
  await tb.kubectl(['apply', '--server-side', '-f', 'crds/kubeception.io_tenantcontrolplanes.yaml']);
  // a dry run creates nothing, so the namespaced objects need their namespace to exist for real
  await tb.kubectl(['apply', '--server-side', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kubeception-system\n');
  const { stdout } = await tb.kubectl(['apply', '--server-side', '--dry-run=server', '-f', 'manifests/']);
  for (const kind of ['clusterrole.rbac.authorization.k8s.io/kubeception-operator', 'deployment.apps/kubeception-operator', 'deployment.apps/kubeception-api', 'service/kubeception-api']) {
    assert.match(stdout, new RegExp(kind.replaceAll('.', '\\.')), `${kind} is in the dry run`);
  }
});
