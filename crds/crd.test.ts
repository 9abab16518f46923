import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { crdSchema, tenantControlPlaneCRD } from './crd.ts';
import { GENERATED_FILES, staleGeneratedFiles } from './generate.ts';
import type { JSONSchemaProps } from './schema/json-schema.ts';
import { walkSchema } from './schema/json-schema.ts';
import { tenantControlPlaneSchema } from './schema/tenant-control-plane.ts';
import { SUPPORTED_VERSIONS } from './schema/versions.ts';
import { validateTenantControlPlaneSpec } from './validate.ts';

type Visit = (node: JSONSchemaProps, path: string, inAnyOf: boolean) => void;

function walk(node: JSONSchemaProps, visit: Visit, path = '', inAnyOf = false): void {
  visit(node, path || '<root>', inAnyOf);
  for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, visit, `${path}.${k}`, inAnyOf);
  if (node.additionalProperties) walk(node.additionalProperties, visit, `${path}.*`, inAnyOf);
  if (node.items) walk(node.items, visit, `${path}[]`, inAnyOf);
  for (const branch of node.anyOf ?? []) walk(branch, visit, `${path}(anyOf)`, true);
}

test('the generated files are up to date (run `npm run crds` after changing the schema)', async () => {
  assert.deepEqual(await staleGeneratedFiles(), []);
});

test('the CRD file holds exactly the CRD built from the schema', () => {
  assert.deepEqual(parse(readFileSync(GENERATED_FILES.crd, 'utf8')), tenantControlPlaneCRD());
});

test('the schema is structural: every node has a type, objects use properties or additionalProperties', () => {
  const problems: string[] = [];
  walk(crdSchema(), (node, path, inAnyOf) => {
    if (inAnyOf) {
      // Only the int-or-string branches may name a type; nothing in anyOf may set description, default, ...
      for (const k of ['description', 'default', 'additionalProperties', 'x-kubernetes-validations'] as const) {
        if (node[k] !== undefined) problems.push(`${path}: ${k} inside anyOf`);
      }
      return;
    }
    if (node['x-kubernetes-int-or-string']) {
      if (node.type !== undefined) problems.push(`${path}: int-or-string must not set type`);
      assert.deepEqual(node.anyOf, [{ type: 'integer' }, { type: 'string' }], path);
      return;
    }
    if (!node.type) problems.push(`${path}: no type`);
    if (node.type === 'object' && node.properties && node.additionalProperties) problems.push(`${path}: properties and additionalProperties`);
    if (node.type === 'array' && !node.items) problems.push(`${path}: array without items`);
    if (node.type !== 'object' && (node.properties || node.additionalProperties)) problems.push(`${path}: properties on a ${node.type}`);
    if ('title' in node) problems.push(`${path}: titles are for the type generator only`);
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(crdSchema().properties?.metadata, { type: 'object' }, 'metadata may only declare its type');
});

test('every string, list and map in spec is bounded, so CEL cost estimates stay small', () => {
  const unbounded: string[] = [];
  walk(crdSchema().properties!.spec!, (node, path, inAnyOf) => {
    if (inAnyOf) return;
    if ((node.type === 'string' || node['x-kubernetes-int-or-string']) && node.maxLength === undefined) unbounded.push(path);
    if (node.type === 'array' && node.maxItems === undefined) unbounded.push(path);
    if (node.type === 'object' && node.additionalProperties && node.maxProperties === undefined) unbounded.push(path);
  });
  assert.deepEqual(unbounded, []);
});

test('every CEL rule says what is wrong and has a TypeScript mirror', () => {
  let count = 0;
  walkSchema(tenantControlPlaneSchema, (node, path) => {
    for (const rule of node['x-kubernetes-validations'] ?? []) {
      count++;
      assert.ok(rule.message, `${path.join('.')}: ${rule.rule} has no message`);
      assert.ok(!rule.message.includes('\n'), 'messages are one line');
      assert.equal(typeof rule.holds, 'function');
      if (rule.messageExpression) assert.equal(typeof rule.messageFor, 'function', `${rule.rule}: messageExpression without mirror`);
    }
  });
  assert.ok(count >= 20, `only ${count} rules`);
});

test('defaults in the schema satisfy the schema', () => {
  // The API server refuses a CRD whose defaults fail validation; the spec defaulted from nothing must pass.
  const result = validateTenantControlPlaneSpec({ version: SUPPORTED_VERSIONS[0] });
  assert.ok(result.ok, JSON.stringify(result));
});

test('names, subresources and printer columns follow docs/contracts.md', () => {
  const crd = tenantControlPlaneCRD() as { metadata: { name: string }; spec: Record<string, any> };
  assert.equal(crd.metadata.name, 'tenantcontrolplanes.kubeception.io');
  const { names, scope, group, versions } = crd.spec;
  assert.equal(group, 'kubeception.io');
  assert.equal(scope, 'Namespaced');
  assert.deepEqual(
    { kind: names.kind, plural: names.plural, singular: names.singular, shortNames: names.shortNames },
    { kind: 'TenantControlPlane', plural: 'tenantcontrolplanes', singular: 'tenantcontrolplane', shortNames: ['tcp'] },
  );
  assert.equal(versions.length, 1);
  const [v] = versions;
  assert.equal(v.name, 'v1alpha1');
  assert.deepEqual(v.subresources, {
    status: {},
    scale: {
      specReplicasPath: '.spec.controlPlane.replicas',
      statusReplicasPath: '.status.controlPlane.replicas',
      labelSelectorPath: '.status.controlPlane.selector',
    },
  });
  assert.deepEqual(
    v.additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => [c.name.toUpperCase(), c.jsonPath]),
    [
      ['VERSION', '.spec.version'],
      ['READY', '.status.conditions[?(@.type=="Ready")].status'],
      ['ENDPOINT', '.status.endpoint'],
      ['AGE', '.metadata.creationTimestamp'],
    ],
  );
  assert.deepEqual(v.schema.openAPIV3Schema.properties.spec.properties.version.enum, [...SUPPORTED_VERSIONS]);
});
