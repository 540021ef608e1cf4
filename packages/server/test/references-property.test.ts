/**
 * Property tests of references.ts with fast-check: random JSON whose strings are built from
 * plain text and references with known keys, checked against a reference implementation
 * that knows, by construction, where every reference is and what the output must be.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanReferences, substitute, type Reference } from '../src/services/secrets/references.js';

/** A piece of a generated string: plain text, or a reference to one of KEYS. */
type Piece = { text: string } | { key: string; syntax: 'Secret' | 'Token' };
/** A generated JSON value whose strings are still in pieces. */
type Template =
  | { kind: 'string'; pieces: Piece[] }
  | { kind: 'scalar'; value: number | boolean | null }
  | { kind: 'array'; items: Template[] }
  | { kind: 'object'; entries: [string, Template][] };

const KEYS = ['A', 'STRIPE_API_KEY', 'db.url', 'x-1', '...', 'K'.repeat(128)];
const VALUES = new Map<string, string>([
  ['A', 'alpha'],
  ['STRIPE_API_KEY', 'sk_live_$Secret{A}'],
  ['db.url', "postgres://u:p@h/d?x=$&$1$'"],
  ['x-1', ''],
  ['...', '🔑 "quoted" \\ \n'],
  ['K'.repeat(128), '$Token{x-1}'],
]);

// Plain text never holds '{', so it can never open a reference by itself; it may hold '$',
// '}', "Secret" and "Token", so it can sit right before or after a reference.
const plain = fc
  .array(
    fc.constantFrom('a', 'Z', ' ', '$', '}', 'Secret', 'Token', '$Secret', '$Token', 'é', '🔑', '\n', '"'),
    {
      maxLength: 6,
    },
  )
  .map((parts) => ({ text: parts.join('') }));
const reference = fc.record({
  key: fc.constantFrom(...KEYS),
  syntax: fc.constantFrom('Secret', 'Token') as fc.Arbitrary<'Secret' | 'Token'>,
});
const propertyName = fc.constantFrom('a', 'b_2', 'odd key', '9', '10', '$Secret{A}', 'é', 'q"uote', '');

const { template } = fc.letrec<{ template: Template }>((tie) => ({
  template: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .array(fc.oneof(plain, reference), { maxLength: 5 })
      .map((pieces): Template => ({ kind: 'string', pieces })),
    fc
      .oneof(
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
      )
      .map((value): Template => ({ kind: 'scalar', value })),
    fc.array(tie('template'), { maxLength: 4 }).map((items): Template => ({ kind: 'array', items })),
    fc
      .uniqueArray(fc.tuple(propertyName, tie('template')), { maxLength: 4, selector: ([k]) => k })
      .map((entries): Template => ({ kind: 'object', entries })),
  ),
}));

const raw = (p: Piece): string => ('text' in p ? p.text : `$${p.syntax}{${p.key}}`);
const resolved = (p: Piece): string => ('text' in p ? p.text : (VALUES.get(p.key) as string));

/** Builds the JSON value from a template, rendering each string with `render`. */
function build(t: Template, render: (p: Piece) => string): unknown {
  switch (t.kind) {
    case 'string':
      return t.pieces.map(render).join('');
    case 'scalar':
      return t.value;
    case 'array':
      return t.items.map((item) => build(item, render));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of t.entries) out[k] = build(v, render);
      return out;
    }
  }
}

const pathTo = (path: string, k: string | number): string =>
  typeof k === 'number'
    ? `${path}[${k}]`
    : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k)
      ? `${path}.${k}`
      : `${path}[${JSON.stringify(k)}]`;

/** Where the references are, known by construction, in the order JavaScript walks objects. */
function expectedReferences(t: Template, path = '$', out: Reference[] = []): Reference[] {
  if (t.kind === 'string') {
    let position = 0;
    for (const p of t.pieces) {
      if (!('text' in p)) out.push({ key: p.key, syntax: p.syntax, path, position });
      position += raw(p).length;
    }
  } else if (t.kind === 'array') {
    t.items.forEach((item, i) => expectedReferences(item, pathTo(path, i), out));
  } else if (t.kind === 'object') {
    // Same key order as the built object (integer-like keys first), hence Object.keys.
    const byKey = new Map(t.entries);
    const order = Object.keys(Object.fromEntries(t.entries));
    for (const k of order) expectedReferences(byKey.get(k) as Template, pathTo(path, k), out);
  }
  return out;
}

/** Every offset where `$Secret{` or `$Token{` starts, computed naively. */
function openerOffsets(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('$Secret{', i) || text.startsWith('$Token{', i)) out.push(i);
  }
  return out;
}

/** Every string in a JSON value, with no `$`. */
const noDollar = fc.jsonValue({ maxDepth: 6 }).map(function strip(v: unknown): unknown {
  if (typeof v === 'string') return v.replaceAll('$', '');
  if (Array.isArray(v)) return v.map(strip);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, {
        value: strip(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return v;
});

describe('references: properties', () => {
  it('finds exactly the generated references, at their paths and offsets', () => {
    fc.assert(
      fc.property(template, (t) => {
        const scan = scanReferences(build(t, raw));
        assert.deepEqual(scan.malformed, []);
        assert.deepEqual(scan.references, expectedReferences(t));
      }),
      { numRuns: 500 },
    );
  });

  it('substitute(scan) equals the reference implementation, in one pass', () => {
    fc.assert(
      fc.property(template, (t) => {
        const input = build(t, raw);
        const before = JSON.stringify(input);
        const keys = scanReferences(input).references.map((r) => r.key);
        const values = new Map(keys.map((k) => [k, VALUES.get(k) as string]));
        assert.deepStrictEqual(substitute(input, values), build(t, resolved));
        assert.equal(JSON.stringify(input), before, 'the input is left unchanged');
      }),
      { numRuns: 500 },
    );
  });

  it('inputs without `$` come back deep-equal, with nothing found', () => {
    fc.assert(
      fc.property(noDollar, (input) => {
        assert.deepEqual(scanReferences(input), { references: [], malformed: [] });
        assert.deepStrictEqual(substitute(input, new Map()), input);
      }),
      { numRuns: 300 },
    );
  });

  it('in any string, every `$Secret{` / `$Token{` is either a reference or malformed, never skipped', () => {
    const piece = fc.constantFrom(
      '$Secret{',
      '$Token{',
      '}',
      '{',
      'A',
      '.',
      '..',
      ' ',
      '$',
      'K'.repeat(64),
      'é',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
        (text) => {
          const scan = scanReferences(text);
          const found = [...scan.references, ...scan.malformed].map((r) => r.position).sort((a, b) => a - b);
          assert.deepEqual(found, openerOffsets(text));
          if (scan.malformed.length === 0) {
            const values = new Map(scan.references.map((r) => [r.key, `<${r.key}>`]));
            const expected = scan.references.reduceRight(
              (s, r) =>
                s.slice(0, r.position) +
                `<${r.key}>` +
                s.slice(r.position + r.syntax.length + r.key.length + 3),
              text,
            );
            assert.equal(substitute(text, values), expected);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
