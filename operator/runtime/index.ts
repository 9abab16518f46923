// The controller runtime: what controller-runtime gives Go operators and client-node does not.
// See README.md in this folder for how the parts fit together.
export { exponentialBackoff, PerKeyBackoff, TokenBucket, withJitter, type Clock } from './backoff.ts';
export {
  WorkQueue,
  type ProcessedInfo,
  type Reconcile,
  type ReconcileResult,
  type RunOptions,
  type ShutDownOptions,
  type WorkQueueOptions,
} from './work-queue.ts';
export {
  apiVersionPath,
  isConflict,
  isNotFound,
  KubeApiError,
  KubeClient,
  resourcePath,
  SharedConnectionKubeConfig,
  type ApiResource,
  type KubeClientOptions,
  type RequestOptions,
} from './kube-client.ts';
export {
  APPLY_PATCH,
  apply,
  applyBody,
  applyStatus,
  deleteIfExists,
  FIELD_MANAGER,
  getOrUndefined,
  refOf,
  TENANT_CONTROL_PLANE,
  tenantControlPlaneRef,
  type Applicable,
  type ApplyOptions,
  type DeleteOptions,
  type ObjectRef,
} from './apply.ts';
export {
  Informer,
  objectKey,
  splitKey,
  type InformerEvent,
  type InformerHandler,
  type InformerOptions,
  type Lister,
} from './informer.ts';
export { defaultIdentity, LeaderElector, microTime, type LeaderElectionOptions, type LeaseSpec } from './leader-election.ts';
export { EventRecorder, type EventRecorderOptions, type EventType } from './events.ts';
export {
  countPhases,
  createMetrics,
  recordReconcile,
  setTenantPhases,
  startHealthServer,
  TENANT_PHASES,
  type HealthServer,
  type HealthServerOptions,
  type MetricsOptions,
  type OperatorMetrics,
  type Probe,
  type TenantPhase,
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
