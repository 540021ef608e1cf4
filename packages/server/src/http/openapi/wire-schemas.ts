/**
 * Gives every route the serializers of its answers, compiled from the response schemas of
 * api-routes.ts: Fastify writes the fields listed there and nothing else. A route the table
 * does not describe fails at registration, so the server cannot start with one (and every
 * test fails): adding a route means describing its answers and its error codes.
 *
 * Error bodies are built field by field (http/errors.ts) and keep Fastify's plain serializer.
 */
import type { FastifyInstance } from 'fastify';
import { routeDoc } from './api-routes.js';
import { jsonSchemaOf, type JsonSchema } from './json-schema.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Not an API route (the /docs page and its files): left out of the document. */
    notApi?: boolean;
  }
  interface FastifyInstance {
    /** Every route registered, as `METHOD /path`, and whether it is an API route. */
    registeredRoutes: { method: string; url: string; api: boolean }[];
  }
}

export function describeRoutes(app: FastifyInstance): void {
  const registered: FastifyInstance['registeredRoutes'] = [];
  app.decorate('registeredRoutes', registered);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const api = route.config?.notApi !== true;
    for (const method of methods) registered.push({ method, url: route.url, api });
    if (!api) return;
    for (const method of methods) {
      const doc = routeDoc(method, route.url);
      if (!doc) {
        throw new Error(
          `${method} ${route.url} is not described: add it, with its answers and error codes, to http/openapi/api-routes.ts`,
        );
      }
      const response: Record<string, JsonSchema> = {};
      for (const [status, answer] of Object.entries(doc.responses)) {
        response[status] = jsonSchemaOf(answer.schema, 'output');
      }
      route.schema = { ...route.schema, response };
    }
  });
}
