// metav1.Condition helpers. Pure: they return new arrays and never mutate their input, so a reconcile
// can compare the old and new status and skip a write when nothing changed.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Same shape as metav1.Condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  /** The .metadata.generation the condition was computed from. */
  observedGeneration?: number;
  /** RFC 3339 time of the last change of `status` (seconds precision, like metav1.Time). */
  lastTransitionTime: string;
  /** CamelCase machine-readable reason. */
  reason: string;
  message: string;
}

/** What a caller provides; the transition time is managed here. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

// The validation metav1.Condition's OpenAPI schema applies on the server: fail here with a clear message
// instead of a 422 from the API server at status-write time.
const TYPE_PATTERN = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;
const REASON_PATTERN = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const STATUSES: ReadonlySet<string> = new Set(['True', 'False', 'Unknown']);

/** metav1.Time serialisation: RFC 3339 in UTC without fractional seconds. */
export function metaTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function validateCondition(condition: ConditionInput): void {
  const where = `condition ${JSON.stringify(condition.type)}`;
  if (typeof condition.type !== 'string' || condition.type.length > 316 || !TYPE_PATTERN.test(condition.type)) {
    throw new Error(`${where}: type must be a CamelCase or domain-prefixed name of at most 316 characters`);
  }
  if (!STATUSES.has(condition.status)) {
    throw new Error(`${where}: status must be True, False or Unknown, got ${JSON.stringify(condition.status)}`);
  }
  if (typeof condition.reason !== 'string' || condition.reason.length > 1024 || !REASON_PATTERN.test(condition.reason)) {
    throw new Error(
      `${where}: reason must match ${REASON_PATTERN.source} (CamelCase, at most 1024 characters), got ${JSON.stringify(condition.reason)}`,
    );
  }
  if (typeof condition.message !== 'string' || condition.message.length > 32768) {
    throw new Error(`${where}: message must be a string of at most 32768 characters`);
  }
  if (
    condition.observedGeneration !== undefined &&
    (!Number.isInteger(condition.observedGeneration) || condition.observedGeneration < 0)
  ) {
    throw new Error(`${where}: observedGeneration must be a non-negative integer`);
  }
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * Returns `conditions` with `input` set: lastTransitionTime moves to `now` only when the status changes
 * (or the condition is new); reason, message and observedGeneration are always taken from `input`.
 * Order is kept; a new condition is appended.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date = new Date(),
): Condition[] {
  validateCondition(input);
  const list = conditions ?? [];
  const existing = findCondition(list, input.type);
  const lastTransitionTime =
    existing !== undefined && existing.status === input.status ? existing.lastTransitionTime : metaTime(now);
  const next: Condition = {
    type: input.type,
    status: input.status,
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime,
    reason: input.reason,
    message: input.message,
  };
  if (existing === undefined) return [...list, next];
  return list.map((c) => (c.type === input.type ? next : c));
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** True when both lists hold the same conditions with the same fields (order ignored). */
export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return left.every((c) => {
    const other = findCondition(right, c.type);
    return (
      other !== undefined &&
      other.status === c.status &&
      other.reason === c.reason &&
      other.message === c.message &&
      other.lastTransitionTime === c.lastTransitionTime &&
      other.observedGeneration === c.observedGeneration
    );
  });
}
