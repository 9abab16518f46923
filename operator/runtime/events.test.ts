import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventRecorder } from './events.ts';
import { fakeHostPerFile } from '../../core/testing/fake-host.ts';

const EVENTS = '/apis/events.k8s.io/v1/events';
const host = fakeHostPerFile();

const tcp = {
  apiVersion: 'kubeception.io/v1alpha1',
  kind: 'TenantControlPlane',
  metadata: { name: 'demo', namespace: 'team-a', uid: 'uid-1', resourceVersion: '7' },
};

function eventWrites(namespace: string) {
  return host.fake.requests.filter((r) => r.path.startsWith(`/apis/events.k8s.io/v1/namespaces/${namespace}/events`));
}

test('an event is created with every field events.k8s.io/v1 requires', async () => {
  const recorder = new EventRecorder({ client: host.client, reportingInstance: 'operator-0' });
  await recorder.warning(tcp, 'EtcdNotReady', 'etcd has 0/1 ready replicas', 'Reconcile');
  const [post] = eventWrites('team-a');
  assert.equal(post!.method, 'POST');
  const body = post!.body as Record<string, any>;
  assert.match(body['metadata'].name, /^demo\.[0-9a-f]+$/);
  assert.equal(body['metadata'].namespace, 'team-a');
  assert.match(body['eventTime'], /\.\d{6}Z$/, 'eventTime is a MicroTime');
  assert.deepEqual(
    { type: body['type'], reason: body['reason'], action: body['action'], note: body['note'], rc: body['reportingController'], ri: body['reportingInstance'] },
    { type: 'Warning', reason: 'EtcdNotReady', action: 'Reconcile', note: 'etcd has 0/1 ready replicas', rc: 'kubeception.io/operator', ri: 'operator-0' },
  );
  assert.deepEqual(body['regarding'], {
    apiVersion: 'kubeception.io/v1alpha1',
    kind: 'TenantControlPlane',
    name: 'demo',
    namespace: 'team-a',
    uid: 'uid-1',
    resourceVersion: '7',
  });
  await recorder.close();
});

test('repeats are aggregated into one event whose series is written on flush', async () => {
  const recorder = new EventRecorder({ client: host.client, flushIntervalMs: 60_000 });
  const regarding = { ...tcp, metadata: { ...tcp.metadata, namespace: 'hot', uid: 'uid-2' } };
  for (let i = 0; i < 50; i++) void recorder.warning(regarding, 'ReconcileFailed', 'boom');
  await recorder.warning(regarding, 'ReconcileFailed', 'boom');
  assert.equal(eventWrites('hot').length, 1, '51 occurrences, one create');
  await recorder.flush();
  const writes = eventWrites('hot');
  assert.equal(writes.length, 2);
  const patch = writes[1]!;
  assert.equal(patch.method, 'PATCH');
  assert.equal(patch.contentType, 'application/merge-patch+json');
  assert.equal((patch.body as any).series.count, 51);
  assert.match((patch.body as any).series.lastObservedTime, /\.\d{6}Z$/);
  const stored = host.fake.get(EVENTS, 'hot', (writes[0]!.body as any).metadata.name)!;
  assert.equal((stored as any).series.count, 51);

  await recorder.flush();
  assert.equal(eventWrites('hot').length, 2, 'nothing new: no write');
  // A different message is a different event.
  await recorder.warning(regarding, 'ReconcileFailed', 'another error');
  assert.equal(eventWrites('hot').filter((r) => r.method === 'POST').length, 2);
  await recorder.close();
  assert.equal(recorder.writes, 3);
});

test('a repeat after the series window, or after the event expired, starts a new event', async () => {
  let now = new Date('2026-01-01T00:00:00Z');
  const recorder = new EventRecorder({ client: host.client, seriesWindowMs: 60_000, now: () => now });
  const regarding = { ...tcp, metadata: { ...tcp.metadata, namespace: 'window', uid: 'uid-3' } };
  await recorder.normal(regarding, 'Provisioned', 'ok');
  now = new Date('2026-01-01T00:00:30Z');
  await recorder.normal(regarding, 'Provisioned', 'ok');
  assert.equal(eventWrites('window').length, 1);
  now = new Date('2026-01-01T00:02:00Z');
  await recorder.normal(regarding, 'Provisioned', 'ok');
  assert.equal(eventWrites('window').filter((r) => r.method === 'POST').length, 2, 'outside the window');

  // The server garbage-collected the event (TTL): the series update gets 404 and the next one creates anew.
  now = new Date('2026-01-01T00:02:10Z');
  await recorder.normal(regarding, 'Provisioned', 'ok');
  const created = eventWrites('window').filter((r) => r.method === 'POST').at(-1)!;
  host.fake.remove(EVENTS, 'window', (created.body as any).metadata.name);
  await recorder.flush();
  await recorder.normal(regarding, 'Provisioned', 'ok');
  assert.equal(eventWrites('window').filter((r) => r.method === 'POST').length, 3);
  await recorder.close();
});

test('cluster-scoped objects get their events in "default"; long notes are cut; failures never reject', async () => {
  const recorder = new EventRecorder({ client: host.client });
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } };
  await recorder.normal(node, 'Seen', 'x'.repeat(5000));
  const post = eventWrites('default').at(-1)!;
  assert.equal((post.body as any).note.length, 1024);
  assert.equal((post.body as any).regarding.namespace, undefined);

  host.fake.failNext(1, 500, (r) => r.path.includes('/namespaces/failing/events'));
  const regarding = { ...tcp, metadata: { ...tcp.metadata, namespace: 'failing' } };
  await recorder.warning(regarding, 'Oops', 'write fails'); // resolves despite the 500
  await recorder.warning(regarding, 'Oops', 'write fails');
  assert.equal(eventWrites('failing').filter((r) => r.method === 'POST').length, 2, 'a failed create is retried on the next occurrence');
  await recorder.warning({ kind: 'Thing', metadata: {} }, 'Bad', 'no name'); // dropped, logged
  await recorder.close();
});
