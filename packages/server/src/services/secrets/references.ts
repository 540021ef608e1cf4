/**
 * `$Secret{KEY}` references (and the legacy `$Token{KEY}`) inside any JSON value: finding
 * them, and putting values in their place. Pure: no I/O, no secrets.
 *
 * Only string values are scanned, at any depth; object property names and everything that
 * is not a string are left as they are. A `$Secret{` or `$Token{` that does not close on a
 * valid key is malformed, reported with where it is: the JSON path of the string and the
 * character offset inside it.
 */

export type ReferenceSyntax = 'Secret' | 'Token';

export interface Reference {
  key: string;
  syntax: ReferenceSyntax;
  /** JSON path of the string holding it: `$`, `$.headers.Authorization`, `$.items[2]`. */
  path: string;
  /** Offset of the `$` in that string (0-based, in UTF-16 code units like JS strings). */
  position: number;
}

export interface MalformedReference {
  path: string;
  position: number;
  message: string;
}

export interface Scan {
  references: Reference[];
  malformed: MalformedReference[];
}

export const LIMITS = {
  depth: 64,
  references: 1000,
  /** Characters the resolved values may add to one answer (8 Mi). */
  outputChars: 8 * 1024 * 1024,
  /** Malformed references listed by validate (all are counted). */
  malformedReported: 100,
} as const;

const OPENERS: [string, ReferenceSyntax][] = [
  ['$Secret{', 'Secret'],
  ['$Token{', 'Token'],
];
const KEY_CHAR = /[A-Za-z0-9_.-]/;
const MAX_KEY = 128;

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

export class ReferenceDepthError extends Error {
  constructor(readonly path: string) {
    super(`input is nested deeper than ${LIMITS.depth} levels at ${path}`);
  }
}

/** Finds every reference (and every malformed one) in one string. */
export function scanString(text: string, path: string, into: Scan): void {
  let from = 0;
  for (;;) {
    const at = text.indexOf('$', from);
    if (at < 0) return;
    const opener = OPENERS.find(([o]) => text.startsWith(o, at));
    if (!opener) {
      from = at + 1;
      continue;
    }
    const [open, syntax] = opener;
    let end = at + open.length;
    while (end < text.length && KEY_CHAR.test(text[end] as string)) end++;
    const key = text.slice(at + open.length, end);
    const closed = text[end] === '}';
    if (closed && key.length > 0 && key.length <= MAX_KEY && key !== '.' && key !== '..') {
      into.references.push({ key, syntax, path, position: at });
      from = end + 1;
      continue;
    }
    let message: string;
    if (closed && key.length === 0) message = `empty reference '${open}}'`;
    else if (closed) message = `reference key longer than ${MAX_KEY} characters or not a valid key`;
    else if (end >= text.length) message = `'${open}' is not closed with '}'`;
    else
      message = `'${open}' holds a character not allowed in a key (${JSON.stringify(text[end])}); keys are A-Z a-z 0-9 _ - .`;
    into.malformed.push({ path, position: at, message });
    from = at + open.length;
  }
}

/** Finds every reference in a JSON value, walking objects and arrays deeply. */
export function scanReferences(input: unknown): Scan {
  const scan: Scan = { references: [], malformed: [] };
  const walk = (value: unknown, path: string, depth: number): void => {
    if (depth > LIMITS.depth) throw new ReferenceDepthError(path);
    if (typeof value === 'string') scanString(value, path, scan);
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, childPath(path, i), depth + 1));
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, childPath(path, k), depth + 1);
    }
  };
  walk(input, '$', 0);
  return scan;
}

const PATTERN = /\$(Secret|Token)\{([A-Za-z0-9_.-]{1,128})\}/g;

/**
 * Returns a copy of `input` with every reference replaced by `values.get(key)`. Call only
 * after `scanReferences` found no malformed reference and every key has a value.
 */
export function substitute(input: unknown, values: ReadonlyMap<string, string>): unknown {
  if (typeof input === 'string') {
    return input.includes('$')
      ? input.replace(PATTERN, (_m, _s, key: string) => values.get(key) as string)
      : input;
  }
  if (Array.isArray(input)) return input.map((v) => substitute(v, values));
  if (input !== null && typeof input === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) {
      // defineProperty: a "__proto__" key stays a plain property, never a prototype.
      Object.defineProperty(out, k, {
        value: substitute(v, values),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return input;
}
