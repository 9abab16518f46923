// OpenAPI 3.1 from the routes' own schemas (the ones that validate requests and serialise
// responses), so the document cannot drift from the behaviour. Served at /openapi.json, with a
// self-contained HTML page at /docs (no CDN, no script).
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { statusTitle } from './problems.ts';
import type { JsonSchema } from './schemas.ts';

/** What a route declares beyond fastify's own schema keys. */
interface RouteDoc {
  method: string;
  url: string;
  scope?: string;
  schema: Record<string, unknown>;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema>; [section: string]: unknown };
};

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  'x-required-scope'?: string;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: JsonSchema }>; links?: Record<string, unknown> }>;
}

/** `Cluster#` (fastify shared schema) -> `#/components/schemas/Cluster`; drops `$id`s. */
export function toOpenApiSchema(schema: unknown): JsonSchema {
  const convert = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(convert);
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (key === '$id') continue;
      if (key === '$ref' && typeof child === 'string' && /^[A-Za-z][\w.-]*#$/.test(child)) {
        out.$ref = `#/components/schemas/${child.slice(0, -1)}`;
      } else {
        out[key] = convert(child);
      }
    }
    return out;
  };
  return convert(schema) as JsonSchema;
}

function parametersOf(schema: unknown, location: Parameter['in']): Parameter[] {
  const s = schema as { properties?: Record<string, JsonSchema>; required?: string[] } | undefined;
  if (s?.properties === undefined) return [];
  return Object.entries(s.properties).map(([name, property]) => {
    const { description, ...rest } = property as JsonSchema & { description?: string };
    const parameter: Parameter = {
      name,
      in: location,
      required: location === 'path' || (s.required ?? []).includes(name),
      schema: toOpenApiSchema(rest),
    };
    if (typeof description === 'string') parameter.description = description;
    return parameter;
  });
}

const PROBLEM_CONTENT = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or fails validation; `errors` lists each field.',
  401: 'Missing, malformed, unknown, revoked or expired API key.',
  403: 'The API key lacks the scope, asks for a group it may not grant, or a quota of the account is used up (`limit`, `max`, `current`).',
  404: 'No such cluster in this account (clusters of other accounts are not found either).',
  409: 'The cluster is not in a state that allows this (not ready yet, being deleted).',
  413: 'The body is larger than the API takes (64 KiB).',
  415: 'The body is not JSON (application/json, UTF-8; PATCH also takes application/merge-patch+json).',
  422: 'Well-formed but not allowed (Idempotency-Key reused with another body, version lowered or skipped, a kubeconfig identity outside the account\'s space or reserved).',
  429: 'Rate limit of the account, or its kubeconfig issuance rate (`limit`, `max`, `current`), exceeded, or too many failed authentications from this address or with this key prefix; see Retry-After.',
  502: "The tenant cluster's API server did not answer, or refused to sign a certificate; retry later.",
  503: 'The host cluster cannot be reached, or the API is not yet granted access to the cluster; retry later.',
  504: 'The tenant cluster did not sign a certificate in time; nothing was issued, retry later.',
};

function operationOf(route: RouteDoc): Operation {
  const schema = route.schema;
  const operation: Operation = { responses: {} };
  for (const key of ['operationId', 'summary', 'description', 'tags'] as const) {
    if (schema[key] !== undefined) (operation as unknown as Record<string, unknown>)[key] = schema[key];
  }
  const parameters = [
    ...parametersOf(schema.params, 'path'),
    ...parametersOf(schema.querystring, 'query'),
    ...parametersOf(schema.headers, 'header'),
  ];
  if (parameters.length > 0) operation.parameters = parameters;
  if (schema.body !== undefined) {
    const body = toOpenApiSchema(schema.body);
    // A body that {} satisfies may be left out (content-types.ts reads no body as {}).
    const { required: fields = [], minProperties = 0 } = schema.body as { required?: string[]; minProperties?: number };
    const required = fields.length > 0 || minProperties > 0;
    const content: Record<string, { schema: JsonSchema }> = { 'application/json': { schema: body } };
    if (route.method === 'PATCH') content['application/merge-patch+json'] = { schema: body };
    operation.requestBody = { required, content };
  }
  for (const [code, response] of Object.entries((schema.response ?? {}) as Record<string, JsonSchema>)) {
    const description = (response.description as string | undefined) ?? statusTitle(Number(code)).replace('Client Error', 'Success');
    if (code === '204' || response.type === 'null') {
      operation.responses[code] = { description };
      continue;
    }
    const entry: Operation['responses'][string] = { description: Number(code) < 300 ? 'Success' : description, content: { 'application/json': { schema: toOpenApiSchema(response) } } };
    if (code === '202' || code === '201') {
      entry.headers = { Location: { description: 'URL to poll or fetch the resource.', schema: { type: 'string' } } };
    }
    const links = (schema['x-links'] as Record<string, Record<string, unknown>> | undefined)?.[code];
    if (links !== undefined) entry.links = links;
    operation.responses[code] = entry;
  }
  const problemCodes = new Set<number>([503]);
  if (parameters.length > 0 || schema.body !== undefined) problemCodes.add(400);
  if (schema.body !== undefined) for (const code of [413, 415]) problemCodes.add(code);
  if (route.scope !== undefined) {
    operation.security = [{ apiKey: [] }];
    operation['x-required-scope'] = route.scope;
    for (const code of [401, 403, 429]) problemCodes.add(code);
  }
  if (schema.params !== undefined) problemCodes.add(404);
  for (const code of (schema['x-problems'] as number[] | undefined) ?? []) problemCodes.add(code);
  for (const code of [...problemCodes].sort()) {
    operation.responses[String(code)] = { description: PROBLEM_DESCRIPTIONS[code] ?? statusTitle(code), content: PROBLEM_CONTENT };
  }
  return operation;
}

export function buildOpenApiDocument(info: OpenApiInfo, routes: readonly RouteDoc[], shared: readonly JsonSchema[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operationOf(route);
  }
  const schemas: Record<string, JsonSchema> = {};
  for (const schema of shared) schemas[String(schema.$id)] = toOpenApiSchema(schema);
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    tags: [...new Set(routes.flatMap((r) => (r.schema.tags as string[] | undefined) ?? []))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key (kc_...) created with `node api/keys-cli.ts create`.' },
      },
    },
  };
}

/** Collects routes as they are registered; call before registering them. */
export function collectRoutes(app: FastifyInstance): RouteDoc[] {
  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (options: RouteOptions) => {
    const schema = (options.schema ?? {}) as Record<string, unknown>;
    if (schema.hide === true) return;
    const methods = Array.isArray(options.method) ? options.method : [options.method];
    for (const method of methods) {
      if (method === 'HEAD' || options.url === '*') continue;
      const scope = (options.config as { scope?: string } | undefined)?.scope;
      routes.push({ method, url: options.url, schema, ...(scope === undefined ? {} : { scope }) });
    }
  });
  return routes;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function schemaText(schema: JsonSchema | undefined): string {
  return schema === undefined ? '' : `<pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre>`;
}

/** The docs page: every operation with its parameters, body and responses; plain HTML and CSS. */
export function renderDocsPage(document: OpenApiDocument): string {
  const info = document.info as OpenApiInfo;
  const sections: string[] = [];
  const toc: string[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const anchor = op.operationId ?? `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
      toc.push(`<li><a href="#${escapeHtml(anchor)}"><span class="m ${method}">${method.toUpperCase()}</span> ${escapeHtml(path)}</a> ${escapeHtml(op.summary ?? '')}</li>`);
      const params = (op.parameters ?? [])
        .map((p) => `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : ''}</td><td><code>${escapeHtml(JSON.stringify(p.schema))}</code></td><td>${escapeHtml(p.description ?? '')}</td></tr>`)
        .join('');
      const responses = Object.entries(op.responses)
        .map(([code, r]) => {
          const [type, body] = Object.entries(r.content ?? {})[0] ?? [];
          return `<li><b>${code}</b> ${escapeHtml(r.description)}${type === undefined ? '' : ` <code>${escapeHtml(type)}</code>`}${body === undefined || code >= '400' ? '' : `<details><summary>schema</summary>${schemaText(body.schema)}</details>`}</li>`;
        })
        .join('');
      sections.push(`<section id="${escapeHtml(anchor)}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(op.summary ?? '')}${op['x-required-scope'] === undefined ? ' <i>(no authentication)</i>' : ` <i>(scope: ${escapeHtml(op['x-required-scope'])})</i>`}</p>
${op.description === undefined ? '' : `<p>${escapeHtml(op.description)}</p>`}
${params === '' ? '' : `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th><th></th></tr>${params}</table>`}
${op.requestBody === undefined ? '' : `<h4>Request body (application/json)</h4>${schemaText(op.requestBody.content['application/json']?.schema)}`}
<h4>Responses</h4><ul>${responses}</ul>
</section>`);
    }
  }
  const components = Object.entries(document.components.schemas)
    .map(([name, schema]) => `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3>${schemaText(schema)}</section>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f8fa;padding:.8em;overflow:auto;border-radius:4px}
.m{display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;color:#fff;font:bold 12px monospace;padding:1px 4px}
.get{background:#2b7bb9}.post{background:#2f9e44}.patch{background:#c77c02}.delete{background:#c92a2a}.put{background:#7048e8}
section{border-top:1px solid #ddd;padding-top:.5em;margin-top:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
ul.toc{list-style:none;padding:0}a{color:inherit}
</style></head><body>
<h1>${escapeHtml(info.title)} <small>${escapeHtml(info.version)}</small></h1>
<p>${escapeHtml(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<h2>Operations</h2><ul class="toc">${toc.join('')}</ul>
${sections.join('\n')}
<h2>Schemas</h2>${components}
</body></html>`;
}

/** Routes that document the API are not themselves operations. */
const HIDDEN = { hide: true } as FastifySchema;

/** Registers /openapi.json and /docs; the document is built once, on first use, from `routes`. */
export function registerDocs(app: FastifyInstance, info: OpenApiInfo, routes: readonly RouteDoc[], shared: readonly JsonSchema[]): void {
  let document: OpenApiDocument | undefined;
  let page: string | undefined;
  const doc = () => (document ??= buildOpenApiDocument(info, routes, shared));
  app.get('/openapi.json', { schema: HIDDEN }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return doc();
  });
  app.get('/docs', { schema: HIDDEN }, async (_request, reply) => {
    page ??= renderDocsPage(doc());
    return reply.type('text/html; charset=utf-8').header('cache-control', 'public, max-age=300').send(page);
  });
}
