// The controller runtime (operator/runtime) against the real API server of the test bed:
// - server-side apply creates and updates objects, removes fields this manager stopped declaring and
//   keeps fields other managers own; status goes through the status subresource of a custom resource;
// - the informer follows create/update/delete and survives its watch connection being cut (client-node's
//   own informer stops for good there), catching up on changes it missed, deletes included;
// - two leader electors on one Lease: one leads; the other takes over once the first releases;
// - events are accepted by the real events.k8s.io/v1 validation, and repeats become a series;
// - requests share a keep-alive connection pool.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { Informer, KubeClient, apply, applyStatus, deleteIfExists, getOrUndefined, objectKey, type InformerEvent } from '../../core/index.ts';
import { EventRecorder } from '../../operator/runtime/events.ts';
import { LeaderElector } from '../../core/index.ts';
import { eventually, testbed, testNamespace, type Testbed } from '../support/testbed.ts';

let tb: Testbed;
let client: KubeClient;
let namespace: string;
let cleanup: () => Promise<void> = async () => {};

before(async () => {
  tb = await testbed();
  client = new KubeClient(tb.kubeConfig);
  ({ name: namespace, cleanup } = await testNamespace(tb, 'runtime'));
});

after(async () => {
  await cleanup();
  await client.close();
});

function configMap(name: string, data: Record<string, string>, labels: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data };
}

/** A TCP proxy in front of the API server whose connections a test can cut and refuse. */
class CuttableProxy {
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  connections = 0;
  refusing = false;

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      if (this.refusing) return void client.destroy();
      this.connections += 1;
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  cutAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A copy of the test bed kubeconfig that talks to the API server through `port` on 127.0.0.1. */
function kubeConfigVia(port: number): KubeConfig {
  const cluster = tb.kubeConfig.getCurrentCluster()!;
  const url = new URL(cluster.server);
  assert.equal(url.hostname, '127.0.0.1', 'the proxy trick needs the API server on 127.0.0.1 (its certificate names that IP)');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: tb.kubeConfig.getClusters().map((c) => (c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${port}` } : c)),
    users: tb.kubeConfig.getUsers(),
    contexts: tb.kubeConfig.getContexts(),
    currentContext: tb.kubeConfig.getCurrentContext(),
  });
  return kc;
}

function apiServerAddress(): { host: string; port: number } {
  const url = new URL(tb.kubeConfig.getCurrentCluster()!.server);
  return { host: url.hostname, port: Number(url.port || 443) };
}

test('server-side apply creates, updates, prunes its own fields and keeps fields of other managers', async () => {
  const created = await apply<V1ConfigMap>(client, configMap('ssa', { a: '1', b: '2' }, { app: 'kubeception' }));
  assert.deepEqual(created.data, { a: '1', b: '2' });
  assert.ok(created.metadata?.managedFields?.some((f) => f.manager === 'kubeception-operator' && f.operation === 'Apply'));

  // Someone else (a user with kubectl, another controller) owns data.c and a label.
  await apply(client, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa', namespace, labels: { team: 'blue' } }, data: { c: '3' } }, {
    fieldManager: 'someone-else',
    force: false,
  });

  // The operator's next apply no longer declares b and changes a.
  const updated = await apply<V1ConfigMap>(client, configMap('ssa', { a: '10' }, { app: 'kubeception' }));
  assert.deepEqual(updated.data, { a: '10', c: '3' }, 'b pruned (only we owned it), c kept (owned by someone-else)');
  assert.deepEqual(updated.metadata?.labels, { app: 'kubeception', team: 'blue' });

  // A conflicting field: without force the other manager gets 409, with force (our default) we take it.
  await assert.rejects(
    apply(client, configMap('ssa', { a: 'theirs' }), { fieldManager: 'someone-else', force: false }),
    (err: Error & { statusCode?: number }) => err.statusCode === 409,
  );
  const read = await getOrUndefined<V1ConfigMap>(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'ssa' });
  assert.equal(read?.data?.['a'], '10');

  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'ssa' };
  assert.equal(await deleteIfExists(client, ref), true);
  assert.equal(await deleteIfExists(client, ref), false);
  assert.equal(await getOrUndefined(client, ref), undefined);
});

test('applyStatus writes the status subresource of a custom resource and leaves the spec alone', async () => {
  const group = 'runtime-e2e.kubeception.io';
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer' } } },
                status: {
                  type: 'object',
                  properties: {
                    observedGeneration: { type: 'integer' },
                    phase: { type: 'string' },
                    conditions: {
                      type: 'array',
                      'x-kubernetes-list-type': 'map',
                      'x-kubernetes-list-map-keys': ['type'],
                      items: {
                        type: 'object',
                        required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
                        properties: {
                          type: { type: 'string' },
                          status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
                          observedGeneration: { type: 'integer' },
                          lastTransitionTime: { type: 'string', format: 'date-time' },
                          reason: { type: 'string' },
                          message: { type: 'string' },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
  await apply(client, crd);
  try {
    await eventually('CRD established', async () => {
      const got = await getOrUndefined<{ metadata?: object; status?: { conditions?: Array<{ type: string; status: string }> } }>(client, {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: crd.metadata.name,
      });
      return got?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
    const widget = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w', namespace }, spec: { size: 3 } };
    // Discovery learns the new kind on the first miss.
    const created = await eventually('widget applied', () => apply<typeof widget & { metadata: { generation?: number } }>(client, widget));
    const status = {
      observedGeneration: created.metadata.generation,
      phase: 'Ready',
      conditions: [{ type: 'Ready', status: 'True', reason: 'AllGood', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    };
    const written = await applyStatus<typeof widget & { status?: typeof status }>(client, { ...widget, spec: { size: 99 }, status });
    assert.deepEqual(written.status, status);
    assert.deepEqual(written.spec, { size: 3 }, 'a status apply does not touch the spec');
    // And a main-resource apply does not touch the status.
    const reapplied = await apply<typeof widget & { status?: typeof status }>(client, { ...widget, status: { phase: 'Bogus' } });
    assert.equal(reapplied.status?.phase, 'Ready');
  } finally {
    await deleteIfExists(client, { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata.name });
  }
});

test('the informer follows changes and survives its connection being cut, catching up on what it missed', async () => {
  const proxy = new CuttableProxy(apiServerAddress());
  const viaProxy = new KubeClient(kubeConfigVia(await proxy.listen()));
  const informer = new Informer<V1ConfigMap>({
    client: viaProxy,
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    labelSelector: 'informer=e2e',
    resyncPeriodMs: 0,
    restartBaseMs: 200,
  });
  const events: Array<{ event: InformerEvent; key: string; v?: string }> = [];
  informer.on((event, obj) => events.push({ event, key: objectKey(obj), v: obj.data?.['v'] }));
  const seen = (event: InformerEvent, name: string, v?: string) =>
    events.some((e) => e.event === event && e.key === `${namespace}/${name}` && (v === undefined || e.v === v));
  try {
    await apply(client, configMap('before-start', { v: '0' }, { informer: 'e2e' }));
    informer.start();
    await informer.hasSynced;
    assert.equal(informer.get(namespace, 'before-start')?.data?.['v'], '0');

    await apply(client, configMap('live', { v: '1' }, { informer: 'e2e' }));
    await eventually('add seen', async () => (seen('add', 'live', '1') ? true : undefined), 20_000, 50);
    await apply(client, configMap('live', { v: '2' }, { informer: 'e2e' }));
    await eventually('update seen', async () => (seen('update', 'live', '2') ? true : undefined), 20_000, 50);
    await deleteIfExists(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'live' });
    await eventually('delete seen', async () => (seen('delete', 'live') ? true : undefined), 20_000, 50);
    await apply(client, configMap('unlabelled', { v: '1' }));

    // Cut every connection and refuse new ones for a while; change things meanwhile.
    proxy.refusing = true;
    proxy.cutAll();
    await deleteIfExists(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'before-start' });
    await apply(client, configMap('while-down', { v: '1' }, { informer: 'e2e' }));
    await eventually('a failed restart', async () => (informer.restarts >= 2 ? true : undefined), 20_000, 50);
    proxy.refusing = false;

    await eventually('caught up after reconnecting', async () => (seen('add', 'while-down') && seen('delete', 'before-start') ? true : undefined), 30_000, 100);
    assert.deepEqual(informer.keys().sort(), [`${namespace}/while-down`]);
    assert.equal(events.some((e) => e.key.endsWith('/unlabelled')), false, 'the label selector applies');

    // The new watch delivers again.
    await apply(client, configMap('after', { v: '1' }, { informer: 'e2e' }));
    await eventually('watch works after restart', async () => (informer.get(namespace, 'after') ? true : undefined), 20_000, 50);
  } finally {
    await informer.stop();
    await viaProxy.close();
    await proxy.close();
  }
});

test('two electors on one Lease: one leads, the other takes over after the first releases', async () => {
  const log: string[] = [];
  const make = (identity: string) =>
    new LeaderElector({
      client,
      namespace,
      name: 'operator-lock',
      identity,
      // Longer than the operator's defaults need be, so that a loaded test machine (slow API calls)
      // cannot make replica-1 miss its renew deadline; the take-over must still beat the lease expiry.
      leaseDurationMs: 12_000,
      renewDeadlineMs: 8000,
      retryPeriodMs: 500,
      onStartedLeading: () => void log.push(`${identity} started`),
      onStoppedLeading: () => void log.push(`${identity} stopped`),
    });
  const first = make('replica-1');
  const second = make('replica-2');
  const firstRun = first.run();
  await eventually('replica-1 leads', async () => (first.isLeader ? true : undefined), 20_000, 50);
  const secondRun = second.run();
  await sleep(2500);
  assert.equal(second.isLeader, false, 'replica-2 waits while replica-1 renews');
  type Lease = { metadata?: object; spec: { holderIdentity?: string; renewTime?: string; acquireTime?: string; leaseTransitions?: number } };
  const leaseRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name: 'operator-lock' };
  const held = (await getOrUndefined<Lease>(client, leaseRef))!;
  assert.equal(held.spec.holderIdentity, 'replica-1');
  assert.match(held.spec.renewTime!, /\.\d{6}Z$/);
  assert.ok(Date.parse(held.spec.renewTime!) > Date.parse(held.spec.acquireTime!), 'the leader renewed');

  const released = Date.now();
  await first.stop();
  await firstRun;
  await eventually('replica-2 leads', async () => (second.isLeader ? true : undefined), 20_000, 50);
  assert.ok(Date.now() - released < 8000, `took over ${Date.now() - released} ms after release (lease is 12 s)`);
  const taken = (await getOrUndefined<Lease>(client, leaseRef))!;
  assert.equal(taken.spec.holderIdentity, 'replica-2');
  assert.equal(taken.spec.leaseTransitions, 1);
  await second.stop();
  await secondRun;
  assert.deepEqual(log, ['replica-1 started', 'replica-1 stopped', 'replica-2 started', 'replica-2 stopped']);
});

test('events pass the real events.k8s.io/v1 validation and repeats become a series', async () => {
  const target = await apply<V1ConfigMap>(client, configMap('evented', { v: '1' }));
  const recorder = new EventRecorder({ client, reportingInstance: 'runtime-e2e' });
  await recorder.warning(target, 'ReconcileFailed', 'something broke', 'Reconcile');
  for (let i = 0; i < 20; i++) void recorder.warning(target, 'ReconcileFailed', 'something broke', 'Reconcile');
  await recorder.close();
  type EventList = { items: Array<{ reason: string; note: string; series?: { count: number }; regarding: { uid?: string } }> };
  const list = await client.request<EventList>('GET', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
    query: { fieldSelector: `regarding.name=evented` },
  });
  assert.equal(list.items.length, 1, 'one Event for 21 occurrences');
  assert.equal(list.items[0]!.reason, 'ReconcileFailed');
  assert.equal(list.items[0]!.series?.count, 21);
  assert.equal(list.items[0]!.regarding.uid, target.metadata!.uid);
  assert.equal(recorder.writes, 2, 'one create and one series update');
});

test('requests share keep-alive TLS connections', async () => {
  const proxy = new CuttableProxy(apiServerAddress());
  const viaProxy = new KubeClient(kubeConfigVia(await proxy.listen()));
  try {
    for (let i = 0; i < 20; i++) await viaProxy.request('GET', `/api/v1/namespaces/${namespace}/configmaps`);
    assert.ok(proxy.connections <= 2, `20 requests opened ${proxy.connections} TLS connections`);
  } finally {
    await viaProxy.close();
    await proxy.close();
  }
});
