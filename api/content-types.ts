// Request bodies as HTTP clients really send them. The API takes JSON only, but not only the way curl
// sends it: `application/json` with any parameters and casing (`Application/JSON; charset=UTF-8`,
// axios, Go's net/http, python-requests), `application/merge-patch+json` on PATCH (what Kubernetes
// tooling and RFC 7396 clients send), and no body at all where a JSON Content-Type is sent anyway
// (DigitalOcean-style docs put `-H "Content-Type: application/json"` on every call, DELETE included).
// What is still refused: another media type or charset (415), bad JSON (400), and every body the
// route's schema refuses (400, unknown fields and wrong types included).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemError } from './problems.ts';

/** JSON is UTF-8 (RFC 8259); a body declared in another charset would be decoded wrongly, not refused. */
export function charsetProblem(contentType: string): ProblemError | undefined {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)?.[1];
  if (charset === undefined || /^utf-?8$/i.test(charset)) return undefined;
  return new ProblemError(415, 'unsupported-charset', `JSON bodies must be UTF-8; Content-Type ${JSON.stringify(contentType)} declares charset ${charset}`);
}

/** Replaces fastify's JSON parser: empty bodies are "no body"; merge-patch+json is JSON on PATCH. */
export function registerJsonBodies(app: FastifyInstance): void {
  // Prototype-poisoned bodies ({"__proto__": ...}) stay errors, as with fastify's own parser.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const parser = (mediaType: string) => (request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void) => {
    const contentType = request.headers['content-type'] ?? mediaType;
    const refused = charsetProblem(contentType);
    if (refused !== undefined) return done(refused);
    if (mediaType !== 'application/json' && request.method !== 'PATCH') {
      return done(new ProblemError(415, 'unsupported-media-type', `${mediaType} is for PATCH; send ${request.method} bodies as application/json`));
    }
    if (body.length === 0) return done(null, undefined);
    return parseJson(request, body as string, done);
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parser('application/json'));
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, parser('application/merge-patch+json'));

  // A request without a body where the route takes one: an empty object, so the schema names the
  // missing fields (or, for bodies whose fields are all optional, such as a join token's, accepts it).
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body !== undefined) request.body = {};
  });
}
