// 405 Method Not Allowed for a path the API serves with other methods (RFC 9110 15.5.6): `PUT
// /v1/clusters/{id}` is not "no such route", it is "not this method", and the Allow header lists
// the ones that are. Any method counts, including ones fastify treats as body methods (QUERY),
// so the answer comes before body parsing.
import type { FastifyInstance } from 'fastify';
import { ProblemError } from './problems.ts';

export interface RoutePattern {
  method: string;
  /** fastify's route path: `/v1/clusters/:id`. */
  url: string;
}

/** `/v1/clusters/:id` -> /^\/v1\/clusters\/[^/]+\/?$/ (a trailing slash is the same path, as in the router). */
export function pathMatcher(url: string): RegExp {
  const pattern = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}/?$`);
}

/** The methods the API serves at a concrete path (HEAD wherever GET is), in a stable order. */
export function allowedMethods(routes: readonly RoutePattern[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (!pathMatcher(route.url).test(path)) continue;
    methods.add(route.method);
    if (route.method === 'GET') methods.add('HEAD');
  }
  const order = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
  return [...methods].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

/** onRequest hook for requests no route took: 405 with Allow where the path exists under other methods. */
export function registerMethodNotAllowed(app: FastifyInstance, routes: readonly RoutePattern[]): void {
  app.addHook('onRequest', async (request) => {
    if (!request.is404) return;
    const path = request.url.split('?')[0] ?? '';
    const allow = allowedMethods(routes, path);
    if (allow.length === 0) return;
    throw new ProblemError(405, 'method-not-allowed', `${request.method} is not an operation of ${path}; it takes ${allow.join(', ')}`, {
      headers: { allow: allow.join(', ') },
    });
  });
}
