/**
 * `ductape secrets export` and `ductape secrets import` end to end: values that break naive
 * quoting survive every format exactly (the shell format as `sh` itself reads it), and an
 * import reports each line and never applies half of a malformed file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Ductape from '@ductape/sdk';
import { quoteDotenv } from '../../../cli/src/dotenv.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import {
  AWKWARD_VALUES,
  cliInTerminal,
  cliSession,
  envOf,
  expectCode,
  hasPythonPty,
  type Cli,
  type CliSession,
} from '../helpers/cli-session.js';

const EXPORT_RT = ['secrets', 'export', '--app', 'rt', '--env', 'dev'];
const awkwardKey = (i: number): string => `AWK_${i}`;

let server: TestServer;
let session: CliSession;
let source: Cli;

/** A fresh workspace to import into: its owner's CLI and SDK client. */
async function freshWorkspace(): Promise<{ cli: Cli; sdk: Ductape; owner: Credentials }> {
  const owner = await server.newWorkspace('import target');
  return { cli: session.as(owner), sdk: server.client(owner), owner };
}

async function valuesOf(sdk: Ductape, keys: string[]): Promise<string[]> {
  return Promise.all(keys.map(async (key) => (await sdk.secrets.fetch(key)).value));
}

function file(name: string, content: string): string {
  const path = join(session.folder(), name);
  writeFileSync(path, content);
  return path;
}

describe('ductape secrets export / import', () => {
  const keys = AWKWARD_VALUES.map((_v, i) => awkwardKey(i));

  before(async () => {
    server = await startTestServer();
    session = cliSession(server);
    source = session.as(server.owner);
    const sdk = server.client(server.owner);
    for (const [i, value] of AWKWARD_VALUES.entries()) {
      await sdk.secrets.create({ key: awkwardKey(i), value, scope: ['rt'], envs: ['dev'] });
    }
    await sdk.secrets.create({ key: 'dot.key', value: 'dotted', scope: ['names'] });
    await sdk.secrets.create({ key: 'OTHER_APP', value: 'not exported', scope: ['elsewhere'] });
  });

  after(async () => {
    session.cleanup();
    await server.stop();
  });

  describe('round trips', () => {
    it('dotenv: refuses the values no line can hold safely, naming their keys', async () => {
      const refused = await source(EXPORT_RT);
      expectCode(refused, 2);
      assert.equal(refused.stdout, '');
      const unsafe = keys.filter((_k, i) => quoteDotenv(AWKWARD_VALUES[i] as string) === undefined);
      assert.ok(unsafe.length > 0 && unsafe.length < keys.length);
      assert.match(
        refused.stderr,
        new RegExp(`the value of ${unsafe.join(', ')} cannot be written as dotenv`),
      );
    });

    it('dotenv: export, then import into another workspace, gives back every value exactly', async () => {
      const safe = keys.filter((_k, i) => quoteDotenv(AWKWARD_VALUES[i] as string) !== undefined);
      const exported = await source([...EXPORT_RT, '--only', safe.join(',')]);
      expectCode(exported, 0);
      assert.equal(exported.stderr, '');
      assert.ok(!exported.stdout.includes('OTHER_APP'));
      assert.match(exported.stdout, /^AWK_3='\$HOME \$\{HOME\} \$\(echo pwned\) `id` \\\$ESCAPED'$/m);

      const target = await freshWorkspace();
      const path = file('rt.env', exported.stdout);
      const imported = await target.cli(['secrets', 'import', path, '--scope', 'rt', '--envs', 'dev']);
      expectCode(imported, 0);
      const lines = imported.stdout.trimEnd().split('\n');
      assert.deepEqual(lines[0], 'created AWK_0 (line 1)');
      assert.equal(lines.at(-1), `Imported ${path}: ${safe.length} created, 0 updated, 0 refused.`);
      const expected = AWKWARD_VALUES.filter((v) => quoteDotenv(v) !== undefined);
      assert.deepEqual(await valuesOf(target.sdk, safe), expected);
      const meta = await target.sdk.secrets.fetch('AWK_0');
      assert.deepEqual([meta.scope, meta.envs], [['rt'], ['dev']]);
    });

    it('json: export to a 0600 file, then import, gives back every value exactly', async () => {
      const path = join(session.folder(), 'rt.json');
      const exported = await source([...EXPORT_RT, '--format', 'json', '--output', path]);
      expectCode(exported, 0);
      assert.equal(exported.stdout, '');
      assert.match(exported.stderr, /Wrote 17 secrets to .*rt\.json \(mode 0600\)/);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const text = readFileSync(path, 'utf8');
      assert.deepEqual(JSON.parse(text), Object.fromEntries(keys.map((k, i) => [k, AWKWARD_VALUES[i]])));

      const target = await freshWorkspace();
      const imported = await target.cli(['secrets', 'import', path]);
      expectCode(imported, 0);
      assert.match(imported.stdout, /^created AWK_0 \(line 2\)$/m, 'lines of a JSON object count too');
      assert.deepEqual(await valuesOf(target.sdk, keys), AWKWARD_VALUES);
    });

    it('shell: what `sh` reads back with `. file` is every value exactly', async () => {
      const exported = await source([...EXPORT_RT, '--format', 'shell']);
      expectCode(exported, 0);
      assert.match(exported.stdout, /^export AWK_10='it'\\''s'$/m);
      const path = file('rt.sh', exported.stdout);
      const sourced = spawnSync(
        'sh',
        ['-c', '. "$1" && exec node -e "process.stdout.write(JSON.stringify(process.env))"', 'sh', path],
        { encoding: 'utf8', env: { PATH: process.env.PATH } },
      );
      assert.equal(sourced.status, 0, sourced.stderr);
      const env = JSON.parse(sourced.stdout) as Record<string, string>;
      assert.deepEqual(
        keys.map((k) => env[k]),
        AWKWARD_VALUES,
      );
      const one = spawnSync('sh', ['-c', '. "$1"; printf %s "$AWK_3"', 'sh', path], { encoding: 'utf8' });
      assert.equal(one.stdout, AWKWARD_VALUES[3]);
    });

    it('pipes: export | import - (stdin)', async () => {
      const exported = await source([...EXPORT_RT, '--only', 'AWK_0,AWK_8']);
      const target = await freshWorkspace();
      const imported = await target.cli(['secrets', 'import', '-'], { input: exported.stdout });
      expectCode(imported, 0);
      assert.match(imported.stdout, /Imported stdin: 2 created, 0 updated, 0 refused\./);
      assert.deepEqual(await valuesOf(target.sdk, ['AWK_0', 'AWK_8']), [
        AWKWARD_VALUES[0],
        AWKWARD_VALUES[8],
      ]);
    });
  });

  describe('export', () => {
    it('skips keys that are not variable names in dotenv and shell, keeps them in JSON, renames on demand', async () => {
      const names = ['secrets', 'export', '--app', 'names', '--env', 'dev'];
      const dotenv = await source(names);
      expectCode(dotenv, 0);
      assert.ok(!dotenv.stdout.includes('dot'));
      assert.match(dotenv.stderr, /^warning: skipped dot\.key: not a valid environment variable name/m);
      const json = await source([...names, '--format', 'json']);
      assert.equal((JSON.parse(json.stdout) as Record<string, string>)['dot.key'], 'dotted');
      const upper = await source([...names, '--format', 'shell', '--name-transform', 'upper']);
      assert.match(upper.stdout, /^export DOT_KEY='dotted'$/m);
      assert.doesNotMatch(upper.stderr, /dot\.key/);
    });

    it('tightens an existing --output file to 0600', async () => {
      const path = file('open.env', 'old content that is much longer than the new one\n'.repeat(20));
      chmodSync(path, 0o644);
      expectCode(await source([...EXPORT_RT, '--only', 'AWK_5', '-o', path]), 0);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(readFileSync(path, 'utf8'), "AWK_5='a=b=c'\n");
    });

    it('needs --app and --env with user credentials; refuses unknown formats', async () => {
      const missing = await source(['secrets', 'export', '--app', 'rt']);
      expectCode(missing, 2);
      assert.match(missing.stderr, /--app and --env are required/);
      const format = await source([...EXPORT_RT, '--format', 'yaml']);
      expectCode(format, 2);
      assert.match(format.stderr, /Allowed choices are dotenv, json, shell/);
    });
  });

  describe('import', () => {
    it('refuses a malformed .env file whole: every problem with its line, nothing created (exit 2)', async () => {
      const target = await freshWorkspace();
      const path = file(
        'broken.env',
        [
          'GOOD_1=one',
          'not a pair sk_live_leak',
          'GOOD_2="two"',
          'BAD KEY=x',
          'GOOD_1=again',
          'OPEN="never',
          'closed',
        ].join('\n'),
      );
      const result = await target.cli(['secrets', 'import', path]);
      expectCode(result, 2);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /is malformed; nothing was imported:/);
      assert.match(result.stderr, /broken\.env:2: expected KEY=value/);
      assert.match(result.stderr, /broken\.env:4: the key before = may only hold/);
      assert.match(result.stderr, /broken\.env:5: 'GOOD_1' is already defined on line 1/);
      assert.match(result.stderr, /broken\.env:6: the double-quoted value of 'OPEN' never ends/);
      assert.match(result.stderr, /\(4 problems\)/);
      assert.ok(!result.stderr.includes('sk_live_leak'), 'a problem never quotes the line');
      assert.deepEqual(await target.sdk.secrets.list(), []);
    });

    it('refuses malformed JSON with its line (exit 2), nothing created', async () => {
      const target = await freshWorkspace();
      const result = await target.cli([
        'secrets',
        'import',
        file('broken.json', '{\n  "A": "1",\n  "B": "2"\n  "C": "3"\n}'),
      ]);
      expectCode(result, 2);
      assert.match(result.stderr, /broken\.json:4: not valid JSON/);
      assert.deepEqual(await target.sdk.secrets.list(), []);
    });

    it('reports what it refused and why, with lines, creates the rest, and exits 1', async () => {
      const target = await freshWorkspace();
      await target.sdk.secrets.create({ key: 'EXISTING', value: 'old' });
      const longKey = 'K'.repeat(129);
      const path = file(
        'mixed.json',
        JSON.stringify(
          [
            { key: 'FRESH', value: 'new' },
            { key: 'EXISTING', value: 'new' },
            { key: 'EMPTY', value: '' },
            { key: longKey, value: 'x' },
            { key: 'BAD_TYPE', value: 'x', token_type: 'nope' },
            { key: 'OWN_SCOPE', value: 'x', scope: ['mine'] },
          ],
          null,
          1,
        ),
      );
      const result = await target.cli([
        'secrets',
        'import',
        path,
        '--scope',
        'shared',
        '--token-type',
        'api',
      ]);
      expectCode(result, 1);
      const lines = result.stdout.trimEnd().split('\n');
      assert.equal(lines[0], 'created FRESH (line 2)');
      assert.equal(
        lines[1],
        "refused EXISTING (line 6): Secret 'EXISTING' already exists in this workspace; use --overwrite to update it",
      );
      assert.equal(lines[2], 'refused EMPTY (line 10): value: must not be empty');
      assert.match(lines[3] ?? '', /^refused K{129} \(line 14\): key: must be 1-128 characters/);
      assert.match(lines[4] ?? '', /^refused BAD_TYPE \(line 18\): token_type: must be one of api, access/);
      assert.equal(lines[5], 'created OWN_SCOPE (line 23)');
      assert.equal(lines[6], `Imported ${path}: 2 created, 0 updated, 4 refused.`);
      assert.equal(result.stderr, 'ductape: 4 of 6 secrets were refused (see above)\n');

      assert.equal((await target.sdk.secrets.fetch('EXISTING')).value, 'old');
      const fresh = await target.sdk.secrets.fetch('FRESH');
      assert.deepEqual([fresh.scope, fresh.token_type], [['shared'], 'api']);
      assert.deepEqual(
        (await target.sdk.secrets.fetch('OWN_SCOPE')).scope,
        ['mine'],
        "an item's own field wins",
      );
    });

    it('--overwrite updates existing secrets (a new version) and keeps unnamed metadata', async () => {
      const target = await freshWorkspace();
      await target.sdk.secrets.create({ key: 'KEPT', value: 'v1', envs: ['prd'] });
      const path = file('update.env', 'KEPT=v2\nADDED=new\n');
      const without = await target.cli(['secrets', 'import', path]);
      expectCode(without, 1);
      assert.match(without.stdout, /^refused KEPT \(line 1\): .*use --overwrite to update it$/m);
      assert.match(without.stdout, /^created ADDED \(line 2\)$/m);

      const result = await target.cli(['secrets', 'import', path, '--overwrite', '--json']);
      expectCode(result, 0);
      assert.deepEqual(JSON.parse(result.stdout), {
        results: [
          { key: 'KEPT', status: 'updated', line: 1 },
          { key: 'ADDED', status: 'updated', line: 2 },
        ],
        created: 0,
        updated: 2,
        refused: 0,
      });
      const kept = await target.sdk.secrets.fetch('KEPT');
      assert.deepEqual([kept.value, kept.version, kept.envs], ['v2', 2, ['prd']]);
    });

    it('imports 1200 lines in three requests, with a line per secret and no bar outside a terminal', async () => {
      const target = await freshWorkspace();
      const text = Array.from({ length: 1200 }, (_v, i) => `BULK_${i}="value ${i}"`).join('\n');
      const result = await target.cli(['secrets', 'import', file('bulk.env', text), '--envs', 'dev']);
      expectCode(result, 0);
      assert.equal(result.stderr, '', 'no progress bar when stderr is not a terminal');
      const lines = result.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 1201);
      assert.equal(lines[1199], 'created BULK_1199 (line 1200)');
      assert.match(lines[1200] ?? '', /1200 created, 0 updated, 0 refused\.$/);
      const listed = await target.sdk.secrets.list();
      assert.equal(listed.length, 1200);
      assert.equal((await target.sdk.secrets.fetch('BULK_777')).value, 'value 777');
      assert.ok(listed.every((s) => s.envs[0] === 'dev'));
    });

    it(
      'draws a progress bar on a terminal',
      { skip: hasPythonPty ? false : 'python3 with pty is not available' },
      async () => {
        const target = await freshWorkspace();
        const text = Array.from({ length: 1100 }, (_v, i) => `TTY_${i}=v${i}`).join('\n');
        const { output, code } = await cliInTerminal(['secrets', 'import', file('tty.env', text)], {
          HOME: session.folder(),
          DUCTAPE_URL: server.url,
          ...envOf(target.owner),
        });
        assert.equal(code, 0, output);
        assert.match(output, /\[#{10,}-+\] {2}500\/1100 secrets/);
        assert.match(output, /\[#+\] 1100\/1100 secrets/);
        assert.match(output, /1100 created, 0 updated, 0 refused\./);
      },
    );

    it("passes on a viewer's 403 and creates nothing", async () => {
      const viewer = await server.newUser('viewer');
      const result = await session.as(viewer)(['secrets', 'import', file('viewer.env', 'VIEWER_KEY=x\n')]);
      expectCode(result, 1);
      assert.equal(
        result.stderr,
        'ductape: import stopped at line 1: Creating and updating secrets needs the developer role or higher; ' +
          'you are a viewer; nothing was imported\n',
      );
      assert.equal(await server.client(server.owner).secrets.exists('VIEWER_KEY'), false);
    });
  });
});
