// GET /v1/versions: the Kubernetes versions a cluster may run (the CRD's own list).
import type { FastifyInstance } from 'fastify';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from '../../crds/schema/versions.ts';
import { noQuery, versionsResponse } from '../schemas.ts';

export async function versionRoutes(app: FastifyInstance): Promise<void> {
  const body = {
    default: LATEST_VERSION,
    versions: [...SUPPORTED_VERSIONS].reverse().map((version) => ({ version, default: version === LATEST_VERSION })),
  };
  app.get(
    '/v1/versions',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Supported Kubernetes versions',
        description: 'Newest first; `default` is what a create without a version gets.',
        tags: ['versions'],
        operationId: 'listVersions',
        querystring: noQuery,
        response: { 200: versionsResponse },
      },
    },
    async () => body,
  );
}
