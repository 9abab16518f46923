import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planPreflight, parseDpkgQuery, TESTBED_PACKAGES, type MachineFacts } from './preflight.ts';

const all = Object.keys(TESTBED_PACKAGES);
const ready: MachineFacts = { platform: 'linux', isRoot: true, dpkg: true, installed: new Set(all), go: 'go version go1.26.8 linux/amd64' };
const without = (...packages: string[]): Set<string> => new Set(all.filter((p) => !packages.includes(p)));

test('the packages of the README and .ci/run are all checked', () => {
  for (const p of ['containerd', 'runc', 'containernetworking-plugins', 'iptables', 'conntrack', 'iproute2', 'openssl', 'kmod']) {
    assert.ok(all.includes(p), p);
  }
});

test('everything present: nothing to do', () => {
  assert.deepEqual(planPreflight(ready), { action: 'none' });
});

test('root with packages missing: install exactly those, in the list order', () => {
  assert.deepEqual(planPreflight({ ...ready, installed: without('conntrack', 'containerd') }), { action: 'install', packages: ['containerd', 'conntrack'] });
});

test('not root with packages missing: one error naming every missing package and the apt-get command', () => {
  const plan = planPreflight({ ...ready, isRoot: false, installed: without('runc', 'kmod', 'openssl') });
  assert.equal(plan.action, 'fail');
  const message = plan.action === 'fail' ? plan.message : '';
  assert.match(message, /missing Debian packages: runc, openssl, kmod\./);
  assert.ok(message.includes('apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y runc openssl kmod'), message);
  assert.match(message, /not running as root/);
});

test('not root with everything installed still fails: the test bed needs root', () => {
  const plan = planPreflight({ ...ready, isRoot: false });
  assert.equal(plan.action, 'fail');
  assert.doesNotMatch(plan.action === 'fail' ? plan.message : '', /missing Debian packages/);
});

test('no go: fail before installing anything, naming go and the missing packages together', () => {
  const plan = planPreflight({ ...ready, go: undefined, installed: without('iptables') });
  assert.equal(plan.action, 'fail');
  const message = plan.action === 'fail' ? plan.message : '';
  assert.match(message, /go is not on the PATH/);
  assert.match(message, /missing Debian packages: iptables\./);
});

test('no dpkg or not Linux: fail with what the test bed expects', () => {
  const noDpkg = planPreflight({ ...ready, dpkg: false, installed: new Set() });
  assert.equal(noDpkg.action, 'fail');
  assert.match(noDpkg.action === 'fail' ? noDpkg.message : '', /expects Debian 12 with these packages: containerd runc/);
  const mac = planPreflight({ ...ready, platform: 'darwin' });
  assert.equal(mac.action, 'fail');
  assert.match(mac.action === 'fail' ? mac.message : '', /Linux only/);
});

test('dpkg-query output: only the "installed" status counts', () => {
  const out = 'containerd\tinstalled\nrunc\tconfig-files\nkmod\tnot-installed\niptables\thalf-configured\nopenssl\tinstalled\n';
  assert.deepEqual([...parseDpkgQuery(out)], ['containerd', 'openssl']);
});
