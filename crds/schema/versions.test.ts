import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  FLANNEL_CNI_PLUGIN_VERSION,
  FLANNEL_VERSION,
  KONNECTIVITY_VERSION,
  LATEST_VERSION,
  SUPPORTED_VERSIONS,
  checkVersionChange,
  compareVersions,
  coreDNSVersionFor,
  etcdVersionFor,
  isSupportedVersion,
  minorOf,
  parseVersion,
} from './versions.ts';

test('SUPPORTED_VERSIONS are release versions in ascending order, newest last', () => {
  for (let i = 1; i < SUPPORTED_VERSIONS.length; i++) {
    assert.ok(compareVersions(SUPPORTED_VERSIONS[i - 1]!, SUPPORTED_VERSIONS[i]!) < 0, `${SUPPORTED_VERSIONS[i]} out of order`);
  }
  assert.equal(LATEST_VERSION, SUPPORTED_VERSIONS.at(-1));
});

test('parseVersion reads vMAJOR.MINOR.PATCH and refuses anything else', () => {
  assert.deepEqual(parseVersion('v1.36.5'), { major: 1, minor: 36, patch: 5 });
  for (const bad of ['1.36.5', 'v1.36', 'v1.36.5-rc.0', 'v01.36.5', 'v1.36.5 ', 'latest']) {
    assert.throws(() => parseVersion(bad), /not a Kubernetes release version/, bad);
  }
});

test('compareVersions orders numerically, not as strings', () => {
  assert.ok(compareVersions('v1.9.0', 'v1.10.0') < 0);
  assert.ok(compareVersions('v1.36.10', 'v1.36.9') > 0);
  assert.equal(compareVersions('v1.35.4', 'v1.35.4'), 0);
  assert.ok(compareVersions('v2.0.0', 'v1.99.99') > 0);
});

test('checkVersionChange allows patch and one-minor upgrades only', () => {
  assert.deepEqual(checkVersionChange('v1.35.4', 'v1.35.4'), { ok: true });
  assert.deepEqual(checkVersionChange('v1.35.4', 'v1.35.9'), { ok: true });
  assert.deepEqual(checkVersionChange('v1.35.4', 'v1.36.0'), { ok: true });
  const downgrade = checkVersionChange('v1.36.5', 'v1.36.4');
  assert.equal(downgrade.ok, false);
  assert.match(!downgrade.ok ? downgrade.reason : '', /may not be lowered \(from v1.36.5 to v1.36.4\)/);
  const skip = checkVersionChange('v1.34.4', 'v1.36.5');
  assert.match(!skip.ok ? skip.reason : '', /one minor version at a time \(from v1.34.4 to v1.36.5\)/);
  assert.equal(checkVersionChange('v1.36.5', 'v2.0.0').ok, false);
});

test('every supported version has an etcd and a CoreDNS version', () => {
  for (const v of SUPPORTED_VERSIONS) {
    assert.match(etcdVersionFor(v), /^3\.[56]\.\d+-0$/, v);
    assert.match(coreDNSVersionFor(v), /^v1\.\d+\.\d+$/, v);
  }
  assert.equal(etcdVersionFor('v1.36.5'), '3.6.8-0');
  assert.equal(coreDNSVersionFor('v1.36.5'), 'v1.14.2');
  assert.equal(minorOf('v1.35.4'), '1.35');
});

test('unknown minors are refused with the supported list', () => {
  assert.throws(() => etcdVersionFor('v1.20.0'), /no etcd version is known for Kubernetes v1.20.0; supported: v1.34.4/);
  assert.throws(() => coreDNSVersionFor('v1.99.0'), /no CoreDNS version/);
  assert.equal(isSupportedVersion('v1.36.5'), true);
  assert.equal(isSupportedVersion('v1.36.4'), false);
});

test('the konnectivity images the operator renders are the release the test bed builds (e2e/build/versions.env)', () => {
  const env = readFileSync(new URL('../../e2e/build/versions.env', import.meta.url), 'utf8');
  assert.equal(/^KONNECTIVITY_VERSION=(\S+)$/m.exec(env)?.[1], KONNECTIVITY_VERSION);
});

test('the flannel images the CNI add-on renders are the releases the test bed builds (e2e/build/versions.env)', () => {
  const env = readFileSync(new URL('../../e2e/build/versions.env', import.meta.url), 'utf8');
  assert.equal(/^FLANNEL_VERSION=(\S+)$/m.exec(env)?.[1], FLANNEL_VERSION);
  assert.equal(/^FLANNEL_CNI_PLUGIN_VERSION=(\S+)$/m.exec(env)?.[1], FLANNEL_CNI_PLUGIN_VERSION);
});
