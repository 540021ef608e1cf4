/**
 * From secret keys to environment variable names, for `run` and `secrets export`. Secret keys
 * may hold `.` and `-` and start with a digit; variable names (POSIX) may not. Such keys are
 * skipped with a warning, or renamed with --name-transform. A value holding a NUL character
 * cannot travel in an environment variable (nor in a shell or dotenv file): skipped too.
 */
import { CliError } from './output.js';

export const NAME_TRANSFORMS = ['underscore', 'upper'] as const;
export type NameTransform = (typeof NAME_TRANSFORMS)[number];

export const NAME_TRANSFORM_HELP =
  'rename keys that are not variable names: "underscore" turns every other character into _ ' +
  '(and puts _ before a leading digit); "upper" does that and upper-cases every name';

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isVariableName(name: string): boolean {
  return VARIABLE_NAME.test(name);
}

/** "db.password" -> "db_password" (underscore) or "DB_PASSWORD" (upper); "1st" -> "_1st". */
export function transformName(key: string, transform: NameTransform): string {
  let name = key.replace(/[^A-Za-z0-9_]/g, '_');
  if (/^[0-9]/.test(name)) name = `_${name}`;
  return transform === 'upper' ? name.toUpperCase() : name;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface NamedValue extends KeyValue {
  /** The variable name: the key itself, or its transform. */
  name: string;
}

export interface NamingOptions {
  transform: NameTransform | undefined;
  /** Keep keys that are not variable names as they are (JSON output). */
  keepInvalid?: boolean;
  /** Keep values that hold a NUL character (JSON output). */
  keepNul?: boolean;
  warn: (message: string) => void;
}

/**
 * Names each secret, in order. Skipped ones are reported through `warn`; two keys that end up
 * with the same name are a usage error (exit 2) that names both, since either choice would
 * silently hide a secret.
 */
export function nameVariables(secrets: readonly KeyValue[], options: NamingOptions): NamedValue[] {
  const named: NamedValue[] = [];
  const byName = new Map<string, string>();
  for (const { key, value } of secrets) {
    const name = options.transform === undefined ? key : transformName(key, options.transform);
    if (!isVariableName(name) && options.keepInvalid !== true) {
      options.warn(`skipped ${key}: not a valid environment variable name (use --name-transform)`);
      continue;
    }
    if (value.includes('\u0000') && options.keepNul !== true) {
      options.warn(`skipped ${key}: its value holds a NUL character, which an environment variable cannot`);
      continue;
    }
    const earlier = byName.get(name);
    if (earlier !== undefined) {
      throw new CliError(
        `--name-transform ${options.transform ?? ''}: '${earlier}' and '${key}' both become '${name}'; ` +
          `rename one of them or pick them with --only`,
        2,
      );
    }
    byName.set(name, key);
    named.push({ key, value, name });
  }
  return named;
}
