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

/**
 * Where the server's lines go. JSON (the default off a terminal): asynchronous and buffered,
 * pino's documented way: lines gather up to 32 KiB and the event loop writes them, at least once
 * a second; on exit, on a crash (an uncaught exception ends the process, see main.ts) and on
 * SIGTERM/SIGINT what is left is written synchronously. Only a SIGKILL or a power cut can lose
 * the last second of lines. For people (LOG_FORMAT=pretty, or unset with stdout a terminal):
 * pino-pretty, synchronous, loaded only then, so a server writing JSON never loads it.
 */
export async function logDestination(
  config: Pick<Config, 'logFormat'>,
  stdout: NodeJS.WriteStream = process.stdout,
): Promise<DestinationStream> {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && stdout.isTTY === true);
  if (!pretty) return bufferedStdout();
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

/**
 * JSON lines to stdout. SonicBoom (pino.destination) writes asynchronously, retries a busy
 * pipe and writes synchronously on exit; the gathering happens here, as one string, handed to
 * it as bytes at 32 KiB and once a second (bench/README.md says what each alternative cost):
 * - given a string per line, SonicBoom measures its whole pending buffer again on each
 *   (Buffer.byteLength of up to 32 KiB): 1.5 us a line;
 * - given a Buffer per line: about 1 us a line under load;
 * - given the lines of each turn of the event loop: a setImmediate, and so one more turn of
 *   the loop, in most turns under load.
 * In 'buffer' mode `write` takes bytes; SonicBoom's types only know strings.
 */
function bufferedStdout(): DestinationStream {
  // minLength 1: every chunk is written at once, and flush(done) still waits until it is.
  const sonic = pino.destination({ dest: 1, sync: false, minLength: 1, contentMode: 'buffer' });
  const bytes = sonic as unknown as { write(data: Buffer): boolean; destroyed: boolean };
  let pending = '';
  const handOver = (): void => {
    if (pending.length === 0 || bytes.destroyed) return;
    const chunk = Buffer.from(pending);
    pending = '';
    bytes.write(chunk);
  };
  setInterval(handOver, LOG_FLUSH_EVERY_MS).unref();
  // On exit (process.exit after a crash, a signal, a failed start) the lines still gathered
  // are handed over and written synchronously, after what SonicBoom held.
  process.on('exit', () => {
    if (pending.length === 0 || bytes.destroyed) return;
    handOver();
    sonic.flushSync();
  });
  return {
    write: (line: string): void => {
      pending += line;
      // Characters, not bytes: a chunk of mostly ASCII lines is about this size.
      if (pending.length >= LOG_BUFFER_BYTES) handOver();
    },
    flush: (done?: (error?: Error) => void) => {
      handOver();
      sonic.flush(done);
    },
    flushSync: () => {
      handOver();
      sonic.flushSync();
    },
  } as DestinationStream;
}

/** One access line's fields, written in this order after pino's level, time and bindings. */
export interface AccessEntry {
  reqId: string;
  method: string;
  url: string;
  status: number;
  ms: number;
  ip: string | undefined;
}

/** The part of a pino logger the access line needs; Fastify's logger type is this too. */
interface AccessLogger {
  level: string;
  info(fields: object, message: string): void;
  child(bindings: object, options: { redact: { paths: string[] } }): AccessLogger;
}

/**
 * Writes access lines for `logger`, or returns undefined when `info` is off. The line is the
 * one pino writes for `logger.info(entry, 'request')`, byte for byte (a test holds it to that),
 * put together here and handed to the logger's own destination. pino's generic serialiser
 * walks each field through its serialisers and escaping: about 3.5 us a line under load on the
 * bench's VM, against about 1.3 us for all of this one (bench/README.md). Only the six fields
 * above are written: no header, body or value, which is why redaction is not needed. A logger
 * that is not a plain pino logger, or whose destination wants pino's metadata (a multistream),
 * gets pino's own serialiser, through a child without redaction.
 */
export function accessLogWriter(logger: AccessLogger): ((entry: AccessEntry) => void) | undefined {
  if (!['info', 'debug', 'trace'].includes(logger.level)) return undefined;
  const own = logger as unknown as Record<symbol, unknown>;
  const stream = own[pino.symbols.streamSym] as (DestinationStream & Record<symbol, unknown>) | undefined;
  const bindings = own[pino.symbols.chindingsSym];
  const plain =
    stream !== undefined &&
    typeof stream.write === 'function' &&
    typeof bindings === 'string' &&
    stream[pino.symbols.needsMetadataGsym] !== true &&
    sameAsPino(logger, bindings);
  if (!plain) {
    // The six fields cannot match a redaction path (top-level strings and numbers): a child
    // without redaction writes the same line for half the cost.
    const unredacted = logger.child({}, { redact: { paths: [] } });
    return (entry) => unredacted.info(entry, 'request');
  }
  // The line's head changes once a millisecond at most: under load it is made once for many lines.
  let headMs = -1;
  let head = '';
  return (e) => {
    const now = Date.now();
    if (now !== headMs) {
      headMs = now;
      head = `{"level":30,"time":${now}${bindings}`;
    }
    const ip = e.ip === undefined ? '' : `,"ip":${jsonString(e.ip)}`;
    stream.write(
      `${head},"reqId":${jsonString(e.reqId)},"method":${jsonString(e.method)},"url":${jsonString(e.url)},"status":${e.status},"ms":${hundredths(e.ms)}${ip},"msg":"request"}\n`,
    );
  };
}

/**
 * `s` as JSON writes it. Printable ASCII other than `"` and `\` needs no escape and is written
 * as it is, as pino does for short strings; anything else goes to JSON.stringify. Each call of
 * JSON.stringify is a call into V8's runtime: about 1,000 instructions for a short string,
 * against a few per character for this loop (bench/instructions.mjs counted both).
 */
function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/**
 * `ms` (already rounded to hundredths) as JavaScript writes the number, from its whole
 * hundredths: `12.05`, `0.5`, `3`. The same digits as String(ms), without V8's
 * double-to-string conversion; any other number goes through String.
 */
function hundredths(ms: number): string {
  const n = Math.round(ms * 100);
  if (!(n >= 0 && n < 1e12) || n / 100 !== ms) return String(ms);
  const cents = n % 100;
  const whole = (n - cents) / 100;
  if (cents === 0) return `${whole}`;
  return `${whole}.${cents < 10 ? `0${cents}` : cents % 10 === 0 ? cents / 10 : cents}`;
}

/**
 * Whether pino would write for `logger` the line accessLogWriter does: nothing configured that
 * changes a line between pino's serialiser and its destination (a mixin, hooks, a message
 * prefix, another time format), and its serialiser's line for a sample entry the same as ours.
 * A logger configured otherwise (formatters, a message key, ...) keeps pino's own serialiser.
 */
function sameAsPino(logger: AccessLogger, bindings: string): boolean {
  const own = logger as unknown as Record<symbol, unknown>;
  const hooks = own[pino.symbols.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  if (
    own[pino.symbols.mixinSym] !== undefined ||
    hooks?.logMethod !== undefined ||
    hooks?.streamWrite !== undefined ||
    // Not in pino's types; a pino without it has no message prefix.
    own[(pino.symbols as unknown as Record<string, symbol>).msgPrefixSym ?? Symbol()] !== undefined ||
    own[pino.symbols.timeSym] !== pino.stdTimeFunctions.epochTime
  ) {
    return false;
  }
  const asJson = own[pino.symbols.asJsonSym] as
    ((obj: object, msg: string, num: number, time: string) => string) | undefined;
  if (typeof asJson !== 'function') return false;
  const sample: AccessEntry = {
    reqId: 'a"1',
    method: 'GET',
    url: '/x?\u00e9=\n',
    status: 200,
    ms: 1.25,
    ip: '::1',
  };
  const theirs = asJson.call(logger, { ...sample }, 'request', 30, ',"time":0');
  const ours = `{"level":30,"time":0${bindings},"reqId":"a\\"1","method":"GET","url":"/x?\u00e9=\\n","status":200,"ms":1.25,"ip":"::1","msg":"request"}\n`;
  return theirs === ours;
}
