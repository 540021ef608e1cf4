/**
 * An exported .env file is read by programs (our import, the dotenv npm package) and, often,
 * sourced by a shell (`set -a; . ./.env`). Whoever can write a secret chooses its value, so a
 * value must never run a command when the file is sourced (a backtick inside double quotes
 * did), and the readers must get back exactly what was stored. Property tests over arbitrary
 * values, with real sh, dash and bash.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as dotenvParse } from 'dotenv';
import fc from 'fast-check';
import { parseDotenv, quoteDotenv } from '../src/dotenv.js';
import { formatSecrets } from '../src/export-formats.js';
import { CliError } from '../src/output.js';
import { AWKWARD_VALUES } from './helpers/awkward-values.js';

const SHELLS = ['/bin/sh', '/bin/dash', '/bin/bash'].filter((shell) => existsSync(shell));

/** Pieces an attacker would put in a value, and the characters quoting rules trip on. */
const PIECES = [
  '`touch pwned`',
  '$(touch pwned)',
  '${PWNED:=$(touch pwned)}',
  "';touch pwned;'",
  '";touch pwned;"',
  '\\',
  '\\n',
  '\\r',
  '$',
  '$HOME',
  '$[1+1]',
  "'",
  '"',
  '`',
  '#',
  ' #',
  '\n',
  '\r',
  '\r\n',
  '\t',
  ' ',
  '=',
  'ünï',
  '日本',
  '🎉',
  'x',
];
// No NUL: no environment variable can hold one, so export leaves such values out before quoting.
const value = fc
  .oneof(
    fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    fc.string({ unit: fc.constantFrom(...'\'"`$\\#\n\r \t(){}[]=ab'), minLength: 1, maxLength: 24 }),
  )
  .filter((v) => !v.includes('\0'));

/** What the rules at the top of dotenv.ts say: which values have no safe, exact line. */
function refusable(v: string): boolean {
  const singleQuotable = !v.includes("'") && !v.includes('\r') && !v.endsWith('\\');
  return !singleQuotable && /["`\\]|\$[({[]/.test(v);
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ductape-dotenv-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Sources the file with a shell in an empty folder; returns what it left there and its stderr. */
function source(shell: string, text: string): { created: string[]; stderr: string; code: number | null } {
  const work = mkdtempSync(join(dir, 'run-'));
  writeFileSync(join(work, '.env'), text);
  const result = spawnSync(shell, ['-c', 'set -a; . ./.env'], {
    cwd: work,
    env: { PATH: process.env.PATH, HOME: work },
    encoding: 'utf8',
    timeout: 10_000,
  });
  const created = readdirSync(work).filter((name) => name !== '.env');
  rmSync(work, { recursive: true, force: true });
  return { created, stderr: result.stderr, code: result.status };
}

describe('exported dotenv', () => {
  it('chooses single quotes, double quotes, or refuses', () => {
    assert.equal(quoteDotenv('plain $(x) `y` "z" \\w\nline'), `'plain $(x) \`y\` "z" \\w\nline'`);
    assert.equal(quoteDotenv("it's $5\r\n"), `"it's $5\\r\\n"`);
    assert.equal(quoteDotenv('ends with a backslash\\'), undefined);
    assert.equal(quoteDotenv("it's `x`"), undefined);
    assert.equal(quoteDotenv("it's $(x)"), undefined);
    assert.equal(quoteDotenv('it\'s "x"'), undefined);
  });

  it('a refused value stops the whole export, naming its key and never its value', () => {
    const secrets = [
      { key: 'FINE', name: 'FINE', value: 'ok' },
      { key: 'BAD', name: 'BAD', value: "it's `x-9f2c`" },
    ];
    assert.throws(
      () => formatSecrets('dotenv', secrets),
      (error: unknown) =>
        error instanceof CliError &&
        error.exitCode === 2 &&
        /the value of BAD cannot be written as dotenv/.test(error.message) &&
        /--format json or --format shell/.test(error.message) &&
        !error.message.includes('9f2c'),
    );
  });

  it('is read back byte for byte by the dotenv package and by our import, or refused (property)', () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), (values) => {
        const quoted = values.map((v) => quoteDotenv(v));
        values.forEach((v, i) => assert.equal(quoted[i] === undefined, refusable(v), JSON.stringify(v)));
        const kept = values.filter((_v, i) => quoted[i] !== undefined);
        const text = kept.map((v, i) => `K${i}=${quoteDotenv(v)}\n`).join('');
        const expected = Object.fromEntries(kept.map((v, i) => [`K${i}`, v]));
        assert.deepEqual(dotenvParse(text), expected);
        const ours = parseDotenv(text);
        assert.deepEqual(ours.problems, []);
        assert.deepEqual(Object.fromEntries(ours.entries.map((e) => [e.key, e.value])), expected);
      }),
      { numRuns: 1500 },
    );
  });

  it('every awkward value is written exactly or refused by the rule', () => {
    for (const v of AWKWARD_VALUES) {
      const line = quoteDotenv(v);
      assert.equal(line === undefined, refusable(v), JSON.stringify(v));
      if (line !== undefined) assert.equal(dotenvParse(`K=${line}\n`).K, v);
    }
  });

  it('runs nothing when sourced by sh, dash or bash (property)', { skip: SHELLS.length === 0 }, () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 4 }), (values) => {
        const kept = values.filter((v) => quoteDotenv(v) !== undefined);
        const text = kept.map((v, i) => `K${i}=${quoteDotenv(v)}\n`).join('');
        for (const shell of SHELLS) {
          const ran = source(shell, text);
          assert.deepEqual(ran.created, [], `${shell} ran a command sourcing:\n${text}`);
          assert.equal(ran.code, 0, `${shell} failed sourcing:\n${text}\n${ran.stderr}`);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('the attack of the review: a backtick in a value runs nothing', () => {
    const text = formatSecrets('dotenv', [
      { key: 'X', name: 'X', value: '`touch pwned` and $(touch pwned)' },
    ]);
    for (const shell of SHELLS) assert.deepEqual(source(shell, text).created, []);
    assert.equal(dotenvParse(text).X, '`touch pwned` and $(touch pwned)');
  });

  it('sh reads single-quoted values exactly', { skip: !SHELLS.includes('/bin/sh') }, () => {
    fc.assert(
      fc.property(value, (v) => {
        const line = quoteDotenv(v);
        fc.pre(line !== undefined && line.startsWith("'"));
        const work = mkdtempSync(join(dir, 'read-'));
        writeFileSync(join(work, '.env'), `K=${line}\n`);
        const result = spawnSync('/bin/sh', ['-c', '. ./.env; printf \'%s\' "$K"'], {
          cwd: work,
          encoding: 'utf8',
        });
        rmSync(work, { recursive: true, force: true });
        assert.equal(result.stdout, v);
      }),
      { numRuns: 150 },
    );
  });
});
