// Validation of TenantControlPlane specs in-process, so the REST API refuses bad input with the same
// messages the API server would give: ajv checks the OpenAPI part of the schema (and applies its defaults),
// the TypeScript mirrors next to each CEL rule check the rest (CIDRs, immutability, version changes, ...).
import { isDeepStrictEqual } from 'node:util';
import { Ajv, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { failureMessage, isPlainObject, isTransitionRule } from './schema/cel.ts';
import { toJSONSchemaProps, type JSONSchemaProps, type SchemaNode } from './schema/json-schema.ts';
import { tenantControlPlaneSchema, tenantControlPlaneSpecSchema } from './schema/tenant-control-plane.ts';
import type { TenantControlPlaneSpec, TenantControlPlaneSpecInput } from './generated/types.ts';

export interface FieldError {
  /** Where the problem is, in Kubernetes notation: `spec.networkProfile.certSANs[0]`. */
  path: string;
  /** What is wrong and, where possible, what to do instead. */
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

// ajv-formats is CommonJS; under Node's ESM loader its default export is the plugin function itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** The object the API server validates the spec inside: paths start with `spec`. */
const SPEC_PATH = 'spec';

// ----------------------------------------------------------------------------------------------------------
// ajv: the OpenAPI part

/**
 * The CRD schema made strict for ajv: an object with `properties` refuses other fields, as the API server
 * does with strict field validation (kubectl's default); pruning them silently would hide typos.
 */
function strictSchema(node: JSONSchemaProps): Record<string, unknown> {
  const out: Record<string, unknown> = { ...node };
  if (node.properties) {
    out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, strictSchema(v)]));
    if (node.additionalProperties === undefined) out.additionalProperties = false;
  }
  if (node.additionalProperties) out.additionalProperties = strictSchema(node.additionalProperties);
  if (node.items) out.items = strictSchema(node.items);
  if (node['x-kubernetes-int-or-string']) {
    // The structural `anyOf: [integer, string]` as a union type, so ajv's strict mode knows string keywords
    // like maxLength apply.
    delete out.anyOf;
    out.type = ['integer', 'string'];
  } else if (node.anyOf) {
    out.anyOf = node.anyOf.map(strictSchema);
  }
  return out;
}

function listItemKey(item: unknown, keys: string[]): string {
  return JSON.stringify(keys.map((k) => (isPlainObject(item) ? item[k] : undefined)));
}

function createAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true, useDefaults: true });
  addFormats(ajv);
  // Kubernetes extensions. The CEL rules run in runCelRules below; list types are checked here.
  ajv.addKeyword({ keyword: 'x-kubernetes-validations' });
  ajv.addKeyword({ keyword: 'x-kubernetes-int-or-string' });
  ajv.addKeyword({ keyword: 'x-kubernetes-map-type' });
  ajv.addKeyword({ keyword: 'x-kubernetes-list-map-keys' });
  ajv.addKeyword({ keyword: 'x-kubernetes-list-type', type: 'array', schemaType: 'string', validate: checkListType, errors: true });
  return ajv;
}

/** `set` items and `map` keys must be unique; a duplicate is reported on its index like the API server does. */
const checkListType: SchemaValidateFunction = (listType: string, data: unknown[], parentSchema, dataCxt) => {
  const errors: Partial<ErrorObject>[] = [];
  if (listType !== 'atomic') {
    const keys = (parentSchema?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
    const seen = new Set<string>();
    data.forEach((item, index) => {
      const key = listType === 'map' ? listItemKey(item, keys) : JSON.stringify(item);
      if (seen.has(key)) {
        errors.push({
          keyword: 'x-kubernetes-list-type',
          instancePath: `${dataCxt?.instancePath ?? ''}/${index}`,
          params: { duplicate: key },
          message: `Duplicate value: ${key}`,
        });
      }
      seen.add(key);
    });
  }
  checkListType.errors = errors;
  return errors.length === 0;
};

let compiled: ValidateFunction | undefined;

function specValidator(): ValidateFunction {
  if (!compiled) {
    const ajv = createAjv();
    compiled = ajv.compile(strictSchema(toJSONSchemaProps(tenantControlPlaneSpecSchema)));
  }
  return compiled;
}

/** `/networkProfile/certSANs/0` -> `spec.networkProfile.certSANs[0]`. */
function toFieldPath(base: string, pointer: string): string {
  let path = base;
  if (pointer === '') return path;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^[0-9]+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) path += `.${segment}`;
    else path += `[${segment}]`;
  }
  return path;
}

function quoted(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(String(v))).join(', ');
}

/** An ajv error worded like the API server words the same OpenAPI violation. */
function describeAjvError(error: ErrorObject, data: unknown): FieldError | undefined {
  const params = error.params as Record<string, unknown>;
  let path = toFieldPath(SPEC_PATH, error.instancePath);
  const value = valueAt(data, error.instancePath);
  switch (error.keyword) {
    case 'required':
      return { path: `${path}.${String(params.missingProperty)}`, message: 'Required value' };
    case 'additionalProperties':
      path = `${path}.${String(params.additionalProperty)}`;
      return { path, message: `unknown field "${path}"` };
    case 'enum':
      return {
        path,
        message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${quoted(params.allowedValues as unknown[])}`,
      };
    case 'type':
      return { path, message: `must be of type ${String(params.type).replace(',', ' or ')}` };
    case 'minimum':
      return { path, message: `should be greater than or equal to ${String(params.limit)}` };
    case 'maximum':
      return { path, message: `should be less than or equal to ${String(params.limit)}` };
    case 'minLength':
      return { path, message: `should be at least ${String(params.limit)} chars long` };
    case 'maxLength':
      return { path, message: `may not be more than ${String(params.limit)} bytes` };
    case 'maxItems':
      return { path, message: `must have at most ${String(params.limit)} items` };
    case 'maxProperties':
      return { path, message: `must have at most ${String(params.limit)} items` };
    case 'pattern':
      return { path, message: `should match '${String(params.pattern)}'` };
    case 'format':
      return { path, message: `must be of format ${String(params.format)}` };
    case 'x-kubernetes-list-type':
      return { path, message: error.message ?? 'Duplicate value' };
    default:
      return { path, message: error.message ?? `failed ${error.keyword}` };
  }
}

function valueAt(data: unknown, pointer: string): unknown {
  if (pointer === '') return data;
  let current: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isPlainObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

function schemaErrors(spec: unknown): FieldError[] {
  const validate = specValidator();
  if (validate(spec)) return [];
  return (validate.errors ?? []).map((e) => describeAjvError(e, spec)).filter((e): e is FieldError => e !== undefined);
}

// ----------------------------------------------------------------------------------------------------------
// CEL mirrors

function matchesType(node: SchemaNode, value: unknown): boolean {
  if (node['x-kubernetes-int-or-string']) return typeof value === 'string' || Number.isInteger(value);
  switch (node.type) {
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${key}]`;
}

interface CelContext {
  /** True on update: transition rules run, and unchanged values are not re-validated (ratcheting). */
  update: boolean;
  errors: FieldError[];
}

/**
 * Runs the CEL rules' mirrors over a value the way the API server runs the rules: each rule at its place
 * in the schema with `self` bound there, transition rules only where an old value exists (lists only when
 * they are list-type map), and on update rules without `oldSelf` skipped for values that did not change.
 */
function runCelRules(node: SchemaNode, value: unknown, old: unknown, path: string, ctx: CelContext): void {
  if (value === undefined || value === null || !matchesType(node, value)) return;
  const unchanged = ctx.update && old !== undefined && isDeepStrictEqual(value, old);
  for (const rule of node['x-kubernetes-validations'] ?? []) {
    const transition = isTransitionRule(rule);
    if (transition && (!ctx.update || old === undefined || old === null || !matchesType(node, old))) continue;
    if (!transition && unchanged) continue;
    if (!rule.holds(value, transition ? old : undefined)) {
      ctx.errors.push({ path: path + (rule.fieldPath ?? ''), message: failureMessage(rule, value, old) });
    }
  }
  if (isPlainObject(value)) {
    const oldObject = isPlainObject(old) ? old : undefined;
    for (const [key, child] of Object.entries(value)) {
      const childSchema = node.properties?.[key] ?? node.additionalProperties;
      if (childSchema) runCelRules(childSchema, child, oldObject?.[key], childPath(path, key), ctx);
    }
  } else if (Array.isArray(value) && node.items) {
    const keys = node['x-kubernetes-list-type'] === 'map' ? (node['x-kubernetes-list-map-keys'] ?? []) : undefined;
    const oldByKey = new Map<string, unknown>();
    if (keys && Array.isArray(old)) for (const item of old) oldByKey.set(listItemKey(item, keys), item);
    value.forEach((item, index) => {
      const oldItem = keys ? oldByKey.get(listItemKey(item, keys)) : undefined;
      runCelRules(node.items!, item, oldItem, `${path}[${index}]`, ctx);
    });
  }
}

function celErrors(spec: unknown, oldSpec: unknown, update: boolean): FieldError[] {
  const ctx: CelContext = { update, errors: [] };
  runCelRules(tenantControlPlaneSpecSchema, spec, oldSpec, SPEC_PATH, ctx);
  return ctx.errors;
}

// ----------------------------------------------------------------------------------------------------------
// The API

function withDefaults(spec: unknown): unknown {
  const copy = structuredClone(spec);
  specValidator()(copy); // useDefaults fills in place; errors are reported by the callers that care
  return copy;
}

/** The spec with every schema default filled in, as the API server would store it. Does not validate. */
export function applyDefaults(spec: TenantControlPlaneSpecInput): TenantControlPlaneSpec {
  if (!isPlainObject(spec)) throw new TypeError('a TenantControlPlane spec must be an object');
  return withDefaults(spec) as TenantControlPlaneSpec;
}

function result(value: unknown, errors: FieldError[]): ValidationResult<TenantControlPlaneSpec> {
  return errors.length === 0 ? { ok: true, value: value as TenantControlPlaneSpec } : { ok: false, errors };
}

/**
 * Validates a spec as the API server validates a new TenantControlPlane: OpenAPI schema (unknown fields
 * refused), defaults, then the CEL rules. On success `value` is the defaulted spec. The input is not changed.
 */
export function validateTenantControlPlaneSpec(spec: unknown): ValidationResult<TenantControlPlaneSpec> {
  if (!isPlainObject(spec)) return { ok: false, errors: [{ path: SPEC_PATH, message: 'must be of type object' }] };
  const value = structuredClone(spec);
  const errors = [...schemaErrors(value), ...celErrors(value, undefined, false)];
  return result(value, errors);
}

/** The rules on metadata.name (see tenantNameRule): empty when the name is fine. */
export function validateTenantName(name: unknown): FieldError[] {
  const ctx: CelContext = { update: false, errors: [] };
  const rootRulesOnly: SchemaNode = { ...tenantControlPlaneSchema, properties: {} };
  runCelRules(rootRulesOnly, { metadata: { name } }, undefined, '', ctx);
  return ctx.errors.map((e) => ({ ...e, path: e.path || 'metadata.name' }));
}

/** Validation of a create request: the spec, and the name when the caller chooses it. */
export function validateCreate(spec: unknown, options: { name?: string } = {}): ValidationResult<TenantControlPlaneSpec> {
  const checked = validateTenantControlPlaneSpec(spec);
  const nameErrors = options.name === undefined ? [] : validateTenantName(options.name);
  if (nameErrors.length === 0) return checked;
  return { ok: false, errors: [...nameErrors, ...(checked.ok ? [] : checked.errors)] };
}

/**
 * Validation of an update: everything validateCreate checks, plus the transition rules (immutable CIDRs
 * and cluster domain, version never lowered nor raised by more than one minor, etcd storage). As the API
 * server does, values that did not change are not re-validated, so an object stays editable after a rule
 * tightened (e.g. its version left SUPPORTED_VERSIONS).
 */
export function validateUpdate(oldSpec: unknown, newSpec: unknown): ValidationResult<TenantControlPlaneSpec> {
  if (!isPlainObject(newSpec)) return { ok: false, errors: [{ path: SPEC_PATH, message: 'must be of type object' }] };
  const old = isPlainObject(oldSpec) ? withDefaults(oldSpec) : undefined;
  const value = structuredClone(newSpec);
  const schema = schemaErrors(value).filter((e) => !unchangedAt(e.path, value, old));
  return result(value, [...schema, ...celErrors(value, old, true)]);
}

/** Ratcheting for OpenAPI errors: the value at `path` (spec.a.b[0]) is the same in the old spec. */
function unchangedAt(path: string, value: unknown, old: unknown): boolean {
  if (old === undefined) return false;
  const segments = path
    .slice(SPEC_PATH.length)
    .split(/\.|\[|\]/)
    .filter((s) => s !== '');
  let a: unknown = value;
  let b: unknown = old;
  for (const segment of segments) {
    a = Array.isArray(a) ? a[Number(segment)] : isPlainObject(a) ? a[segment] : undefined;
    b = Array.isArray(b) ? b[Number(segment)] : isPlainObject(b) ? b[segment] : undefined;
  }
  return a !== undefined && isDeepStrictEqual(a, b);
}

/** One line for logs and problem+json `detail`: `spec.a: message; spec.b: message`. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}
