// The TenantControlPlane CRD in a real API server: it installs and becomes Established, fills in the same
// defaults as crds/validate.ts, refuses every invalid sample with the message its comment announces (the
// CEL rules really run), shows the printer columns, and scales through the scale subresource.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { GENERATED_FILES } from '../../crds/generate.ts';
import type { TenantControlPlane } from '../../core/index.ts';
import { invalidSamples, validSamples } from '../../crds/samples/load.ts';
import { CRD_NAME } from '../../crds/schema/tenant-control-plane.ts';
import { applyDefaults, validateCreate } from '../../crds/validate.ts';
import fc from 'fast-check';
import { eventually, testbed, testNamespace, type Testbed } from '../support/testbed.ts';

const FIELD_MANAGER = 'kubeception-e2e-crd';

let tb: Testbed;
let namespace: string;
let cleanup: () => Promise<void> = async () => {};

/** Server-side apply of one object; resolves with kubectl's output or rejects with the API server's error. */
function apply(yaml: string): Promise<string> {
  return tb
    .kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-n', namespace, '-f', '-'], yaml)
    .then((r) => r.stdout);
}

async function refusal(yaml: string): Promise<string> {
  try {
    const out = await apply(yaml);
    return assert.fail(`the API server accepted it: ${out}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return String((err as Error).message);
  }
}

async function getTCP(name: string): Promise<TenantControlPlane> {
  const { stdout } = await tb.kubectl(['get', 'tenantcontrolplanes.kubeception.io', name, '-n', namespace, '-o', 'json']);
  return JSON.parse(stdout) as TenantControlPlane;
}

before(async () => {
  tb = await testbed();
  await tb.kubectl(['apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', GENERATED_FILES.crd]);
  await tb.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `customresourcedefinition/${CRD_NAME}`]);
  const ns = await testNamespace(tb, 'crd');
  namespace = ns.name;
  cleanup = ns.cleanup;
});

after(() => cleanup());

test('the CRD is Established and kubectl knows the short name tcp', async () => {
  const { stdout } = await tb.kubectl(['get', 'crd', CRD_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
  assert.equal(stdout.trim(), 'True');
  // Discovery may lag right after the CRD is established.
  const names = await eventually('kubectl api-resources lists tcp', async () => {
    const { stdout: out } = await tb.kubectl(['api-resources', '--api-group=kubeception.io', '--no-headers']);
    return out.includes('tcp') ? out : undefined;
  });
  assert.match(names, /^tenantcontrolplanes\s+tcp\s+kubeception\.io\/v1alpha1\s+true\s+TenantControlPlane/m);
});

test('the good samples are accepted and stored with the defaults crds/validate.ts computes', async () => {
  for (const sample of validSamples()) {
    await eventually(`apply ${sample.file}`, () => apply(stringify(sample.object)), 30_000);
    const stored = await getTCP(sample.object.metadata!.name!);
    assert.deepEqual(stored.spec, applyDefaults(sample.object.spec), sample.file);
  }
  const minimal = await getTCP('demo');
  assert.equal(minimal.spec.networkProfile.serviceCIDR, '10.96.0.0/12');
  assert.deepEqual(minimal.spec.controlPlane.resources.apiServer.requests, { cpu: '250m', memory: '256Mi' });
});

test('every invalid sample is refused by the API server with the announced message', async () => {
  const samples = invalidSamples();
  assert.ok(samples.length >= 12);
  const failures: string[] = [];
  for (const sample of samples) {
    if (sample.base) await apply(stringify(sample.base)); // update case: the base is valid
    const message = await refusal(sample.objectYaml);
    const expected = sample.expectApiServer ?? sample.expect;
    if (!message.includes(expected)) failures.push(`${sample.file}: expected "${expected}" in: ${message}`);
  }
  assert.deepEqual(failures, []);
});

test('update cases: the refused change left the stored object as it was', async () => {
  for (const sample of invalidSamples().filter((s) => s.base)) {
    const stored = await getTCP(sample.base!.metadata!.name!);
    assert.deepEqual(stored.spec, applyDefaults(sample.base!.spec), sample.file);
  }
});

test('allowed updates pass: one minor up, scaling, a NodePort Service, a larger etcd volume', async () => {
  const name = 'upgrade';
  await apply(stringify({ apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', metadata: { name }, spec: { version: 'v1.35.4' } }));
  await apply(
    stringify({
      apiVersion: 'kubeception.io/v1alpha1',
      kind: 'TenantControlPlane',
      metadata: { name },
      spec: {
        version: 'v1.36.5',
        controlPlane: { replicas: 2 },
        etcd: { storage: { size: '2Gi' } },
        networkProfile: { serviceType: 'NodePort', nodePort: 32001 },
      },
    }),
  );
  const stored = await getTCP(name);
  assert.equal(stored.spec.version, 'v1.36.5');
  assert.equal(stored.spec.etcd.storage.size, '2Gi');
  assert.equal(stored.spec.networkProfile.nodePort, 32001);
});

test('kubectl get tcp shows VERSION, READY and ENDPOINT from spec and status', async () => {
  const status = {
    status: {
      observedGeneration: 1,
      phase: 'Ready',
      version: 'v1.36.5',
      endpoint: 'https://192.0.2.10:31443',
      controlPlane: { replicas: 1, readyReplicas: 1, selector: 'kubeception.io/tenant=demo,kubeception.io/component=control-plane' },
      kubeconfigSecrets: { admin: 'demo-admin-kubeconfig', clusterAPI: 'demo-kubeconfig' },
      conditions: [
        { type: 'Ready', status: 'True', reason: 'AllPartsReady', message: 'the control plane answers', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
      ],
    },
  };
  await tb.kubectl(['patch', 'tcp', 'demo', '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  const { stdout } = await tb.kubectl(['get', 'tcp', 'demo', '-n', namespace]);
  const [header, row] = stdout.trim().split('\n').map((line) => line.trim().split(/\s+/));
  assert.deepEqual(header, ['NAME', 'VERSION', 'READY', 'ENDPOINT', 'AGE']);
  assert.deepEqual(row!.slice(0, 4), ['demo', 'v1.36.5', 'True', 'https://192.0.2.10:31443']);
});

test('the status schema is enforced too', async () => {
  const bad = { status: { phase: 'Sleeping' } };
  await assert.rejects(
    tb.kubectl(['patch', 'tcp', 'demo', '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify(bad)]),
    /Unsupported value: "Sleeping"/,
  );
});

test('kubectl scale tcp goes through the scale subresource to spec.controlPlane.replicas', async () => {
  await tb.kubectl(['scale', 'tcp', 'demo', '-n', namespace, '--replicas=3']);
  assert.equal((await getTCP('demo')).spec.controlPlane.replicas, 3);
  const { stdout } = await tb.kubectl(['get', '--raw', `/apis/kubeception.io/v1alpha1/namespaces/${namespace}/tenantcontrolplanes/demo/scale`]);
  const scale = JSON.parse(stdout) as { kind: string; spec: { replicas: number }; status: { replicas: number; selector: string } };
  assert.equal(scale.kind, 'Scale');
  assert.equal(scale.spec.replicas, 3);
  assert.equal(scale.status.replicas, 1);
  assert.equal(scale.status.selector, 'kubeception.io/tenant=demo,kubeception.io/component=control-plane');
  // The scale subresource is validated against the same schema: at most 5 control-plane pods.
  await assert.rejects(tb.kubectl(['scale', 'tcp', 'demo', '-n', namespace, '--replicas=9']), /less than or equal to 5/);
  assert.equal((await getTCP('demo')).spec.controlPlane.replicas, 3);
});

test('the TypeScript mirrors of the CEL rules agree with the API server on random network profiles and resources', async () => {
  const ipv4 = fc.ipV4();
  const ipv6 = fc.ipV6().filter((a) => a.length <= 39);
  const prefixed = (ip: fc.Arbitrary<string>, max: number) => fc.tuple(ip, fc.integer({ min: 0, max })).map(([a, p]) => `${a}/${p}`);
  // Mostly plausible values, some near the limits, a few malformed ones.
  const cidrText = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('10.96.0.0/12', '10.244.0.0/16', '10.96.0.0/16', '172.16.0.0/20', 'fd00:10:96::/108', 'fd00:10:244::/56') },
    { weight: 3, arbitrary: prefixed(ipv4, 32) },
    { weight: 2, arbitrary: prefixed(ipv6, 128) },
    { weight: 1, arbitrary: fc.constantFrom('10.96.0.0/33', '10.96.0.0', '::ffff:10.0.0.0/104', 'fd00::/012') },
  );
  const ipText = fc.oneof(fc.constantFrom('10.96.0.10', '10.96.0.0', 'fd00:10:96::a', '10.0.0.10'), ipv4, ipv6);
  const quantityText = fc.oneof(
    fc.constantFrom('250m', '1', '0.5', '1Gi', '1G', '1024Mi', '1e3', '100m', '-1', '1.5Gi'),
    fc.integer({ min: 0, max: 4096 }).map(String),
  );
  // Random values almost always break some rule: mix them with known-good ones so both verdicts occur.
  const networkProfile = fc.oneof(
    fc.constantFrom(
      { serviceCIDR: '10.96.0.0/12', podCIDR: '10.244.0.0/16', dnsServiceIP: '10.96.0.10' },
      { serviceCIDR: '172.16.0.0/20', podCIDR: '10.0.0.0/8', dnsServiceIP: '172.16.15.254' },
      { serviceCIDR: 'fd00:10:96::/108', podCIDR: 'fd00:10:244::/56', dnsServiceIP: 'fd00:10:96::a' },
    ),
    fc.record({ serviceCIDR: cidrText, podCIDR: cidrText, dnsServiceIP: ipText }),
  );
  const resources = fc.oneof(
    fc.constantFrom({ requests: { cpu: '250m' }, limits: { cpu: '1' } }, { requests: { cpu: '1Gi' }, limits: { cpu: '1G' } }),
    fc.record({ requests: fc.record({ cpu: quantityText }), limits: fc.record({ cpu: quantityText }) }),
  );
  const spec = fc.record({
    version: fc.constant('v1.36.5'),
    networkProfile,
    controlPlane: fc.record({ resources: fc.record({ apiServer: resources }) }),
  });
  const disagreements: string[] = [];
  let refused = 0;
  for (const candidate of fc.sample(spec, { numRuns: 40, seed: 20261125 })) {
    const object = { apiVersion: 'kubeception.io/v1alpha1', kind: 'TenantControlPlane', metadata: { name: 'parity' }, spec: candidate };
    const ours = validateCreate(candidate, { name: 'parity' });
    let theirs = '';
    try {
      await tb.kubectl(['apply', '--server-side', '--dry-run=server', `--field-manager=${FIELD_MANAGER}`, '-n', namespace, '-f', '-'], stringify(object));
    } catch (err) {
      theirs = String((err as Error).message);
    }
    if (!ours.ok) refused++;
    const missing = ours.ok ? [] : ours.errors.filter((e) => !theirs.includes(e.message)).map((e) => e.message);
    if (ours.ok !== (theirs === '') || missing.length > 0) {
      disagreements.push(`${JSON.stringify(candidate)}\n  ours: ${ours.ok ? 'accepted' : ours.errors.map((e) => e.message).join(' | ')}\n  API server: ${theirs || 'accepted'}`);
    }
  }
  assert.deepEqual(disagreements, []);
  assert.ok(refused > 5 && refused < 40, `the sample should mix good and bad specs (${refused} of 40 refused)`);
});
