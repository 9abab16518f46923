// RFC 9457 problem details: every error the API returns, including fastify's own (validation, bad
// JSON, unknown routes), leaves as application/problem+json with a `detail` a person can act on.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
const TYPE_BASE = 'https://kubeception.io/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  requestId?: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

/** An error that is already a problem: thrown by handlers, turned into a response by the error handler. */
export class ProblemError extends Error {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(status: number, slug: string, detail: string, options: { title?: string; extensions?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
    super(detail);
    this.name = 'ProblemError';
    this.status = status;
    this.slug = slug;
    this.title = options.title ?? statusTitle(status);
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  toProblem(instance?: string, requestId?: string): Problem {
    const problem: Problem = { type: `${TYPE_BASE}${this.slug}`, title: this.title, status: this.status, detail: this.message };
    if (instance !== undefined) problem.instance = instance;
    if (requestId !== undefined) problem.requestId = requestId;
    // Extensions never overwrite the members RFC 9457 defines.
    for (const [key, value] of Object.entries(this.extensions)) if (!(key in problem)) problem[key] = value;
    return problem;
  }
}

/** Shorthands for the problems handlers raise; one place so the `type` slugs stay consistent. */
export const problems = {
  badRequest: (detail: string, extensions?: Record<string, unknown>) => new ProblemError(400, 'bad-request', detail, { extensions }),
  unauthorized: (detail: string) =>
    new ProblemError(401, 'unauthorized', detail, { headers: { 'www-authenticate': 'Bearer realm="kubeception"' } }),
  forbidden: (detail: string) => new ProblemError(403, 'forbidden', detail),
  notFound: (detail: string) => new ProblemError(404, 'not-found', detail),
  conflict: (detail: string, extensions?: Record<string, unknown>) => new ProblemError(409, 'conflict', detail, { extensions }),
  unprocessable: (slug: string, detail: string, extensions?: Record<string, unknown>) => new ProblemError(422, slug, detail, { extensions }),
  tooManyRequests: (detail: string, retryAfterSeconds: number) =>
    new ProblemError(429, 'rate-limited', detail, { headers: { 'retry-after': String(retryAfterSeconds) } }),
  unavailable: (detail: string, retryAfterSeconds = 5) =>
    new ProblemError(503, 'host-unavailable', detail, { headers: { 'retry-after': String(retryAfterSeconds) } }),
};

/** `cluster c123 not found`: the one wording for every object an account does not own or that is gone. */
export function clusterNotFound(id: string): ProblemError {
  return problems.notFound(`cluster ${id} not found`);
}

export function sendProblem(reply: FastifyReply, problem: ProblemError): FastifyReply {
  const request = reply.request;
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return reply
    .code(problem.status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .send(problem.toProblem(request.url, String(request.id)));
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** One readable line per schema violation: `body/size must be one of: small, medium, large`. */
export function describeValidation(part: string, issues: readonly ValidationIssue[]): { detail: string; errors: { location: string; message: string }[] } {
  const errors = issues.map((issue) => {
    const path = (issue.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    let location = PART_NAMES[part] ?? part;
    if (path !== '') location += `.${path}`;
    let message = issue.message ?? 'is invalid';
    if (issue.keyword === 'enum' && Array.isArray(issue.params?.allowedValues)) {
      message = `must be one of: ${issue.params.allowedValues.map(String).join(', ')}`;
    } else if (issue.keyword === 'additionalProperties' && typeof issue.params?.additionalProperty === 'string') {
      message = `has unknown property ${JSON.stringify(issue.params.additionalProperty)}`;
    } else if (issue.keyword === 'required' && typeof issue.params?.missingProperty === 'string') {
      message = `is missing required property ${JSON.stringify(issue.params.missingProperty)}`;
    }
    return { location, message };
  });
  const detail = errors.length === 0 ? `invalid ${PART_NAMES[part] ?? part}` : errors.map((e) => `${e.location} ${e.message}`).join('; ');
  return { detail, errors };
}

function asProblem(error: FastifyError | ProblemError | Error, contentType?: string): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  const fastifyError = error as FastifyError & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(fastifyError.validation)) {
    const { detail, errors } = describeValidation(fastifyError.validationContext ?? 'body', fastifyError.validation);
    return new ProblemError(400, 'validation-failed', detail, { title: 'Invalid request', extensions: { errors } });
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // fastify's own client errors (bad JSON, unsupported media type, body too large...) carry clear
    // messages; the code becomes the type so a client can switch on it.
    const slug = (fastifyError.code ?? 'bad-request').toLowerCase().replace(/^fst_err_/, '').replace(/_/g, '-');
    if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return new ProblemError(status, slug, `the API takes JSON bodies: send Content-Type: application/json${contentType === undefined ? ' (none was sent)' : ` (not ${JSON.stringify(contentType)})`}`);
    }
    return new ProblemError(status, slug, fastifyError.message || statusTitle(status));
  }
  return undefined;
}

/** Installs the error and not-found handlers: after this every error response is problem+json. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const problem = asProblem(error, request.headers['content-type']);
    if (problem !== undefined) {
      if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ status: problem.status, problemType: problem.slug, detail: problem.message }, 'request rejected');
      return sendProblem(reply, problem);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(
      reply,
      new ProblemError(500, 'internal-error', `the request failed on our side; quote request id ${String(request.id)} when asking for help`),
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problems.notFound(`no route for ${request.method} ${request.url.split('?')[0] ?? ''}; see /openapi.json for the operations`)),
  );
}
