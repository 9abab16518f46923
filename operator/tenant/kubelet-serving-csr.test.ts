import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fakeApiServerFor } from '../../core/testing/fake-api-server.ts';
import { WAITING_WINDOW_MS, approveKubeletServingCsrs, decideKubeletServingCsr, inspectCsr, type Csr, type NodeAddresses } from './kubelet-serving-csr.ts';

/** A real PKCS#10 request from openssl (EC P-256 like kubelet's, or RSA). */
function opensslCsr(subject: string, san: string | undefined, key: 'ec' | 'rsa' = 'ec'): string {
  const keyArgs = key === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
  return execFileSync('openssl', ['req', '-new', ...keyArgs, '-nodes', '-keyout', '/dev/null', '-subj', subject, ...(san ? ['-addext', `subjectAltName=${san}`] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

const kubeletPem = opensslCsr('/O=system:nodes/CN=system:node:worker-1', 'DNS:worker-1,IP:10.0.0.7,IP:fd00::7');

function csr(overrides: { pem?: string; username?: string; groups?: string[]; usages?: string[]; signerName?: string; conditions?: { type: string; status: string }[] } = {}): Csr {
  return {
    metadata: { name: 'csr-abc' },
    spec: {
      request: Buffer.from(overrides.pem ?? kubeletPem).toString('base64'),
      signerName: overrides.signerName ?? 'kubernetes.io/kubelet-serving',
      username: overrides.username ?? 'system:node:worker-1',
      groups: overrides.groups ?? ['system:nodes', 'system:authenticated'],
      usages: overrides.usages ?? ['digital signature', 'server auth'],
    },
    status: overrides.conditions ? { conditions: overrides.conditions } : {},
  };
}

const node: NodeAddresses = {
  status: {
    addresses: [
      { type: 'InternalIP', address: '10.0.0.7' },
      { type: 'InternalIP', address: 'FD00:0::7' },
      { type: 'Hostname', address: 'worker-1' },
    ],
  },
};

test('inspectCsr reads subject and SANs of EC and RSA requests', () => {
  assert.deepEqual(inspectCsr(kubeletPem), {
    commonName: 'system:node:worker-1',
    organizations: ['system:nodes'],
    dnsNames: ['worker-1'],
    ipAddresses: ['10.0.0.7', 'fd00::7'],
    emailAddresses: [],
    uris: [],
  });
  const rsa = inspectCsr(opensslCsr('/CN=x', 'email:a@b.c,URI:spiffe://x/y', 'rsa'));
  assert.deepEqual([rsa.commonName, rsa.emailAddresses, rsa.uris], ['x', ['a@b.c'], ['spiffe://x/y']]);
  assert.throws(() => inspectCsr('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /not a PEM certificate request/);
});

test("a node's own serving request with its own addresses is approved", () => {
  assert.deepEqual(decideKubeletServingCsr(csr(), node), { action: 'approve', node: 'worker-1' });
  // RSA keys add key encipherment.
  assert.equal(decideKubeletServingCsr(csr({ usages: ['digital signature', 'key encipherment', 'server auth'] }), node).action, 'approve');
});

test('requests that are not a node asking for itself are refused', () => {
  const refused = (c: Csr, pattern: RegExp) => {
    const decision = decideKubeletServingCsr(c, node);
    assert.equal(decision.action, 'refuse');
    assert.match((decision as { reason: string }).reason, pattern);
  };
  refused(csr({ username: 'jane' }), /not by a node/);
  refused(csr({ groups: ['system:authenticated'] }), /not in system:nodes/);
  refused(csr({ usages: ['digital signature', 'server auth', 'client auth'] }), /usages/);
  refused(csr({ usages: ['digital signature'] }), /usages/);
  // worker-2 asking with worker-1's name in the subject
  refused(csr({ username: 'system:node:worker-2' }), /CN "system:node:worker-1" is not system:node:worker-2/);
  refused(csr({ pem: opensslCsr('/O=system:masters/CN=system:node:worker-1', 'DNS:worker-1') }), /subject O \["system:masters"\]/);
  // an address the Node does not report: the spoofing the built-in approver refuses to judge
  refused(csr({ pem: opensslCsr('/O=system:nodes/CN=system:node:worker-1', 'DNS:worker-1,IP:10.96.0.1') }), /SANs \["10\.96\.0\.1"\] are not addresses of Node worker-1/);
  refused(csr({ pem: opensslCsr('/O=system:nodes/CN=system:node:worker-1', 'DNS:kubernetes.default') }), /"kubernetes\.default"/);
  refused(csr({ pem: opensslCsr('/O=system:nodes/CN=system:node:worker-1', 'DNS:worker-1,email:x@y.z') }), /e-mail or URI/);
  refused(csr({ pem: opensslCsr('/O=system:nodes/CN=system:node:worker-1', undefined) }), /no DNS or IP SANs/);
  refused({ ...csr(), spec: { ...csr().spec, request: Buffer.from('garbage').toString('base64') } }, /unreadable request/);
});

test('other signers, decided requests and unregistered nodes are skipped, not judged', () => {
  assert.equal(decideKubeletServingCsr(csr({ signerName: 'kubernetes.io/kube-apiserver-client-kubelet' }), node).action, 'skip');
  assert.equal(decideKubeletServingCsr(csr({ conditions: [{ type: 'Approved', status: 'True' }] }), node).action, 'skip');
  assert.equal(decideKubeletServingCsr(csr({ conditions: [{ type: 'Denied', status: 'True' }] }), node).action, 'skip');
  assert.deepEqual(decideKubeletServingCsr(csr(), undefined), { action: 'skip', reason: 'Node worker-1 is not registered yet' });
});

test('approval round: a node\'s own request is approved; a recent one whose Node is not registered yet counts as waiting, an old one does not', async (t) => {
  const { fake, client } = await fakeApiServerFor(t);
  const CSRS = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
  const now = new Date();
  const at = (msAgo: number) => new Date(now.getTime() - msAgo).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const stored = (name: string, node: string, created: string) => fake.put(CSRS, {
    ...csr({ username: `system:node:${node}`, pem: node === 'worker-1' ? kubeletPem : opensslCsr(`/O=system:nodes/CN=system:node:${node}`, `DNS:${node}`) }),
    metadata: { name, creationTimestamp: created },
  } as never);
  fake.put('/api/v1/nodes', { metadata: { name: 'worker-1' }, ...node } as never);
  stored('own', 'worker-1', at(5_000));
  stored('not-yet-registered', 'worker-2', at(5_000));
  stored('long-pending', 'worker-3', at(WAITING_WINDOW_MS + 60_000));

  const result = await approveKubeletServingCsrs(client, { now });
  assert.deepEqual(result.approved, ['own']);
  assert.deepEqual(result.skipped.map((s) => s.name).sort(), ['long-pending', 'not-yet-registered']);
  assert.equal(result.waiting, 1, 'only the recent pending request makes the operator look again soon');
  const approved = fake.get(CSRS, undefined, 'own') as unknown as Csr;
  assert.equal(approved.status?.conditions?.find((c) => c.type === 'Approved')?.status, 'True');
});
