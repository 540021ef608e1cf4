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
export const LOG_BUFFER_BYTES = 32 * 1024;
export const LOG_FLUSH_EVERY_MS = 1000;
/** Lines are handed to the buffer above in chunks of this many characters at most (or per turn). */
const LOG_CHUNK_CHARS = 4096;

/**
 * Where the server's lines go. JSON (the default off a terminal): asynchronous and buffered,
 * pino's documented way: lines gather up to 32 KiB and the event loop writes them, at least once
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
    const sonic = pino.destination({
      dest: 1,
      sync: false,
      minLength: LOG_BUFFER_BYTES,
      // SonicBoom writes at most this much at a time, and needs it above minLength.
      maxWrite: 2 * LOG_BUFFER_BYTES,
      periodicFlush: LOG_FLUSH_EVERY_MS,
      contentMode: 'buffer',
    });
    // Given a string, SonicBoom measures its whole pending buffer again (Buffer.byteLength of
    // up to 16 KiB, flattening it) on every line: 1.5 us a line here (bench/README.md). Given
    // bytes, it adds up their lengths instead. Converting each line to bytes costs about 1 us
    // under load, so the lines of one turn of the event loop are joined and handed over as one
    // chunk, at the end of the turn (or at 4 KiB). In 'buffer' mode `write` takes bytes;
    // SonicBoom's types only know strings.
    const bytes = sonic as unknown as { write(data: Buffer): boolean; destroyed: boolean };
    let pending = '';
    let scheduled = false;
    const handOver = (): void => {
      scheduled = false;
      if (pending.length === 0) return;
      const chunk = Buffer.from(pending);
      pending = '';
      bytes.write(chunk);
    };
    // On exit (process.exit after a crash, a signal, a failed start) this turn's lines are
    // handed over and written synchronously; SonicBoom's own exit flush (pino.destination
    // registers it) writes what it held before them.
    process.on('exit', () => {
      if (pending.length === 0 || bytes.destroyed) return;
      handOver();
      sonic.flushSync();
    });
    const destination = {
      write: (line: string): void => {
        pending += line;
        if (pending.length >= LOG_CHUNK_CHARS) handOver();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(handOver);
        }
      },
      flush: (done?: (error?: Error) => void) => {
        handOver();
        sonic.flush(done);
      },
      flushSync: () => {
        handOver();
        sonic.flushSync();
      },
    };
    return destination;
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
