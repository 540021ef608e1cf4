import type { FastifyInstance } from 'fastify';
import { documentJson } from '../openapi/document.js';
import { registerDocsPage } from '../openapi/docs-page.js';

/**
 * The OpenAPI document and the API reference page that renders it. Both are public, like
 * /healthz: they describe the API, which is the same on every server, and hold nothing of any
 * workspace, user or setting (document.ts is built from code alone).
 */
export function registerOpenApiRoutes(app: FastifyInstance): void {
  app.get('/v1/openapi.json', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(documentJson()),
  );
  registerDocsPage(app);
}
