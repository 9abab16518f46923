import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  conditionsEqual,
  findCondition,
  isConditionTrue,
  metaTime,
  removeCondition,
  setCondition,
  type Condition,
} from './conditions.ts';

const t0 = new Date('2026-01-02T03:04:05.678Z');
const t1 = new Date('2026-01-02T03:10:00.000Z');

test('a new condition is appended with the transition time in metav1.Time format', () => {
  const conditions = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'starting', observedGeneration: 1 }, t0);
  assert.deepEqual(conditions, [
    { type: 'Ready', status: 'False', observedGeneration: 1, lastTransitionTime: '2026-01-02T03:04:05Z', reason: 'Provisioning', message: 'starting' },
  ]);
});

test('same status keeps lastTransitionTime but takes the new reason, message and generation', () => {
  const before = setCondition([], { type: 'Ready', status: 'False', reason: 'Provisioning', message: 'a', observedGeneration: 1 }, t0);
  const after = setCondition(before, { type: 'Ready', status: 'False', reason: 'WaitingForEtcd', message: 'b', observedGeneration: 2 }, t1);
  assert.equal(after[0]!.lastTransitionTime, '2026-01-02T03:04:05Z');
  assert.equal(after[0]!.reason, 'WaitingForEtcd');
  assert.equal(after[0]!.message, 'b');
  assert.equal(after[0]!.observedGeneration, 2);
});

test('a status change moves lastTransitionTime; other conditions and their order are untouched', () => {
  let conditions = setCondition([], { type: 'PKI', status: 'True', reason: 'Issued', message: '' }, t0);
  conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'Provisioning', message: '' }, t0);
  const before = structuredClone(conditions);
  const after = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'AllComponentsReady', message: '' }, t1);
  assert.deepEqual(conditions, before, 'input not mutated');
  assert.deepEqual(after.map((c) => c.type), ['PKI', 'Ready']);
  assert.equal(findCondition(after, 'Ready')!.lastTransitionTime, metaTime(t1));
  assert.equal(findCondition(after, 'PKI')!.lastTransitionTime, metaTime(t0));
});

test('isConditionTrue and findCondition', () => {
  const conditions = setCondition([], { type: 'Ready', status: 'True', reason: 'Ok', message: '' }, t0);
  assert.equal(isConditionTrue(conditions, 'Ready'), true);
  assert.equal(isConditionTrue(setCondition(conditions, { type: 'Ready', status: 'Unknown', reason: 'Lost', message: '' }), 'Ready'), false);
  assert.equal(isConditionTrue(conditions, 'Datastore'), false);
  assert.equal(isConditionTrue(undefined, 'Ready'), false);
  assert.equal(findCondition(conditions, 'Nope'), undefined);
});

test('invalid conditions are rejected with a message naming the field', () => {
  const base = { type: 'Ready', status: 'True', reason: 'Ok', message: '' } as const;
  assert.throws(() => setCondition([], { ...base, reason: 'not ok' }), /reason must match/);
  assert.throws(() => setCondition([], { ...base, reason: '' }), /reason must match/);
  assert.throws(() => setCondition([], { ...base, status: 'Yes' as Condition['status'] }), /status must be True, False or Unknown/);
  assert.throws(() => setCondition([], { ...base, type: 'bad type' }), /type must be/);
  assert.throws(() => setCondition([], { ...base, observedGeneration: -1 }), /observedGeneration/);
  // Domain-prefixed types and reasons with commas/colons are valid metav1 values.
  assert.doesNotThrow(() => setCondition([], { ...base, type: 'kubeception.io/APIServer', reason: 'A,B:C_d' }));
});

test('removeCondition and conditionsEqual', () => {
  const a = setCondition(setCondition([], { type: 'A', status: 'True', reason: 'R', message: '' }, t0), { type: 'B', status: 'False', reason: 'R', message: '' }, t0);
  const reordered = [a[1]!, a[0]!];
  assert.equal(conditionsEqual(a, reordered), true);
  assert.equal(conditionsEqual(a, removeCondition(a, 'B')), false);
  assert.deepEqual(removeCondition(a, 'B').map((c) => c.type), ['A']);
  // Re-setting identical values is a no-op, so a reconcile can skip the status write.
  assert.equal(conditionsEqual(a, setCondition(a, { type: 'A', status: 'True', reason: 'R', message: '' }, t1)), true);
  assert.equal(conditionsEqual(a, setCondition(a, { type: 'A', status: 'True', reason: 'R', message: 'changed' }, t1)), false);
});
