/**
 * Turning command-line options into secret fields: the value from a file, stdin, a hidden
 * prompt or (discouraged) an argument; comma lists; expiry as a timestamp, a date or a
 * duration. Errors here are usage errors (exit 2) and never quote a value.
 */
import { readFileSync, statSync } from 'node:fs';
import { CliError, info } from './output.js';
import { askHidden, readStdin, stdinIsTerminal } from './prompt.js';

/** Far more than the server accepts (64 KiB); only there to not read an endless pipe. */
const MAX_READ_BYTES = 1024 * 1024;

export interface ValueOptions {
  value?: string;
  valueFile?: string;
  valueStdin?: boolean;
  keepNewline?: boolean;
}

export const VALUE_HELP = {
  value: 'the value as an argument (discouraged: it ends up in your shell history and process list)',
  valueFile: "read the value from a file ('-' for stdin)",
  valueStdin: 'read the value from stdin (a hidden prompt when stdin is a terminal)',
  keepNewline: 'keep the trailing newline of a value read from a file or stdin',
};

export const VALUE_SOURCES_TEXT = `
A value read from a file or stdin loses exactly one trailing "\\n" (the one \`echo\` adds),
unless --keep-newline is given. Everything else is kept byte for byte; it must be UTF-8 text.
The hidden prompt reads a single line: use --value-file for values with line breaks.`;

function decode(bytes: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CliError(`${what} is not UTF-8 text; encode binary values first (e.g. base64)`, 2);
  }
}

function stripOneNewline(text: string, keep: boolean | undefined): string {
  return keep !== true && text.endsWith('\n') ? text.slice(0, -1) : text;
}

async function fromStdin(key: string, keep: boolean | undefined): Promise<string> {
  if (stdinIsTerminal()) return askHidden(`Value for '${key}' (input hidden): `);
  return stripOneNewline(decode(await readStdin(MAX_READ_BYTES, 'value'), 'the value on stdin'), keep);
}

function fromFile(path: string, keep: boolean | undefined): string {
  let bytes: Buffer;
  try {
    if (statSync(path).size > MAX_READ_BYTES) {
      throw new CliError(`--value-file: '${path}' is larger than ${MAX_READ_BYTES} bytes`, 2);
    }
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new CliError(`--value-file: cannot read '${path}' (${why ?? 'unknown error'})`, 2);
  }
  return stripOneNewline(decode(bytes, `--value-file '${path}'`), keep);
}

/**
 * The value the options ask for. `implicit`: with no value option, read stdin, or prompt
 * when it is a terminal (create); otherwise no value option means "no value" (update).
 */
export async function readValue(
  key: string,
  options: ValueOptions,
  implicit: boolean,
): Promise<string | undefined> {
  let value: string;
  if (options.value !== undefined) {
    info(
      'warning: a value given with --value ends up in your shell history and in the process list; ' +
        'prefer --value-file, --value-stdin or the prompt',
    );
    value = options.value;
  } else if (options.valueFile !== undefined) {
    value =
      options.valueFile === '-'
        ? await fromStdin(key, options.keepNewline)
        : fromFile(options.valueFile, options.keepNewline);
  } else if (options.valueStdin === true || implicit) {
    value = await fromStdin(key, options.keepNewline);
  } else {
    return undefined;
  }
  if (value === '') throw new CliError('the value is empty; a secret needs a value', 2);
  return value;
}

/** "a, b,c" -> ["a", "b", "c"]; "" -> [] (which means: all apps / all environments). */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "90d" -> seconds. Units: s, m, h, d, w. */
export function parseDuration(text: string, option: string): number {
  const match = /^\s*(\d{1,9})\s*([smhdw])\s*$/.exec(text);
  const amount = match ? Number(match[1]) : NaN;
  const unit = match?.[2];
  if (unit === undefined || !(amount > 0)) {
    throw new CliError(`${option}: '${text}' is not a duration like 30m, 12h, 90d or 2w`, 2);
  }
  return amount * (UNIT_SECONDS[unit] ?? 0);
}

/** The longest `--expiring` the server takes: 3650 days. */
export const MAX_EXPIRING_SECONDS = 3650 * 86_400;

/** `secrets list --expiring 7d` -> seconds, at most 3650 days. */
export function parseExpiring(text: string): number {
  const seconds = parseDuration(text, '--expiring');
  if (seconds > MAX_EXPIRING_SECONDS) {
    throw new CliError(`--expiring: '${text}' is longer than 3650 days`, 2);
  }
  return seconds;
}

/** Unix seconds, or an ISO 8601 date/time ("2026-01-31", "2026-01-31T12:00:00Z"). */
export function parseTimestamp(text: string, option: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  throw new CliError(
    `${option}: '${text}' is neither unix seconds nor an ISO date like 2026-01-31 or 2026-01-31T12:00:00Z`,
    2,
  );
}

export interface ExpiryOptions {
  expiresAt?: string;
  expiresIn?: string;
  /** Commander's negatable `--no-expiry`: false when given. */
  expiry?: boolean;
}

/** undefined: not given; null: no expiry; a number: unix seconds. */
export function readExpiry(options: ExpiryOptions, nowMs = Date.now()): number | null | undefined {
  let at: number | undefined;
  if (options.expiry === false) return null;
  if (options.expiresAt !== undefined) at = parseTimestamp(options.expiresAt, '--expires-at');
  else if (options.expiresIn !== undefined) {
    at = Math.floor(nowMs / 1000) + parseDuration(options.expiresIn, '--expires-in');
  }
  if (at !== undefined && at * 1000 <= nowMs) {
    info(
      `warning: the expiry ${new Date(at * 1000).toISOString()} is in the past; the secret is expired at once`,
    );
  }
  return at;
}
