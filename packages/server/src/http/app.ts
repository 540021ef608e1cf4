/**
 * Builds the HTTP application from its parts. Never listens: main.ts (and the tests) do.
 */
import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { HttpLimits } from '../config.js';
import type { AuditService } from '../services/audit/audit.service.js';
import type { MembersService } from '../services/identity/members.service.js';
import type { Principal } from '../services/identity/principal.js';
import type { SignInService } from '../services/identity/sign-in.service.js';
import type { SecretsService } from '../services/secrets/secrets.service.js';
import type { TokensService } from '../services/identity/tokens.service.js';
import type { UsageService } from '../services/secrets/usage.service.js';
import type { WebhooksService } from '../services/webhooks/webhooks.service.js';
import type { HttpMetrics } from '../metrics/http-metrics.js';
import { AppError } from '../errors.js';
import { accessLogWriter, type AccessEntry } from '../logging.js';
import { limitConnectionsPerAddress } from './connection-limits.js';
import { consoleFiles } from './console.js';
import { answerClientError, errorHandler } from './errors.js';
import { registerJsonParser } from './json-parser.js';
import { requestLogger } from './request-logger.js';
import { describeRoutes } from './openapi/wire-schemas.js';
import { originOf } from './origin.js';
import { refuseNulInQuery, refuseUnreadInput } from './unread-input.js';
import { registerAuditRoutes } from './routes/audit.routes.js';
import { registerAuthRoutes } from './routes/auth.routes.js';
import { registerHealthRoutes } from './routes/health.routes.js';
import { registerOpenApiRoutes } from './routes/openapi.routes.js';
import { registerSecretsRoutes } from './routes/secrets.routes.js';
import { registerTokensRoutes } from './routes/tokens.routes.js';
import { registerUsageRoutes } from './routes/usage.routes.js';
import { registerUsersRoutes } from './routes/users.routes.js';
import { registerWebhooksRoutes } from './routes/webhooks.routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for every route under /v1 except sign-in. */
    principal: Principal;
  }
}

export interface AppDeps {
  signIn: SignInService;
  members: MembersService;
  secrets: SecretsService;
  tokens: TokensService;
  usage: UsageService;
  audit: AuditService;
  webhooks: WebhooksService;
  /** Resolves when the store answers; used by /readyz. */
  ready: () => Promise<void>;
  logger: FastifyBaseLogger;
  /** Timeouts and the connection cap (see config.ts). */
  http: HttpLimits;
  /** Requests by route, method and status, when metrics are on (metrics/http-metrics.ts). */
  metrics?: HttpMetrics;
  /** Called first thing for every request (the store's `requestArrived`). */
  requestArrived?: () => void;
}

/** An idle keep-alive connection is closed after this long. */
export const KEEP_ALIVE_TIMEOUT_MS = 5000;

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
  const limits = deps.http;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT,
    // Slow clients cannot hold a connection: the headers must arrive within headersTimeout,
    // the whole request within requestTimeout (both answered 408, see below), a socket
    // silent that long is closed, and an idle keep-alive connection after 5 s.
    connectionTimeout: limits.requestTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks the two timeouts above on this tick (30 s by default, which would let
      // a 1 s limit hold for 31 s).
      connectionsCheckingInterval: Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)),
      // Node would answer a missing Host header with an empty 400: the hook below does it in our shape.
      requireHostHeader: false,
    },
    // Requests Node's parser cannot read (malformed request line or header, bad framing,
    // headers over 16 KiB) are answered in our `{ code, message }` shape too.
    clientErrorHandler: answerClientError,
    genReqId: () => randomUUID(),
    // One access line per request (see AccessLog below), not Fastify's two.
    logController: new AccessLog(deps.logger),
    // request.log: the child logger is made only if the request logs a line.
    childLoggerFactory: requestLogger,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
    // A bad or over-long URL is answered by the router itself, in Fastify's own shape,
    // unless handed to us: keep every error `{ code, message }`.
    frameworkErrors: errorHandler,
  });

  limitConnections(app, limits);
  // Node answers an `Expect` other than 100-continue with an empty 417. RFC 9110 allows
  // ignoring it instead: the request then gets its usual answer, in the usual shape.
  app.server.on('checkExpectation', (request, response) => app.server.emit('request', request, response));
  const metrics = deps.metrics;
  if (metrics) {
    // Every answered request, errors and unmatched routes included; not added when metrics are off.
    app.addHook('onResponse', (request, reply, done) => {
      metrics.request(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime);
      done();
    });
  }
  registerJsonParser(app);
  // Before any route: each gets the serializers of its described answers, or fails to register.
  describeRoutes(app);
  app.setErrorHandler(errorHandler);
  // Paths no route has: the web console's pages and assets (GET, HEAD), else a 404.
  const consolePage = consoleFiles();
  app.setNotFoundHandler((request, reply) => {
    if (consolePage(request, reply)) return;
    void reply
      .code(404)
      .send({ code: 'ROUTE_NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}` });
  });
  app.decorateRequest('principal', null as never);
  // Synchronous hooks (no promise per request). The headers are set first, so every answer
  // has them, errors included; the console's answers override a few.
  const { requestArrived } = deps;
  app.addHook('onRequest', (request, reply, done) => {
    requestArrived?.();
    void reply.headers(SECURITY_HEADERS);
    void reply.header('x-request-id', request.id);
    if (request.raw.httpVersion === '1.1' && !request.headers.host) {
      done(new AppError('VALIDATION_ERROR', 'An HTTP/1.1 request must have a Host header'));
      return;
    }
    try {
      // NUL reaches a query only as %00: the query is read only when the URL holds one.
      if (request.url.includes('%00')) refuseNulInQuery(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });

  registerHealthRoutes(app, deps.ready);
  registerOpenApiRoutes(app);
  registerAuthRoutes(app, deps.signIn);
  void app.register(async (authenticated) => {
    authenticated.addHook('onRequest', async (request) => {
      request.principal = await deps.signIn.authenticate(request.headers.authorization, originOf(request));
    });
    authenticated.addHook('preHandler', (request, _reply, done) => {
      try {
        refuseUnreadInput(request);
      } catch (error) {
        done(error as Error);
        return;
      }
      done();
    });
    authenticated.get('/v1/me', async (request) => deps.signIn.whoami(request.principal));
    registerSecretsRoutes(authenticated, deps.secrets);
    registerUsageRoutes(authenticated, deps.usage);
    registerTokensRoutes(authenticated, deps.tokens);
    registerUsersRoutes(authenticated, deps.members);
    registerAuditRoutes(authenticated, deps.audit);
    registerWebhooksRoutes(authenticated, deps.webhooks);
  });
  return app;
}

/**
 * One line per answered request at `info`, written when the answer has gone: request id,
 * method, URL, status, time in ms and client address; never headers or bodies. Fastify's own
 * request lines stay off. It is Fastify's documented way to customise them (a LogController
 * whose `requestCompleted` Fastify calls when the response is finished or fails), so no
 * onResponse hook runs per request. The line is pino's, put together without its generic
 * serialiser (logging.ts, accessLogWriter). Nothing is written when `info` is off.
 */
class AccessLog extends LogController {
  private readonly write: ((entry: AccessEntry) => void) | undefined;

  constructor(logger: FastifyBaseLogger) {
    super({ disableRequestLogging: true });
    this.write = accessLogWriter(logger);
  }

  override requestCompleted(_error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    this.write?.({
      reqId: request.id,
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      ip: request.ip,
    });
  }
}

/**
 * Past maxConnections, Node closes each new connection as it arrives (no bytes are sent);
 * past maxConnectionsPerAddress from one client address, so do we (connection-limits.ts).
 * A request timed out by Node gets a 408 in our `{ code, message }` shape; this listener
 * runs before Fastify's, which leaves an already destroyed socket alone.
 */
function limitConnections(app: FastifyInstance, limits: HttpLimits): void {
  const server = app.server;
  server.maxConnections = limits.maxConnections;
  limitConnectionsPerAddress(server, limits.maxConnectionsPerAddress, (fields, message) =>
    app.log.warn(fields, message),
  );
  let dropped = 0;
  let lastWarning = 0;
  server.on('drop', () => {
    dropped += 1;
    // At most one line per 10 s: a flood of refused connections must not flood the log.
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    app.log.warn(
      { dropped, maxConnections: limits.maxConnections },
      'refused connections: the server holds DUCTAPE_MAX_CONNECTIONS connections',
    );
    dropped = 0;
  });
  server.prependListener('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code !== 'ERR_HTTP_REQUEST_TIMEOUT' || socket.destroyed) return;
    const body = JSON.stringify({
      code: 'REQUEST_TIMEOUT',
      message: `The request did not arrive in time (headers within ${limits.headersTimeoutMs} ms, the whole request within ${limits.requestTimeoutMs} ms); the connection is closed`,
    });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  });
}
