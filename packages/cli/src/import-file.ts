/**
 * Reading an import file whole, before anything is sent: its format (by extension or
 * --format), every entry with its line, and every problem. Any problem is a usage error
 * (exit 2) that lists them all, so a malformed file never imports half of itself.
 */
import { readFileSync, statSync } from 'node:fs';
import type { CreateSecretInput, TokenType } from '@ductape/sdk';
import { parseDotenv, type FileProblem } from './dotenv.js';
import { parseJsonImport } from './import-json.js';
import { CliError } from './output.js';
import { readStdin } from './prompt.js';

export const IMPORT_FORMATS = ['dotenv', 'json'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** Far more than a workspace holds; only there to refuse a runaway file early. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export interface ImportEntry {
  line: number;
  input: CreateSecretInput;
}

/** What --scope, --envs and --token-type set; an array item's own fields win. */
export interface ImportDefaults {
  scope?: string[];
  envs?: string[];
  token_type?: TokenType;
}

export function formatOf(path: string, given: ImportFormat | undefined): ImportFormat {
  if (given !== undefined) return given;
  return path.toLowerCase().endsWith('.json') ? 'json' : 'dotenv';
}

export async function readImportText(path: string): Promise<string> {
  let bytes: Buffer;
  if (path === '-') bytes = await readStdin(MAX_FILE_BYTES, 'import');
  else {
    try {
      if (statSync(path).size > MAX_FILE_BYTES) {
        throw new CliError(`'${path}' is larger than ${MAX_FILE_BYTES} bytes`, 2);
      }
      bytes = readFileSync(path);
    } catch (error) {
      if (error instanceof CliError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
      throw new CliError(`cannot read '${path}' (${why ?? 'unknown error'})`, 2);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CliError(`'${path}' is not UTF-8 text`, 2);
  }
}

function problemsError(path: string, problems: FileProblem[]): CliError {
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  const lines = sorted.map((p) => `  ${path}:${p.line}: ${p.message}`);
  return new CliError(
    `${path} is malformed; nothing was imported:\n${lines.join('\n')}\n` +
      `(${problems.length} problem${problems.length === 1 ? '' : 's'})`,
    2,
  );
}

/** Every entry of the file with the defaults applied, or a usage error listing every problem. */
export function parseImportFile(
  path: string,
  text: string,
  format: ImportFormat,
  defaults: ImportDefaults,
): ImportEntry[] {
  const parsed =
    format === 'json'
      ? parseJsonImport(text)
      : (() => {
          const { entries, problems } = parseDotenv(text);
          return {
            entries: entries.map(({ key, value, line }) => ({ line, fields: { key, value } })),
            problems,
          };
        })();
  if (parsed.problems.length > 0) throw problemsError(path === '-' ? 'stdin' : path, parsed.problems);
  return parsed.entries.map(({ line, fields }) => ({
    line,
    input: { ...defaults, ...fields } as unknown as CreateSecretInput,
  }));
}
