/**
 * `$Secret{KEY}` references, without a server: where scanReferences finds them (JSON path,
 * offset), what it calls malformed, and what substitute changes and leaves alone.
 * Random inputs are in references-property.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LIMITS,
  ReferenceDepthError,
  scanReferences,
  substitute,
  type Reference,
} from '../src/services/secrets/references.js';

const ref = (
  key: string,
  path: string,
  position: number,
  syntax: 'Secret' | 'Token' = 'Secret',
): Reference => ({
  key,
  syntax,
  path,
  position,
});
const refs = (input: unknown): Reference[] => {
  const scan = scanReferences(input);
  assert.deepEqual(scan.malformed, [], 'no malformed reference expected');
  return scan.references;
};
/** The single malformed reference found in `input`. */
const malformed = (input: unknown) => {
  const scan = scanReferences(input);
  assert.equal(scan.malformed.length, 1, JSON.stringify(scan));
  return scan.malformed[0] as { path: string; position: number; message: string };
};
const values = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));

/** `depth` arrays around a string: the string sits at depth `depth`. */
function nested(depth: number): unknown {
  let value: unknown = '$Secret{DEEP}';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('scanReferences: where references are', () => {
  it('reports the offset of each `$` inside its string, for both syntaxes', () => {
    assert.deepEqual(refs('ab $Secret{A} c $Token{B_2}'), [ref('A', '$', 3), ref('B_2', '$', 16, 'Token')]);
    assert.deepEqual(refs('$Secret{ONLY}'), [ref('ONLY', '$', 0)]);
    assert.deepEqual(refs('Bearer $Secret{STRIPE_API_KEY}'), [ref('STRIPE_API_KEY', '$', 7)]);
  });

  it('names the JSON path of the string: $, $.a.b, $.list[2], $["odd key"]', () => {
    const input = {
      a: { b: '$Secret{AB}' },
      list: ['x', 1, 'y $Secret{L2}'],
      'odd key': '$Token{ODD}',
      'quote"d': ['$Secret{Q}'],
      _ok$: '$Secret{IDENT}',
      '9lives': '$Secret{DIGIT}',
    };
    assert.deepEqual(refs(input), [
      ref('AB', '$.a.b', 0),
      ref('L2', '$.list[2]', 2),
      ref('ODD', '$["odd key"]', 0, 'Token'),
      ref('Q', '$["quote\\"d"][0]', 0),
      ref('IDENT', '$._ok$', 0),
      ref('DIGIT', '$["9lives"]', 0),
    ]);
    assert.deepEqual(refs(['$Secret{TOP}']), [ref('TOP', '$[0]', 0)]);
  });

  it('finds several references per string, adjacent ones and repeats, in order', () => {
    assert.deepEqual(refs('$Secret{A}$Secret{B}$Token{A}'), [
      ref('A', '$', 0),
      ref('B', '$', 10),
      ref('A', '$', 20, 'Token'),
    ]);
    assert.deepEqual(refs('$$Secret{A}}'), [ref('A', '$', 1)]);
  });

  it('accepts every key character and the 128-character maximum', () => {
    const long = 'K'.repeat(128);
    assert.deepEqual(refs(`$Secret{a.B-9_z}$Secret{${long}}$Secret{...}`), [
      ref('a.B-9_z', '$', 0),
      ref(long, '$', 16),
      ref('...', '$', 16 + 9 + 128),
    ]);
  });

  it('leaves alone a lone `$`, `$Secret` without a brace, and other dollar text', () => {
    for (const text of [
      '$',
      '$$',
      'costs $5',
      '$Secret',
      '$Secret {A}',
      '$SecretSanta',
      '$secret{a}',
      '${A}',
      '$Token',
    ]) {
      assert.deepEqual(scanReferences(text), { references: [], malformed: [] }, text);
    }
  });

  it('never looks at property names or at values that are not strings', () => {
    const input = { '$Secret{NAME}': 1, n: 42, t: true, f: false, z: null, list: [0, -1.5, null] };
    assert.deepEqual(scanReferences(input), { references: [], malformed: [] });
  });
});

describe('scanReferences: malformed references', () => {
  it('`$Secret{}` and `$Token{}` are empty references', () => {
    assert.deepEqual(malformed('x $Secret{}'), {
      path: '$',
      position: 2,
      message: "empty reference '$Secret{}'",
    });
    assert.match(malformed({ a: ['$Token{}'] }).message, /empty reference '\$Token\{\}'/);
    assert.equal(malformed({ a: ['ok', '$Token{}'] }).path, '$.a[1]');
  });

  it('an unclosed reference at the end names where it starts', () => {
    const bad = malformed('value: $Secret{ABC');
    assert.equal(bad.position, 7);
    assert.match(bad.message, /not closed/);
    assert.equal(malformed('$Token{').position, 0);
  });

  it('a character that cannot be in a key is named', () => {
    const bad = malformed({ h: { auth: 'Bearer $Secret{MY KEY}' } });
    assert.deepEqual([bad.path, bad.position], ['$.h.auth', 7]);
    assert.match(bad.message, /" "/);
    assert.match(malformed('$Secret{A$Secret{B}}').message, /"\$"/);
  });

  it('a 129-character key, and the keys "." and "..", are malformed', () => {
    assert.equal(malformed(`$Secret{${'K'.repeat(129)}}`).position, 0);
    assert.equal(malformed('a $Secret{.}').position, 2);
    assert.equal(malformed('$Token{..}').position, 0);
  });

  it('reports every malformed reference alongside the good ones', () => {
    const scan = scanReferences(['$Secret{GOOD} $Secret{}', { x: '$Token{BAD KEY}' }, '$Secret{UNCLOSED']);
    assert.deepEqual(scan.references, [ref('GOOD', '$[0]', 0)]);
    assert.deepEqual(
      scan.malformed.map((m) => [m.path, m.position]),
      [
        ['$[0]', 14],
        ['$[1].x', 0],
        ['$[2]', 0],
      ],
    );
  });
});

describe('scanReferences: depth', () => {
  it(`accepts ${LIMITS.depth} levels of nesting and refuses one more`, () => {
    assert.deepEqual(refs(nested(LIMITS.depth)), [ref('DEEP', `$${'[0]'.repeat(LIMITS.depth)}`, 0)]);
    assert.throws(() => scanReferences(nested(LIMITS.depth + 1)), ReferenceDepthError);
    let deepObject: unknown = 'x';
    for (let i = 0; i < 200; i++) deepObject = { d: deepObject };
    assert.throws(() => scanReferences(deepObject), /deeper than 64/);
  });
});

describe('substitute', () => {
  it('replaces a whole-string reference and references inside longer strings', () => {
    const v = values({ A: 'alpha', STRIPE_API_KEY: 'sk_live_1' });
    assert.equal(substitute('$Secret{A}', v), 'alpha');
    assert.equal(substitute('Bearer $Secret{STRIPE_API_KEY}', v), 'Bearer sk_live_1');
    assert.equal(substitute('$Token{A}$Secret{A}-$Token{A}', v), 'alphaalpha-alpha');
  });

  it('walks objects in arrays in objects and keeps everything else as it was', () => {
    const input = {
      headers: { Authorization: 'Bearer $Secret{A}', '$Secret{A}': 'name untouched' },
      body: [1, true, null, { inner: ['$Token{B}', { deeper: 'x$Secret{A}y' }] }, -0.5, ''],
      n: 0,
      f: false,
    };
    assert.deepEqual(substitute(input, values({ A: 'va', B: 'vb' })), {
      headers: { Authorization: 'Bearer va', '$Secret{A}': 'name untouched' },
      body: [1, true, null, { inner: ['vb', { deeper: 'xvay' }] }, -0.5, ''],
      n: 0,
      f: false,
    });
    assert.equal(input.headers.Authorization, 'Bearer $Secret{A}', 'the input is not changed');
  });

  it('returns numbers, booleans and null as they are', () => {
    for (const value of [0, 42, -1.25, true, false, null]) assert.equal(substitute(value, values({})), value);
  });

  it('does not resolve references that appear in substituted values', () => {
    const v = values({ A: '$Secret{B}', B: 'never' });
    assert.equal(substitute('$Secret{A}', v), '$Secret{B}');
    assert.equal(substitute('x $Secret{A} $Secret{B}', v), 'x $Secret{B} never');
  });

  it('inserts values verbatim: no `$&` or `$1` replacement patterns', () => {
    const v = values({ A: "$& $1 $$ $` $'", B: 'a\\nb\n"q"' });
    assert.equal(substitute('<$Secret{A}>', v), "<$& $1 $$ $` $'>");
    assert.equal(substitute('$Secret{B}', v), 'a\\nb\n"q"');
  });

  it('keeps a "__proto__" property a plain own property: no prototype pollution', () => {
    const input = JSON.parse(
      '{"__proto__": {"polluted": "$Secret{A}"}, "list": [{"__proto__": "$Secret{A}"}]}',
    );
    const out = substitute(input, values({ A: 'va' })) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.ok(Object.hasOwn(out, '__proto__'));
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { polluted: 'va' });
    assert.equal((out as { polluted?: unknown }).polluted, undefined);
    const item = (out.list as Record<string, unknown>[])[0] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(item), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(item, '__proto__')?.value, 'va');
    assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype untouched');
    assert.deepEqual(Object.keys(out), ['__proto__', 'list']);
  });
});
