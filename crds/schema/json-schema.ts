// The subset of OpenAPI v3 (apiextensions.k8s.io/v1 JSONSchemaProps) our schema uses, plus the step that
// turns our schema (whose CEL rules carry TypeScript mirrors) into plain JSON for the CRD and for ajv.
import { toValidationRule, type CelRule, type ValidationRule } from './cel.ts';

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

interface SchemaFields<Rule> {
  type?: SchemaType;
  /** Names the generated TypeScript interface (crds/generated/types.ts). */
  title?: string;
  description?: string;
  properties?: Record<string, SchemaFields<Rule>>;
  additionalProperties?: SchemaFields<Rule>;
  items?: SchemaFields<Rule>;
  required?: string[];
  default?: unknown;
  enum?: readonly (string | number)[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  anyOf?: SchemaFields<Rule>[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'granular' | 'atomic';
  'x-kubernetes-validations'?: Rule[];
}

/** Our schema: CEL rules with their TypeScript mirrors. */
export type SchemaNode = SchemaFields<CelRule>;

/** Plain OpenAPI v3 as the API server and ajv read it. */
export type JSONSchemaProps = SchemaFields<ValidationRule>;

/** Deep copy of a schema with the CEL rules reduced to what a CRD carries. */
export function toJSONSchemaProps(node: SchemaNode): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  for (const [key, value] of Object.entries(node) as [keyof SchemaNode, unknown][]) {
    if (key === 'x-kubernetes-validations') {
      out[key] = (value as CelRule[]).map(toValidationRule);
    } else if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, SchemaNode>).map(([name, child]) => [name, toJSONSchemaProps(child)]),
      );
    } else if (key === 'additionalProperties' || key === 'items') {
      out[key] = toJSONSchemaProps(value as SchemaNode);
    } else if (key === 'anyOf') {
      out.anyOf = (value as SchemaNode[]).map(toJSONSchemaProps);
    } else {
      (out as Record<string, unknown>)[key] = structuredClone(value);
    }
  }
  return out;
}

/** Visits every schema node with its JSON path segments (property names, `*` for map values, `[]` for items). */
export function walkSchema(node: SchemaNode, visit: (node: SchemaNode, path: string[]) => void, path: string[] = []): void {
  visit(node, path);
  for (const [name, child] of Object.entries(node.properties ?? {})) walkSchema(child, visit, [...path, name]);
  if (node.additionalProperties) walkSchema(node.additionalProperties, visit, [...path, '*']);
  if (node.items) walkSchema(node.items, visit, [...path, '[]']);
  for (const branch of node.anyOf ?? []) walkSchema(branch, visit, path);
}
