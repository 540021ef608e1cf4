/**
 * Builds the HTTP application from its parts. Never listens: main.ts (and the tests) do.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { IdentityService, Principal } from '../services/identity.service.js';
import type { SecretsService } from '../services/secrets.service.js';
import type { TokensService } from '../services/tokens.service.js';
import type { UsageService } from '../services/usage.service.js';
import { errorHandler } from './errors.js';
import { registerJsonParser } from './json-parser.js';
import { registerAuthRoutes } from './routes/auth.routes.js';
import { registerHealthRoutes } from './routes/health.routes.js';
import { registerSecretsRoutes } from './routes/secrets.routes.js';
import { registerTokensRoutes } from './routes/tokens.routes.js';
import { registerUsageRoutes } from './routes/usage.routes.js';
import { registerUsersRoutes } from './routes/users.routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for every route under /v1 except sign-in. */
    principal: Principal;
  }
}

export interface AppDeps {
  identity: IdentityService;
  secrets: SecretsService;
  tokens: TokensService;
  usage: UsageService;
  /** Resolves when the store answers; used by /readyz. */
  ready: () => Promise<void>;
  logger: FastifyBaseLogger;
}

/** Largest request body accepted: a 64 KiB value even when every character is JSON-escaped. */
export const BODY_LIMIT = 512 * 1024;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
};

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
    // A bad or over-long URL is answered by the router itself, in Fastify's own shape,
    // unless handed to us: keep every error `{ code, message }`.
    frameworkErrors: errorHandler,
  });

  registerJsonParser(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ code: 'ROUTE_NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}` });
  });
  app.decorateRequest('principal', null as never);
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.headers(SECURITY_HEADERS);
    void reply.header('x-request-id', request.id);
    return payload;
  });

  registerHealthRoutes(app, deps.ready);
  registerAuthRoutes(app, deps.identity);
  void app.register(async (authenticated) => {
    authenticated.addHook('onRequest', async (request) => {
      request.principal = await deps.identity.authenticate(request.headers.authorization);
    });
    authenticated.get('/v1/me', async (request) => deps.identity.whoami(request.principal));
    registerSecretsRoutes(authenticated, deps.secrets);
    registerUsageRoutes(authenticated, deps.usage);
    registerTokensRoutes(authenticated, deps.tokens);
    registerUsersRoutes(authenticated, deps.identity);
  });
  return app;
}
