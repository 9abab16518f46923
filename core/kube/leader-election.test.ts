import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaderElector, microTime, type LeaseSpec } from './leader-election.ts';
import { fakeHostPerFile } from '../testing/fake-host.ts';
import { pino } from 'pino';

const LEASES = '/apis/coordination.k8s.io/v1/leases';
const timings = { leaseDurationMs: 3000, renewDeadlineMs: 1500, retryPeriodMs: 200 };
const host = fakeHostPerFile();

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function lease(name: string): LeaseSpec {
  return (host.fake.get(LEASES, 'ops', name)?.['spec'] ?? {}) as LeaseSpec;
}

function elector(name: string, identity: string, log: string[]) {
  let signal: AbortSignal | undefined;
  const e = new LeaderElector({
    client: host.client,
    namespace: 'ops',
    name,
    identity,
    ...timings,
    onStartedLeading: (s) => {
      signal = s;
      log.push(`${identity} started`);
    },
    onStoppedLeading: () => void log.push(`${identity} stopped`),
  });
  return { e, signal: () => signal };
}

test('microTime has exactly six fractional digits', () => {
  assert.equal(microTime(new Date('2026-03-04T05:06:07.089Z')), '2026-03-04T05:06:07.089000Z');
});

test('only one of two candidates leads; the other takes over right after the leader releases', async () => {
  const log: string[] = [];
  const a = elector('release', 'a', log);
  const b = elector('release', 'b', log);
  const aRun = a.e.run();
  await eventually(() => a.e.isLeader, 'a leading');
  const bRun = b.e.run();
  await sleep(600);
  assert.equal(b.e.isLeader, false, 'b must wait while a renews');
  const held = lease('release');
  assert.equal(held.holderIdentity, 'a');
  assert.equal(held.leaseDurationSeconds, 3);
  assert.match(held.renewTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime');
  assert.match(held.acquireTime!, /\.\d{6}Z$/);
  assert.ok(Date.parse(held.renewTime!) > Date.parse(held.acquireTime!), 'renewed since acquired');

  const released = performance.now();
  await a.e.stop();
  await aRun;
  assert.equal(a.signal()!.aborted, true, 'the leader signal is aborted');
  assert.equal(a.e.isLeader, false);
  await eventually(() => b.e.isLeader, 'b leading');
  // No wait for expiry (3 s): a released the lease, so b takes it on one of its next retries.
  assert.ok(performance.now() - released < 2500, `took over after ${Math.round(performance.now() - released)} ms`);
  assert.equal(lease('release').holderIdentity, 'b');
  assert.equal(lease('release').leaseTransitions, 1, 'created by a with 0 transitions, one hand-over to b');
  await b.e.stop();
  await bRun;
  assert.deepEqual(log, ['a started', 'a stopped', 'b started', 'b stopped']);
  assert.equal(lease('release').holderIdentity, '');
});

test('a leader that cannot renew steps down after the renew deadline; the lease is taken after it expires', async () => {
  const log: string[] = [];
  const a = elector('crash', 'a', log);
  const b = elector('crash', 'b', log);
  const aRun = a.e.run();
  await eventually(() => a.e.isLeader, 'a leading');
  const bRun = b.e.run();
  await sleep(300);
  // From now on every renew by a fails, like a replica cut off from the API server. (Requests carry no
  // identity, so a's GETs cannot be told from b's; failing a's writes is enough.)
  host.fake.failNext(1000, 500, (r) => r.path.endsWith('/leases/crash') && (r.body as { spec?: LeaseSpec } | undefined)?.spec?.holderIdentity === 'a');
  const cut = performance.now();
  await aRun; // run() returns once leadership is lost
  const steppedDown = performance.now() - cut;
  // Its last successful renew was up to one retry period before the cut.
  assert.ok(steppedDown >= 1200 && steppedDown < 3500, `a stepped down after ${Math.round(steppedDown)} ms (renew deadline 1.5 s)`);
  assert.deepEqual(log, ['a started', 'a stopped']);
  await eventually(() => b.e.isLeader, 'b leading', 5000);
  // b may only take over once the lease has not changed for a lease duration (3 s) on b's clock.
  assert.ok(performance.now() - cut >= 2500, `b took over ${Math.round(performance.now() - cut)} ms after a's last renew`);
  await b.e.stop();
  await bRun;
});

test('timings are checked like client-go', () => {
  const base = { client: host.client, namespace: 'ops', name: 'x', identity: 'i', onStartedLeading: () => {} };
  assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }), /greater than renewDeadlineMs/);
  assert.throws(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }), /1.2 x retryPeriodMs/);
  assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 15_500 }), /whole seconds/);
  assert.throws(() => new LeaderElector({ ...base, identity: '' }), /identity/);
  assert.equal(new LeaderElector({ ...base, identity: undefined }).identity.length > 0, true);
});

test('stop(): the work ends before the lease is released; the standby logs who leads, each log line says who it is', async () => {
  const lines: { msg: string; identity?: string; leader?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  let holderWhenStopped: string | undefined;
  const a = new LeaderElector({
    client: host.client, namespace: 'ops', name: 'order', identity: 'pod-a', logger, ...timings,
    onStartedLeading: () => {},
    onStoppedLeading: async () => {
      await sleep(300); // a reconcile finishing
      holderWhenStopped = lease('order').holderIdentity;
    },
  });
  const b = new LeaderElector({ client: host.client, namespace: 'ops', name: 'order', identity: 'pod-b', logger, ...timings, onStartedLeading: () => {} });
  const aRun = a.run();
  await eventually(() => a.isLeader, 'a leading');
  const bRun = b.run();
  await eventually(() => b.reachable && b.leader === 'pod-a', 'b standing by');
  assert.equal(b.isLeader, false);

  await a.stop();
  await aRun;
  assert.equal(holderWhenStopped, 'pod-a', 'still held while the work stopped: b cannot start beside it');
  await eventually(() => b.isLeader, 'b leading');
  await b.stop();
  await bRun;

  const said = (msg: string) => lines.filter((l) => l.msg === msg).map((l) => [l.identity, l.leader]);
  assert.deepEqual(said('started leading'), [['pod-a', 'pod-a'], ['pod-b', 'pod-b']]);
  assert.deepEqual(said('standing by: another replica leads'), [['pod-b', 'pod-a']]);
  assert.deepEqual(said('released the lease').map(([identity]) => identity), ['pod-a', 'pod-b']);
});

test('reachable: false while the API server does not answer, so a cut-off standby is not ready', async () => {
  const e = new LeaderElector({ client: host.client, namespace: 'ops', name: 'unreachable', identity: 'x', ...timings, onStartedLeading: () => {} });
  assert.equal(e.reachable, false, 'not before the first answer');
  host.fake.failNext(50, 503, (r) => r.path.endsWith('/leases/unreachable'));
  const run = e.run();
  await sleep(500);
  assert.equal(e.reachable, false);
  assert.equal(e.isLeader, false);
  await e.stop();
  await run;
});
