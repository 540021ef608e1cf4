/**
 * Request bodies that must be refused, made from a valid template by mutations that each
 * make it invalid on their own: a field missing, extra, of the wrong type, out of its rules,
 * huge or deeply nested; `__proto__` keys; not an object; broken JSON; bytes that are not
 * UTF-8; a content type that is not JSON. Combining them keeps the body invalid.
 */
import fc from 'fast-check';
import {
  anyJson,
  deepJson,
  hugeArray,
  hugeString,
  jsonType,
  JsonObject,
  toJsonText,
  type Json,
  type JsonType,
} from './fuzz-json.js';

export interface FieldSpec {
  /** The JSON types the field accepts; 'any' for every type (resolve's `input`). */
  types: readonly JsonType[] | 'any';
  /** Values of an accepted type that the rules still refuse. */
  bad?: fc.Arbitrary<Json>;
}

export interface BodySpec {
  fields: Record<string, FieldSpec>;
  /** A valid body (every field of `fields` that it names is valid). */
  valid: readonly (readonly [string, Json])[];
  /** Fields whose absence is refused; '*' when only an empty object is refused. */
  required: readonly string[] | '*';
}

export interface GeneratedBody {
  bytes: Buffer;
  /** null: no content-type header at all. */
  contentType: string | null;
  what: string;
}

type Entries = (readonly [string, Json])[];
type Mutation = (entries: Entries) => Entries;

const setField = (entries: Entries, name: string, value: Json): Entries => [
  ...entries.filter(([k]) => k !== name),
  [name, value],
];

/** A value of none of the given types. */
const wrongTypeFor = (types: readonly JsonType[]): fc.Arbitrary<Json> =>
  fc.oneof(anyJson, deepJson).filter((v) => !types.includes(jsonType(v)));

type Weighted = { arbitrary: fc.Arbitrary<[string, Mutation]>; weight: number };

/** Each mutation with its weight: values that pass the types but break the rules come most. */
function structuralMutations(spec: BodySpec): Weighted[] {
  const names = Object.keys(spec.fields);
  const typed = names.filter((n) => spec.fields[n]?.types !== 'any');
  const withBad = names.filter((n) => spec.fields[n]?.bad !== undefined);
  const generic: fc.Arbitrary<[string, Mutation]>[] = [
    fc
      .tuple(
        fc.oneof(fc.constantFrom('constructor', 'prototype', 'Key', 'KEY', '_id', 'status'), fc.string()),
        anyJson,
      )
      .filter(([name]) => !Object.hasOwn(spec.fields, name) && name !== '__proto__')
      .map(([name, value]) => [`extra field '${name}'`, (e) => [...e, [name, value]]]),
    fc.constant<[string, Mutation]>([
      'constructor.prototype',
      (e) => [...e, ['constructor', new JsonObject([['prototype', new JsonObject([['polluted', true]])]])]],
    ]),
    fc
      .tuple(fc.constantFrom(...names), anyJson)
      .map(([name, value]) => [
        `__proto__ in '${name}'`,
        (e) => setField(e, name, new JsonObject([['__proto__', new JsonObject([['polluted', value]])]])),
      ]),
    anyJson.map((value) => ['top-level __proto__', (e) => [['__proto__', value], ...e]]),
    fc
      .tuple(fc.constantFrom(...names), deepJson)
      .map(([name, v]) => [`deep '${name}'`, (e) => setField(e, name, v)]),
  ];
  const out: Weighted[] = generic.map((arbitrary) => ({ arbitrary, weight: 1 }));
  const push = (weight: number, arbitrary: fc.Arbitrary<[string, Mutation]>): number =>
    out.push({ arbitrary, weight });
  if (spec.required === '*') push(1, fc.constant(['no field at all', () => []]));
  else if (spec.required.length > 0) {
    push(
      1,
      fc
        .constantFrom(...spec.required)
        .map((name) => [`missing '${name}'`, (e) => e.filter(([k]) => k !== name)]),
    );
  }
  if (typed.length > 0) {
    push(
      3,
      fc.constantFrom(...typed).chain((name) => {
        const types = spec.fields[name]?.types as readonly JsonType[];
        return fc.oneof(
          wrongTypeFor(types).map<[string, Mutation]>((v) => [
            `'${name}' as ${jsonType(v)}`,
            (e) => setField(e, name, v),
          ]),
          // The same key twice: JSON.parse keeps the last one, here the wrong one.
          wrongTypeFor(types).map<[string, Mutation]>((v) => [
            `'${name}' twice, the last a ${jsonType(v)}`,
            (e) => [...e, [name, v]],
          ]),
          fc
            .oneof(hugeString, hugeArray)
            .map<[string, Mutation]>((v) => [`huge '${name}'`, (e) => setField(e, name, v)]),
        );
      }),
    );
  }
  if (withBad.length > 0) {
    push(
      6,
      fc
        .constantFrom(...withBad)
        .chain((name) =>
          (spec.fields[name]?.bad as fc.Arbitrary<Json>).map<[string, Mutation]>((v) => [
            `bad '${name}'`,
            (e) => setField(e, name, v),
          ]),
        ),
    );
  }
  return out;
}

/** A body that parses as JSON and breaks at least one rule. */
export function invalidJsonBody(spec: BodySpec): fc.Arbitrary<{ value: Json; what: string }> {
  const mutation = fc.oneof(...structuralMutations(spec));
  // Mostly one mutation, so that a bad value alone reaches the service behind the schema.
  const mutated = fc
    .oneof(
      { arbitrary: fc.tuple(mutation).map((m) => [...m]), weight: 3 },
      { arbitrary: fc.array(mutation, { minLength: 2, maxLength: 3 }), weight: 1 },
    )
    .map((mutations) => ({
      value: new JsonObject(mutations.reduce<Entries>((e, [, m]) => m(e), [...spec.valid])) as Json,
      what: mutations.map(([what]) => what).join(', '),
    }));
  const notObject = fc
    .oneof(anyJson, hugeArray, deepJson)
    .filter((v) => jsonType(v) !== 'object')
    .map((value) => ({ value, what: `a ${jsonType(value)} body` }));
  return fc.oneof({ arbitrary: mutated, weight: 9 }, { arbitrary: notObject, weight: 1 });
}

/** Breaks the JSON text of an object: every result fails JSON.parse. */
const brokenText = fc.oneof(
  fc.nat().map((n) => ['truncated', (t: string) => t.slice(0, n % t.length)] as const),
  fc.constantFrom(
    ['trailing comma', (t: string) => `${t.slice(0, -1)},}`] as const,
    ['leading comma', (t: string) => `{,${t.slice(1)}`] as const,
    ['two objects', (t: string) => t + t] as const,
    ['single quotes', (t: string) => (t.includes('"') ? t.replace('"', "'") : `'${t}`)] as const,
    ['a comment', (t: string) => `${t} // comment`] as const,
    ['NaN', (t: string) => `${t.slice(0, -1)}${t.length > 2 ? ',' : ''}"n":NaN}`] as const,
    ['unquoted key', (t: string) => `{key:1,${t.slice(1)}`] as const,
    ['undefined', () => 'undefined'] as const,
  ),
);

/** Byte sequences that are never valid UTF-8, wherever they are put. */
const BAD_UTF8 = [[0xff], [0xfe], [0xc0, 0xaf], [0xc1, 0xbf], [0xed, 0xa0, 0x80], [0xf5, 0x80, 0x80, 0x80]];

export const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/jsonx',
  'application/json-patch+json',
  'application/vnd.api+json',
  'application/octet-stream',
  'json',
  '*/*',
  'application/*',
  'application',
  'application/json/x',
];

const wrongContentType = fc.oneof(
  fc.constantFrom<string | null>(null, ...WRONG_CONTENT_TYPES),
  fc
    .tuple(fc.stringMatching(/^[a-z]{1,10}$/), fc.stringMatching(/^[a-z+.-]{1,10}$/))
    .map(([type, sub]) => `${type}/${sub}`)
    .filter((t) => t !== 'application/json'),
);

/**
 * Every way a body must be refused: invalid JSON values (as application/json), broken JSON,
 * bad UTF-8 bytes, or a valid body under a content type that is not JSON.
 */
export function invalidBody(spec: BodySpec): fc.Arbitrary<GeneratedBody> {
  const validText = toJsonText(new JsonObject(spec.valid));
  const asJson = ({ value, what }: { value: Json; what: string }): GeneratedBody => ({
    bytes: Buffer.from(toJsonText(value), 'utf8'),
    contentType: 'application/json',
    what,
  });
  const anyText = fc.oneof(
    fc.constant({ text: validText, what: 'valid' }),
    invalidJsonBody(spec).map(({ value, what }) => ({ text: toJsonText(value), what })),
  );
  return fc.oneof(
    { arbitrary: invalidJsonBody(spec).map(asJson), weight: 6 },
    {
      arbitrary: fc
        .tuple(brokenText, fc.constantFrom('application/json', 'application/json; charset=utf-8'))
        .map(([[what, breakIt], contentType]) => ({
          bytes: Buffer.from(breakIt(validText)),
          contentType,
          what,
        })),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(anyText, fc.constantFrom(...BAD_UTF8), fc.nat())
        .map(([{ text, what }, bad, at]) => {
          const bytes = Buffer.from(text, 'utf8');
          const cut = at % (bytes.length + 1);
          return {
            bytes: Buffer.concat([bytes.subarray(0, cut), Buffer.from(bad), bytes.subarray(cut)]),
            contentType: 'application/json',
            what: `${what}, with bytes ${bad.map((b) => b.toString(16)).join(' ')} at ${cut}`,
          };
        }),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(anyText, wrongContentType).map(([{ text, what }, contentType]) => ({
        bytes: Buffer.from(text, 'utf8'),
        contentType,
        what: `${what}, as ${contentType ?? 'no content type'}`,
      })),
      weight: 1,
    },
  );
}

/**
 * What may go to a route that reads no body (revoke, delete...) and must still be refused:
 * only what cannot be parsed. A parsable JSON body would be ignored there, not refused.
 */
export const unparsableBody: fc.Arbitrary<GeneratedBody> = fc.oneof(
  fc.tuple(anyJson, fc.constantFrom('{"x":1}', '[1]', '"s"')).chain(([value, text]) =>
    fc.oneof(
      brokenText.map(([what, breakIt]) => ({
        bytes: Buffer.from(breakIt(text)),
        contentType: 'application/json',
        what,
      })),
      fc.constant({
        bytes: Buffer.from(`{"__proto__":${toJsonText(value)}}`),
        contentType: 'application/json',
        what: '__proto__',
      }),
      fc.constant({ bytes: Buffer.alloc(0), contentType: 'application/json', what: 'empty' }),
      fc.constantFrom(...BAD_UTF8).map((bad) => ({
        bytes: Buffer.concat([Buffer.from(text), Buffer.from(bad)]),
        contentType: 'application/json',
        what: 'bad UTF-8',
      })),
      wrongContentType.map((contentType) => ({
        bytes: Buffer.from(text),
        contentType,
        what: `as ${contentType ?? 'no content type'}`,
      })),
    ),
  ),
);
