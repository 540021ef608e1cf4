/**
 * `ductape resolve` and `ductape validate`: `$Secret{KEY}` references in a text or a JSON
 * document, replaced by their values for an app and environment, or checked without values.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { ReferenceReport, ValidateResponse } from '@ductape/sdk';
import { connect, CREDENTIALS_HELP } from '../connect.js';
import { CliError, printJson } from '../output.js';
import { readStdin } from '../prompt.js';
import { printable } from './secrets-view.js';

/** More than the server takes in one request (512 KiB); only there to not read an endless pipe. */
const MAX_INPUT_BYTES = 1024 * 1024;

type InputFormat = 'text' | 'json';

interface UsageOptions {
  app?: string;
  env?: string;
  url?: string;
  inputFormat?: InputFormat;
}

interface Input {
  /** The document as read. */
  text: string;
  /** What is sent: the text itself, or the JSON value it holds. */
  value: unknown;
  format: InputFormat;
}

async function readSource(source: string): Promise<string> {
  let bytes: Buffer;
  if (source === '-') bytes = await readStdin(MAX_INPUT_BYTES, 'input');
  else {
    try {
      bytes = readFileSync(source);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new CliError(`cannot read '${source}' (${code === 'ENOENT' ? 'no such file' : code})`, 2);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`'${source}' is not UTF-8 text`, 2);
  }
}

function toInput(text: string, format: InputFormat, name: string): Input {
  if (format === 'text') return { text, value: text, format };
  try {
    return { text, value: JSON.parse(text) as unknown, format };
  } catch {
    throw new CliError(`${name} is not valid JSON (use --input-format text to send it as text)`, 2);
  }
}

/** A file or '-' (stdin); JSON when the name ends in .json, unless --input-format says otherwise. */
async function readInput(source: string, given: InputFormat | undefined): Promise<Input> {
  const format = given ?? (source.toLowerCase().endsWith('.json') ? 'json' : 'text');
  return toInput(await readSource(source), format, source === '-' ? 'stdin' : `'${source}'`);
}

const inputFormatOption = (): Option =>
  new Option('--input-format <format>', 'text or json (default: json for *.json files, else text)').choices([
    'text',
    'json',
  ]);

/** "line 3, column 9" within a text, for references in a plain text (path "$"). */
function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}

function where(input: Input, path: string, position: number): string {
  if (input.format === 'text' && path === '$') return lineAndColumn(input.text, position);
  return `${path}, position ${position}`;
}

function referenceLine(input: Input, ref: ReferenceReport): string {
  const shown = `$${ref.syntax}{${ref.key}}`;
  const at = where(input, ref.path, ref.position);
  return ref.resolvable
    ? `ok        ${shown} at ${at}`
    : `refused   ${shown} at ${at}: ${printable(ref.message ?? ref.code ?? 'cannot be resolved')}`;
}

function printValidation(input: Input, report: ValidateResponse): void {
  const lines = report.references.map((ref) => referenceLine(input, ref));
  for (const bad of report.malformed) {
    lines.push(`malformed at ${where(input, bad.path, bad.position)}: ${printable(bad.message)}`);
  }
  const ok = report.references.filter((r) => r.resolvable).length;
  lines.push(
    `${report.references.length} reference${report.references.length === 1 ? '' : 's'}: ${ok} ok, ` +
      `${report.references.length - ok} refused, ${report.malformed.length} malformed.`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}

export function registerUsageCommands(program: Command): void {
  program
    .command('resolve')
    .description('Replace every $Secret{KEY} in a text or a JSON file with its value, and print the result')
    .argument('[text]', "the text (put it in single quotes so the shell leaves $ alone), or '-' for stdin")
    .option('-f, --file <file>', 'read the input from a file instead')
    .option('--app <app>', 'the app tag the secrets are used by')
    .option('--env <env>', 'the environment slug')
    .addOption(inputFormatOption())
    .option('--url <url>', 'the server URL (see below)')
    .addHelpText(
      'after',
      `
A JSON input is resolved at every depth (strings inside objects and arrays) and printed as
JSON. One reference that cannot be resolved fails the whole command with the server's reason.

Examples:
  ductape resolve --app stripe_payments --env prd 'Bearer $Secret{STRIPE_API_KEY}'
  ductape resolve --app web --env dev --file config.json > config.resolved.json
${CREDENTIALS_HELP}`,
    )
    .action(async (text: string | undefined, options: UsageOptions & { file?: string }) => {
      if ((text === undefined) === (options.file === undefined)) {
        throw new CliError("give the text, '-' for stdin, or --file FILE (one of them)", 2);
      }
      const input =
        options.file !== undefined
          ? await readInput(options.file, options.inputFormat)
          : text === '-'
            ? await readInput('-', options.inputFormat)
            : toInput(text as string, options.inputFormat ?? 'text', 'the text');
      const { client } = connect(options.url);
      const output = await client.secrets.resolve(input.value, { app: options.app, env: options.env });
      if (input.format === 'json') printJson(output);
      // Exact for pipes and $(...); a line ending on a terminal so the prompt starts clean.
      else process.stdout.write(process.stdout.isTTY === true ? `${String(output)}\n` : String(output));
    });

  program
    .command('validate')
    .description(
      'Check every $Secret{KEY} in a file: would it resolve for the app and environment, and why not',
    )
    .argument('<file>', "a text or JSON file, or '-' for stdin")
    .option('--app <app>', 'the app tag the secrets are used by')
    .option('--env <env>', 'the environment slug')
    .addOption(inputFormatOption())
    .option('--json', "print the server's report {valid, references, malformed} as JSON")
    .option('--url <url>', 'the server URL (see below)')
    .addHelpText(
      'after',
      `
Prints one line per reference (ok, or refused and why) and per malformed reference; never a
value. Exit code 1 when any reference would not resolve or is malformed.

Example:
  ductape validate --app checkout --env prd config.json
${CREDENTIALS_HELP}`,
    )
    .action(async (file: string, options: UsageOptions & { json?: boolean }) => {
      const input = await readInput(file, options.inputFormat);
      const { client } = connect(options.url);
      const report = await client.secrets.validate(input.value, { app: options.app, env: options.env });
      if (options.json === true) printJson(report);
      else printValidation(input, report);
      if (!report.valid)
        throw new CliError(`${file === '-' ? 'stdin' : file} has references that would not resolve`, 1);
    });
}
