import type { FastifyInstance } from 'fastify';
import type { UsageService } from '../../services/secrets/usage.service.js';
import { exportQuery, parse, usageBody } from '../schemas.js';

export function registerUsageRoutes(app: FastifyInstance, usage: UsageService): void {
  /** `{ input, app?, env? }` → `{ output }`: every `$Secret{KEY}` in `input` replaced by its value. */
  app.post('/v1/resolve', { config: { body: true } }, async (request) => {
    const { input, app: forApp, env } = parse(usageBody, request.body, 'request body');
    return { output: await usage.resolve(request.principal, input, { app: forApp, env }) };
  });

  /** `{ input, app?, env? }` → every reference, and whether (and why not) it would resolve. */
  app.post('/v1/validate', { config: { body: true } }, async (request) => {
    const { input, app: forApp, env } = parse(usageBody, request.body, 'request body');
    return usage.validate(request.principal, input, { app: forApp, env });
  });

  /** `?app=&env=[&only=A,B]` → the values that app may use in that environment. */
  app.get('/v1/export', { config: { query: true } }, async (request) => {
    const { app: forApp, env, only } = parse(exportQuery, request.query, 'query');
    return usage.export(request.principal, { app: forApp, env }, only);
  });
}
