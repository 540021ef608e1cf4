/**
 * The three shapes of `ductape secrets export`. Each round-trips every value exactly:
 *   dotenv  KEY="..." (see dotenv.ts for the dialect)
 *   json    {"KEY": "..."}, pretty printed
 *   shell   export KEY='...', single-quoted, a ' written as '\'' and line breaks kept as they
 *           are: POSIX sh reads it back byte for byte with `. file` (no expansion happens
 *           inside single quotes)
 */
import { quoteDotenv } from './dotenv.js';
import type { NamedValue } from './env-names.js';

export const EXPORT_FORMATS = ['dotenv', 'json', 'shell'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function quoteShell(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function formatSecrets(format: ExportFormat, secrets: readonly NamedValue[]): string {
  switch (format) {
    case 'dotenv':
      return secrets.map((s) => `${s.name}=${quoteDotenv(s.value)}\n`).join('');
    case 'shell':
      return secrets.map((s) => `export ${s.name}=${quoteShell(s.value)}\n`).join('');
    case 'json':
      // fromEntries defines own properties, so even a key named __proto__ is kept as data.
      return JSON.stringify(Object.fromEntries(secrets.map((s) => [s.name, s.value])), null, 2) + '\n';
  }
}
