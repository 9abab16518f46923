import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidSamples, validSamples } from './samples/load.ts';
import { PROTECTED_FLAGS, type ControlPlaneComponent } from './schema/rules.ts';
import { SUPPORTED_VERSIONS } from './schema/versions.ts';
import {
  applyDefaults,
  formatFieldErrors,
  validateCreate,
  validateTenantControlPlaneSpec,
  validateTenantName,
  validateUpdate,
  type FieldError,
} from './validate.ts';

function errorsOf(result: ReturnType<typeof validateCreate>): FieldError[] {
  return result.ok ? [] : result.errors;
}

test('the good samples are accepted and come back with every default filled in', () => {
  const samples = validSamples();
  assert.ok(samples.length >= 2);
  for (const sample of samples) {
    const result = validateCreate(sample.object.spec, { name: sample.object.metadata?.name });
    assert.ok(result.ok, `${sample.file}: ${formatFieldErrors(errorsOf(result))}`);
    assert.deepEqual(result.value, applyDefaults(sample.object.spec), sample.file);
    assert.equal(typeof result.value.networkProfile.serviceCIDR, 'string', `${sample.file}: defaults applied`);
  }
});

test('defaults are those of docs/contracts.md', () => {
  const spec = applyDefaults({ version: 'v1.36.5' });
  assert.deepEqual(spec.controlPlane.resources.apiServer, { requests: { cpu: '250m', memory: '256Mi' } });
  assert.deepEqual(spec.controlPlane.resources.controllerManager, { requests: { cpu: '100m', memory: '128Mi' } });
  assert.deepEqual(spec.controlPlane.resources.scheduler, { requests: { cpu: '50m', memory: '64Mi' } });
  assert.deepEqual(spec.controlPlane.extraArgs, { apiServer: {}, controllerManager: {}, scheduler: {} });
  assert.equal(spec.controlPlane.replicas, 1);
  assert.deepEqual(spec.etcd, { replicas: 1, storage: { size: '1Gi' }, resources: { requests: { cpu: '100m', memory: '256Mi' } } });
  assert.deepEqual(spec.networkProfile, {
    serviceType: 'ClusterIP',
    port: 6443,
    serviceCIDR: '10.96.0.0/12',
    podCIDR: '10.244.0.0/16',
    dnsServiceIP: '10.96.0.10',
    clusterDomain: 'cluster.local',
  });
  assert.deepEqual(spec.addons, { coreDNS: { enabled: true }, kubeProxy: { enabled: true }, konnectivity: { enabled: true }, cni: { enabled: true } });
});

test('defaults fill gaps without overwriting what the user set', () => {
  const spec = applyDefaults({ version: 'v1.35.4', controlPlane: { resources: { apiServer: { requests: { cpu: 1 } } } } });
  assert.deepEqual(spec.controlPlane.resources.apiServer.requests, { cpu: 1, memory: '256Mi' });
});

test('each invalid sample is refused with the message its comment announces', () => {
  const samples = invalidSamples();
  assert.ok(samples.length >= 12, `only ${samples.length} invalid samples`);
  assert.ok(samples.filter((s) => s.base).length >= 2, 'update cases are part of the samples');
  for (const sample of samples) {
    const name = sample.object.metadata?.name;
    if (sample.base) {
      const base = validateCreate(sample.base.spec, { name });
      assert.ok(base.ok, `${sample.file}: the base object must be valid: ${formatFieldErrors(errorsOf(base))}`);
    }
    const result = sample.base ? validateUpdate(sample.base.spec, sample.object.spec) : validateCreate(sample.object.spec, { name });
    assert.equal(result.ok, false, `${sample.file} was accepted`);
    const text = formatFieldErrors(errorsOf(result));
    assert.ok(text.includes(sample.expect), `${sample.file}: expected "${sample.expect}" in: ${text}`);
  }
});

test('update cases are accepted as creates: only the change is wrong', () => {
  for (const sample of invalidSamples().filter((s) => s.base)) {
    const result = validateCreate(sample.object.spec);
    assert.ok(result.ok, `${sample.file}: ${formatFieldErrors(errorsOf(result))}`);
  }
});

test('errors carry the path of the bad field', () => {
  const result = validateTenantControlPlaneSpec({
    version: 'v1.36.5',
    networkProfile: { dnsServiceIP: '10.0.0.10', certSANs: ['ok.example.com', 'bad_name'] },
  });
  assert.deepEqual(errorsOf(result).map((e) => e.path).sort(), [
    'spec.networkProfile.certSANs[1]',
    'spec.networkProfile.dnsServiceIP',
  ]);
});

test('validation does not change its input', () => {
  const input = { version: 'v1.36.5', networkProfile: { serviceType: 'NodePort', nodePort: 31000 } };
  const copy = structuredClone(input);
  const result = validateTenantControlPlaneSpec(input);
  assert.ok(result.ok);
  assert.deepEqual(input, copy);
  assert.equal(result.value.networkProfile.port, 6443);
});

test('a spec that is not an object is refused, not thrown on', () => {
  for (const bad of [null, 'v1.36.5', 42, ['v1.36.5']]) {
    assert.deepEqual(errorsOf(validateTenantControlPlaneSpec(bad)), [{ path: 'spec', message: 'must be of type object' }]);
  }
  assert.throws(() => applyDefaults(null as never), /must be an object/);
});

test('quantities may be integers or strings, nothing else', () => {
  assert.ok(validateTenantControlPlaneSpec({ version: 'v1.36.5', etcd: { resources: { requests: { cpu: 1 } } } }).ok);
  const result = validateTenantControlPlaneSpec({ version: 'v1.36.5', etcd: { resources: { requests: { cpu: true } } } });
  assert.deepEqual(errorsOf(result), [{ path: 'spec.etcd.resources.requests.cpu', message: 'must be of type integer or string' }]);
});

test('every protected flag is refused for its component; ordinary flags pass', () => {
  for (const component of Object.keys(PROTECTED_FLAGS) as ControlPlaneComponent[]) {
    const { names, prefixes } = PROTECTED_FLAGS[component];
    for (const flag of [...names, ...prefixes.map((p) => `${p}something`)]) {
      const result = validateTenantControlPlaneSpec({ version: 'v1.36.5', controlPlane: { extraArgs: { [component]: { [flag]: 'x' } } } });
      assert.deepEqual(errorsOf(result), [
        {
          path: `spec.controlPlane.extraArgs.${component}`,
          message: `extraArgs may not override --${flag}: the operator sets these flags to keep the control plane secure`,
        },
      ]);
    }
    const fine = validateTenantControlPlaneSpec({ version: 'v1.36.5', controlPlane: { extraArgs: { [component]: { v: '4', 'feature-gates': 'Foo=true' } } } });
    assert.ok(fine.ok, component);
  }
});

test('updates: allowed changes pass, the version may move one minor up', () => {
  const base = { version: 'v1.35.4', networkProfile: { serviceType: 'ClusterIP' } };
  const next = { version: 'v1.36.5', controlPlane: { replicas: 3 }, networkProfile: { serviceType: 'NodePort', nodePort: 31000 }, etcd: { storage: { size: '2Gi' } } };
  const result = validateUpdate(base, next);
  assert.ok(result.ok, formatFieldErrors(errorsOf(result)));
});

test('updates: values that did not change are not re-validated (ratcheting, as the API server does)', () => {
  // A tenant created when v1.33.9 was still supported can still be edited.
  const old = { version: 'v1.33.9' };
  assert.ok(validateUpdate(old, { version: 'v1.33.9', controlPlane: { replicas: 2 } }).ok);
  assert.ok(validateUpdate(old, { version: 'v1.34.4' }).ok);
  // but a changed bad value is still refused
  assert.equal(validateUpdate(old, { version: 'v1.33.10' }).ok, false);
  assert.ok(!SUPPORTED_VERSIONS.includes('v1.33.9' as never));
});

test('updates: removing a defaulted field re-defaults it, so an immutable field cannot be dropped', () => {
  const old = { version: 'v1.36.5', networkProfile: { serviceCIDR: '10.100.0.0/16', dnsServiceIP: '10.100.0.10' } };
  const result = validateUpdate(old, { version: 'v1.36.5' });
  assert.deepEqual(errorsOf(result), [
    {
      path: 'spec.networkProfile.serviceCIDR',
      message: 'serviceCIDR is immutable: Services of the tenant cluster already have addresses from it',
    },
  ]);
});

test('tenant names: DNS-1035 labels of at most 40 characters', () => {
  assert.deepEqual(validateTenantName('demo-1'), []);
  assert.deepEqual(validateTenantName('a'.repeat(40)), []);
  for (const bad of ['a'.repeat(41), '1demo', 'Demo', 'demo-', 'de.mo', '']) {
    const errors = validateTenantName(bad);
    assert.equal(errors.length, 1, bad);
    assert.equal(errors[0]!.path, 'metadata.name');
  }
});

test('address: an IP or DNS name outside the tenant ranges passes; inside them, or anything else, is refused', () => {
  const withAddress = (address: string, extra: Record<string, string> = {}) =>
    validateTenantControlPlaneSpec({ version: 'v1.36.5', networkProfile: { address, ...extra } });
  for (const fine of ['203.0.113.10', '2001:db8::10', 'api.example.com', 'localhost', '10.95.255.255', '10.112.0.0']) {
    const result = withAddress(fine);
    assert.ok(result.ok, `${fine}: ${formatFieldErrors(errorsOf(result))}`);
  }
  // a range of the other family does not contain the address
  assert.ok(withAddress('10.96.0.1', { serviceCIDR: 'fd00:10:96::/108', dnsServiceIP: 'fd00:10:96::a', podCIDR: 'fd00:10:244::/56' }).ok);
  for (const bad of ['https://api.example.com', 'api.example.com:6443', 'API.example.com', '10.0.0.1/32', '::ffff:10.0.0.1', 'a_b.example.com']) {
    const errors = errorsOf(withAddress(bad));
    assert.equal(errors.length, 1, `${bad}: ${formatFieldErrors(errors)}`);
    assert.equal(errors[0]!.path, 'spec.networkProfile.address');
    assert.match(errors[0]!.message, /^address must be an IP address \(such as 203\.0\.113\.10 or 2001:db8::10\) or a lowercase DNS name/);
  }
  assert.deepEqual(errorsOf(withAddress('10.244.3.7')), [
    {
      path: 'spec.networkProfile.address',
      message:
        'address 10.244.3.7 lies inside podCIDR 10.244.0.0/16: inside the tenant cluster that address belongs to a pod, so nodes ' +
        'and pods would not reach the API server; choose an address outside the Service and pod ranges of the tenant',
    },
  ]);
  assert.equal(errorsOf(withAddress('10.96.0.1'))[0]!.message.startsWith('address 10.96.0.1 lies inside serviceCIDR 10.96.0.0/12'), true);
});

test('address: a tenant moved to a new address on update is checked like a new one', () => {
  const old = { version: 'v1.36.5', networkProfile: { address: '203.0.113.10' } };
  assert.ok(validateUpdate(old, { version: 'v1.36.5', networkProfile: { address: '203.0.113.11' } }).ok);
  assert.equal(validateUpdate(old, { version: 'v1.36.5', networkProfile: { address: '10.96.0.20' } }).ok, false);
});

test('the API port may be 8132 only with konnectivity off (the API Service serves konnectivity there)', () => {
  const spec = (enabled: boolean) => ({ version: 'v1.36.5', networkProfile: { port: 8132 }, addons: { konnectivity: { enabled } } });
  assert.match(errorsOf(validateCreate(spec(true))).map((e) => e.message).join('\n'), /may not be 8132 while addons\.konnectivity is enabled/);
  assert.deepEqual(errorsOf(validateCreate(spec(false))), []);
});
