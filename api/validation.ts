// Request validation with ajv, configured for an API that rejects rather than guesses:
// - bodies are never coerced ("3" is not 3) and unknown properties are errors, not silently dropped
//   (fastify's default removes them, which hides client mistakes);
// - query strings, path parameters and headers arrive as strings, so they are coerced to the schema type;
// - defaults are filled in, so handlers see complete objects.
import { Ajv, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { JsonSchema } from './schemas.ts';

const addFormats = formatsModule.default;

function makeAjv(coerceTypes: boolean | 'array', shared: JsonSchema[]): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    strict: true,
    // `type: ['string', 'null']` is how the schemas say "nullable" (JSON Schema 2020-12 / OpenAPI 3.1).
    allowUnionTypes: true,
    // OpenAPI-only words in route schemas are not validation keywords.
    keywords: ['example'],
  });
  addFormats(ajv);
  for (const schema of shared) ajv.addSchema(schema);
  return ajv;
}

/** Installs per-part ajv instances as fastify's validator compiler; returns them for tests. */
export function installValidation(app: FastifyInstance, shared: JsonSchema[]): { body: Ajv; other: Ajv } {
  const body = makeAjv(false, shared);
  const other = makeAjv('array', shared);
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? body : other;
    // fastify reads a false result's `.errors` and wraps them as a validation error (see problems.ts).
    const validate: ValidateFunction = ajv.compile(schema as JsonSchema);
    return validate;
  });
  return { body, other };
}

export type RouteSchema = FastifySchema & {
  summary?: string;
  description?: string;
  tags?: string[];
  operationId?: string;
};
