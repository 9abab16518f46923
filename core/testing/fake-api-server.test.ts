// The fake API server's own semantics, pinned against what kube-apiserver v1.36 does (the expected values
// follow k8s.io/apiserver and k8s.io/apimachinery: registry store, handlers, labels, strategicpatch).
// Raw HTTP, so status codes and bodies are checked as they are sent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakeApiServer, parseLabelSelector } from './fake-api-server.ts';

let fake: FakeApiServer;
before(async () => {
  fake = await FakeApiServer.start();
  fake.addResource('example.io/v1', 'Widget', 'widgets', true, { status: true });
});
after(async () => fake.close());

interface Answer {
  status: number;
  body: any;
}

async function call(method: string, path: string, options: { body?: unknown; contentType?: string } = {}): Promise<Answer> {
  const response = await fetch(fake.url + path, {
    method,
    headers: options.body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' },
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  if ((response.headers.get('content-type') ?? '').startsWith('application/json')) body = JSON.parse(text);
  return { status: response.status, body };
}

const merge = 'application/merge-patch+json';
const strategic = 'application/strategic-merge-patch+json';
const applyPatch = 'application/apply-patch+yaml';

function cm(namespace: string, name: string, labels?: Record<string, string>, extra: Record<string, unknown> = {}) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...(labels ? { labels } : {}) }, ...extra };
}

async function names(path: string): Promise<string[]> {
  const answer = await call('GET', path);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
}

/** Opens a watch and collects its events until `count` arrived (or the stream ended). */
async function watchEvents(path: string, count: number, during: () => void | Promise<void> = () => {}): Promise<Array<{ type: string; object: any }>> {
  const controller = new AbortController();
  const response = await fetch(fake.url + path, { signal: controller.signal });
  assert.equal(response.status, 200);
  const events: Array<{ type: string; object: any }> = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  await during();
  const deadline = setTimeout(() => controller.abort(), 3000);
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  } finally {
    clearTimeout(deadline);
    controller.abort();
  }
  return events;
}

test('label selectors: equality, set-based, existence, gt/lt; comma is AND', async () => {
  fake.put('/api/v1/configmaps', cm('sel', 'prod-web', { env: 'prod', tier: 'web', size: '3' }));
  fake.put('/api/v1/configmaps', cm('sel', 'prod-db', { env: 'prod', tier: 'db', size: '1' }));
  fake.put('/api/v1/configmaps', cm('sel', 'staging-web', { env: 'staging', tier: 'web' }));
  fake.put('/api/v1/configmaps', cm('sel', 'empty-env', { env: '' }));
  fake.put('/api/v1/configmaps', cm('sel', 'plain'));
  const cases: Array<[string, string[]]> = [
    ['', ['empty-env', 'plain', 'prod-db', 'prod-web', 'staging-web']],
    ['env=prod', ['prod-db', 'prod-web']],
    ['env==prod', ['prod-db', 'prod-web']],
    ['env!=prod', ['empty-env', 'plain', 'staging-web']], // absent counts as "not prod"
    ['env in (prod,staging)', ['prod-db', 'prod-web', 'staging-web']],
    ['env notin (prod)', ['empty-env', 'plain', 'staging-web']],
    ['env', ['empty-env', 'prod-db', 'prod-web', 'staging-web']],
    ['!env', ['plain']],
    ['env=prod,tier=web', ['prod-web']],
    ['env=prod,!size', []],
    [' env = prod , tier in ( web ) ', ['prod-web']],
    ['env=', ['empty-env']],
    ['env==', ['empty-env']],
    ['env in ()', ['empty-env']], // "()" is the set {""}
    ['size>2', ['prod-web']],
    ['size<2', ['prod-db']],
  ];
  for (const [selector, expected] of cases) {
    assert.deepEqual(await names(`/api/v1/namespaces/sel/configmaps?labelSelector=${encodeURIComponent(selector)}`), expected, selector);
  }
});

test('a malformed label or field selector answers 400 BadRequest', async () => {
  for (const selector of ['env in (prod', 'env prod', 'env=prod,', 'env=a b', 'a/b/c=1', 'size>big', 'env=-bad-', '=prod', 'env=(x)']) {
    const answer = await call('GET', `/api/v1/namespaces/sel/configmaps?labelSelector=${encodeURIComponent(selector)}`);
    assert.equal(answer.status, 400, selector);
    assert.equal(answer.body.reason, 'BadRequest', selector);
    assert.equal(answer.body.kind, 'Status');
  }
  assert.throws(() => parseLabelSelector('env in (prod'), /unable to parse requirement: found '', expected: ',' or '\)'/);
  assert.throws(() => parseLabelSelector('env=prod,'), /found '', expected: identifier after ','/);
  const watch = await call('GET', `/api/v1/namespaces/sel/configmaps?watch=true&labelSelector=${encodeURIComponent('a b')}`);
  assert.equal(watch.status, 400, 'a watch is refused before it starts');

  assert.deepEqual(await names('/api/v1/namespaces/sel/configmaps?fieldSelector=metadata.name%3Dplain'), ['plain']);
  assert.deepEqual(await names('/api/v1/configmaps?fieldSelector=metadata.namespace%3Dsel,metadata.name!%3Dplain'), ['empty-env', 'prod-db', 'prod-web', 'staging-web']);
  const unsupported = await call('GET', '/api/v1/configmaps?fieldSelector=spec.foo%3Dx');
  assert.equal(unsupported.status, 400);
  assert.equal(unsupported.body.message, 'field label not supported: spec.foo');
  fake.put('/api/v1/secrets', { metadata: { name: 'token', namespace: 'sel' }, type: 'bootstrap.kubernetes.io/token' } as any);
  fake.put('/api/v1/secrets', { metadata: { name: 'opaque', namespace: 'sel' }, type: 'Opaque' } as any);
  assert.deepEqual(await names('/api/v1/namespaces/sel/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken'), ['token']);
});

test('lists: <Kind>List with the group version; items of built-in types without apiVersion/kind, of custom resources with', async () => {
  fake.put('/apis/apps/v1/deployments', { metadata: { name: 'd', namespace: 'lists' }, spec: {} });
  fake.put('/apis/example.io/v1/widgets', { metadata: { name: 'w', namespace: 'lists' }, spec: {} });
  const deployments = await call('GET', '/apis/apps/v1/namespaces/lists/deployments');
  assert.equal(deployments.body.kind, 'DeploymentList');
  assert.equal(deployments.body.apiVersion, 'apps/v1');
  assert.match(deployments.body.metadata.resourceVersion, /^\d+$/);
  assert.equal(deployments.body.items[0].kind, undefined);
  assert.equal(deployments.body.items[0].apiVersion, undefined);
  const one = await call('GET', '/apis/apps/v1/namespaces/lists/deployments/d');
  assert.equal(one.body.kind, 'Deployment', 'a single object carries them');
  assert.equal(one.body.apiVersion, 'apps/v1');
  assert.equal(one.body.metadata.generation, 1);
  const widgets = await call('GET', '/apis/example.io/v1/namespaces/lists/widgets');
  assert.equal(widgets.body.kind, 'WidgetList');
  assert.equal(widgets.body.items[0].kind, 'Widget');
  assert.equal(widgets.body.items[0].apiVersion, 'example.io/v1');
});

test('unknown API groups answer plain-text 404, unknown resources of a served group a 404 Status', async () => {
  const group = await call('GET', '/apis/nothing.io/v1/things');
  assert.equal(group.status, 404);
  assert.equal(group.body, '404 page not found\n');
  const resource = await call('GET', '/api/v1/things');
  assert.equal(resource.status, 404);
  assert.equal(resource.body.message, 'the server could not find the requested resource');
  const discovery = await call('GET', '/apis/example.io/v1');
  assert.deepEqual(discovery.body.resources.map((r: { name: string }) => r.name), ['widgets', 'widgets/status']);
});

test('paging: limit and continue over a consistent snapshot; remainingItemCount only without selectors; 410 once compacted', async () => {
  for (const name of ['c', 'a', 'e', 'b', 'd']) fake.put('/api/v1/configmaps', cm('page', name, { all: 'yes' }, { data: { v: '1' } }));
  const first = await call('GET', '/api/v1/namespaces/page/configmaps?limit=2');
  assert.deepEqual(first.body.items.map((i: any) => i.metadata.name), ['a', 'b']);
  assert.equal(first.body.metadata.remainingItemCount, 3);
  const token = JSON.parse(Buffer.from(first.body.metadata.continue, 'base64url').toString());
  assert.deepEqual(token, { v: 'meta.k8s.io/v1', rv: Number(first.body.metadata.resourceVersion), start: 'b\u0000' });

  // Changes after the first page do not show in the rest of the list.
  fake.put('/api/v1/configmaps', cm('page', 'bb', { all: 'yes' }));
  fake.put('/api/v1/configmaps', cm('page', 'c', { all: 'yes' }, { data: { v: '2' } }));
  const second = await call('GET', `/api/v1/namespaces/page/configmaps?limit=2&continue=${first.body.metadata.continue}`);
  assert.deepEqual(second.body.items.map((i: any) => [i.metadata.name, i.data.v]), [['c', '1'], ['d', '1']]);
  assert.equal(second.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
  const third = await call('GET', `/api/v1/namespaces/page/configmaps?limit=2&continue=${second.body.metadata.continue}`);
  assert.deepEqual(third.body.items.map((i: any) => i.metadata.name), ['e']);
  assert.equal(third.body.metadata.continue, undefined, 'the last page has no continue');

  const selected = await call('GET', '/api/v1/namespaces/page/configmaps?limit=2&labelSelector=all%3Dyes');
  assert.ok(selected.body.metadata.continue);
  assert.equal(selected.body.metadata.remainingItemCount, undefined, 'not counted with a selector');

  fake.expireHistory();
  const expired = await call('GET', `/api/v1/namespaces/page/configmaps?limit=2&continue=${selected.body.metadata.continue}`);
  assert.equal(expired.status, 410);
  assert.equal(expired.body.reason, 'Expired');
  assert.match(expired.body.message, /^The provided continue parameter is too old to display a consistent list result/);
  const inconsistent = await call('GET', `/api/v1/namespaces/page/configmaps?limit=10&continue=${expired.body.metadata.continue}`);
  assert.deepEqual(inconsistent.body.items.map((i: any) => i.metadata.name), ['bb', 'c', 'd', 'e'], 'the token of the 410 continues at the latest state');
  assert.equal((await call('GET', '/api/v1/namespaces/page/configmaps?continue=bogus')).status, 400);
});

test('writes: resourceVersion, uid, 409 AlreadyExists, 404 NotFound, 409 Conflict on a stale resourceVersion, no-op writes', async () => {
  const created = await call('POST', '/api/v1/namespaces/w/configmaps', { body: cm('w', 'x', undefined, { data: { a: '1' } }) });
  assert.equal(created.status, 201);
  assert.match(created.body.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.match(created.body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const rv = Number(created.body.metadata.resourceVersion);

  const again = await call('POST', '/api/v1/namespaces/w/configmaps', { body: cm('w', 'x') });
  assert.equal(again.status, 409);
  assert.deepEqual(again.body, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'configmaps "x" already exists',
    reason: 'AlreadyExists',
    details: { name: 'x', kind: 'configmaps' },
    code: 409,
  });
  const missing = await call('GET', '/apis/apps/v1/namespaces/w/deployments/nope');
  assert.deepEqual(missing.body, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'deployments.apps "nope" not found',
    reason: 'NotFound',
    details: { name: 'nope', group: 'apps', kind: 'deployments' },
    code: 404,
  });
  assert.equal((await call('POST', '/api/v1/namespaces/w/configmaps', { body: { ...cm('w', 'y'), metadata: { name: 'y', resourceVersion: '5' } } })).status, 500, 'resourceVersion set on create');
  assert.equal((await call('POST', '/api/v1/namespaces/w/configmaps', { body: cm('other', 'z') })).status, 400, 'namespace mismatch');

  const updated = await call('PUT', '/api/v1/namespaces/w/configmaps/x', { body: { ...created.body, data: { a: '2' } } });
  assert.equal(updated.status, 200);
  assert.equal(Number(updated.body.metadata.resourceVersion), rv + 1);
  assert.equal(updated.body.metadata.uid, created.body.metadata.uid);
  const stale = await call('PUT', '/api/v1/namespaces/w/configmaps/x', { body: { ...created.body, data: { a: '3' } } });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.reason, 'Conflict');
  assert.equal(stale.body.message, 'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again');
  const stalePatch = await call('PATCH', '/api/v1/namespaces/w/configmaps/x', { body: { metadata: { resourceVersion: String(rv) }, data: { a: '4' } }, contentType: merge });
  assert.equal(stalePatch.status, 409, 'a resourceVersion in a patch is a precondition');

  const unconditional = await call('PUT', '/api/v1/namespaces/w/configmaps/x', { body: { metadata: { name: 'x' }, data: { a: '5' } } });
  assert.equal(unconditional.status, 200, 'built-in types allow an update without resourceVersion');
  assert.equal(unconditional.body.metadata.uid, created.body.metadata.uid, 'uid kept when left out');
  const noop = await call('PUT', '/api/v1/namespaces/w/configmaps/x', { body: unconditional.body });
  assert.equal(noop.body.metadata.resourceVersion, unconditional.body.metadata.resourceVersion, 'nothing changed: nothing written');
  const otherUid = await call('PUT', '/api/v1/namespaces/w/configmaps/x', { body: { ...unconditional.body, metadata: { ...unconditional.body.metadata, uid: 'other' } } });
  assert.equal(otherUid.status, 422);
  assert.match(otherUid.body.message, /metadata\.uid: Invalid value: "other": field is immutable/);
  const badLabel = await call('PUT', '/api/v1/namespaces/w/configmaps/x', { body: { ...unconditional.body, metadata: { ...unconditional.body.metadata, labels: { 'a/b/c': 'x' } } } });
  assert.equal(badLabel.status, 422);

  fake.put('/apis/example.io/v1/widgets', { metadata: { name: 'cr', namespace: 'w' }, spec: { size: 1 } });
  const crWithoutRv = await call('PUT', '/apis/example.io/v1/namespaces/w/widgets/cr', { body: { apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'cr' }, spec: { size: 2 } } });
  assert.equal(crWithoutRv.status, 422, 'custom resources need a resourceVersion on update');
  assert.match(crWithoutRv.body.message, /metadata\.resourceVersion: Invalid value: 0: must be specified for an update/);
});

test('status subresource: status writes change only the status, main writes keep it; generation counts spec changes', async () => {
  const widget = fake.put('/apis/example.io/v1/widgets', { metadata: { name: 's', namespace: 'st' }, spec: { size: 1 } });
  const status = await call('PATCH', '/apis/example.io/v1/namespaces/st/widgets/s/status', { body: { spec: { size: 9 }, status: { ready: true } }, contentType: merge });
  assert.equal(status.status, 200);
  assert.deepEqual(status.body.spec, { size: 1 });
  assert.deepEqual(status.body.status, { ready: true });
  assert.equal(status.body.metadata.generation, widget.metadata['generation']);
  const main = await call('PATCH', '/apis/example.io/v1/namespaces/st/widgets/s', { body: { spec: { size: 2 }, status: { ready: false } }, contentType: merge });
  assert.deepEqual(main.body.status, { ready: true });
  assert.equal(main.body.metadata.generation, 2);
  assert.equal((await call('PATCH', '/api/v1/namespaces/st/configmaps/x/status', { body: {}, contentType: merge })).status, 404, 'ConfigMaps have no status subresource');
});

test('merge patch (RFC 7386): maps merged, lists replaced, null deletes', async () => {
  fake.put('/api/v1/configmaps', cm('mp', 'x', { a: '1', b: '2' }, { data: { k: 'v' } }));
  const patched = await call('PATCH', '/api/v1/namespaces/mp/configmaps/x', {
    contentType: merge,
    body: { metadata: { labels: { b: null, c: '3' }, finalizers: ['example.io/one', 'example.io/two'] }, data: { k: null, l: 'w' } },
  });
  assert.deepEqual(patched.body.metadata.labels, { a: '1', c: '3' });
  assert.deepEqual(patched.body.data, { l: 'w' });
  const replaced = await call('PATCH', '/api/v1/namespaces/mp/configmaps/x', { contentType: merge, body: { metadata: { finalizers: ['example.io/three'] } } });
  assert.deepEqual(replaced.body.metadata.finalizers, ['example.io/three'], 'a list is replaced, never merged');
  assert.equal((await call('PATCH', '/api/v1/namespaces/mp/configmaps/nope', { contentType: merge, body: {} })).status, 404);
});

test('strategic merge patch: ownerReferences merged by uid, finalizers as a set, in strategicpatch order', async () => {
  const ref = (uid: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Thing', name: `n-${uid}`, uid, ...extra });
  const path = '/api/v1/namespaces/smp/configmaps/x';
  fake.put('/api/v1/configmaps', { ...cm('smp', 'x'), metadata: { name: 'x', namespace: 'smp', ownerReferences: [ref('1'), ref('2', { controller: true }), ref('3')], finalizers: ['a', 'b', 'c'] } });
  // apimachinery's "preserve the order from the patch in a merging list 2": [1,2,3] + [3',1'] -> [2,3',1'].
  let answer = await call('PATCH', path, { contentType: strategic, body: { metadata: { ownerReferences: [ref('3', { name: 'renamed' }), ref('1', { blockOwnerDeletion: true })] } } });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.deepEqual(answer.body.metadata.ownerReferences, [ref('2', { controller: true }), ref('3', { name: 'renamed' }), ref('1', { blockOwnerDeletion: true })]);
  // A reference new to the list goes in front of the server-only ones after it.
  answer = await call('PATCH', path, { contentType: strategic, body: { metadata: { ownerReferences: [ref('4')] } } });
  assert.deepEqual(answer.body.metadata.ownerReferences.map((r: { uid: string }) => r.uid), ['4', '2', '3', '1']);
  answer = await call('PATCH', path, { contentType: strategic, body: { metadata: { ownerReferences: [{ uid: '2', $patch: 'delete' }] } } });
  assert.deepEqual(answer.body.metadata.ownerReferences.map((r: { uid: string }) => r.uid), ['4', '3', '1']);
  answer = await call('PATCH', path, { contentType: strategic, body: { metadata: { ownerReferences: [{ kind: 'Thing' }] } } });
  assert.equal(answer.status, 400, 'an item without the merge key');
  answer = await call('PATCH', path, { contentType: strategic, body: { metadata: { ownerReferences: [ref('5', { controller: true }), ref('6', { controller: true })] } } });
  assert.equal(answer.status, 422, 'two controllers');

  // finalizers: patchStrategy merge on a list of strings ("unique scalars when merging lists").
  answer = await call('PATCH', path, { contentType: strategic, body: { metadata: { finalizers: ['c', 'd'] } } });
  assert.deepEqual(answer.body.metadata.finalizers, ['a', 'b', 'c', 'd']);
  answer = await call('PATCH', path, { contentType: strategic, body: { metadata: { finalizers: ['d', 'a'] } } });
  assert.deepEqual(answer.body.metadata.finalizers, ['b', 'c', 'd', 'a'], '"preserve the order from the patch in a merging int list" 2');
  answer = await call('PATCH', path, { contentType: strategic, body: { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'd'] } } });
  assert.deepEqual(answer.body.metadata.finalizers, ['c', 'a']);
  await call('PATCH', path, { contentType: merge, body: { metadata: { finalizers: null } } });
});

test('strategic merge patch: what the fake does not model answers 400, custom resources 415 like the real server, JSON patch 415', async () => {
  fake.put('/apis/apps/v1/deployments', { metadata: { name: 'd', namespace: 'smp' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'x' }] } } } });
  const list = await call('PATCH', '/apis/apps/v1/namespaces/smp/deployments/d', { contentType: strategic, body: { spec: { template: { spec: { containers: [{ name: 'a', image: 'y' }] } } } } });
  assert.equal(list.status, 400);
  assert.match(list.body.message, /fake API server: the strategic merge patch strategy of the list \.spec\.template\.spec\.containers is not modelled/);
  const order = await call('PATCH', '/apis/apps/v1/namespaces/smp/deployments/d', { contentType: strategic, body: { metadata: { '$setElementOrder/finalizers': ['a'] } } });
  assert.equal(order.status, 400);
  // A list the live object does not have yet is simply taken (strategy does not matter).
  const added = await call('PATCH', '/apis/apps/v1/namespaces/smp/deployments/d', { contentType: strategic, body: { spec: { template: { spec: { volumes: [{ name: 'v' }] } } } } });
  assert.equal(added.status, 200);

  fake.put('/apis/example.io/v1/widgets', { metadata: { name: 'p', namespace: 'smp' } });
  const cr = await call('PATCH', '/apis/example.io/v1/namespaces/smp/widgets/p', { contentType: strategic, body: {} });
  assert.equal(cr.status, 415);
  assert.equal(cr.body.reason, 'UnsupportedMediaType');
  assert.equal(cr.body.message, 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
  const jsonPatch = await call('PATCH', '/apis/example.io/v1/namespaces/smp/widgets/p', { contentType: 'application/json-patch+json', body: [] });
  assert.equal(jsonPatch.status, 415);
  assert.match(jsonPatch.body.message, /JSON patch is not modelled/);
  assert.equal((await call('PATCH', '/apis/example.io/v1/namespaces/smp/widgets/p', { contentType: 'application/json', body: {} })).status, 415);
});

test('DELETE: preconditions, finalizers, the garbage collector finalizers of Foreground/Orphan, the answer', async () => {
  const created = fake.put('/api/v1/configmaps', cm('del', 'x'));
  const wrongUid = await call('DELETE', '/api/v1/namespaces/del/configmaps/x', { body: { preconditions: { uid: 'not-it' } } });
  assert.equal(wrongUid.status, 409);
  assert.deepEqual(wrongUid.body.details, { name: 'x', kind: 'ConfigMap' });
  assert.equal(
    wrongUid.body.message,
    `Operation cannot be fulfilled on ConfigMap "x": the UID in the precondition (not-it) does not match the UID in record (${created.metadata['uid']}). The object might have been deleted and then recreated`,
  );
  const wrongRv = await call('DELETE', '/api/v1/namespaces/del/configmaps/x', { body: { preconditions: { resourceVersion: '1' } } });
  assert.equal(wrongRv.status, 409);
  assert.match(wrongRv.body.message, /the ResourceVersion in the precondition \(1\) does not match/);
  const deleted = await call('DELETE', '/api/v1/namespaces/del/configmaps/x', { body: { preconditions: { uid: created.metadata['uid'], resourceVersion: created.metadata.resourceVersion } } });
  assert.equal(deleted.status, 200);
  assert.deepEqual(deleted.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'x', kind: 'configmaps', uid: created.metadata['uid'] } });
  assert.equal((await call('DELETE', '/api/v1/namespaces/del/configmaps/x')).status, 404);

  // Finalizers hold the object with a deletionTimestamp; the write that removes the last one deletes it.
  fake.put('/api/v1/configmaps', { ...cm('del', 'held'), metadata: { name: 'held', namespace: 'del', finalizers: ['example.io/hold'] } });
  const held = await call('DELETE', '/api/v1/namespaces/del/configmaps/held');
  assert.equal(held.status, 200);
  assert.ok(held.body.metadata.deletionTimestamp);
  assert.equal(held.body.metadata.deletionGracePeriodSeconds, 0);
  const noNew = await call('PATCH', '/api/v1/namespaces/del/configmaps/held', { contentType: merge, body: { metadata: { finalizers: ['example.io/hold', 'example.io/new'] } } });
  assert.equal(noNew.status, 422, 'no new finalizers on an object being deleted');
  const released = await call('PATCH', '/api/v1/namespaces/del/configmaps/held', { contentType: merge, body: { metadata: { finalizers: null } } });
  assert.equal(released.status, 200);
  assert.equal((await call('GET', '/api/v1/namespaces/del/configmaps/held')).status, 404);

  fake.put('/apis/apps/v1/deployments', { metadata: { name: 'fg', namespace: 'del' }, spec: {} });
  const foreground = await call('DELETE', '/apis/apps/v1/namespaces/del/deployments/fg', { body: { propagationPolicy: 'Foreground' } });
  assert.deepEqual(foreground.body.metadata.finalizers, ['foregroundDeletion'], 'left for the garbage collector (which does not run here)');
  assert.equal(foreground.body.metadata.generation, 2);
  assert.equal((await call('DELETE', '/apis/apps/v1/namespaces/del/deployments/fg', { body: { propagationPolicy: 'Sideways' } })).status, 422);

  fake.put('/apis/example.io/v1/widgets', { metadata: { name: 'w', namespace: 'del' } });
  const cr = await call('DELETE', '/apis/example.io/v1/namespaces/del/widgets/w');
  assert.equal(cr.body.kind, 'Widget', 'custom resources answer with the deleted object');
  assert.throws(() => fake.put('/api/v1/configmaps', { metadata: { name: 'bad', namespace: 'del', deletionTimestamp: '2026-01-01T00:00:00Z' } }), /no finalizers/);
});

test('server-side apply: create, no-op, removal of what the manager stopped applying, other managers, conflicts', async () => {
  const path = '/api/v1/namespaces/ssa/configmaps/x?fieldManager=op';
  const config = (data: Record<string, string>, labels?: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'x', namespace: 'ssa', ...(labels ? { labels } : {}) },
    data,
  });
  const created = await call('PATCH', path, { contentType: applyPatch, body: config({ a: '1', b: '2' }, { app: 'x' }) });
  assert.equal(created.status, 201);
  const same = await call('PATCH', path, { contentType: applyPatch, body: config({ a: '1', b: '2' }, { app: 'x' }) });
  assert.equal(same.status, 200);
  assert.equal(same.body.metadata.resourceVersion, created.body.metadata.resourceVersion, 'an unchanged apply writes nothing');
  const yaml = await call('PATCH', path, { contentType: applyPatch, body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {app: x}\ndata:\n  a: "1"\n  b: "2"\n' });
  assert.equal(yaml.status, 200, 'YAML bodies are accepted');

  // Another writer adds a field; the applier does not own it and leaves it alone.
  await call('PATCH', '/api/v1/namespaces/ssa/configmaps/x?fieldManager=kubectl-edit', { contentType: merge, body: { data: { mine: 'yes' } } });
  const dropped = await call('PATCH', path, { contentType: applyPatch, body: config({ a: '1' }) });
  assert.deepEqual(dropped.body.data, { a: '1', mine: 'yes' }, 'b and the label were applied before and are not now: removed; "mine" is kubectl-edit\'s');
  assert.equal(dropped.body.metadata.labels, undefined);

  // A field another manager set: 409 unless forced.
  await call('PATCH', '/api/v1/namespaces/ssa/configmaps/x?fieldManager=kubectl-edit', { contentType: merge, body: { data: { a: 'edited' } } });
  const conflict = await call('PATCH', path, { contentType: applyPatch, body: config({ a: '1' }) });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.reason, 'Conflict');
  assert.equal(conflict.body.message, 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a');
  assert.deepEqual(conflict.body.details.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using v1', field: '.data.a' }]);
  const forced = await call('PATCH', `${path}&force=true`, { contentType: applyPatch, body: config({ a: '1' }) });
  assert.equal(forced.status, 200);
  assert.deepEqual(forced.body.data, { a: '1', mine: 'yes' });

  assert.equal((await call('PATCH', '/api/v1/namespaces/ssa/configmaps/x', { contentType: applyPatch, body: config({}) })).status, 422, 'fieldManager is required');
  assert.equal((await call('PATCH', '/api/v1/namespaces/ssa/configmaps/x?fieldManager=m&force=true', { contentType: merge, body: {} })).status, 422, 'force only for apply');
  const wrongName = await call('PATCH', '/api/v1/namespaces/ssa/configmaps/y?fieldManager=op', { contentType: applyPatch, body: config({}) });
  assert.equal(wrongName.status, 400);
  assert.equal(wrongName.body.message, 'the name of the object (x) does not match the name on the URL (y)');
});

test('server-side apply: a list another manager also manages answers 400 (the real server may merge it per item)', async () => {
  const deployment = (image: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'ssa' },
    spec: { template: { spec: { containers: [{ name: 'a', image }] } } },
  });
  assert.equal((await call('PATCH', '/apis/apps/v1/namespaces/ssa/deployments/d?fieldManager=op', { contentType: applyPatch, body: deployment('x') })).status, 201);
  const again = await call('PATCH', '/apis/apps/v1/namespaces/ssa/deployments/d?fieldManager=op', { contentType: applyPatch, body: deployment('y') });
  assert.equal(again.status, 200, 'a list only this manager applies is replaced, as the real server would');
  assert.equal(again.body.metadata.generation, 2);
  const other = await call('PATCH', '/apis/apps/v1/namespaces/ssa/deployments/d?fieldManager=other&force=true', { contentType: applyPatch, body: deployment('z') });
  assert.equal(other.status, 400);
  assert.match(other.body.message, /fake API server: server-side apply of the list \.spec\.template\.spec\.containers, which "op" also manages/);
});

test('watch: synthetic ADDED without a resourceVersion, replay after one, 410 Expired once compacted, selector transitions', async () => {
  const first = fake.put('/api/v1/configmaps', cm('wt', 'a', { app: 'x' }));
  fake.put('/api/v1/configmaps', cm('wt', 'b'));
  const initial = await watchEvents('/api/v1/namespaces/wt/configmaps?watch=true', 2);
  assert.deepEqual(initial.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'a'], ['ADDED', 'b']]);
  assert.equal(initial[0]!.object.kind, 'ConfigMap', 'watch events carry apiVersion/kind');

  const replay = await watchEvents(`/api/v1/namespaces/wt/configmaps?watch=true&resourceVersion=${first.metadata.resourceVersion}`, 1);
  assert.deepEqual(replay.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'b']], 'what happened after the resourceVersion');

  const rv = fake.get('/api/v1/configmaps', 'wt', 'b')!.metadata.resourceVersion;
  const transitions = await watchEvents(`/api/v1/namespaces/wt/configmaps?watch=true&resourceVersion=${rv}&labelSelector=app%3Dx`, 3, () => {
    fake.put('/api/v1/configmaps', cm('wt', 'b', { app: 'x' }));
    fake.put('/api/v1/configmaps', cm('wt', 'a', { app: 'y' }));
    fake.remove('/api/v1/configmaps', 'wt', 'b');
  });
  assert.deepEqual(transitions.map((e) => [e.type, e.object.metadata.name, e.object.metadata.labels?.app]), [
    ['ADDED', 'b', 'x'],
    ['DELETED', 'a', 'x'], // left the selector: its last matching state, with the new resourceVersion
    ['DELETED', 'b', 'x'],
  ]);
  assert.equal(transitions[1]!.object.metadata.resourceVersion, fake.get('/api/v1/configmaps', 'wt', 'a')!.metadata.resourceVersion);

  fake.expireHistory();
  const gone = await watchEvents(`/api/v1/namespaces/wt/configmaps?watch=true&resourceVersion=${rv}`, 1);
  assert.equal(gone[0]!.type, 'ERROR');
  assert.equal(gone[0]!.object.code, 410);
  assert.equal(gone[0]!.object.reason, 'Expired');
});

test('ValidatingWebhookConfigurations: cluster-scoped, generation counts webhook changes, a stale PUT is a 409', async () => {
  const path = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
  const vwc = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'fake-vwc' },
    webhooks: [{ name: 'a.example.io', clientConfig: { service: { namespace: 'ops', name: 'hook', path: '/validate' } }, sideEffects: 'None', admissionReviewVersions: ['v1'] }],
  };
  const created = await call('POST', path, { body: vwc });
  assert.equal(created.status, 201);
  assert.equal(created.body.metadata.generation, 1);
  const bundled = structuredClone(created.body);
  bundled.webhooks[0].clientConfig.caBundle = Buffer.from('a CA').toString('base64');
  const updated = await call('PUT', `${path}/fake-vwc`, { body: bundled });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.metadata.generation, 2);
  assert.equal(updated.body.webhooks[0].clientConfig.caBundle, bundled.webhooks[0].clientConfig.caBundle);
  assert.equal((await call('PUT', `${path}/fake-vwc`, { body: bundled })).status, 409, 'the resourceVersion read before the first PUT is stale');
  assert.equal((await call('DELETE', `${path}/fake-vwc`)).status, 200);
});
