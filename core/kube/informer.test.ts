import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { Informer, objectKey, splitKey, type InformerEvent } from './informer.ts';
import { KubeClient } from './kube-client.ts';
import { FakeApiServer } from '../testing/fake-api-server.ts';

const COLLECTION = '/api/v1/configmaps';
let fake: FakeApiServer;
let client: KubeClient;
before(async () => {
  fake = await FakeApiServer.start();
  fake.addResource('v1', 'ConfigMap', 'configmaps');
  client = new KubeClient(fake.kubeConfig());
});
after(async () => {
  await client.close();
  await fake.close();
});

function configMap(namespace: string, name: string, data: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function recordEvents(informer: Informer<V1ConfigMap>) {
  const events: Array<{ event: InformerEvent; key: string; value?: string }> = [];
  informer.on((event, obj) => events.push({ event, key: objectKey(obj), value: obj.data?.['v'] }));
  return events;
}

test('object keys', () => {
  assert.equal(objectKey({ metadata: { name: 'a', namespace: 'n' } }), 'n/a');
  assert.equal(objectKey({ metadata: { name: 'node-1' } }), 'node-1');
  assert.deepEqual(splitKey('n/a'), { namespace: 'n', name: 'a' });
  assert.deepEqual(splitKey('node-1'), { name: 'node-1' });
  assert.throws(() => splitKey('a/b/c'), /invalid object key/);
  assert.throws(() => splitKey('/b'), /invalid object key/);
  assert.throws(() => objectKey({ kind: 'ConfigMap', metadata: {} }), /no metadata.name/);
});

test('syncs, serves a lister, and follows add/update/delete from the watch', async () => {
  fake.put(COLLECTION, configMap('a', 'one', { v: '1' }));
  fake.put(COLLECTION, configMap('b', 'two', { v: '2' }));
  const informer = new Informer<V1ConfigMap>({ client, path: '/api/v1/namespaces/a/configmaps', resyncPeriodMs: 0 });
  const events = recordEvents(informer);
  informer.start();
  await informer.hasSynced;
  assert.equal(informer.synced, true);
  assert.deepEqual(informer.keys(), ['a/one'], 'namespaced path: only namespace a');
  const cached = informer.get('a', 'one')!;
  assert.equal(cached.kind, 'ConfigMap', 'list items get their kind filled in');
  assert.equal(cached.apiVersion, 'v1');
  assert.deepEqual(events, [{ event: 'add', key: 'a/one', value: '1' }]);

  await eventually(() => fake.openWatches('/api/v1/namespaces/a/') === 1, 'watch open');
  fake.put(COLLECTION, configMap('a', 'three', { v: '3' }));
  fake.put(COLLECTION, configMap('a', 'one', { v: '1b' }));
  fake.put(COLLECTION, configMap('b', 'other-namespace'));
  fake.remove(COLLECTION, 'a', 'three');
  await eventually(() => events.length === 4, 'four events');
  assert.deepEqual(events.slice(1), [
    { event: 'add', key: 'a/three', value: '3' },
    { event: 'update', key: 'a/one', value: '1b' },
    { event: 'delete', key: 'a/three', value: '3' },
  ]);
  assert.equal(informer.getByKey('a/one')!.data!['v'], '1b');
  assert.equal(informer.get('a', 'three'), undefined);
  assert.deepEqual(informer.list('a').map((o) => o.metadata!.name), ['one']);
  await informer.stop();
  await eventually(() => fake.openWatches('/api/v1/namespaces/a/') === 0, 'watch closed after stop');
});

test('restarts after the watch connection breaks and catches up on what it missed, deletes included', async () => {
  fake.put(COLLECTION, configMap('r', 'keep', { v: '1' }));
  fake.put(COLLECTION, configMap('r', 'doomed', { v: '1' }));
  const informer = new Informer<V1ConfigMap>({
    client,
    path: '/api/v1/namespaces/r/configmaps',
    resyncPeriodMs: 0,
    restartBaseMs: 20,
  });
  const events = recordEvents(informer);
  informer.start();
  await informer.hasSynced;
  await eventually(() => fake.openWatches('/api/v1/namespaces/r/') === 1, 'watch open');

  // The first relist after the restart fails too: the supervisor retries with backoff.
  fake.failNext(1, 500, (r) => r.method === 'GET' && r.query.get('watch') === null && r.path.includes('/namespaces/r/'));
  // The connection dies mid-stream (client-node's ListWatch would stop for good here), and while no
  // watch is open (this tick, before the client even notices) objects change: only a relist can tell.
  fake.dropWatches();
  fake.remove(COLLECTION, 'r', 'doomed');
  fake.put(COLLECTION, configMap('r', 'keep', { v: '2' }));
  fake.put(COLLECTION, configMap('r', 'new', { v: '1' }));

  await eventually(() => informer.restarts >= 2 && fake.openWatches('/api/v1/namespaces/r/') === 1, 'restart and new watch');
  assert.deepEqual(
    events.slice(2).sort((x, y) => x.key.localeCompare(y.key)),
    [
      { event: 'delete', key: 'r/doomed', value: '1' },
      { event: 'update', key: 'r/keep', value: '2' },
      { event: 'add', key: 'r/new', value: '1' },
    ],
  );
  assert.deepEqual(informer.keys().sort(), ['r/keep', 'r/new']);

  // And the new watch works.
  fake.put(COLLECTION, configMap('r', 'after', { v: '1' }));
  await eventually(() => informer.get('r', 'after') !== undefined, 'event on the new watch');
  await informer.stop();
});

test('a watch that ends with 410 Gone relists and reports deletes it missed', async () => {
  fake.put(COLLECTION, configMap('g', 'stays'));
  fake.put(COLLECTION, configMap('g', 'goes'));
  const informer = new Informer<V1ConfigMap>({ client, path: '/api/v1/namespaces/g/configmaps', resyncPeriodMs: 0 });
  const events = recordEvents(informer);
  informer.start();
  await informer.hasSynced;
  await eventually(() => fake.openWatches('/api/v1/namespaces/g/') === 1, 'watch open');
  // A clean end of the watch (as at its timeout); before ListWatch reconnects from its resourceVersion
  // an object is deleted and the history compacted: the reconnect gets 410 Gone and relists.
  const lists = informer.lists;
  fake.dropWatchesCleanly();
  fake.remove(COLLECTION, 'g', 'goes');
  fake.expireHistory();
  await eventually(() => informer.lists > lists, 'relist after 410');
  assert.deepEqual(events.at(-1), { event: 'delete', key: 'g/goes', value: undefined });
  assert.deepEqual(informer.keys(), ['g/stays']);
  await informer.stop();
});

test('a watch that ends cleanly resumes from its resourceVersion and receives what happened meanwhile, without a relist', async () => {
  fake.put(COLLECTION, configMap('c', 'stays', { v: '1' }));
  fake.put(COLLECTION, configMap('c', 'goes', { v: '1' }));
  const informer = new Informer<V1ConfigMap>({ client, path: '/api/v1/namespaces/c/configmaps', resyncPeriodMs: 0 });
  const events = recordEvents(informer);
  informer.start();
  await informer.hasSynced;
  await eventually(() => fake.openWatches('/api/v1/namespaces/c/') === 1, 'watch open');
  const lists = informer.lists;
  fake.dropWatchesCleanly();
  fake.remove(COLLECTION, 'c', 'goes');
  fake.put(COLLECTION, configMap('c', 'stays', { v: '2' }));
  await eventually(() => events.length === 4, 'the missed events replayed');
  assert.deepEqual(events.slice(2), [
    { event: 'delete', key: 'c/goes', value: '1' },
    { event: 'update', key: 'c/stays', value: '2' },
  ]);
  assert.equal(informer.lists, lists, 'no relist: the server replayed the history after the resourceVersion');
  assert.equal(informer.restarts, 0);
  await informer.stop();
});

test('lists page by page with continue tokens', async () => {
  for (const name of ['e', 'a', 'd', 'b', 'c']) fake.put(COLLECTION, configMap('p', name));
  const informer = new Informer<V1ConfigMap>({ client, path: '/api/v1/namespaces/p/configmaps', resyncPeriodMs: 0, pageSize: 2 });
  const before = fake.requests.length;
  informer.start();
  await informer.hasSynced;
  assert.deepEqual(informer.keys(), ['p/a', 'p/b', 'p/c', 'p/d', 'p/e']);
  const lists = fake.requests.slice(before).filter((r) => r.method === 'GET' && r.query.get('watch') === null);
  assert.deepEqual(lists.map((r) => r.query.get('limit')), ['2', '2', '2']);
  assert.equal(lists[0]!.query.get('continue'), null);
  assert.ok(lists[1]!.query.get('continue') && lists[2]!.query.get('continue'), 'pages 2 and 3 continue');
  await informer.stop();
});

test('a label selector filters list and watch; an object relabelled out of it is a delete', async () => {
  const labelled = (name: string, tier: string, v: string) => ({ ...configMap('l', name, { v }), metadata: { name, namespace: 'l', labels: { tier } } });
  fake.put(COLLECTION, labelled('front', 'web', '1'));
  fake.put(COLLECTION, labelled('back', 'db', '1'));
  const informer = new Informer<V1ConfigMap>({ client, path: '/api/v1/namespaces/l/configmaps', labelSelector: 'tier in (web, cache)', resyncPeriodMs: 0 });
  const events = recordEvents(informer);
  informer.start();
  await informer.hasSynced;
  assert.deepEqual(informer.keys(), ['l/front']);
  await eventually(() => fake.openWatches('/api/v1/namespaces/l/') === 1, 'watch open');
  fake.put(COLLECTION, labelled('back', 'cache', '2'));
  fake.put(COLLECTION, labelled('front', 'db', '2'));
  await eventually(() => events.length === 3, 'two more events');
  assert.deepEqual(events, [
    { event: 'add', key: 'l/front', value: '1' },
    { event: 'add', key: 'l/back', value: '2' },
    // The server sends the last state that matched, with the new resourceVersion.
    { event: 'delete', key: 'l/front', value: '1' },
  ]);
  assert.deepEqual(informer.keys(), ['l/back']);
  await informer.stop();
});

test('periodic resync relists and delivers every cached object as resync', async () => {
  fake.put(COLLECTION, configMap('s', 'x'));
  fake.put(COLLECTION, configMap('s', 'y'));
  const informer = new Informer<V1ConfigMap>({ client, path: '/api/v1/namespaces/s/configmaps', resyncPeriodMs: 60 });
  const events = recordEvents(informer);
  informer.start();
  await informer.hasSynced;
  await eventually(() => events.filter((e) => e.event === 'resync').length >= 4, 'two resyncs');
  const resynced = events.filter((e) => e.event === 'resync').map((e) => e.key);
  assert.deepEqual(resynced.slice(0, 2).sort(), ['s/x', 's/y']);
  assert.ok(informer.lists >= 3);
  assert.equal(informer.restarts, 0, 'a resync is not a failure');
  await informer.stop();
  await sleep(50);
  assert.equal(fake.openWatches('/api/v1/namespaces/s/'), 0, 'no watch left behind by the relists');
});

test('stop before the first sync rejects hasSynced and stops retrying', async () => {
  const informer = new Informer<V1ConfigMap>({ client, path: '/api/v1/namespaces/never/configmaps', restartBaseMs: 10 });
  fake.failNext(1000, 503, (r) => r.path === '/api/v1/namespaces/never/configmaps');
  informer.start();
  await eventually(() => informer.restarts >= 2, 'a few failed attempts');
  await informer.stop();
  await assert.rejects(informer.hasSynced, /stopped before its first sync/);
  const attempts = fake.requests.filter((r) => r.path === '/api/v1/namespaces/never/configmaps').length;
  await sleep(100);
  assert.equal(fake.requests.filter((r) => r.path === '/api/v1/namespaces/never/configmaps').length, attempts);
});
