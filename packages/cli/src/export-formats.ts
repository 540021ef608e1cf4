/**
 * The three shapes of `ductape secrets export`. Each round-trips every value it writes exactly:
 *   dotenv  KEY='...' or KEY="..." (see dotenv.ts for the dialect and the values it refuses)
 *   json    {"KEY": "..."}, pretty printed
 *   shell   export KEY='...', single-quoted, a ' written as '\'' and line breaks kept as they
 *           are: POSIX sh reads it back byte for byte with `. file` (no expansion happens
 *           inside single quotes)
 */
import { quoteDotenv } from './dotenv.js';
import type { NamedValue } from './env-names.js';
import { CliError } from './output.js';

export const EXPORT_FORMATS = ['dotenv', 'json', 'shell'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function quoteShell(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function formatSecrets(format: ExportFormat, secrets: readonly NamedValue[]): string {
  switch (format) {
    case 'dotenv':
      return dotenvLines(secrets);
    case 'shell':
      return secrets.map((s) => `export ${s.name}=${quoteShell(s.value)}\n`).join('');
    case 'json':
      // fromEntries defines own properties, so even a key named __proto__ is kept as data.
      return JSON.stringify(Object.fromEntries(secrets.map((s) => [s.name, s.value])), null, 2) + '\n';
  }
}

function dotenvLines(secrets: readonly NamedValue[]): string {
  const lines: string[] = [];
  const refused: string[] = [];
  for (const s of secrets) {
    const quoted = quoteDotenv(s.value);
    if (quoted === undefined) refused.push(s.key);
    else lines.push(`${s.name}=${quoted}\n`);
  }
  if (refused.length > 0) {
    throw new CliError(
      `the value of ${refused.join(', ')} cannot be written as dotenv both exactly and safely ` +
        `(it holds a ' or a carriage return together with ", \`, \\ or $( ): nothing was written; ` +
        'use --format json or --format shell',
      2,
    );
  }
  return lines.join('');
}
