// /healthz: the process answers (liveness). /readyz: it can do its job, i.e. reach the host API
// with the CRD installed and read the key store (readiness). Both are unauthenticated, and both say which
// version of the product answers (package.json's), so a rollout can be watched from outside.
import type { FastifyInstance } from 'fastify';
import { productVersion } from '../../core/index.ts';
import { problems } from '../problems.ts';

export interface HealthRouteOptions {
  /** Throws with a reason when the API cannot serve. */
  checkReady: () => Promise<void>;
  /** A passing check is reused this long, so probes do not hammer the host API (default 2 s). */
  cacheMs?: number;
  /** The version in the answers (default: the product version). */
  version?: string;
}

const healthResponse = {
  type: 'object',
  properties: { status: { type: 'string' }, version: { type: 'string', description: 'The version of the Kubeception API that answers.' } },
} as const;

export async function healthRoutes(app: FastifyInstance, options: HealthRouteOptions): Promise<void> {
  let okUntil = 0;
  let pending: Promise<void> | undefined;
  const cacheMs = options.cacheMs ?? 2000;
  const ok = { status: 'ok', version: options.version ?? productVersion };

  app.get(
    '/healthz',
    { schema: { summary: 'Liveness', tags: ['health'], operationId: 'health', response: { 200: healthResponse } } },
    async () => ok,
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness',
        description: '200 when the host API server and the TenantControlPlane CRD are reachable, 503 otherwise.',
        tags: ['health'],
        operationId: 'ready',
        response: { 200: healthResponse },
      },
    },
    async (request) => {
      if (Date.now() < okUntil) return ok;
      // One check at a time, shared by concurrent probes.
      pending ??= options.checkReady().finally(() => (pending = undefined));
      try {
        await pending;
      } catch (error) {
        request.log.warn({ err: error }, 'not ready');
        throw problems.unavailable(`not ready: ${(error as Error).message}`);
      }
      okUntil = Date.now() + cacheMs;
      return ok;
    },
  );
}
