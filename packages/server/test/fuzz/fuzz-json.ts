/**
 * Generated JSON for the fuzz suites. Values are kept as a tree of our own (objects as lists
 * of entries) so that a body can hold what a JavaScript object cannot: a `__proto__` key, the
 * same key twice, a number like 1e400, nesting 100,000 levels deep.
 */
import fc from 'fast-check';

export class JsonObject {
  constructor(readonly entries: readonly (readonly [string, Json])[]) {}
}

/** JSON text inserted as is (special numbers, very deep or very long values). */
export class RawJson {
  constructor(
    readonly text: string,
    readonly type: JsonType,
  ) {}
}

export type Json = null | boolean | number | string | Json[] | JsonObject | RawJson;
export type JsonType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

export function jsonType(value: Json): JsonType {
  if (value === null) return 'null';
  if (value instanceof RawJson) return value.type;
  if (value instanceof JsonObject) return 'object';
  if (Array.isArray(value)) return 'array';
  return typeof value as 'boolean' | 'number' | 'string';
}

export function toJsonText(value: Json): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof JsonObject) {
    return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  return JSON.stringify(value);
}

/** Strings that have broken parsers, queries and templates elsewhere. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\t\n\r',
  '\u0000',
  '%00',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e400',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  "' OR '1'='1",
  "'; DROP TABLE secrets; --",
  '" OR ""="',
  '1 UNION SELECT key_hash FROM users',
  '$Secret{',
  '$Secret{}',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\ud800',
  '\udfff\ud800',
  'é',
  '🔑',
  '\u202e',
  'A'.repeat(300),
];

/** Keys for generated objects: the nasty ones, and plain short strings. */
const nastyKey = fc.oneof(
  fc.constantFrom('constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '$where', '$gt', ''),
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ maxLength: 12 }),
);

/** Control and special characters, one of them put anywhere in a short string. */
const CONTROL = ['\u0000', '\u0001', '\u001f', '\u007f', '\u0085', '\u2028', '\ufeff', '\uffff'];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.constantFrom(...CONTROL), fc.nat())
    .map(([s, c, at]) => s.slice(0, at % (s.length + 1)) + c + s.slice(at % (s.length + 1))),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  // Lone surrogates: not valid Unicode, though JSON can carry them.
  fc
    .array(fc.integer({ min: 0xd800, max: 0xdfff }), { minLength: 1, maxLength: 3 })
    .map((units) => String.fromCharCode(...units)),
);

const specialNumber = fc
  .constantFrom('1e400', '-1e400', '-0', '1E2', '0.0000001', '123456789012345678901234567890', '1.0', '-0.0')
  .map((text) => new RawJson(text, 'number'));

const leaf: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  specialNumber,
  nastyString,
);

/** Any JSON value, small, with nasty keys and strings. */
export const anyJson: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(nastyKey, tie('value')), { maxLength: 5 }).map((entries) => new JsonObject(entries)),
  ),
})).value;

/** Strings longer than any string field accepts; the longest make bodies over the 512 KiB limit. */
export const hugeString: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom('a', 'é', '🔑', '\u0001', '"'), fc.integer({ min: 70_000, max: 600_000 }))
  .map(([unit, count]) => unit.repeat(count));

/** Arrays of more entries than any list field accepts (scope, envs: 100; import: 500). */
export const hugeArray: fc.Arbitrary<Json> = fc
  .integer({ min: 101, max: 20_000 })
  .map((count) => new RawJson(`[${new Array<string>(count).fill('"a"').join(',')}]`, 'array'));

/** Nesting deeper than anything accepts (resolve's input: 64 levels). */
export const deepJson: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom('array', 'object'), fc.integer({ min: 65, max: 80_000 }))
  .map(([kind, depth]) =>
    kind === 'array'
      ? new RawJson('['.repeat(depth) + ']'.repeat(depth), 'array')
      : new RawJson('{"a":'.repeat(depth) + 'null' + '}'.repeat(depth), 'object'),
  );

/**
 * Percent-encodes a string for a URL path or query, byte by byte of its UTF-8 (a lone
 * surrogate becomes U+FFFD: a URL cannot carry one). Unlike encodeURIComponent, never throws.
 */
export function pct(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
