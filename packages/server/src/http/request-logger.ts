/**
 * The logger Fastify gives each request (`request.log`), bound to its request id. pino's
 * child() serialises the bindings and runs them through the redaction at once: about 1 us, on
 * every request, for a logger most requests never use (the access line has its own, app.ts).
 * This one makes that child on the first line the request logs, and behaves as it from then on.
 */
import type { FastifyBaseLogger, FastifyLogFn } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export class RequestLogger implements FastifyBaseLogger {
  // The log methods, on the prototype (below): one set for every request logger.
  declare fatal: FastifyLogFn;
  declare error: FastifyLogFn;
  declare warn: FastifyLogFn;
  declare info: FastifyLogFn;
  declare debug: FastifyLogFn;
  declare trace: FastifyLogFn;
  declare silent: FastifyLogFn;
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The child logger itself, made the first time it is needed. */
  logger(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }
}

for (const level of LEVELS) {
  const method = function (this: RequestLogger, ...args: unknown[]): void {
    const logger = this.logger();
    (logger[level] as (...a: unknown[]) => void).apply(logger, args);
  };
  RequestLogger.prototype[level] = method as FastifyLogFn;
}

/** Fastify's `childLoggerFactory`: the request's logger, made lazily. */
export function requestLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new RequestLogger(parent, bindings, options);
}
