import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accountSpace, allowListGroupProblem, identityRefusals, type IdentityRequest } from './identity.ts';

const base: IdentityRequest = { account: 'acme', grantableGroups: ['kubeception:tenant-admins', 'viewers'], username: 'portal:acme:ann', groups: ['viewers'] };
const refusals = (change: Partial<IdentityRequest>) => identityRefusals({ ...base, ...change });

test("users and groups in the account's own space, and allow-listed groups, are issued", () => {
  assert.equal(accountSpace('acme'), 'portal:acme:');
  assert.deepEqual(refusals({}), []);
  assert.deepEqual(refusals({ username: 'portal:acme:jane.doe@example.com', groups: ['portal:acme:dev', 'portal:acme:ops_team', 'viewers'] }), []);
  // the documented admin path: the operator's admin group, when the key's allow-list names it
  assert.deepEqual(refusals({ groups: ['kubeception:tenant-admins'] }), []);
});

test('reserved users are refused as invalid, naming the field and the owner, whatever the allow-list says', () => {
  const cases: [string, RegExp][] = [
    ['kube-apiserver-kubelet-client', /identity the operator issues certificates for/],
    ['kubernetes-admin', /identity the operator issues/],
    ['kubernetes-super-admin', /identity the operator issues/],
    ['kubeception:portal', /identity the operator issues/],
    ['system:kube-controller-manager', /identity the operator issues/],
    ['system:node:worker-1', /"system:" are reserved by Kubernetes/],
    ['kubeadm:anyone', /"kubeadm:" are reserved by kubeadm/],
  ];
  for (const [username, reason] of cases) {
    const [refusal, ...rest] = refusals({ username });
    assert.deepEqual(rest, [], username);
    assert.equal(refusal?.field, 'body.username');
    assert.equal(refusal?.kind, 'invalid');
    assert.match(refusal?.reason ?? '', reason, username);
    assert.match(refusal?.reason ?? '', /users of this account are portal:acme:<name>/);
  }
});

test("a user outside the account's space is refused with the name it could have", () => {
  const [bare] = refusals({ username: 'ann' });
  assert.deepEqual(bare, { field: 'body.username', kind: 'invalid', reason: `"ann" is outside this account's user space: users are portal:acme:<name>, e.g. "portal:acme:ann"` });
  const [foreign] = refusals({ username: 'portal:globex:ann' });
  assert.match(foreign?.reason ?? '', /outside this account's user space.*e\.g\. "portal:acme:ann"/);
  const [empty] = refusals({ username: 'portal:acme:' });
  assert.match(empty?.reason ?? '', /the name after "portal:acme:" must be 1-128 of/);
  const [nested] = refusals({ username: 'portal:acme:a:b' });
  assert.match(nested?.reason ?? '', /the name after "portal:acme:" must be/);
});

test('groups: reserved ones are invalid even when allow-listed; others outside the space need the allow-list (403 kind)', () => {
  const reserved = refusals({ grantableGroups: ['system:masters', 'kubeadm:cluster-admins', 'kubeception:portal'], groups: ['system:masters', 'kubeadm:cluster-admins', 'kubeception:portal', 'System:Nodes'] });
  assert.deepEqual(reserved.map((r) => [r.field, r.kind]), [
    ['body.groups[0]', 'invalid'],
    ['body.groups[1]', 'invalid'],
    ['body.groups[2]', 'invalid'],
    ['body.groups[3]', 'invalid'],
  ]);
  assert.match(reserved[0]?.reason ?? '', /"system:masters" can never be granted/);
  const notGranted = refusals({ groups: ['viewers', 'admins', 'portal:globex:dev'] });
  assert.deepEqual(notGranted.map((r) => [r.field, r.kind]), [['body.groups[1]', 'not-granted'], ['body.groups[2]', 'not-granted']]);
  assert.match(notGranted[0]?.reason ?? '', /"admins" is neither in this account's space \(portal:acme:<name>\) nor on this API key's allow-list: kubeception:tenant-admins, viewers/);
  assert.match(refusals({ grantableGroups: [], groups: ['x'] })[0]?.reason ?? '', /allow-list: \(none\)/);
  assert.equal(refusals({ groups: ['portal:acme:bad name'] })[0]?.kind, 'invalid');
});

test('every refusal of a request is reported at once', () => {
  const all = refusals({ username: 'kubernetes-admin', groups: ['system:masters', 'viewers', 'nope'] });
  assert.deepEqual(all.map((r) => r.field), ['body.username', 'body.groups[0]', 'body.groups[2]']);
});

test('allow-lists: the admin group and free names may be listed, reserved names and malformed ones never', () => {
  assert.equal(allowListGroupProblem('kubeception:tenant-admins'), undefined);
  assert.equal(allowListGroupProblem('viewers'), undefined);
  assert.equal(allowListGroupProblem('portal:acme:dev'), undefined);
  assert.match(allowListGroupProblem('kubeadm:cluster-admins') ?? '', /can never be granted: names starting with "kubeadm:"|identity the operator issues/);
  assert.match(allowListGroupProblem('SYSTEM:nodes') ?? '', /reserved by Kubernetes/);
  assert.match(allowListGroupProblem('kubernetes-admin') ?? '', /identity the operator issues/);
  assert.match(allowListGroupProblem('a b') ?? '', /not a valid group name/);
});
