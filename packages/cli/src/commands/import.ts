/**
 * `ductape secrets import FILE`: bulk create (or, with --overwrite, update) from a .env or
 * JSON file. The whole file is parsed first (import-file.ts): a malformed one sends nothing.
 * Then it goes in requests of at most 500 secrets (the server's limit) and 448 KiB (under its
 * body limit), with a progress bar on a terminal, and a report line per secret.
 */
import { Option, type Command } from 'commander';
import { TOKEN_TYPES, type ImportResult, type TokenType } from '@ductape/sdk';
import { connectFor } from '../connect.js';
import {
  formatOf,
  IMPORT_FORMATS,
  parseImportFile,
  readImportText,
  type ImportDefaults,
  type ImportEntry,
  type ImportFormat,
} from '../import-file.js';
import { CliError, printJson } from '../output.js';
import { progressBar } from '../progress.js';
import { parseList } from '../secret-input.js';
import { printable } from './secrets-view.js';

export const CHUNK_ITEMS = 500;
export const CHUNK_BYTES = 448 * 1024;

interface ImportOptions {
  format?: ImportFormat;
  scope?: string;
  envs?: string;
  tokenType?: TokenType;
  overwrite?: boolean;
  json?: boolean;
}

interface LineResult extends ImportResult {
  line: number;
}

/**
 * Splits entries into requests by count and size. An entry too large for any request is
 * refused here: the server could only answer the whole request with "too large".
 */
export function chunkEntries(
  entries: readonly ImportEntry[],
  maxItems = CHUNK_ITEMS,
  maxBytes = CHUNK_BYTES,
): { chunks: ImportEntry[][]; tooLarge: ImportEntry[] } {
  const chunks: ImportEntry[][] = [];
  const tooLarge: ImportEntry[] = [];
  let current: ImportEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(JSON.stringify(entry.input), 'utf8') + 1;
    if (size > maxBytes) {
      tooLarge.push(entry);
      continue;
    }
    if (current.length === maxItems || bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return { chunks, tooLarge };
}

function reportLine(r: LineResult): string {
  const key = printable(r.key);
  if (r.status !== 'refused') return `${r.status} ${key} (line ${r.line})`;
  const reason =
    r.code === 'SECRET_EXISTS'
      ? `${(r.message ?? '').replace(/; use overwrite to update it$/, '')}; use --overwrite to update it`
      : (r.message ?? r.code ?? 'refused');
  return `refused ${key} (line ${r.line}): ${printable(reason)}`;
}

function summary(results: readonly LineResult[]): Record<'created' | 'updated' | 'refused', number> {
  const count = (status: ImportResult['status']): number => results.filter((r) => r.status === status).length;
  return { created: count('created'), updated: count('updated'), refused: count('refused') };
}

function printReport(unsorted: readonly LineResult[], source: string, json: boolean): void {
  const results = [...unsorted].sort((a, b) => a.line - b.line);
  const totals = summary(results);
  if (json) {
    printJson({ results, ...totals });
    return;
  }
  const lines = results.map(reportLine);
  lines.push(
    `Imported ${source}: ${totals.created} created, ${totals.updated} updated, ${totals.refused} refused.`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}

function defaultsOf(options: ImportOptions): ImportDefaults {
  const defaults: ImportDefaults = {};
  if (options.scope !== undefined) defaults.scope = parseList(options.scope);
  if (options.envs !== undefined) defaults.envs = parseList(options.envs);
  if (options.tokenType !== undefined) defaults.token_type = options.tokenType;
  return defaults;
}

async function importFile(file: string, options: ImportOptions, command: Command): Promise<void> {
  const { client } = connectFor(command);
  const source = file === '-' ? 'stdin' : file;
  const text = await readImportText(file);
  const entries = parseImportFile(file, text, formatOf(file, options.format), defaultsOf(options));
  if (entries.length === 0) {
    process.stdout.write(`Nothing to import: ${source} holds no secrets.\n`);
    return;
  }

  const { chunks, tooLarge } = chunkEntries(entries);
  const results: LineResult[] = tooLarge.map((e) => ({
    key: e.input.key,
    line: e.line,
    status: 'refused',
    code: 'PAYLOAD_TOO_LARGE',
    message: `too large to send (over ${CHUNK_BYTES / 1024} KiB as JSON; a value may be at most 64 KiB)`,
  }));
  const progress = chunks.length > 1 ? progressBar(entries.length, 'secrets') : undefined;
  for (const chunk of chunks) {
    let answer;
    try {
      answer = await client.secrets.import({
        secrets: chunk.map((e) => e.input),
        overwrite: options.overwrite === true,
      });
    } catch (error) {
      progress?.finish();
      if (results.length > 0) printReport(results, source, options.json === true);
      const done =
        results.length === 0
          ? 'nothing was imported'
          : `the ${results.length} secrets reported above were handled, the other ${entries.length - results.length} were not`;
      throw new CliError(
        `import stopped at line ${chunk[0]?.line ?? 0}: ${(error as Error).message}; ${done}`,
        1,
      );
    }
    answer.results.forEach((result, i) => results.push({ ...result, line: chunk[i]?.line ?? 0 }));
    progress?.update(results.length);
  }
  progress?.finish();
  printReport(results, source, options.json === true);
  const refused = summary(results).refused;
  if (refused > 0) {
    throw new CliError(`${refused} of ${entries.length} secrets were refused (see above)`, 1);
  }
}

export function registerImportCommand(secrets: Command): void {
  secrets
    .command('import')
    .description('Create many secrets at once from a .env or JSON file; nothing is sent if it is malformed')
    .argument('<file>', "a .env file, a .json file, or '-' for stdin")
    .addOption(
      new Option('--format <format>', 'the file format (default: json for *.json, else dotenv)').choices(
        IMPORT_FORMATS,
      ),
    )
    .option('--scope <apps>', 'comma-separated app tags that may use every imported secret')
    .option('--envs <slugs>', 'comma-separated environments every imported secret is available in')
    .addOption(new Option('--token-type <type>', 'what kind of credential they are').choices(TOKEN_TYPES))
    .option('--overwrite', 'update the secrets that already exist instead of refusing them')
    .option('--json', 'print {results: [{key, line, status, code?, message?}], created, updated, refused}')
    .addHelpText(
      'after',
      `
Formats:
  dotenv  KEY=value lines: what 'ductape secrets export' writes (KEY="..." with \\\\ \\" \\$ \\n \\r
          escapes), plus 'export KEY=value', # comments, blank lines, 'single-quoted'
          literals, double-quoted values spanning lines, unquoted values with ' # comment'.
  json    {"KEY": "value", ...}, or [{"key": ..., "value": ..., "scope": [...], ...}, ...]
          whose items may set description, token_type, scope, envs and expires_at
          (they win over --scope, --envs and --token-type).

The whole file is checked first: any malformed line (or a key given twice) is reported with
its line number and nothing is imported (exit 2). Otherwise each secret gets a line: created,
updated (with --overwrite) or refused and why; the exit code is 1 when any was refused.

Examples:
  ductape secrets import .env --envs dev
  ductape secrets import secrets.json --overwrite
  ductape secrets export --app web --env dev | ductape secrets import - --envs stg`,
    )
    .action(importFile);
}
