/**
 * The pure parts behind export, import and run: the .env writer and reader, the JSON import
 * reader with its line numbers, variable naming, request chunking and the progress bar.
 * The end-to-end suites (server/test/cli/export-import-commands, run-command) drive the same code through the built CLI.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkEntries } from '../src/commands/import.js';
import { parseDotenv, quoteDotenv } from '../src/dotenv.js';
import { nameVariables, transformName } from '../src/env-names.js';
import { formatSecrets } from '../src/export-formats.js';
import type { ImportEntry } from '../src/import-file.js';
import { parseJsonImport } from '../src/import-json.js';
import { renderBar } from '../src/progress.js';
import { AWKWARD_VALUES } from './helpers/awkward-values.js';

describe('the .env dialect', () => {
  it('reads back exactly what it writes, for every awkward value it writes', () => {
    const secrets = AWKWARD_VALUES.filter((value) => quoteDotenv(value) !== undefined).map((value, i) => ({
      key: `K${i}`,
      name: `K${i}`,
      value,
    }));
    const text = formatSecrets('dotenv', secrets);
    const { entries, problems } = parseDotenv(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      entries.map((e) => [e.key, e.value]),
      secrets.map((s) => [s.key, s.value]),
    );
  });

  it('reads what earlier versions wrote: double quotes with backslash escapes', () => {
    const { entries, problems } = parseDotenv('OLD="a\\\\b\\"c\\$d\\ne\\rf\tg\'h#"\n');
    assert.deepEqual(problems, []);
    assert.deepEqual(
      entries.map((e) => e.value),
      ['a\\b"c$d\ne\rf\tg\'h#'],
    );
  });

  it('reads the common hand-written forms', () => {
    const text = [
      '# a comment',
      '',
      'PLAIN=value',
      'export EXPORTED=exported value',
      'SPACED = around equals ',
      'COMMENTED=value # a comment',
      'HASH_INSIDE=abc#def',
      'SINGLE=\'literal $HOME \\n "x"\' # comment',
      'DOUBLE="tab\\tquote\\\' newline\\n"',
      'UNKNOWN_ESCAPE="C:\\Users\\x"',
      'MULTI="first',
      'second"',
      'EMPTY=',
      'EMPTY_QUOTED=""',
      'dotted.key-1=ok',
      '   # indented comment',
      'LAST=no newline at the end',
    ].join('\r\n');
    const { entries, problems } = parseDotenv(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      entries.map((e) => [e.line, e.key, e.value]),
      [
        [3, 'PLAIN', 'value'],
        [4, 'EXPORTED', 'exported value'],
        [5, 'SPACED', 'around equals'],
        [6, 'COMMENTED', 'value'],
        [7, 'HASH_INSIDE', 'abc#def'],
        [8, 'SINGLE', 'literal $HOME \\n "x"'],
        [9, 'DOUBLE', "tab\tquote' newline\n"],
        [10, 'UNKNOWN_ESCAPE', 'C:\\Users\\x'],
        [11, 'MULTI', 'first\nsecond'],
        [13, 'EMPTY', ''],
        [14, 'EMPTY_QUOTED', ''],
        [15, 'dotted.key-1', 'ok'],
        [17, 'LAST', 'no newline at the end'],
      ],
    );
  });

  it('reports every malformed line with its number, never its text', () => {
    const text = [
      'GOOD=1',
      'no equals sign here sk_live_123',
      '=value without key',
      'BAD KEY=x',
      'QUOTED="ok" trailing-text',
      'GOOD=again',
      'OPEN="never closed',
      'SWALLOWED=2',
    ].join('\n');
    const { problems } = parseDotenv(text);
    assert.deepEqual(
      problems.map((p) => p.line),
      [2, 3, 4, 5, 6, 7],
    );
    assert.match(problems[0]?.message ?? '', /expected KEY=value/);
    assert.match(problems[4]?.message ?? '', /'GOOD' is already defined on line 1/);
    assert.match(problems[5]?.message ?? '', /double-quoted value of 'OPEN' never ends/);
    for (const p of problems) assert.ok(!p.message.includes('sk_live_123'), p.message);
  });
});

describe('JSON import files', () => {
  it('maps each member of an object to its line, in source order', () => {
    const text = '{\n  "B": "2",\n  "123": "numeric key",\n  "A": "line\\nbreak"\n}\n';
    const { entries, problems } = parseJsonImport(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      entries.map((e) => [e.line, e.fields.key, e.fields.value]),
      [
        [2, 'B', '2'],
        [3, '123', 'numeric key'],
        [4, 'A', 'line\nbreak'],
      ],
    );
  });

  it('reads an array of items with their own fields', () => {
    const text = `[\n  {"key": "A", "value": "1", "scope": ["web"]},\n\n  {"key": "B", "value": "2", "envs": []}\n]`;
    const { entries, problems } = parseJsonImport(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      entries.map((e) => [e.line, e.fields]),
      [
        [2, { key: 'A', value: '1', scope: ['web'] }],
        [4, { key: 'B', value: '2', envs: [] }],
      ],
    );
  });

  it('finds the problems: wrong types, unknown fields, duplicates, bad JSON', () => {
    const object = parseJsonImport('{\n "A": 1,\n "B": "ok",\n "B": "again"\n}');
    assert.deepEqual(
      object.problems.map((p) => [p.line, p.message]),
      [
        [2, "the value of 'A' must be a string"],
        [4, "'B' is already defined on line 3"],
      ],
    );
    const array = parseJsonImport('[\n {"key": "A"},\n {"key": "B", "value": "x", "valu": 1},\n "C"\n]');
    assert.deepEqual(
      array.problems.map((p) => p.line),
      [2, 3, 4],
    );
    assert.match(array.problems[1]?.message ?? '', /unknown field "valu"/);

    const broken = parseJsonImport('{\n  "A": "sk_live_secret"\n  "B": "x"\n}');
    assert.equal(broken.problems.length, 1);
    assert.equal(broken.problems[0]?.line, 3);
    assert.match(broken.problems[0]?.message ?? '', /^not valid JSON/);
    const bare = parseJsonImport('{\n "A": sk_live_secret\n}');
    assert.equal(bare.problems[0]?.line, 2);
    assert.ok(!bare.problems[0]?.message.includes('sk_live'), bare.problems[0]?.message);
    assert.equal(parseJsonImport('"just a string"').problems.length, 1);
  });
});

describe('variable names', () => {
  it('transforms keys into names', () => {
    assert.equal(transformName('db.password', 'underscore'), 'db_password');
    assert.equal(transformName('db.password', 'upper'), 'DB_PASSWORD');
    assert.equal(transformName('1st-key', 'underscore'), '_1st_key');
    assert.equal(transformName('VALID_NAME', 'underscore'), 'VALID_NAME');
  });

  it('skips invalid names and NUL values with a warning, unless kept', () => {
    const warnings: string[] = [];
    const secrets = [
      { key: 'OK', value: 'v' },
      { key: 'a.b', value: 'v' },
      { key: 'NUL', value: 'a\u0000b' },
    ];
    const named = nameVariables(secrets, { transform: undefined, warn: (m) => warnings.push(m) });
    assert.deepEqual(
      named.map((n) => n.name),
      ['OK'],
    );
    assert.deepEqual(warnings, [
      'skipped a.b: not a valid environment variable name (use --name-transform)',
      'skipped NUL: its value holds a NUL character, which an environment variable cannot',
    ]);
    const kept = nameVariables(secrets, {
      transform: undefined,
      keepInvalid: true,
      keepNul: true,
      warn: () => {},
    });
    assert.equal(kept.length, 3);
  });

  it('refuses two keys that end up with one name, naming both', () => {
    assert.throws(
      () =>
        nameVariables(
          [
            { key: 'x-y', value: '1' },
            { key: 'X_Y', value: '2' },
          ],
          { transform: 'upper', warn: () => {} },
        ),
      (error: Error & { exitCode?: number }) =>
        error.exitCode === 2 && /'x-y' and 'X_Y' both become 'X_Y'/.test(error.message),
    );
  });
});

describe('import requests', () => {
  const entry = (i: number, size = 10): ImportEntry => ({
    line: i + 1,
    input: { key: `K${i}`, value: 'v'.repeat(size) },
  });

  it('splits by count: 1200 entries are 500 + 500 + 200', () => {
    const { chunks, tooLarge } = chunkEntries(Array.from({ length: 1200 }, (_v, i) => entry(i)));
    assert.deepEqual(
      chunks.map((c) => c.length),
      [500, 500, 200],
    );
    assert.equal(tooLarge.length, 0);
    assert.equal(chunks[2]?.[0]?.line, 1001);
  });

  it('splits by size, and sets aside an entry too large for any request', () => {
    const entries = [entry(0, 400), entry(1, 400), entry(2, 5000), entry(3, 400)];
    const { chunks, tooLarge } = chunkEntries(entries, 500, 1000);
    assert.deepEqual(
      chunks.map((c) => c.map((e) => e.line)),
      [[1, 2], [4]],
    );
    assert.deepEqual(
      tooLarge.map((e) => e.line),
      [3],
    );
  });

  it('draws a progress bar', () => {
    assert.equal(renderBar(0, 1200, 'secrets', 10), '[----------]    0/1200 secrets');
    assert.equal(renderBar(600, 1200, 'secrets', 10), '[#####-----]  600/1200 secrets');
    assert.equal(renderBar(1200, 1200, 'secrets', 10), '[##########] 1200/1200 secrets');
  });
});
