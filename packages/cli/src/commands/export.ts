/**
 * `ductape secrets export`: the values an app may use in an environment, as a .env file, a
 * JSON object or shell `export` lines (export-formats.ts), on stdout or in a 0600 file.
 */
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { connectFor } from '../connect.js';
import { NAME_TRANSFORM_HELP, NAME_TRANSFORMS, nameVariables, type NameTransform } from '../env-names.js';
import { EXPORT_FORMATS, formatSecrets, type ExportFormat } from '../export-formats.js';
import { addScopeOptions, exportScope, fetchExport, type ScopeOptions } from '../export-scope.js';
import { ALLOW_NAME_HELP, collectName, refuseCodeLoading } from '../loader-variables.js';
import { CliError, info } from '../output.js';

interface ExportOptions extends ScopeOptions {
  format: ExportFormat;
  output?: string;
  nameTransform?: NameTransform;
  allowName?: string[];
}

/** Writes with mode 0600 from the first byte, and tightens a file that already existed. */
function writePrivateFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'w', 0o600);
  } catch (error) {
    throw new CliError(`--output: cannot write '${path}' (${(error as NodeJS.ErrnoException).code})`, 2);
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

async function exportSecrets(options: ExportOptions, command: Command): Promise<void> {
  const connection = connectFor(command);
  const answer = await fetchExport(connection, exportScope(connection, options));
  const json = options.format === 'json';
  const named = nameVariables(answer.secrets, {
    transform: options.nameTransform,
    keepInvalid: json,
    keepNul: json,
    warn: (message) => info(`warning: ${message}`),
  });
  // Shell lines are meant to be sourced into a shell that then starts programs.
  if (options.format === 'shell') {
    refuseCodeLoading(
      named.map((s) => s.name),
      options.allowName,
    );
  }
  const text = formatSecrets(options.format, named);
  if (options.output === undefined) {
    process.stdout.write(text);
    return;
  }
  writePrivateFile(options.output, text);
  info(`Wrote ${named.length} secret${named.length === 1 ? '' : 's'} to ${options.output} (mode 0600).`);
}

export function registerExportCommand(secrets: Command): void {
  addScopeOptions(
    secrets
      .command('export')
      .description('Print the values an app may use in an environment, as .env, JSON or shell lines'),
  )
    .addOption(
      new Option('--format <format>', 'dotenv, json or shell').choices(EXPORT_FORMATS).default('dotenv'),
    )
    .option('-o, --output <file>', 'write to this file (mode 0600) instead of stdout')
    .addOption(new Option('--name-transform <how>', NAME_TRANSFORM_HELP).choices(NAME_TRANSFORMS))
    .option('--allow-name <name>', `shell format: ${ALLOW_NAME_HELP}`, collectName)
    .addHelpText(
      'after',
      `
Formats (each gives back every value it writes exactly):
  dotenv  KEY='value', or KEY="value" for values holding a ' (line breaks as \\n): read
          exactly by 'ductape secrets import' and the dotenv npm package, and sourcing it
          with sh runs nothing. A value no such line can hold (a ' together with ", \`,
          \\ or $( ...) stops the export, naming its key.
  json    {"KEY": "value"}, pretty printed.
  shell   export KEY='value', for '. file' in sh, bash or zsh; ' is written as '\\''.
          Variables that change how programs load code (LD_PRELOAD, NODE_OPTIONS, PATH...)
          are refused unless named with --allow-name.

Keys that are not environment variable names (a.b, x-y, 1st) are skipped with a warning in
dotenv and shell (or renamed with --name-transform); JSON keeps them. Revoked and expired
secrets are left out with a warning.

Examples:
  ductape secrets export --app web --env dev > .env
  ductape secrets export --app web --env prd --format json -o secrets.json
  eval "$(ductape secrets export --app web --env dev --format shell)"`,
    )
    .action(exportSecrets);
}
