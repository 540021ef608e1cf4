/**
 * A running server: runtime + HTTP app + a listening port, and an orderly stop.
 */
import type { FastifyInstance } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { openRuntime, type Runtime } from './runtime.js';

export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** Stops accepting, lets requests in flight finish, closes the store. */
  close(): Promise<void>;
}

/** Paths whose values must never reach a log line, wherever they appear in a log object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.private_key',
  '*.access_token',
  '*.value',
  '*.token',
];

/** The service's logger; `destination` (stdout by default) lets tests capture the lines. */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = { level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Whether log lines should be written for people: LOG_FORMAT=pretty, or unset with stdout a
 * terminal. pino-pretty is loaded only then, so a server writing JSON never loads it.
 */
export async function logDestination(
  config: Pick<Config, 'logFormat'>,
  stdout: NodeJS.WriteStream = process.stdout,
): Promise<DestinationStream | undefined> {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && stdout.isTTY === true);
  if (!pretty) return undefined;
  const { default: prettyStream } = await import('pino-pretty');
  // Synchronous, as pino's own stdout default is: lines written just before an exit are kept.
  return prettyStream({
    colorize: stdout.isTTY === true,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
}

export async function startServer(
  config: Config,
  logger: Logger = createLogger(config),
): Promise<RunningServer> {
  const runtime = await openRuntime(config, logger, { cachePrincipals: true });
  const app = buildApp({
    identity: runtime.identity,
    secrets: runtime.secrets,
    tokens: runtime.tokens,
    usage: runtime.usage,
    audit: runtime.audit,
    ready: () => runtime.store.ping(),
    logger,
    http: config.http,
  });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await runtime.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    runtime,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close() {
      closing ??= (async () => {
        await app.close();
        await runtime.close();
      })();
      return closing;
    },
  };
}
