// An in-memory stand-in for the Kubernetes API server, for unit tests that must not need a cluster.
// Plain HTTP, JSON only. It follows kube-apiserver v1.36 (k8s.io/apiserver registry/generic store,
// endpoints/handlers, apimachinery labels/fields/strategicpatch) for what the unit tests rely on, and
// refuses what it does not model instead of doing something else:
//
// - routes: discovery (/api/v1, /apis/<group>/<version>), collections and objects of the built-in resources
//   listed in BUILT_IN plus custom resources added with addResource(); an unregistered group/version gets the
//   real plain-text "404 page not found", an unknown resource in a served group a 404 Status.
// - lists: kind <Kind>List, apiVersion and metadata.resourceVersion; items of built-in types carry no
//   apiVersion/kind (custom resources' items do); ordered by namespace/name like etcd keys; label selectors
//   (=, ==, !=, in, notin, exists, !key, gt/lt; comma is AND; a malformed one answers 400); field selectors
//   metadata.name, metadata.namespace and the per-resource fields in BUILT_IN (others answer 400
//   "field label not supported"); limit/continue paging over a consistent snapshot (continue token as
//   the real one, remainingItemCount only without selectors, 410 once the snapshot's history expired).
// - watches: synthetic ADDED events when started without a resourceVersion (or "0"), replay of the history
//   after a given resourceVersion, 410 Expired as an ERROR event once expireHistory() dropped it, selector
//   filtering with the real transitions (an object leaving the selector is a DELETED event). No bookmarks.
// - writes: one resourceVersion counter; uid and creationTimestamp assigned on create, generation for the
//   resources that track it; create of an existing name 409 AlreadyExists; PUT/PATCH with a stale
//   metadata.resourceVersion 409 Conflict (a custom resource PUT without one 422); a write that changes
//   nothing is not stored (no new resourceVersion, no event); status subresource (status-only writes; main
//   writes keep the status); immutable metadata and label/ownerReference validation (422);
//   finalizers: DELETE of an object with finalizers (or with propagationPolicy Foreground/Orphan, which
//   add the garbage collector's finalizer) only sets deletionTimestamp; the write that empties its
//   finalizers deletes it. No controllers run here (no garbage collector, no namespace lifecycle).
// - DELETE: preconditions (uid, resourceVersion) 409 on mismatch; answers the real Status (or the object
//   for custom resources, or while finalizers are pending).
// - PATCH by content type: application/merge-patch+json (RFC 7386), application/strategic-merge-patch+json
//   (the real algorithm, ported; lists whose strategy the fake knows: metadata.ownerReferences merged by
//   uid, metadata.finalizers merged as a set; any other list present on both sides, $setElementOrder and
//   $retainKeys answer 400; custom resources answer 415 like the real server), application/apply-patch+yaml
//   (server-side apply over field ownership per manager with lists as atomic values; conflicts 409 unless
//   force; changing a list another manager owns answers 400, because the real server may merge such a
//   list item by item). application/json-patch+json answers 415 (not modelled).
// - no schema validation, no defaulting, no admission, no managedFields in responses, no graceful
//   deletion of pods, no deletecollection. What needs those is tested against the real test bed.
//
// Test helpers: put() / remove() write the store directly (as another client would, and as TTL expiry or
// the garbage collector would), failNext() injects failures, dropWatches*() and expireHistory() break
// watches the ways a real server does.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { KubeClient } from '../kube/kube-client.ts';

export type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
};

export interface RecordedRequest {
  method: string;
  /** The path as sent (percent-encoded). */
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  /** The parsed JSON (or YAML) body; the raw text when it does not parse. */
  body: unknown;
}

type JsonMap = Record<string, unknown>;
const isMap = (v: unknown): v is JsonMap => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

// ---------------------------------------------------------------------------------------------------------
// Resources

interface Resource {
  /** "v1" or "group/version". */
  apiVersion: string;
  group: string;
  /** "/api/v1" or "/apis/group/version". */
  prefix: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Has a status subresource. */
  status: boolean;
  /** metadata.generation is 1 on create and counts changes outside metadata and status. */
  generation: boolean;
  /** A custom resource: no strategic merge patch, list items keep apiVersion/kind, PUT needs a resourceVersion. */
  custom: boolean;
  /** Field selector labels besides metadata.name and metadata.namespace: label -> path in the object. */
  fields: Record<string, string[]>;
}

// apiVersion, kind, plural, scope (n: namespaced, c: cluster), flags (s: status subresource, g: generation).
const BUILT_IN: Array<[string, string, string, 'n' | 'c', string, Record<string, string[]>?]> = [
  ['v1', 'ConfigMap', 'configmaps', 'n', ''],
  ['v1', 'Secret', 'secrets', 'n', '', { type: ['type'] }],
  ['v1', 'Service', 'services', 'n', 's'],
  ['v1', 'ServiceAccount', 'serviceaccounts', 'n', ''],
  ['v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', 'n', 's'],
  ['v1', 'PersistentVolume', 'persistentvolumes', 'c', 's'],
  ['v1', 'Endpoints', 'endpoints', 'n', ''],
  ['v1', 'Event', 'events', 'n', ''],
  [
    'v1', 'Pod', 'pods', 'n', 's',
    {
      'spec.nodeName': ['spec', 'nodeName'],
      'spec.restartPolicy': ['spec', 'restartPolicy'],
      'spec.schedulerName': ['spec', 'schedulerName'],
      'spec.serviceAccountName': ['spec', 'serviceAccountName'],
      'status.phase': ['status', 'phase'],
      'status.podIP': ['status', 'podIP'],
      'status.nominatedNodeName': ['status', 'nominatedNodeName'],
    },
  ],
  ['v1', 'Node', 'nodes', 'c', 's', { 'spec.unschedulable': ['spec', 'unschedulable'] }],
  ['v1', 'Namespace', 'namespaces', 'c', 's', { 'status.phase': ['status', 'phase'] }],
  ['apps/v1', 'Deployment', 'deployments', 'n', 'sg'],
  ['apps/v1', 'StatefulSet', 'statefulsets', 'n', 'sg'],
  ['apps/v1', 'DaemonSet', 'daemonsets', 'n', 'sg'],
  ['apps/v1', 'ReplicaSet', 'replicasets', 'n', 'sg', { 'status.replicas': ['status', 'replicas'] }],
  ['batch/v1', 'Job', 'jobs', 'n', 'sg', { 'status.successful': ['status', 'succeeded'] }],
  ['batch/v1', 'CronJob', 'cronjobs', 'n', 'sg'],
  ['policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', 'n', 'sg'],
  ['networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', 'n', 'g'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', 'c', ''],
  ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', 'c', ''],
  ['rbac.authorization.k8s.io/v1', 'Role', 'roles', 'n', ''],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings', 'n', ''],
  ['coordination.k8s.io/v1', 'Lease', 'leases', 'n', ''],
  ['events.k8s.io/v1', 'Event', 'events', 'n', ''],
  ['certificates.k8s.io/v1', 'CertificateSigningRequest', 'certificatesigningrequests', 'c', 's', { 'spec.signerName': ['spec', 'signerName'] }],
  ['discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', 'n', ''],
  ['storage.k8s.io/v1', 'StorageClass', 'storageclasses', 'c', ''],
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', 'c', 'sg'],
  ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', 'c', 'g'],
];

function makeResource(apiVersion: string, kind: string, plural: string, namespaced: boolean, status: boolean, generation: boolean, custom: boolean, fields: Record<string, string[]> = {}): Resource {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return { apiVersion, group, prefix, plural, kind, namespaced, status, generation, custom, fields };
}

/** "configmaps" / "deployments.apps": how the real server names a resource in messages. */
const qualifiedResource = (r: Resource) => (r.group ? `${r.plural}.${r.group}` : r.plural);

// ---------------------------------------------------------------------------------------------------------
// Status answers (apimachinery/pkg/api/errors)

class ApiError extends Error {
  readonly code: number;
  readonly body: JsonMap | string;
  constructor(code: number, body: JsonMap | string) {
    super(typeof body === 'string' ? body : String(body['message']));
    this.code = code;
    this.body = body;
  }
}

function statusBody(code: number, reason: string, message: string, details?: JsonMap): JsonMap {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

const resourceDetails = (r: Resource, name?: string): JsonMap => ({ ...(name !== undefined ? { name } : {}), ...(r.group ? { group: r.group } : {}), kind: r.plural });

const errors = {
  notFound: (r: Resource, name: string) => new ApiError(404, statusBody(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, resourceDetails(r, name))),
  alreadyExists: (r: Resource, name: string) => new ApiError(409, statusBody(409, 'AlreadyExists', `${qualifiedResource(r)} "${name}" already exists`, resourceDetails(r, name))),
  /** NewConflict(qualifiedResource, name, err). */
  conflict: (resource: string, group: string, name: string, why: string) =>
    new ApiError(409, statusBody(409, 'Conflict', `Operation cannot be fulfilled on ${group ? `${resource}.${group}` : resource} "${name}": ${why}`, { name, ...(group ? { group } : {}), kind: resource })),
  badRequest: (message: string) => new ApiError(400, statusBody(400, 'BadRequest', message)),
  expired: (message: string, details?: { continue?: string }) => {
    const body = statusBody(410, 'Expired', message);
    if (details?.continue) body['metadata'] = { continue: details.continue };
    return new ApiError(410, body);
  },
  internal: (message: string) => new ApiError(500, statusBody(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] })),
  unsupportedMediaType: (accepted: string[], note = '') =>
    new ApiError(415, statusBody(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}${note}`)),
  methodNotAllowed: (r: Resource, action: string) =>
    new ApiError(405, statusBody(405, 'MethodNotAllowed', `${action} is not supported on resources of kind "${qualifiedResource(r)}"`, { ...(r.group ? { group: r.group } : {}), kind: r.plural })),
  /** A request the real server answers but this fake does not model: 400, so a test notices. */
  notModelled: (what: string) =>
    new ApiError(400, statusBody(400, 'BadRequest', `fake API server: ${what} is not modelled (the real kube-apiserver supports it: test this against the test bed)`)),
  /** Unknown resource in a served group/version (go-restful's 404). */
  noResource: () => new ApiError(404, statusBody(404, 'NotFound', 'the server could not find the requested resource', {})),
  /** Unregistered path: Go's http.NotFound, plain text (kube-apiserver v1.36). */
  noRoute: () => new ApiError(404, '404 page not found\n'),
};

interface FieldError {
  type: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueNotSupported';
  field: string;
  body: string;
}

const fieldError = {
  invalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, body: `Invalid value: ${JSON.stringify(value)}: ${detail}` }),
  required: (field: string, detail: string): FieldError => ({ type: 'FieldValueRequired', field, body: `Required value: ${detail}` }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, body: `Forbidden: ${detail}` }),
  notSupported: (field: string, value: unknown, supported: string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    body: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  }),
};

/** NewInvalid(qualifiedKind, name, errs): 422. */
function invalid(group: string, kind: string, name: string, errs: FieldError[]): ApiError {
  const texts = errs.map((e) => `${e.field}: ${e.body}`);
  const aggregate = texts.length === 1 ? texts[0]! : `[${texts.join(', ')}]`;
  return new ApiError(
    422,
    statusBody(422, 'Invalid', `${group ? `${kind}.${group}` : kind} "${name}" is invalid: ${aggregate}`, {
      name,
      ...(group ? { group } : {}),
      kind,
      causes: errs.map((e) => ({ reason: e.type, message: e.body, field: e.field })),
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Validation helpers (apimachinery/pkg/util/validation)

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** IsQualifiedName: [prefix/]name. */
function qualifiedNameErrors(value: string): string[] {
  const parts = value.split('/');
  let name: string;
  const errs: string[] = [];
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else if (prefix.length > 253) errs.push('prefix part must be no more than 253 bytes');
    else if (!DNS1123_SUBDOMAIN.test(prefix)) {
      errs.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
    }
  } else {
    return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 bytes');
  if (name.length > 0 && !QUALIFIED_NAME.test(name)) {
    errs.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  }
  return errs;
}

function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 bytes');
  if (!LABEL_VALUE.test(value)) {
    errs.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------------------
// Label selectors: a port of apimachinery/pkg/labels/selector.go (lexer, parser, Requirement.Matches).

type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

type Tok = 'ERROR' | 'END' | 'CLOSE' | 'COMMA' | 'NOT' | 'DEQ' | 'EQ' | 'GT' | 'ID' | 'IN' | 'LT' | 'NEQ' | 'NOTIN' | 'OPEN';
const SYMBOL_TOKENS: Record<string, Tok> = { ')': 'CLOSE', ',': 'COMMA', '!': 'NOT', '==': 'DEQ', '=': 'EQ', '>': 'GT', '<': 'LT', '!=': 'NEQ', '(': 'OPEN' };
const isSpecial = (c: string) => '=!(),><'.includes(c);
const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function lexSelector(s: string): Array<{ tok: Tok; lit: string }> {
  const out: Array<{ tok: Tok; lit: string }> = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++;
    if (pos >= s.length) {
      out.push({ tok: 'END', lit: '' });
      return out;
    }
    if (isSpecial(s[pos]!)) {
      let buffer = '';
      let last: { tok: Tok; lit: string } | undefined;
      while (pos < s.length && isSpecial(s[pos]!)) {
        buffer += s[pos];
        pos++;
        const tok = SYMBOL_TOKENS[buffer];
        if (tok !== undefined) {
          last = { tok, lit: buffer };
        } else if (last !== undefined) {
          pos--;
          break;
        }
      }
      out.push(last ?? { tok: 'ERROR', lit: `error expected: keyword found '${buffer}'` });
    } else {
      let buffer = '';
      while (pos < s.length && !isSpecial(s[pos]!) && !isWhitespace(s[pos]!)) buffer += s[pos++];
      out.push({ tok: buffer === 'in' ? 'IN' : buffer === 'notin' ? 'NOTIN' : 'ID', lit: buffer });
    }
  }
}

/** labels.Parse: throws an Error with the real parser's message. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const items = lexSelector(selector);
  let position = 0;
  // In the Values context "in" and "notin" are plain identifiers.
  const asValue = (t: Tok): Tok => (t === 'IN' || t === 'NOTIN' ? 'ID' : t);
  const lookahead = (values: boolean) => {
    const item = items[position]!;
    return { tok: values ? asValue(item.tok) : item.tok, lit: item.lit };
  };
  const consume = (values: boolean) => {
    const item = lookahead(values);
    position++;
    return item;
  };

  const parseValues = (): string[] => {
    let { tok, lit } = consume(true);
    if (tok !== 'OPEN') throw new Error(`found '${lit}' expected: '('`);
    ({ tok, lit } = lookahead(true));
    if (tok === 'ID' || tok === 'COMMA') {
      const set = new Set<string>();
      for (;;) {
        const item = consume(true);
        if (item.tok === 'ID') {
          set.add(item.lit);
          const next = lookahead(true);
          if (next.tok === 'COMMA') continue;
          if (next.tok === 'CLOSE') break;
          throw new Error(`found '${next.lit}', expected: ',' or ')'`);
        } else if (item.tok === 'COMMA') {
          if (set.size === 0) set.add('');
          const next = lookahead(true);
          if (next.tok === 'CLOSE') {
            set.add('');
            break;
          }
          if (next.tok === 'COMMA') set.add('');
        } else {
          throw new Error(`found '${item.lit}', expected: ',', or identifier`);
        }
      }
      if (consume(true).tok !== 'CLOSE') throw new Error(`found '${lit}', expected: ')'`);
      return [...set];
    }
    if (tok === 'CLOSE') {
      consume(true);
      return [''];
    }
    throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
  };

  const parseExactValue = (): string[] => {
    const next = lookahead(true);
    if (next.tok === 'END' || next.tok === 'COMMA') return [''];
    const { tok, lit } = consume(true);
    if (tok === 'ID') return [lit];
    throw new Error(`found '${lit}', expected: identifier`);
  };

  const parseRequirement = (): LabelRequirement => {
    let operator: LabelOperator | undefined;
    let { tok, lit } = consume(true);
    if (tok === 'NOT') {
      operator = '!';
      ({ tok, lit } = consume(true));
    }
    if (tok !== 'ID') throw new Error(`found '${lit}', expected: identifier`);
    const key = lit;
    const keyErrs = qualifiedNameErrors(key);
    if (keyErrs.length > 0) throw new Error(`key: Invalid value: "${key}": ${keyErrs.join('; ')}`);
    const next = lookahead(true).tok;
    if ((next === 'END' || next === 'COMMA') && operator !== '!') operator = 'exists';
    let values: string[] = [];
    if (operator !== 'exists' && operator !== '!') {
      const op = consume(false);
      const operators: Partial<Record<Tok, LabelOperator>> = { IN: 'in', EQ: '=', DEQ: '==', GT: 'gt', LT: 'lt', NOTIN: 'notin', NEQ: '!=' };
      operator = operators[op.tok];
      if (operator === undefined) throw new Error(`found '${op.lit}', expected: in, notin, =, ==, !=, gt, lt`);
      values = operator === 'in' || operator === 'notin' ? parseValues() : parseExactValue();
    }
    // NewRequirement's validation.
    const errs: string[] = [];
    if ((operator === 'gt' || operator === 'lt') && values.some((v) => !/^[+-]?\d+$/.test(v))) {
      errs.push(`values[0]: Invalid value: "${values[0]}": for 'Gt', 'Lt' operators, the value must be an integer`);
    }
    for (const v of values) {
      const valueErrs = labelValueErrors(v);
      if (valueErrs.length > 0) errs.push(`values[0][${key}]: Invalid value: "${v}": ${valueErrs.join('; ')}`);
    }
    if (errs.length > 0) throw new Error(errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`);
    return { key, operator: operator!, values: [...new Set(values)].sort() };
  };

  const requirements: LabelRequirement[] = [];
  for (;;) {
    const { tok, lit } = lookahead(true);
    if (tok === 'ID' || tok === 'NOT') {
      try {
        requirements.push(parseRequirement());
      } catch (err) {
        throw new Error(`unable to parse requirement: ${(err as Error).message}`, { cause: err });
      }
      const after = consume(true);
      if (after.tok === 'END') return requirements;
      if (after.tok === 'COMMA') {
        const next = lookahead(true);
        if (next.tok !== 'ID' && next.tok !== 'NOT') throw new Error(`found '${next.lit}', expected: identifier after ','`);
        continue;
      }
      throw new Error(`found '${after.lit}', expected: ',' or 'end of string'`);
    }
    if (tok === 'END') return requirements;
    throw new Error(`found '${lit}', expected: !, identifier, or 'end of string'`);
  }
}

export function labelsMatch(requirements: readonly LabelRequirement[], labels: Record<string, string>): boolean {
  return requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'in':
      case '=':
      case '==':
        return has && r.values.includes(value!);
      case 'notin':
      case '!=':
        return !has || !r.values.includes(value!);
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'gt':
      case 'lt': {
        if (!has || !/^[+-]?\d+$/.test(value!)) return false;
        const actual = BigInt(value!);
        const wanted = BigInt(r.values[0]!);
        return r.operator === 'gt' ? actual > wanted : actual < wanted;
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Field selectors: a port of apimachinery/pkg/fields/selector.go, plus the per-resource field labels.

interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

function parseFieldSelector(selector: string, resource: Resource): FieldRequirement[] {
  if (selector === '') return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  const out: FieldRequirement[] = [];
  for (const term of terms.sort()) {
    if (term === '') continue;
    let split: { lhs: string; op: string; rhs: string } | undefined;
    for (let i = 0; i < term.length && split === undefined; i++) {
      for (const op of ['!=', '==', '=']) {
        if (term.startsWith(op, i)) {
          split = { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
          break;
        }
      }
    }
    if (split === undefined) throw new Error(`invalid selector: '${selector}'; can't understand '${term}'`);
    let value = '';
    let escaping = false;
    for (const c of split.rhs) {
      if (escaping) {
        if (c !== '\\' && c !== ',' && c !== '=') throw new Error(`invalid field selector: invalid escape sequence: \\${c}`);
        value += c;
        escaping = false;
      } else if (c === '\\') escaping = true;
      else if (c === ',' || c === '=') throw new Error(`invalid field selector: unescaped character in value: ${c}`);
      else value += c;
    }
    if (escaping) throw new Error('invalid field selector: invalid escape sequence: \\');
    const known = split.lhs === 'metadata.name' || split.lhs === 'metadata.namespace' || Object.hasOwn(resource.fields, split.lhs);
    if (!known) throw new Error(`field label not supported: ${split.lhs}`);
    out.push({ field: split.lhs, value, negate: split.op === '!=' });
  }
  return out;
}

function fieldValue(obj: Obj, field: string, resource: Resource): string {
  if (field === 'metadata.name') return obj.metadata.name;
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  const value = getAt(obj, resource.fields[field]!);
  return value === undefined || value === null ? '' : String(value);
}

// ---------------------------------------------------------------------------------------------------------
// Paths in JSON values

function getAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isMap(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

function setAt(target: JsonMap, path: readonly string[], value: unknown): void {
  let current = target;
  for (const key of path.slice(0, -1)) {
    if (!isMap(current[key])) current[key] = {};
    current = current[key] as JsonMap;
  }
  current[path.at(-1)!] = value;
}

/** Deletes the value at `path` and the maps left empty above it (never the root or metadata). */
function deleteAt(target: JsonMap, path: readonly string[]): void {
  const parents: JsonMap[] = [target];
  for (const key of path.slice(0, -1)) {
    const next = parents.at(-1)![key];
    if (!isMap(next)) return;
    parents.push(next);
  }
  delete parents.at(-1)![path.at(-1)!];
  for (let i = path.length - 2; i >= 0; i--) {
    const child = parents[i + 1]!;
    if (Object.keys(child).length > 0 || (i === 0 && path[0] === 'metadata')) break;
    delete parents[i]![path[i]!];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Field ownership (a model of server-side apply's managed fields)
//
// Every leaf of an object (a scalar, a list, or an empty map) is a field; lists are atomic. Each manager
// entry (manager, operation, subresource) owns a set of fields. An update (POST, PUT, merge/strategic
// patch) gives its manager the fields it changed and takes them from everybody else; an apply owns exactly
// the fields of its configuration, removes the fields it applied before and omits now (unless another
// manager owns them too), and conflicts with other owners of a field it sets to a different value.

type Owners = Map<string, Set<string>>;

const SYSTEM_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

/** Leaf fields of an object, keyed by JSON-encoded path. */
function leaves(value: unknown, path: string[] = [], out = new Map<string, unknown>()): Map<string, unknown> {
  if (isMap(value) && (Object.keys(value).length > 0 || path.length === 0 || (path.length === 1 && path[0] === 'metadata'))) {
    for (const [key, child] of Object.entries(value)) {
      if (path.length === 0 && (key === 'apiVersion' || key === 'kind')) continue;
      if (path.length === 1 && path[0] === 'metadata' && SYSTEM_METADATA.has(key)) continue;
      leaves(child, [...path, key], out);
    }
  } else {
    out.set(JSON.stringify(path), value);
  }
  return out;
}

const decodePath = (p: string) => JSON.parse(p) as string[];
const pathString = (p: string) => decodePath(p).map((k) => `.${k}`).join('');
/** Whether fields a and b overlap (one is the other or contains it). */
function overlaps(a: string, b: string): boolean {
  if (a === b) return true;
  const pa = decodePath(a);
  const pb = decodePath(b);
  const n = Math.min(pa.length, pb.length);
  return pa.slice(0, n).every((k, i) => k === pb[i]);
}

function managerKey(manager: string, operation: 'Apply' | 'Update', subresource: string): string {
  return JSON.stringify([manager, operation, subresource]);
}

function describeManager(key: string): string {
  const [manager, operation, subresource] = JSON.parse(key) as [string, string, string];
  return `"${manager}"${subresource ? ` with subresource "${subresource}"` : ''}${operation === 'Update' ? ' using v1' : ''}`;
}

/** An update by `manager`: it owns what it changed; removed fields are nobody's. */
function updateOwners(owners: Owners, before: Obj | undefined, after: Obj, key: string, inScope: (path: string[]) => boolean): Owners {
  const result: Owners = new Map([...owners].map(([k, v]) => [k, new Set(v)]));
  const old = before === undefined ? new Map<string, unknown>() : leaves(before);
  const now = leaves(after);
  const changed = [...now].filter(([p, v]) => inScope(decodePath(p)) && (!old.has(p) || !isDeepStrictEqual(old.get(p), v))).map(([p]) => p);
  for (const set of result.values()) {
    for (const p of [...set]) if (!now.has(p) || changed.includes(p)) set.delete(p);
  }
  const mine = result.get(key) ?? new Set<string>();
  for (const p of changed) mine.add(p);
  result.set(key, mine);
  for (const [k, set] of result) if (set.size === 0) result.delete(k);
  return result;
}

function sameOwners(a: Owners, b: Owners): boolean {
  if (a.size !== b.size) return false;
  for (const [k, set] of a) {
    const other = b.get(k);
    if (other === undefined || other.size !== set.size || [...set].some((p) => !other.has(p))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// JSON merge patch (RFC 7386)

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  const result: JsonMap = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Strategic merge patch: a port of apimachinery/pkg/util/strategicpatch (mergeMap, mergeSlice and the
// element order normalisation) with the patch metadata of the fields the fake knows.

/** patchStrategy / patchMergeKey of the lists the fake knows (ObjectMeta's). */
const SMP_LISTS: Record<string, { strategy: 'merge'; mergeKey?: string }> = {
  [JSON.stringify(['metadata', 'ownerReferences'])]: { strategy: 'merge', mergeKey: 'uid' },
  [JSON.stringify(['metadata', 'finalizers'])]: { strategy: 'merge' },
};

const DIRECTIVE = '$patch';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

function removeDirectives(value: unknown): { value: unknown; keep: boolean } {
  if (isMap(value)) {
    if (Object.hasOwn(value, DIRECTIVE)) return { value: undefined, keep: false };
    const out: JsonMap = {};
    for (const [k, v] of Object.entries(value)) {
      const r = removeDirectives(v);
      if (r.keep) out[k] = r.value;
    }
    return { value: out, keep: true };
  }
  if (Array.isArray(value)) {
    return { value: value.map(removeDirectives).filter((r) => r.keep).map((r) => r.value), keep: true };
  }
  return { value, keep: true };
}

function discardNulls(value: unknown): unknown {
  if (isMap(value)) return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, discardNulls(v)]));
  if (Array.isArray(value)) return value.map(discardNulls);
  return value;
}

const kindOfValue = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);

function smpMergeMap(original: JsonMap, patch: JsonMap, path: string[]): JsonMap {
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    if (directive === 'replace') {
      const { [DIRECTIVE]: _, ...rest } = patch;
      return rest;
    }
    if (directive === 'delete') return {};
    throw errors.badRequest(`Unknown patch type: ${String(directive)} in map: ${JSON.stringify(patch)}`);
  }
  for (const key of Object.keys(patch)) {
    if (key.startsWith('$') && !key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) throw errors.notModelled(`the strategic merge patch directive ${key}`);
  }
  const result: JsonMap = { ...original };
  for (const [rawKey, patchValue] of Object.entries(patch)) {
    let key = rawKey;
    const isDeleteList = rawKey.startsWith(DELETE_FROM_PRIMITIVE_LIST);
    if (isDeleteList) key = rawKey.slice(DELETE_FROM_PRIMITIVE_LIST.length);
    if (patchValue === null) {
      delete result[key];
      continue;
    }
    if (!Object.hasOwn(result, key)) {
      if (!isDeleteList) {
        const r = removeDirectives(discardNulls(patchValue));
        if (r.keep) result[key] = r.value;
      }
      continue;
    }
    const originalValue = result[key];
    if (kindOfValue(originalValue) !== kindOfValue(patchValue)) {
      if (!isDeleteList) {
        const r = removeDirectives(discardNulls(patchValue));
        if (r.keep) result[key] = r.value;
        else delete result[key];
      }
      continue;
    }
    const childPath = [...path, key];
    if (isMap(originalValue) && isMap(patchValue)) {
      result[key] = smpMergeMap(originalValue, patchValue, childPath);
    } else if (Array.isArray(originalValue) && Array.isArray(patchValue)) {
      result[key] = smpMergeList(originalValue, patchValue, childPath, isDeleteList);
    } else {
      const r = removeDirectives(patchValue);
      if (r.keep) result[key] = r.value;
      else delete result[key];
    }
  }
  return result;
}

function smpMergeList(original: unknown[], patch: unknown[], path: string[], isDeleteList: boolean): unknown[] {
  const meta = SMP_LISTS[JSON.stringify(path)];
  if (!isDeleteList && meta === undefined) {
    throw errors.notModelled(`the strategic merge patch strategy of the list .${path.filter((k) => k !== '*').join('.')}`);
  }
  if (original.length === 0 && patch.length === 0) return original;
  const kinds = new Set([...original, ...patch].map(kindOfValue));
  if (kinds.has('list')) throw new ApiError(422, statusBody(422, 'Invalid', 'lists of lists are not supported'));
  if (kinds.size > 1) throw errors.badRequest(`list element types are not identical: ${JSON.stringify([original, patch])}`);
  const mergeKey = meta?.mergeKey;
  // merged: the result before ordering; patchItems: the patch without directives; serverOrder: the live
  // list (after $patch: delete) whose order server-only items keep.
  let merged: unknown[];
  let patchItems: unknown[];
  let serverOrder: unknown[];
  if (!kinds.has('object')) {
    if (isDeleteList) {
      const remove = new Set(patch);
      return original.filter((v) => !remove.has(v));
    }
    merged = deduplicateScalars([...original, ...patch]);
    patchItems = patch;
    serverOrder = original;
  } else {
    if (mergeKey === undefined) throw errors.notModelled(`merging the list .${path.join('.')} without a merge key`);
    let base = original.map((v) => clone(v)) as JsonMap[];
    const plain: JsonMap[] = [];
    let replace = false;
    for (const item of patch as JsonMap[]) {
      if (!Object.hasOwn(item, DIRECTIVE)) {
        plain.push(item);
        continue;
      }
      const directive = item[DIRECTIVE];
      if (directive === 'delete') {
        if (!Object.hasOwn(item, mergeKey)) throw errors.badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
        base = base.filter((b) => !isDeepStrictEqual(b[mergeKey], item[mergeKey]));
      } else if (directive === 'replace') {
        replace = true;
      } else if (directive === 'merge') {
        throw errors.badRequest('merging lists cannot yet be specified in the patch');
      } else {
        throw errors.badRequest(`Unknown patch type: ${String(directive)} in map: ${JSON.stringify(item)}`);
      }
    }
    if (replace) return plain.map((v) => removeDirectives(discardNulls(v)).value);
    serverOrder = [...base];
    for (const item of plain) {
      if (!Object.hasOwn(item, mergeKey)) throw errors.badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
      const at = base.findIndex((b) => isDeepStrictEqual(b[mergeKey], item[mergeKey]));
      if (at >= 0) base[at] = smpMergeMap(base[at]!, item, [...path, '*']);
      else base.push(removeDirectives(discardNulls(item)).value as JsonMap);
    }
    merged = base;
    patchItems = plain;
  }
  // normalizeElementOrder: the patch's items in patch order, the server-only items in live order, merged
  // by mergeSortedSlice (a server-only item goes first only when both are in the live list and it was
  // before; so items new to the list come before the server-only items that follow them).
  const identity = (v: unknown) => (mergeKey !== undefined && isMap(v) ? v[mergeKey] : v);
  const indexIn = (list: unknown[], v: unknown) => list.findIndex((x) => isDeepStrictEqual(identity(x), identity(v)));
  const byOrder = (items: unknown[], order: unknown[]) =>
    items
      .map((v, i) => ({ v, i, at: indexIn(order, v) }))
      .sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : 0) || a.i - b.i)
      .map((x) => x.v);
  const right = byOrder(merged.filter((v) => indexIn(patchItems, v) >= 0), patchItems);
  const left = byOrder(merged.filter((v) => indexIn(patchItems, v) < 0), serverOrder);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i]);
      const ri = indexIn(serverOrder, right[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** strategicpatch.deduplicateScalars, order quirks included. */
function deduplicateScalars(s: unknown[]): unknown[] {
  const out = [...s];
  let length = out.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (out[i] === out[j]) {
        out[j] = out[length];
        out.length = length;
        length--;
        j--;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The server

interface Entry {
  resource: Resource;
  obj: Obj;
  owners: Owners;
}

interface Change {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  storeKey: string;
  collection: string;
  /** The new state (for DELETED: the last state, with the deletion's resourceVersion). */
  object: Obj;
  /** The state before (undefined for ADDED). */
  prev?: Obj;
}

interface Watcher {
  path: string;
  collection: string;
  resource: Resource;
  namespace?: string;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  res: ServerResponse;
}

interface Route {
  resource: Resource;
  collection: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const nowTimestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export class FakeApiServer {
  readonly server: Server;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted so far (to check connection reuse). */
  connections = 0;
  #rv = 100;
  /** Oldest resourceVersion a watch or a continued list may start from; older ones get 410. */
  #oldestRv = 0;
  readonly #objects = new Map<string, Entry>(); // key: collection|namespace|name
  readonly #history: Change[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  readonly #resources: Resource[] = BUILT_IN.map(([apiVersion, kind, plural, scope, flags, fields]) =>
    makeResource(apiVersion, kind, plural, scope === 'n', flags.includes('s'), flags.includes('g'), false, fields),
  );
  #failures: Array<{ status: number; match?: (r: RecordedRequest) => boolean }> = [];

  private constructor() {
    this.server = createServer((req, res) => this.#handle(req, res));
    this.server.on('connection', (socket) => {
      this.connections += 1;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<FakeApiServer> {
    const fake = new FakeApiServer();
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A KubeConfig for this server (plain HTTP needs skipTLSVerify in client-node). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /**
   * Serves a custom resource (as an installed CRD does): discovery, collection and objects. Built-in
   * resources are served already; adding one of them again is a no-op. `status` declares the status
   * subresource (a CRD's `subresources.status`).
   */
  addResource(apiVersion: string, kind: string, plural: string, namespaced = true, options: { status?: boolean } = {}): void {
    const existing = this.#resources.find((r) => r.apiVersion === apiVersion && r.plural === plural);
    if (existing !== undefined) {
      if (existing.kind !== kind || existing.namespaced !== namespaced) throw new Error(`${plural} in ${apiVersion} is served already as ${existing.kind}`);
      return;
    }
    this.#resources.push(makeResource(apiVersion, kind, plural, namespaced, options.status ?? false, true, true));
  }

  /** The next matching requests (default: any) are answered with `status` instead of being served. */
  failNext(count: number, status: number, match?: (r: RecordedRequest) => boolean): void {
    for (let i = 0; i < count; i++) this.#failures.push({ status, match });
  }

  /** Destroys every open watch connection mid-stream (the client sees a network error). */
  dropWatches(): void {
    for (const w of this.#watchers) w.res.socket?.destroy();
    this.#watchers.clear();
  }

  /** Ends every open watch response normally (as the server does when a watch times out). */
  dropWatchesCleanly(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  /** Compacts the history: every resourceVersion up to now becomes too old to watch or continue a list from (410). */
  expireHistory(): void {
    this.#oldestRv = this.#rv + 1;
    this.#history.length = 0;
  }

  /** Open watches whose request path starts with `pathPrefix` (default: all). */
  openWatches(pathPrefix = '/'): number {
    return [...this.#watchers].filter((w) => w.path.startsWith(pathPrefix)).length;
  }

  /**
   * Writes an object straight into the store, as some other client's write would (field manager
   * "fake-put", no validation, no preconditions): uid, creationTimestamp and generation are kept from
   * `obj` or from the stored object, or assigned. Watchers see it like any write. An object with a
   * deletionTimestamp must carry finalizers (the real server never stores one without).
   */
  put(collection: string, obj: Obj): Obj {
    const resource = this.#resourceOfCollection(collection);
    const namespace = obj.metadata.namespace;
    if (resource.namespaced !== (namespace !== undefined)) throw new Error(`put ${collection}: ${resource.kind} is ${resource.namespaced ? 'namespaced' : 'cluster-scoped'}`);
    if (obj.metadata['deletionTimestamp'] && !(obj.metadata['finalizers'] as unknown[] | undefined)?.length) {
      throw new Error(`put ${collection} ${obj.metadata.name}: an object with a deletionTimestamp and no finalizers does not exist on a real server (DELETE it instead)`);
    }
    const key = this.#key(collection, namespace, obj.metadata.name);
    const entry = this.#objects.get(key);
    const stored = clone(obj);
    stored.apiVersion = resource.apiVersion;
    stored.kind = resource.kind;
    const meta = stored.metadata;
    meta['uid'] ??= entry?.obj.metadata['uid'] ?? randomUUID();
    meta['creationTimestamp'] ??= entry?.obj.metadata['creationTimestamp'] ?? nowTimestamp();
    if (resource.generation) meta['generation'] ??= entry?.obj.metadata['generation'] ?? 1;
    delete meta['managedFields'];
    const owners = updateOwners(entry?.owners ?? new Map(), entry?.obj, stored, managerKey('fake-put', 'Update', ''), () => true);
    return clone(this.#commit(resource, key, entry, stored, owners) ?? stored);
  }

  /** Removes an object from the store at once (as TTL expiry or the garbage collector would): no finalizers, no preconditions. */
  remove(collection: string, namespace: string | undefined, name: string): void {
    const resource = this.#resourceOfCollection(collection);
    const key = this.#key(collection, namespace, name);
    const entry = this.#objects.get(key);
    if (entry !== undefined) this.#commit(resource, key, entry, undefined);
  }

  /** The stored object (a copy), or undefined. */
  get(collection: string, namespace: string | undefined, name: string): Obj | undefined {
    const entry = this.#objects.get(this.#key(collection, namespace, name));
    return entry === undefined ? undefined : clone(entry.obj);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------------------------------------
  // Store

  #key(collection: string, namespace: string | undefined, name: string): string {
    return `${collection}|${namespace ?? ''}|${name}`;
  }

  #resourceOfCollection(collection: string): Resource {
    const found = this.#resources.find((r) => `${r.prefix}/${r.plural}` === collection);
    if (found === undefined) throw new Error(`the fake API server serves no collection ${collection} (addResource() for custom resources)`);
    return found;
  }

  /**
   * Stores `next` (or deletes when undefined): a new resourceVersion, a history entry, watch events.
   * A write that changes neither the object nor its field ownership is not stored; the stored object is returned.
   */
  #commit(resource: Resource, key: string, entry: Entry | undefined, next: Obj | undefined, owners?: Owners): Obj | undefined {
    const collection = `${resource.prefix}/${resource.plural}`;
    if (next === undefined) {
      if (entry === undefined) return undefined;
      this.#objects.delete(key);
      this.#rv += 1;
      const last = clone(entry.obj);
      last.metadata.resourceVersion = String(this.#rv);
      this.#record({ rv: this.#rv, type: 'DELETED', storeKey: key, collection, object: last, prev: entry.obj });
      return last;
    }
    const newOwners = owners ?? entry?.owners ?? new Map();
    if (entry !== undefined) {
      const candidate = { ...next, metadata: { ...next.metadata, resourceVersion: entry.obj.metadata.resourceVersion } };
      if (isDeepStrictEqual(candidate, entry.obj) && sameOwners(newOwners, entry.owners)) return entry.obj;
    }
    this.#rv += 1;
    const stored = clone(next);
    stored.metadata.resourceVersion = String(this.#rv);
    this.#objects.set(key, { resource, obj: stored, owners: newOwners });
    this.#record({ rv: this.#rv, type: entry === undefined ? 'ADDED' : 'MODIFIED', storeKey: key, collection, object: stored, ...(entry ? { prev: entry.obj } : {}) });
    return stored;
  }

  #record(change: Change): void {
    this.#history.push(change);
    for (const w of this.#watchers) this.#deliver(w, change);
  }

  #matches(w: { resource: Resource; namespace?: string; labels: LabelRequirement[]; fields: FieldRequirement[] }, obj: Obj): boolean {
    if (w.namespace !== undefined && obj.metadata.namespace !== w.namespace) return false;
    if (!labelsMatch(w.labels, (obj.metadata['labels'] as Record<string, string> | undefined) ?? {})) return false;
    return w.fields.every((f) => (fieldValue(obj, f.field, w.resource) === f.value) !== f.negate);
  }

  /** The cacher's transitions: entering the selector is ADDED, leaving it DELETED (the old state, the new resourceVersion). */
  #deliver(w: Watcher, change: Change): void {
    if (change.collection !== w.collection) return;
    const now = change.type !== 'DELETED' && this.#matches(w, change.object);
    const before = change.prev !== undefined && this.#matches(w, change.prev);
    let event: { type: string; object: Obj } | undefined;
    if (now && !before) event = { type: 'ADDED', object: change.object };
    else if (now && before) event = { type: 'MODIFIED', object: change.object };
    else if (!now && before) {
      const gone = clone(change.prev!);
      gone.metadata.resourceVersion = String(change.rv);
      event = { type: 'DELETED', object: gone };
    }
    if (event !== undefined) w.res.write(`${JSON.stringify(event)}\n`);
  }

  /** The objects of a collection as they were at resourceVersion `rv` (which must not be older than the history). */
  #stateAt(collection: string, rv: number): Map<string, Obj> {
    const state = new Map<string, Obj>();
    for (const [key, entry] of this.#objects) if (key.startsWith(`${collection}|`)) state.set(key, entry.obj);
    for (let i = this.#history.length - 1; i >= 0 && this.#history[i]!.rv > rv; i--) {
      const change = this.#history[i]!;
      if (change.collection !== collection) continue;
      if (change.prev === undefined) state.delete(change.storeKey);
      else state.set(change.storeKey, change.prev);
    }
    return state;
  }

  // -------------------------------------------------------------------------------------------------------
  // HTTP

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'];
      const record: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        contentType,
        body: parseBody(text, contentType),
      };
      this.requests.push(record);
      const failure = this.#failures.findIndex((f) => f.match === undefined || f.match(record));
      if (failure >= 0) {
        const { status } = this.#failures.splice(failure, 1)[0]!;
        return this.#send(res, status, statusBody(status, REASONS[status] ?? 'Unknown', 'injected failure'));
      }
      try {
        this.#serve(record, text, req, res);
      } catch (err) {
        // A bug in the fake shows as a 500 naming it, not as a hung request.
        const error = err instanceof ApiError ? err : errors.internal(`fake API server bug: ${(err as Error).stack ?? String(err)}`);
        if (res.headersSent) res.end();
        else this.#send(res, error.code, error.body);
      }
    });
  }

  #send(res: ServerResponse, code: number, body: unknown): void {
    if (typeof body === 'string') {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
      return;
    }
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #route(path: string): Route | 'discovery' {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(\/.*)?$/.exec(path);
    if (m === null) throw errors.noRoute();
    const apiVersion = m[1] ?? m[2]!;
    const resources = this.#resources.filter((r) => r.apiVersion === apiVersion);
    if (resources.length === 0) throw errors.noRoute();
    if (m[3] === undefined || m[3] === '/') return 'discovery';
    let segments: string[];
    try {
      segments = m[3].slice(1).split('/').map(decodeURIComponent);
    } catch {
      throw errors.badRequest(`malformed path ${path}`);
    }
    if (segments.some((s) => s === '')) throw errors.noResource();
    let namespace: string | undefined;
    if (segments[0] === 'namespaces' && segments.length >= 3 && !(segments.length === 3 && (segments[2] === 'status' || segments[2] === 'finalize'))) {
      namespace = segments[1];
      segments = segments.slice(2);
    }
    const [plural, name, subresource, ...rest] = segments;
    const resource = resources.find((r) => r.plural === plural);
    if (resource === undefined || rest.length > 0) throw errors.noResource();
    if (namespace !== undefined && !resource.namespaced) throw errors.noResource();
    if (namespace === undefined && resource.namespaced && name !== undefined) throw errors.noResource();
    const approval = resource.kind === 'CertificateSigningRequest' && subresource === 'approval';
    if (subresource !== undefined && !(subresource === 'status' && resource.status) && !approval) throw errors.noResource();
    return { resource, collection: `${resource.prefix}/${resource.plural}`, namespace, name, subresource };
  }

  #serve(r: RecordedRequest, text: string, req: IncomingMessage, res: ServerResponse): void {
    const route = this.#route(r.path);
    if (route === 'discovery') {
      if (r.method !== 'GET') throw errors.noRoute();
      const groupVersion = r.path.startsWith('/api/') ? 'v1' : r.path.slice('/apis/'.length).replace(/\/$/, '');
      const resources = this.#resources
        .filter((x) => x.apiVersion === groupVersion)
        .flatMap((x) => [
          { name: x.plural, singularName: x.kind.toLowerCase(), namespaced: x.namespaced, kind: x.kind, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] },
          ...(x.status ? [{ name: `${x.plural}/status`, singularName: '', namespaced: x.namespaced, kind: x.kind, verbs: ['get', 'patch', 'update'] }] : []),
        ]);
      return this.#send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources });
    }
    const { resource, namespace, name } = route;
    const dryRun = r.query.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) throw invalid('meta.k8s.io', 'CreateOptions', '', [fieldError.notSupported('dryRun', dryRun, ['All'])]);
    const manager = r.query.get('fieldManager') ?? (req.headers['user-agent'] ?? 'unknown').split('/')[0]!;

    if (name === undefined) {
      if (r.method === 'GET' && ['true', '1', 'True', 'TRUE', 't', 'T'].includes(r.query.get('watch') ?? '')) return this.#watch(r, res, route);
      if (r.method === 'GET') return this.#send(res, 200, this.#list(r, route));
      if (r.method === 'POST') {
        if (resource.namespaced && namespace === undefined) throw errors.methodNotAllowed(resource, 'create');
        const created = this.#create(route, bodyObject(text), manager, dryRun.length > 0);
        return this.#send(res, 201, created);
      }
      if (r.method === 'DELETE') throw errors.notModelled('deletecollection');
      throw errors.methodNotAllowed(resource, r.method.toLowerCase());
    }

    const key = this.#key(route.collection, namespace, name);
    const entry = this.#objects.get(key);
    // certificatesigningrequests/approval: only GET and PUT are modelled (what approvers use).
    if (route.subresource === 'approval' && r.method !== 'GET' && r.method !== 'PUT') throw errors.notModelled(`${r.method} on the approval subresource`);
    switch (r.method) {
      case 'GET':
        if (r.query.get('watch') !== null) throw errors.notModelled('watching a single object by its path');
        if (entry === undefined) throw errors.notFound(resource, name);
        return this.#send(res, 200, entry.obj);
      case 'PUT': {
        if (entry === undefined) throw errors.notFound(resource, name);
        const body = bodyObject(text);
        checkTypeMeta(body, resource);
        const updated = this.#update(route, entry, body as Obj, { manager, operation: 'Update', dryRun: dryRun.length > 0, put: true });
        return this.#send(res, 200, updated);
      }
      case 'PATCH':
        return this.#patch(r, text, route, entry, manager, dryRun.length > 0, res);
      case 'DELETE':
        return this.#delete(r, text, route, entry, dryRun.length > 0, res);
      default:
        throw errors.methodNotAllowed(resource, r.method.toLowerCase());
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Reads

  #selectors(r: RecordedRequest, resource: Resource): { labels: LabelRequirement[]; fields: FieldRequirement[] } {
    try {
      return { labels: parseLabelSelector(r.query.get('labelSelector') ?? ''), fields: parseFieldSelector(r.query.get('fieldSelector') ?? '', resource) };
    } catch (err) {
      throw errors.badRequest((err as Error).message);
    }
  }

  #list(r: RecordedRequest, route: Route): JsonMap {
    const { resource, namespace, collection } = route;
    const { labels, fields } = this.#selectors(r, resource);
    const limitParam = r.query.get('limit');
    const limit = limitParam === null || limitParam === '' ? 0 : Number(limitParam);
    if (!Number.isInteger(limit)) throw errors.badRequest(`limit: invalid value ${limitParam}`);
    const continueParam = r.query.get('continue') ?? '';
    const rvParam = r.query.get('resourceVersion') ?? '';
    const rvMatch = r.query.get('resourceVersionMatch') ?? '';

    let snapshot = this.#rv;
    let startAfter: string | undefined;
    if (continueParam !== '') {
      if (rvParam !== '' && rvParam !== '0') {
        throw invalid('meta.k8s.io', 'ListOptions', '', [fieldError.forbidden('resourceVersion', 'specifying resource version is not allowed when using continue')]);
      }
      let token: { v?: unknown; rv?: unknown; start?: unknown };
      try {
        token = JSON.parse(Buffer.from(continueParam, 'base64url').toString('utf8')) as typeof token;
      } catch (err) {
        throw errors.badRequest(`continue key is not valid: ${(err as Error).message}`);
      }
      if (token.v !== 'meta.k8s.io/v1' || typeof token.rv !== 'number' || token.rv === 0 || typeof token.start !== 'string' || token.start === '') {
        throw errors.badRequest('continue key is not valid');
      }
      if (token.rv !== -1) {
        if (token.rv < this.#oldestRv) {
          throw errors.expired(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
            { continue: continueToken(-1, token.start) },
          );
        }
        snapshot = token.rv;
      }
      startAfter = token.start;
    } else if (rvMatch === 'Exact') {
      const wanted = Number(rvParam);
      if (!Number.isInteger(wanted) || wanted <= 0) throw errors.badRequest(`invalid resourceVersion ${rvParam} for resourceVersionMatch=Exact`);
      if (wanted < this.#oldestRv) throw errors.expired('The resourceVersion for the provided list is too old.');
      if (wanted > this.#rv) throw errors.notModelled('a list at a future resourceVersion');
      snapshot = wanted;
    } else if (rvMatch !== '' && rvMatch !== 'NotOlderThan') {
      throw errors.notModelled(`resourceVersionMatch=${rvMatch}`);
    }

    const scopeKey = (o: Obj) => (namespace !== undefined || !resource.namespaced ? o.metadata.name : `${o.metadata.namespace}/${o.metadata.name}`);
    const all = [...this.#stateAt(collection, snapshot).values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .map((o) => ({ o, key: scopeKey(o) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .filter((x) => startAfter === undefined || x.key >= startAfter);
    const items: Obj[] = [];
    let lastKey = '';
    let limitReached = false;
    for (const { o, key } of all) {
      if (limit > 0 && items.length >= limit) {
        limitReached = true;
        break;
      }
      lastKey = key;
      if (this.#matches({ resource, labels, fields }, o)) items.push(o);
    }
    const metadata: JsonMap = { resourceVersion: String(snapshot) };
    if (limitReached) {
      metadata['continue'] = continueToken(snapshot, `${lastKey}\u0000`);
      if (labels.length === 0 && fields.length === 0) metadata['remainingItemCount'] = all.length - limit;
    }
    return {
      kind: `${resource.kind}List`,
      apiVersion: resource.apiVersion,
      metadata,
      // Items of a typed (built-in) list carry no apiVersion/kind; a custom resource list is unstructured and keeps them.
      items: items.map((o) => {
        if (resource.custom) return o;
        const { apiVersion: _a, kind: _k, ...rest } = o;
        return rest;
      }),
    };
  }

  #watch(r: RecordedRequest, res: ServerResponse, route: Route): void {
    const { resource, namespace, collection } = route;
    const { labels, fields } = this.#selectors(r, resource);
    if (r.query.has('sendInitialEvents')) throw errors.notModelled('sendInitialEvents (watch list)');
    const rvParam = r.query.get('resourceVersion') ?? '';
    const from = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    if (from !== undefined && !Number.isInteger(from)) throw errors.badRequest(`invalid resource version: ${rvParam}`);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (from !== undefined && from < this.#oldestRv) {
      const expired = statusBody(410, 'Expired', `too old resource version: ${from} (${this.#oldestRv - 1})`);
      res.end(`${JSON.stringify({ type: 'ERROR', object: expired })}\n`);
      return;
    }
    const watcher: Watcher = { path: r.path, collection, resource, namespace, labels, fields, res };
    if (from === undefined) {
      // Get State and Start at Most Recent: synthetic ADDED events for what exists.
      const current = [...this.#stateAt(collection, this.#rv).values()].sort((a, b) => {
        const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
        const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      });
      for (const o of current) if (this.#matches(watcher, o)) res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    } else {
      for (const change of this.#history) if (change.rv > from) this.#deliver(watcher, change);
    }
    this.#watchers.add(watcher);
    res.on('close', () => this.#watchers.delete(watcher));
    res.flushHeaders();
  }

  // -------------------------------------------------------------------------------------------------------
  // Writes

  /** POST, and the create half of apply. `owners` is given by apply (its own field set). */
  #create(route: Route, body: JsonMap, manager: string, dryRun: boolean, owners?: Owners): Obj {
    const { resource, namespace } = route;
    checkTypeMeta(body, resource);
    if (!isMap(body['metadata'])) body['metadata'] = {};
    const meta = body['metadata'] as JsonMap;
    if (owners === undefined && meta['resourceVersion'] !== undefined && meta['resourceVersion'] !== '') {
      throw errors.internal('resourceVersion should not be set on objects to be created');
    }
    delete meta['resourceVersion'];
    if (typeof meta['name'] !== 'string' || meta['name'] === '') {
      if (typeof meta['generateName'] === 'string' && meta['generateName'] !== '') {
        let suffix = '';
        for (let i = 0; i < 5; i++) suffix += GENERATE_NAME_ALPHABET[Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length)];
        meta['name'] = `${meta['generateName']}${suffix}`;
      } else {
        throw invalid(resource.group, resource.kind, '', [fieldError.required('metadata.name', 'name or generateName is required')]);
      }
    }
    const name = meta['name'] as string;
    ensureNamespace(meta, resource.namespaced ? namespace : undefined);
    const key = this.#key(route.collection, meta['namespace'] as string | undefined, name);
    if (this.#objects.has(key)) throw errors.alreadyExists(resource, name);
    const obj = { ...body, apiVersion: resource.apiVersion, kind: resource.kind } as Obj;
    // WipeObjectMetaSystemFields + FillObjectMetaSystemFields, then the strategy's PrepareForCreate.
    for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'managedFields']) delete obj.metadata[field];
    obj.metadata['uid'] = randomUUID();
    obj.metadata['creationTimestamp'] = nowTimestamp();
    if (resource.generation) obj.metadata['generation'] = 1;
    if (resource.status) delete obj['status'];
    const errs = validateMetadata(obj, undefined);
    if (errs.length > 0) throw invalid(resource.group, resource.kind, name, errs);
    const finalOwners = owners ?? updateOwners(new Map(), undefined, obj, managerKey(manager, 'Update', ''), () => true);
    if (dryRun) return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.#rv) } };
    return clone(this.#commit(resource, key, undefined, obj, finalOwners)!);
  }

  /**
   * PUT, and the update half of every patch: `candidate` is the whole new object as the client wants it.
   * Runs the registry's update: resourceVersion precondition, status strategy, system metadata, validation,
   * generation, delete-when-finalized, field ownership, no-op detection.
   */
  #update(
    route: Route,
    entry: Entry,
    candidate: Obj,
    options: { manager: string; operation: 'Apply' | 'Update'; dryRun: boolean; put?: boolean; owners?: Owners },
  ): Obj {
    const { resource, subresource } = route;
    const current = entry.obj;
    const name = current.metadata.name;
    if (!isMap(candidate.metadata)) throw errors.badRequest('the object has no metadata');
    checkName(candidate as unknown as JsonMap, name, route.namespace);
    const rv = candidate.metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      if (resource.custom) throw invalid(resource.group, resource.plural, name, [fieldError.invalid('metadata.resourceVersion', 0, 'must be specified for an update')]);
    } else if (rv !== current.metadata.resourceVersion) {
      throw errors.conflict(resource.plural, resource.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }

    let next: Obj;
    if (subresource === 'approval') {
      // The approval strategy: only status.conditions (Approved, Denied) come from the request; the spec and
      // an issued certificate stay as stored.
      next = clone(current);
      const conditions = isMap(candidate['status']) ? candidate['status']['conditions'] : undefined;
      next['status'] = { ...(isMap(current['status']) ? clone(current['status']) : {}), ...(conditions === undefined ? {} : { conditions: clone(conditions) }) };
    } else if (subresource === 'status') {
      // Status strategy: only the status of the request counts.
      next = clone(current);
      if (Object.hasOwn(candidate, 'status')) next['status'] = clone(candidate['status']);
      else delete next['status'];
    } else {
      next = clone(candidate);
      ensureNamespace(next.metadata, route.namespace);
      if (resource.status) {
        if (Object.hasOwn(current, 'status')) next['status'] = clone(current['status']);
        else delete next['status'];
      }
    }
    next.apiVersion = resource.apiVersion;
    next.kind = resource.kind;
    const meta = next.metadata;
    delete meta['managedFields'];
    // rest.BeforeUpdate.
    if (current.metadata['generation'] !== undefined) meta['generation'] = current.metadata['generation'];
    else delete meta['generation'];
    if (meta['uid'] === undefined || meta['uid'] === '') meta['uid'] = current.metadata['uid'];
    if (current.metadata['creationTimestamp'] !== undefined) meta['creationTimestamp'] = current.metadata['creationTimestamp'];
    if (current.metadata['deletionTimestamp'] !== undefined) meta['deletionTimestamp'] = current.metadata['deletionTimestamp'];
    if (current.metadata['deletionGracePeriodSeconds'] !== undefined && meta['deletionGracePeriodSeconds'] === undefined) {
      meta['deletionGracePeriodSeconds'] = current.metadata['deletionGracePeriodSeconds'];
    }
    meta.resourceVersion = current.metadata.resourceVersion;
    const errs = validateMetadata(next, current);
    if (errs.length > 0) throw invalid(resource.group, resource.kind, name, errs);
    if (resource.generation && !isDeepStrictEqual(withoutMetaAndStatus(next), withoutMetaAndStatus(current))) {
      meta['generation'] = Number(current.metadata['generation'] ?? 0) + 1;
    }

    const inScope = (path: string[]) => (subresource === 'status' ? path[0] === 'status' : !(resource.status && path[0] === 'status'));
    const owners = options.owners ?? updateOwners(entry.owners, current, next, managerKey(options.manager, options.operation, subresource ?? ''), inScope);
    if (options.dryRun) return next;
    // ShouldDeleteDuringUpdate: the last finalizer of an object being deleted is gone.
    const finalizers = (meta['finalizers'] as unknown[] | undefined) ?? [];
    const grace = current.metadata['deletionGracePeriodSeconds'];
    if (finalizers.length === 0 && current.metadata['deletionTimestamp'] !== undefined && (grace === undefined || grace === 0)) {
      this.#commit(resource, this.#key(route.collection, current.metadata.namespace, name), entry, undefined);
      return next;
    }
    return clone(this.#commit(resource, this.#key(route.collection, current.metadata.namespace, name), entry, next, owners)!);
  }

  #patch(r: RecordedRequest, text: string, route: Route, entry: Entry | undefined, manager: string, dryRun: boolean, res: ServerResponse): void {
    const { resource, name } = route;
    const contentType = (r.contentType ?? '').split(';')[0]!.trim();
    const accepted = resource.custom
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.apply];
    if (!accepted.includes(contentType as (typeof accepted)[number])) throw errors.unsupportedMediaType(accepted);
    if (contentType === PATCH_TYPES.json) throw errors.unsupportedMediaType(accepted.filter((t) => t !== PATCH_TYPES.json), ' (fake API server: JSON patch is not modelled)');
    const force = r.query.get('force');
    if (contentType === PATCH_TYPES.apply) {
      if (!r.query.get('fieldManager')) throw invalid('meta.k8s.io', 'PatchOptions', '', [fieldError.required('fieldManager', 'is required for apply patch')]);
    } else if (force !== null) {
      throw invalid('meta.k8s.io', 'PatchOptions', '', [fieldError.forbidden('force', 'may not be specified for non-apply patch')]);
    }

    let patch: unknown;
    try {
      patch = contentType === PATCH_TYPES.apply ? parseYaml(text) : JSON.parse(text);
    } catch (err) {
      throw errors.badRequest(`error decoding patch: ${(err as Error).message}`);
    }
    if (!isMap(patch)) throw errors.badRequest(contentType === PATCH_TYPES.merge ? 'Invalid JSON Patch' : 'error decoding patch: expected an object');

    if (contentType === PATCH_TYPES.apply) {
      return this.#apply(route, entry, patch, manager, force === 'true', dryRun, res);
    }
    if (entry === undefined) throw errors.notFound(resource, name!);
    const base = clone(entry.obj) as JsonMap;
    const candidate = contentType === PATCH_TYPES.merge ? mergePatch(base, patch) : smpMergeMap(base, patch, []);
    if (!isMap(candidate) || !isMap(candidate['metadata'])) throw errors.badRequest('the patched object has no metadata');
    const updated = this.#update(route, entry, candidate as Obj, { manager, operation: 'Update', dryRun });
    this.#send(res, 200, updated);
  }

  #apply(route: Route, entry: Entry | undefined, config: JsonMap, manager: string, force: boolean, dryRun: boolean, res: ServerResponse): void {
    const { resource, subresource, name } = route;
    if (config['apiVersion'] !== resource.apiVersion) {
      throw errors.badRequest(`Incorrect version specified in apply patch. Specified patch version: ${String(config['apiVersion'] ?? '')}, expected: ${resource.apiVersion}`);
    }
    if (config['kind'] !== resource.kind) throw errors.badRequest(`the kind in the apply patch (${String(config['kind'] ?? '')}) does not match the expected kind (${resource.kind})`);
    const meta = isMap(config['metadata']) ? config['metadata'] : {};
    if (meta['managedFields'] !== undefined) throw errors.badRequest('metadata.managedFields must be nil');
    checkName({ ...config, metadata: meta }, name!, route.namespace);
    if (entry === undefined && subresource !== undefined) throw errors.notFound(resource, name!);

    const inScope = (path: string[]) => (subresource === 'status' ? path[0] === 'status' : !(resource.status && path[0] === 'status'));
    const applied = new Map([...leaves(config)].filter(([p]) => inScope(decodePath(p))));
    const me = managerKey(manager, 'Apply', subresource ?? '');
    const owners: Owners = new Map([...(entry?.owners ?? new Map<string, Set<string>>())].map(([k, v]) => [k, new Set(v)]));
    const current = (entry?.obj ?? { metadata: {} }) as JsonMap;

    // Conflicts with fields other managers own and this apply sets to a different value.
    const conflicts: Array<{ manager: string; path: string }> = [];
    const isEmptyMap = (v: unknown) => isMap(v) && Object.keys(v).length === 0;
    for (const [p, value] of applied) {
      for (const [other, set] of owners) {
        if (other === me) continue;
        for (const q of set) {
          if (!overlaps(p, q)) continue;
          const qPath = decodePath(q);
          let differs: boolean;
          if (p === q) differs = !isDeepStrictEqual(value, getAt(current, qPath));
          // They own an ancestor leaf (an empty map: no conflict; anything else would be replaced by a map).
          else if (qPath.length < decodePath(p).length) differs = !isEmptyMap(getAt(current, qPath));
          // They own a field inside what this apply sets as one value (an empty map only makes sure the map exists).
          else differs = !isEmptyMap(value);
          if (!differs) continue;
          if (Array.isArray(value) || Array.isArray(getAt(current, qPath))) {
            throw errors.notModelled(`server-side apply of the list ${pathString(p)}, which ${describeManager(other)} also manages (the real server may merge it item by item)`);
          }
          conflicts.push({ manager: other, path: q });
        }
      }
    }
    if (conflicts.length > 0) {
      if (!force) {
        const first = conflicts[0]!;
        const message =
          conflicts.length === 1
            ? `Apply failed with 1 conflict: conflict with ${describeManager(first.manager)}: ${pathString(first.path)}`
            : `Apply failed with ${conflicts.length} conflicts: ${conflicts.map((c) => `conflict with ${describeManager(c.manager)}: ${pathString(c.path)}`).join('\n')}`;
        throw new ApiError(
          409,
          statusBody(409, 'Conflict', message, {
            causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${describeManager(c.manager)}`, field: pathString(c.path) })),
          }),
        );
      }
      for (const c of conflicts) owners.get(c.manager)?.delete(c.path);
    }

    // The new object: what this manager applied before and omits now goes (unless someone else owns it too).
    const next = clone(current);
    const ownedByOthers = (p: string) => [...owners].some(([k, set]) => k !== me && [...set].some((q) => overlaps(p, q)));
    for (const p of owners.get(me) ?? []) {
      if (!applied.has(p) && !ownedByOthers(p)) deleteAt(next, decodePath(p));
    }
    for (const [p, value] of applied) {
      const path = decodePath(p);
      if (isMap(value) && Object.keys(value).length === 0) {
        if (!isMap(getAt(next, path))) setAt(next, path, {});
      } else {
        setAt(next, path, clone(value));
      }
    }
    next['apiVersion'] = resource.apiVersion;
    next['kind'] = resource.kind;
    owners.set(me, new Set(applied.keys()));
    // Fields that no longer exist are nobody's.
    const present = leaves(next);
    for (const [k, set] of owners) {
      for (const p of [...set]) if (!present.has(p)) set.delete(p);
      if (set.size === 0) owners.delete(k);
    }

    if (entry === undefined) {
      const nextMeta = next['metadata'] as JsonMap;
      nextMeta['name'] = name;
      const created = this.#create(route, next, manager, dryRun, owners);
      return this.#send(res, 201, created);
    }
    const nextMeta = next['metadata'] as JsonMap;
    // A resourceVersion in the configuration is a precondition; otherwise the apply is unconditional.
    nextMeta['resourceVersion'] = meta['resourceVersion'] ?? entry.obj.metadata.resourceVersion;
    const updated = this.#update(route, entry, next as Obj, { manager, operation: 'Apply', dryRun, owners });
    this.#send(res, 200, updated);
  }

  #delete(r: RecordedRequest, text: string, route: Route, entry: Entry | undefined, dryRun: boolean, res: ServerResponse): void {
    const { resource, name } = route;
    let options: JsonMap = {};
    if (text.trim() !== '') {
      try {
        const parsed = JSON.parse(text) as unknown;
        if (!isMap(parsed)) throw new Error('expected an object');
        options = parsed;
      } catch (err) {
        throw errors.badRequest(`error decoding DeleteOptions: ${(err as Error).message}`);
      }
    } else {
      for (const k of ['propagationPolicy', 'gracePeriodSeconds']) if (r.query.has(k)) options[k] = r.query.get(k);
    }
    if (entry === undefined) throw errors.notFound(resource, name!);
    if (Array.isArray(options['dryRun']) && options['dryRun'].includes('All')) dryRun = true;
    const policy = options['propagationPolicy'];
    if (policy !== undefined && policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      throw invalid('meta.k8s.io', 'DeleteOptions', '', [fieldError.notSupported('propagationPolicy', policy, ['Foreground', 'Background', 'Orphan'])]);
    }
    const current = entry.obj;
    const preconditions = isMap(options['preconditions']) ? options['preconditions'] : {};
    // rest.BeforeDelete: the conflict names the kind, not the resource.
    if (typeof preconditions['uid'] === 'string' && preconditions['uid'] !== current.metadata['uid']) {
      throw errors.conflict(
        resource.kind,
        resource.group,
        name!,
        `the UID in the precondition (${preconditions['uid']}) does not match the UID in record (${String(current.metadata['uid'] ?? '')}). The object might have been deleted and then recreated`,
      );
    }
    if (typeof preconditions['resourceVersion'] === 'string' && preconditions['resourceVersion'] !== current.metadata.resourceVersion) {
      throw errors.conflict(
        resource.kind,
        resource.group,
        name!,
        `the ResourceVersion in the precondition (${preconditions['resourceVersion']}) does not match the ResourceVersion in record (${current.metadata.resourceVersion}). The object might have been modified`,
      );
    }

    // deletionFinalizersForGarbageCollection.
    const existing = (current.metadata['finalizers'] as string[] | undefined) ?? [];
    let orphan = existing.includes('orphan');
    let foreground = existing.includes('foregroundDeletion');
    if (policy === 'Orphan') [orphan, foreground] = [true, false];
    else if (policy === 'Background') [orphan, foreground] = [false, false];
    else if (policy === 'Foreground') [orphan, foreground] = [false, true];
    const finalizers = [...existing.filter((f) => f !== 'orphan' && f !== 'foregroundDeletion'), ...(orphan ? ['orphan'] : []), ...(foreground ? ['foregroundDeletion'] : [])];
    const key = this.#key(route.collection, current.metadata.namespace, name!);
    if (finalizers.length > 0) {
      // markAsDeleting: the object stays until its finalizers are removed.
      const next = clone(current);
      next.metadata['finalizers'] = finalizers;
      if (current.metadata['deletionTimestamp'] === undefined) {
        next.metadata['deletionTimestamp'] = nowTimestamp();
        if (typeof current.metadata['generation'] === 'number' && current.metadata['generation'] > 0) next.metadata['generation'] = current.metadata['generation'] + 1;
      }
      next.metadata['deletionGracePeriodSeconds'] = 0;
      const stored = dryRun ? next : this.#commit(resource, key, entry, next)!;
      return this.#send(res, 200, stored);
    }
    const last = dryRun ? current : this.#commit(resource, key, entry, undefined)!;
    if (resource.custom) return this.#send(res, 200, last);
    return this.#send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { ...resourceDetails(resource, name), uid: current.metadata['uid'] } });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Request helpers

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    if (contentType?.startsWith(PATCH_TYPES.apply)) {
      try {
        return parseYaml(text) as unknown;
      } catch {
        // fall through
      }
    }
    return text;
  }
}

function bodyObject(text: string): JsonMap {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`error decoding the request body: ${(err as Error).message}`);
  }
  if (!isMap(body)) throw errors.badRequest('the request body is not an object');
  return body;
}

/** apiVersion and kind of a POST/PUT body may be left out; when given they must be the resource's. */
function checkTypeMeta(body: JsonMap, resource: Resource): void {
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== resource.apiVersion) {
    throw errors.badRequest(`the API version in the data (${String(body['apiVersion'])}) does not match the expected API version (${resource.apiVersion})`);
  }
  if (body['kind'] !== undefined && body['kind'] !== resource.kind) {
    throw errors.badRequest(`the kind in the data (${String(body['kind'])}) does not match the expected kind (${resource.kind})`);
  }
}

/** handlers.checkName. */
function checkName(obj: JsonMap, name: string, namespace: string | undefined): void {
  const meta = isMap(obj['metadata']) ? obj['metadata'] : {};
  if (meta['name'] !== name) throw errors.badRequest(`the name of the object (${String(meta['name'] ?? '')}) does not match the name on the URL (${name})`);
  if (namespace !== undefined && meta['namespace'] !== undefined && meta['namespace'] !== '' && meta['namespace'] !== namespace) {
    throw errors.badRequest(`the namespace of the object (${String(meta['namespace'])}) does not match the namespace on the request (${namespace})`);
  }
}

/** rest.EnsureObjectNamespaceMatchesRequestNamespace. */
function ensureNamespace(meta: JsonMap, requestNamespace: string | undefined): void {
  const objNamespace = (meta['namespace'] as string | undefined) ?? '';
  const wanted = requestNamespace ?? '';
  if (objNamespace === wanted) {
    if (wanted === '') delete meta['namespace'];
    return;
  }
  if (objNamespace === '') meta['namespace'] = wanted;
  else if (wanted === '') delete meta['namespace'];
  else throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
}

function withoutMetaAndStatus(obj: Obj): JsonMap {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/** The parts of ValidateObjectMeta(Update) the fake checks. */
function validateMetadata(obj: Obj, old: Obj | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const meta = obj.metadata;
  if (old !== undefined) {
    const oldMeta = old.metadata;
    if (oldMeta['deletionTimestamp'] !== undefined) {
      const before = new Set((oldMeta['finalizers'] as string[] | undefined) ?? []);
      const added = [...new Set((meta['finalizers'] as string[] | undefined) ?? [])].filter((f) => !before.has(f)).sort();
      if (added.length > 0) {
        errs.push(fieldError.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`));
      }
    }
    for (const field of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
      if (!isDeepStrictEqual(meta[field], oldMeta[field])) errs.push(fieldError.invalid(`metadata.${field}`, meta[field] ?? null, 'field is immutable'));
    }
  }
  const labels = meta['labels'];
  if (labels !== undefined) {
    if (!isMap(labels)) errs.push(fieldError.invalid('metadata.labels', labels, 'must be a map of strings'));
    else {
      for (const [k, v] of Object.entries(labels)) {
        for (const e of qualifiedNameErrors(k)) errs.push(fieldError.invalid('metadata.labels', k, e));
        if (typeof v !== 'string') errs.push(fieldError.invalid(`metadata.labels`, v, 'must be a string'));
        else for (const e of labelValueErrors(v)) errs.push(fieldError.invalid('metadata.labels', v, e));
      }
    }
  }
  const refs = meta['ownerReferences'];
  if (refs !== undefined) {
    if (!Array.isArray(refs)) errs.push(fieldError.invalid('metadata.ownerReferences', refs, 'must be a list'));
    else {
      const controllers: string[] = [];
      refs.forEach((ref: unknown, i) => {
        const at = `metadata.ownerReferences[${i}]`;
        if (!isMap(ref)) return errs.push(fieldError.invalid(at, ref, 'must be an object'));
        if (!ref['apiVersion']) errs.push(fieldError.invalid(`${at}.apiVersion`, ref['apiVersion'] ?? '', 'version must not be empty'));
        if (!ref['kind']) errs.push(fieldError.invalid(`${at}.kind`, ref['kind'] ?? '', 'kind must not be empty'));
        if (!ref['name']) errs.push(fieldError.invalid(`${at}.name`, ref['name'] ?? '', 'name must not be empty'));
        if (!ref['uid']) errs.push(fieldError.invalid(`${at}.uid`, ref['uid'] ?? '', 'uid must not be empty'));
        if (ref['controller'] === true) controllers.push(`${String(ref['kind'])}/${String(ref['name'])}`);
        return undefined;
      });
      if (controllers.length > 1) {
        errs.push(fieldError.invalid('metadata.ownerReferences', refs, `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`));
      }
    }
  }
  return errs;
}

function continueToken(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

/** A fake API server and a client of it for one test, both closed when the test ends. */
export async function fakeApiServerFor(t: { after: (fn: () => Promise<void>) => void }): Promise<{ fake: FakeApiServer; client: KubeClient }> {
  const fake = await FakeApiServer.start();
  const client = new KubeClient(fake.kubeConfig());
  t.after(async () => {
    await client.close();
    await fake.close();
  });
  return { fake, client };
}
