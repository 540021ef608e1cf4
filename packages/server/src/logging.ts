/**
 * The service's log lines: pino, JSON by default, for people on a terminal. Values that
 * must never reach a log line are redacted wherever they appear in a log object.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.js';

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

/** Bytes of JSON lines gathered before they are written, and the longest a line waits. */
export const LOG_BUFFER_BYTES = 4096;
export const LOG_FLUSH_EVERY_MS = 1000;

/**
 * Where the server's lines go. JSON (the default off a terminal): asynchronous and buffered,
 * pino's documented way: lines gather up to 4 KiB and the event loop writes them, at least once
 * a second; on exit, on a crash (an uncaught exception ends the process, see main.ts) and on
 * SIGTERM/SIGINT pino writes what is left synchronously. Only a SIGKILL or a power cut can lose
 * the last second of lines. For people (LOG_FORMAT=pretty, or unset with stdout a terminal):
 * pino-pretty, synchronous, loaded only then, so a server writing JSON never loads it.
 */
export async function logDestination(
  config: Pick<Config, 'logFormat'>,
  stdout: NodeJS.WriteStream = process.stdout,
): Promise<DestinationStream> {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && stdout.isTTY === true);
  if (!pretty) {
    return pino.destination({
      dest: 1,
      sync: false,
      minLength: LOG_BUFFER_BYTES,
      periodicFlush: LOG_FLUSH_EVERY_MS,
    });
  }
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
