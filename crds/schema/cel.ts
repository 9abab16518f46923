// A CEL validation rule (`x-kubernetes-validations`) together with its TypeScript mirror. The API server
// runs `rule`; our own code (REST API, unit tests) runs `holds`, so a bad spec is refused with the same
// message before it reaches the API server. Keeping both in one object keeps them side by side.

export type CelReason = 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';

/** What goes into the CRD: exactly the fields of apiextensions.k8s.io/v1 ValidationRule. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: CelReason;
  fieldPath?: string;
}

export interface CelRule extends ValidationRule {
  /**
   * Mirror of `rule`: true when the value passes. `self` is the value at the rule's place in the schema, and
   * `oldSelf` the stored value there (only for transition rules, only on update). Values come straight from
   * user input, so a mirror must tolerate wrong types (the schema check reports those).
   */
  holds(self: unknown, oldSelf: unknown): boolean;
  /** Mirror of `messageExpression`. */
  messageFor?(self: unknown, oldSelf: unknown): string;
}

/** A transition rule compares with the stored object; the API server detects it by `oldSelf` in the rule. */
export function isTransitionRule(rule: ValidationRule): boolean {
  return /\boldSelf\b/.test(rule.rule);
}

/** The part of a rule the CRD carries (drops the mirrors). */
export function toValidationRule(rule: CelRule): ValidationRule {
  const out: ValidationRule = { rule: rule.rule };
  if (rule.message !== undefined) out.message = rule.message;
  if (rule.messageExpression !== undefined) out.messageExpression = rule.messageExpression;
  if (rule.reason !== undefined) out.reason = rule.reason;
  if (rule.fieldPath !== undefined) out.fieldPath = rule.fieldPath;
  return out;
}

/** The message a failing rule produces, as the API server would word it. */
export function failureMessage(rule: CelRule, self: unknown, oldSelf: unknown): string {
  if (rule.messageFor) return rule.messageFor(self, oldSelf);
  return rule.message ?? `failed rule: ${rule.rule}`;
}

// Accessors for mirrors: input is untrusted JSON.
export function field(value: unknown, name: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = (value as Record<string, unknown>)[name];
  return v === null ? undefined : v; // CEL treats null-valued fields as absent
}

export function stringField(value: unknown, name: string): string | undefined {
  const v = field(value, name);
  return typeof v === 'string' ? v : undefined;
}

export function has(value: unknown, name: string): boolean {
  return field(value, name) !== undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
