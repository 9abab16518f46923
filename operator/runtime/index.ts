// The controller runtime: what controller-runtime gives Go operators and client-node does not.
// See README.md in this folder for how the parts fit together. The Kubernetes client, apply and informers
// it builds on are core's (core/kube).
export {
  WorkQueue,
  type ProcessedInfo,
  type Reconcile,
  type ReconcileResult,
  type RunOptions,
  type ShutDownOptions,
  type WorkQueueOptions,
} from './work-queue.ts';
// Leader election moved to core (the API elects its metering writer with it too); re-exported for the operator.
export { defaultIdentity, LeaderElector, microTime, type LeaderElectionOptions, type LeaseSpec } from '../../core/index.ts';
export { EventRecorder, type EventRecorderOptions, type EventType } from './events.ts';
export {
  countPhases,
  createMetrics,
  operatorReady,
  recordReconcile,
  setTenantPhases,
  startHealthServer,
  type HealthServer,
  type HealthServerOptions,
  type MetricsOptions,
  type OperatorMetrics,
  type Probe,
} from './metrics.ts';
export {
  conditionsEqual,
  findCondition,
  isConditionTrue,
  metaTime,
  removeCondition,
  setCondition,
  validateCondition,
  type Condition,
  type ConditionInput,
  type ConditionStatus,
} from './conditions.ts';
