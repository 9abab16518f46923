import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counts, junitReport, markdownReport, parseJunit, type RunSummary } from './report.ts';
import { ginkgoSelectionArgs, skipReason } from './selection.ts';

// The shape ginkgo v2's --junit-report writes (setup nodes are test cases too).
const GINKGO_JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="5" disabled="0" errors="0" failures="1" time="95.1">
  <testsuite name="Kubernetes e2e suite" package="/e2e" tests="5" disabled="0" skipped="2" errors="0" failures="1" time="95.1">
    <testcase name="[SynchronizedBeforeSuite]" classname="Kubernetes e2e suite" status="passed" time="3.2"></testcase>
    <testcase name="[It] [sig-network] DNS should provide DNS for services  [Conformance]" classname="Kubernetes e2e suite" status="passed" time="41.5"><system-err>log</system-err></testcase>
    <testcase name="[It] [sig-apps] Daemon set [Serial] should rollback [Conformance]" classname="Kubernetes e2e suite" status="failed" time="30.25"><failure message="timed out waiting &lt;pods&gt;&#xA;second line" type="failed">[FAILED] timed out</failure></testcase>
    <testcase name="[It] [sig-storage] CSI something" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
    <testcase name="[It] [sig-network] Services should serve on a LoadBalancer [Conformance]" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
    <testcase name="[ReportAfterSuite] Kubernetes e2e suite report" classname="Kubernetes e2e suite" status="passed" time="0.1"></testcase>
  </testsuite>
</testsuites>`;

const skips = [{ pattern: String.raw`LoadBalancer`, reason: 'no cloud load balancer' }];

test('a ginkgo JUnit report: specs with state and duration, setup nodes and unselected specs dropped, named skips with their reason', () => {
  const results = parseJunit(GINKGO_JUNIT, skips);
  assert.deepEqual(results, [
    { name: '[sig-network] DNS should provide DNS for services  [Conformance]', state: 'passed', seconds: 41.5 },
    { name: '[sig-apps] Daemon set [Serial] should rollback [Conformance]', state: 'failed', seconds: 30.25, message: 'timed out waiting <pods>\nsecond line' },
    { name: '[sig-network] Services should serve on a LoadBalancer [Conformance]', state: 'skipped', seconds: 0, message: 'no cloud load balancer' },
  ]);
  assert.deepEqual(counts(results), { passed: 1, failed: 1, skipped: 1 });
});

test('a named skip is reported only for a spec the focus selects', () => {
  assert.deepEqual(parseJunit(GINKGO_JUNIT, skips, ['DNS']).map((r) => r.state), ['passed', 'failed']);
  assert.equal(parseJunit(GINKGO_JUNIT, skips, [String.raw`\[Conformance\]`]).filter((r) => r.state === 'skipped').length, 1);
});

test('a failed suite setup node counts as a failure', () => {
  const xml = '<testsuites><testsuite><testcase name="[SynchronizedBeforeSuite]" status="failed" time="600"><failure message="nodes not ready"></failure></testcase></testsuite></testsuites>';
  assert.deepEqual(parseJunit(xml), [{ name: '[SynchronizedBeforeSuite]', state: 'failed', seconds: 600, message: 'nodes not ready' }]);
});

test('the Markdown and JUnit results name every spec, the skips and the counts', () => {
  const summary: RunSummary = {
    version: 'v1.36.5', startedAt: new Date('2026-12-02T06:00:00Z'), seconds: 125, nodes: 4, focus: [String.raw`\[Conformance\]`], skips, missingImages: ['registry.k8s.io/e2e-test-images/nautilus:1.7'],
    cluster: 'a tenant', results: parseJunit(GINKGO_JUNIT, skips),
  };
  const md = markdownReport(summary);
  assert.match(md, /^# Conformance v1\.36\.5: 1 passed, 1 failed, 1 skipped/);
  assert.match(md, /2 min 5 s/);
  assert.match(md, /\| `LoadBalancer` \| no cloud load balancer \|/);
  assert.match(md, /\| \[sig-apps\] Daemon set \[Serial\] should rollback \[Conformance\] \| 30\.3 \| timed out waiting <pods> second line \|/);
  assert.match(md, /nautilus:1\.7/);
  const junit = junitReport(summary);
  assert.match(junit, /<testsuites tests="3" failures="1" skipped="1"/);
  assert.match(junit, /<failure message="timed out waiting &lt;pods&gt; second line"\/>/);
  assert.deepEqual(parseJunit(junit, skips).map((r) => r.state), ['passed', 'failed', 'skipped'], 'the written JUnit reads back the same');
});

test('selection: ginkgo focus and skip flags; the reason of the first named skip that matches', () => {
  assert.deepEqual(ginkgoSelectionArgs({ focus: ['a', 'b'], skips: [{ pattern: 'c', reason: 'r' }] }), ['--focus=a', '--focus=b', '--skip=c']);
  assert.equal(skipReason('x LoadBalancer y', skips), 'no cloud load balancer');
  assert.equal(skipReason('x', skips), undefined);
});
