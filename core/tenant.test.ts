import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleTenant } from './testing/sample-tenant.ts';
import { TenantSpecError, resolveTenant, parseKubernetesVersion } from './tenant.ts';
import { validSamples } from '../crds/samples/load.ts';
import { applyDefaults, validateCreate } from '../crds/validate.ts';

test('a defaulted sample passes and yields the parsed version', () => {
  const tenant = resolveTenant(sampleTenant());
  assert.equal(tenant.name, 'demo');
  assert.deepEqual([tenant.version.major, tenant.version.minor, tenant.version.patch], [1, 36, 5]);
});

test('bad input fails with a message naming the field', () => {
  const cases: [string, (t: ReturnType<typeof sampleTenant>) => void, RegExp][] = [
    ['no uid', (t) => delete t.metadata!.uid, /metadata\.uid/],
    ['bad name', (t) => (t.metadata!.name = 'Demo_1'), /metadata\.name/],
    ['long name', (t) => (t.metadata!.name = 'a'.repeat(41)), /too long/],
    ['name starting with a digit (Service names are DNS-1035)', (t) => (t.metadata!.name = '1demo'), /start with a letter/],
    ['no namespace', (t) => delete t.metadata!.namespace, /metadata\.namespace/],
    ['bad version', (t) => (t.spec.version = '1.36' as never), /spec\.version/],
    ['2 etcd members', (t) => (t.spec.etcd.replicas = 2 as never), /spec\.etcd\.replicas/],
    ['0 control planes', (t) => (t.spec.controlPlane.replicas = 0), /spec\.controlPlane\.replicas/],
    ['nodePort on ClusterIP', (t) => (t.spec.networkProfile.nodePort = 31443), /nodePort.*only allowed with serviceType NodePort/],
    ['nodePort out of range', (t) => { t.spec.networkProfile.serviceType = 'NodePort'; t.spec.networkProfile.nodePort = 80; }, /30000\.\.32767/],
    ['bad service type', (t) => (t.spec.networkProfile.serviceType = 'ExternalName' as never), /serviceType/],
    ['undefaulted resources', (t) => delete (t.spec.controlPlane as { resources?: unknown }).resources, /resources/],
  ];
  for (const [label, patch, message] of cases) {
    assert.throws(() => resolveTenant(sampleTenant(patch)), (err: unknown) => {
      assert.ok(err instanceof TenantSpecError, label);
      assert.match(err.message, message, label);
      return true;
    });
  }
});

test('versions with pre-release or build suffixes parse', () => {
  assert.equal(parseKubernetesVersion('v1.36.0-rc.1').minor, 36);
  assert.throws(() => parseKubernetesVersion('latest'), /not a Kubernetes version/);
});

test('every valid sample, defaulted by the CRD schema, resolves; left undefaulted it is refused', () => {
  const samples = validSamples();
  assert.ok(samples.length >= 3);
  for (const sample of samples) {
    const checked = validateCreate(sample.object.spec, { name: sample.object.metadata?.name });
    assert.ok(checked.ok, sample.file);
    const tenant = resolveTenant({ ...sample.object, metadata: { ...sample.object.metadata, namespace: 'team-a', uid: 'u-1', generation: 2 }, spec: checked.value });
    assert.equal(tenant.name, sample.object.metadata?.name, sample.file);
    assert.equal(tenant.generation, 2, sample.file);
    assert.equal(tenant.spec.version, sample.object.spec.version, sample.file);
  }
  // A spec that skipped defaulting (an older CRD, a hand-made object) is refused with the field to fix.
  const undefaulted = samples.filter((sample) => JSON.stringify(applyDefaults(sample.object.spec)) !== JSON.stringify(sample.object.spec));
  assert.ok(undefaulted.length >= 2, 'some samples rely on defaults');
  for (const sample of undefaulted) {
    assert.throws(() => resolveTenant({ ...sample.object, metadata: { ...sample.object.metadata, namespace: 'team-a', uid: 'u-1' } }), TenantSpecError, sample.file);
  }
});

test('a NodePort tenant without an address is reached at the node address the operator observed; an address in the spec wins', () => {
  const nodePort = (address?: string) => sampleTenant((t) => {
    t.spec.networkProfile.serviceType = 'NodePort';
    if (address) t.spec.networkProfile.address = address;
  });
  assert.equal(resolveTenant(nodePort(), { nodeAddress: '10.199.0.1' }).spec.networkProfile.address, '10.199.0.1');
  assert.equal(resolveTenant(nodePort('api.example.com'), { nodeAddress: '10.199.0.1' }).spec.networkProfile.address, 'api.example.com');
  assert.equal(resolveTenant(nodePort()).spec.networkProfile.address, undefined, 'no node known yet: no address');
  assert.equal(resolveTenant(sampleTenant(), { nodeAddress: '10.199.0.1' }).spec.networkProfile.address, undefined, 'ClusterIP tenants do not take the node address');
  const tcp = nodePort();
  resolveTenant(tcp, { nodeAddress: '10.199.0.1' });
  assert.equal(tcp.spec.networkProfile.address, undefined, 'the tcp itself is left alone');
});
