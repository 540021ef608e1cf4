/**
 * `ductape resolve`, `ductape validate` and `ductape token create|list|revoke` end to end:
 * the built CLI against a real server. (`run` is in run-command, export/import in export-import-commands.)
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceToken, TokenWhoAmI, ValidateResponse } from '@ductape/sdk';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { cliSession, expectCode, type Cli, type CliSession } from '../helpers/cli-session.js';

let server: TestServer;
let session: CliSession;
let owner: Cli;

function file(name: string, content: string): string {
  const path = join(session.folder(), name);
  writeFileSync(path, content);
  return path;
}

describe('ductape resolve / validate / token', () => {
  before(async () => {
    server = await startTestServer();
    session = cliSession(server);
    owner = session.as(server.owner);
    const sdk = server.client(server.owner);
    await sdk.secrets.create({
      key: 'STRIPE_API_KEY',
      value: 'sk_live_51ABC',
      scope: ['stripe_payments'],
      envs: ['prd'],
    });
    await sdk.secrets.create({ key: 'MULTI', value: 'two\nlines "q" ☃', scope: [], envs: [] });
    await sdk.secrets.create({ key: 'DEV_ONLY', value: 'dev-value', envs: ['dev'] });
    await sdk.secrets.create({ key: 'GONE', value: 'revoked-value' });
    await sdk.secrets.revoke('GONE');
  });

  after(async () => {
    session.cleanup();
    await server.stop();
  });

  const PRD = ['--app', 'stripe_payments', '--env', 'prd'];

  describe('resolve', () => {
    it('replaces references in a text argument, exactly', async () => {
      const result = await owner(['resolve', ...PRD, 'Bearer $Secret{STRIPE_API_KEY}; $Token{MULTI}.']);
      expectCode(result, 0);
      assert.equal(result.stdout, 'Bearer sk_live_51ABC; two\nlines "q" ☃.');
      assert.equal(result.stderr, '');
    });

    it("reads stdin with '-', and a JSON file deeply, printing JSON", async () => {
      const piped = await owner(['resolve', ...PRD, '-'], { input: 'key=$Secret{STRIPE_API_KEY}\n' });
      expectCode(piped, 0);
      assert.equal(piped.stdout, 'key=sk_live_51ABC\n');

      const config = {
        headers: { Authorization: 'Bearer $Secret{STRIPE_API_KEY}' },
        list: ['$Secret{MULTI}', 7, null],
      };
      const json = await owner(['resolve', ...PRD, '--file', file('config.json', JSON.stringify(config))]);
      expectCode(json, 0);
      assert.deepEqual(JSON.parse(json.stdout), {
        headers: { Authorization: 'Bearer sk_live_51ABC' },
        list: ['two\nlines "q" ☃', 7, null],
      });
    });

    it("fails with the server's reason for a reference that does not resolve (exit 1)", async () => {
      const wrongEnv = await owner([
        'resolve',
        '--app',
        'stripe_payments',
        '--env',
        'dev',
        '$Secret{STRIPE_API_KEY}',
      ]);
      expectCode(wrongEnv, 1);
      assert.equal(wrongEnv.stdout, '');
      assert.equal(
        wrongEnv.stderr,
        "ductape: Secret 'STRIPE_API_KEY' is not available in environment 'dev'\n",
      );
      const revoked = await owner(['resolve', ...PRD, 'x $Secret{GONE}']);
      expectCode(revoked, 1);
      assert.equal(revoked.stderr, "ductape: Secret 'GONE' has been revoked\n");
    });

    it('exits 2 without input, or with both text and --file', async () => {
      expectCode(await owner(['resolve', ...PRD]), 2);
      const both = await owner(['resolve', ...PRD, 'text', '--file', 'x.json']);
      expectCode(both, 2);
      assert.match(both.stderr, /one of them/);
      const notJson = await owner(['resolve', ...PRD, '--file', file('bad.json', '{"a": ')]);
      expectCode(notJson, 2);
      assert.match(notJson.stderr, /is not valid JSON/);
    });
  });

  describe('validate', () => {
    it('lists each reference with ok or the reason, by line and column in a text file; exit 1 when invalid', async () => {
      const text =
        'first line\n  auth $Secret{STRIPE_API_KEY} and $Secret{DEV_ONLY}\n$Secret{NOPE} $Secret{bad key}\n';
      const result = await owner(['validate', ...PRD, file('config.txt', text)]);
      expectCode(result, 1);
      assert.equal(
        result.stdout,
        [
          'ok        $Secret{STRIPE_API_KEY} at line 2, column 8',
          "refused   $Secret{DEV_ONLY} at line 2, column 36: Secret 'DEV_ONLY' is not available in environment 'prd'",
          "refused   $Secret{NOPE} at line 3, column 1: Secret 'NOPE' not found",
          `malformed at line 3, column 15: '$Secret{' holds a character not allowed in a key (" "); keys are A-Z a-z 0-9 _ - .`,
          '3 references: 1 ok, 2 refused, 1 malformed.',
          '',
        ].join('\n'),
      );
      assert.match(result.stderr, /config\.txt has references that would not resolve/);
      assert.ok(!result.stdout.includes('sk_live'), 'never a value');
    });

    it("exits 0 for a valid JSON file; --json prints the server's report", async () => {
      const path = file('ok.json', JSON.stringify({ a: { b: ['$Secret{STRIPE_API_KEY}'] } }));
      const text = await owner(['validate', ...PRD, path]);
      expectCode(text, 0);
      assert.equal(
        text.stdout,
        'ok        $Secret{STRIPE_API_KEY} at $.a.b[0], position 0\n1 reference: 1 ok, 0 refused, 0 malformed.\n',
      );

      const json = await owner(['validate', ...PRD, path, '--json']);
      expectCode(json, 0);
      const report = JSON.parse(json.stdout) as ValidateResponse;
      assert.deepEqual(
        report,
        await server
          .client(server.owner)
          .secrets.validate(
            { a: { b: ['$Secret{STRIPE_API_KEY}'] } },
            { app: 'stripe_payments', env: 'prd' },
          ),
      );
      assert.equal(report.valid, true);

      const invalid = await owner(['validate', '--app', 'web', '--env', 'prd', path, '--json']);
      expectCode(invalid, 1);
      assert.equal(
        (JSON.parse(invalid.stdout) as ValidateResponse).references[0]?.code,
        'SECRET_SCOPE_DENIED',
      );
    });
  });

  describe('token', () => {
    it('create --json prints exactly token, token_id, app, env, expires_at; the token works at once', async () => {
      const before = Math.floor(Date.now() / 1000);
      const result = await owner([
        'token',
        'create',
        '--app',
        'stripe_payments',
        '--env',
        'prd',
        '--ttl',
        '30d',
        '--json',
      ]);
      expectCode(result, 0);
      const created = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(created), ['token', 'token_id', 'app', 'env', 'expires_at']);
      assert.match(created.token as string, /^dst_[0-9a-f]{24}_/);
      assert.match(created.token_id as string, /^[0-9a-f]{24}$/);
      assert.ok((created.token as string).includes(created.token_id as string));
      assert.deepEqual([created.app, created.env], ['stripe_payments', 'prd']);
      const thirtyDays = 30 * 86_400;
      assert.ok(Math.abs((created.expires_at as number) - (before + thirtyDays)) <= 5);

      const tokenCli = session.as({ token: created.token as string });
      const me = await tokenCli(['whoami', '--json']);
      expectCode(me, 0);
      assert.deepEqual(
        (({ kind, token_id, app, env }: TokenWhoAmI) => ({ kind, token_id, app, env }))(
          JSON.parse(me.stdout) as TokenWhoAmI,
        ),
        { kind: 'service_token', token_id: created.token_id, app: 'stripe_payments', env: 'prd' },
      );
      const resolved = await tokenCli(['resolve', 'Bearer $Secret{STRIPE_API_KEY}']);
      expectCode(resolved, 0);
      assert.equal(resolved.stdout, 'Bearer sk_live_51ABC');
    });

    it('create shows the token once, with a warning, and --expires-at sets the expiry', async () => {
      const at = Math.floor(Date.now() / 1000) + 7200;
      const result = await owner([
        'token',
        'create',
        '--app',
        'web',
        '--env',
        'dev',
        '--expires-at',
        String(at),
        '--description',
        'CI deploys',
      ]);
      expectCode(result, 0);
      const tokens = result.stdout.match(/dst_[0-9a-f]{24}_[A-Za-z0-9_-]{43}/g) ?? [];
      assert.equal(tokens.length, 1);
      assert.match(result.stdout, /for app 'web' in environment 'dev'/);
      assert.match(result.stdout, /shown only this once and cannot be recovered/);
      assert.ok(result.stdout.includes(new Date(at * 1000).toISOString().replace(/\.000Z$/, 'Z')));
    });

    it('list shows metadata (table or JSON) and never a token', async () => {
      const table = await owner(['token', 'list']);
      expectCode(table, 0);
      const lines = table.stdout.trimEnd().split('\n');
      assert.deepEqual(lines[0]?.split(/ +/), [
        'TOKEN_ID',
        'APP',
        'ENV',
        'STATUS',
        'EXPIRES',
        'CREATED',
        'DESCRIPTION',
      ]);
      assert.match(table.stdout, /^[0-9a-f]{24} +web +dev +active +\S+Z +\S+Z +CI deploys$/m);
      assert.doesNotMatch(table.stdout, /dst_/);

      const json = await owner(['token', 'list', '--json']);
      expectCode(json, 0);
      const listed = JSON.parse(json.stdout) as ServiceToken[];
      assert.deepEqual(listed, await server.client(server.owner).tokens.list());
      assert.equal(lines.length, listed.length + 1);
      assert.ok(listed.every((t) => !('token' in t)));
    });

    it('revoke stops the token at once; list shows it revoked', async () => {
      const created = await server.client(server.owner).tokens.create({ app: 'web', env: 'dev' });
      const tokenCli = session.as({ token: created.token });
      expectCode(await tokenCli(['resolve', 'x']), 0);

      const revoked = await owner(['token', 'revoke', created.token_id]);
      expectCode(revoked, 0);
      assert.equal(revoked.stdout, `Revoked service token ${created.token_id}: it stops working at once.\n`);
      const refused = await tokenCli(['resolve', 'x']);
      expectCode(refused, 1);
      assert.equal(refused.stderr, 'ductape: Service token has been revoked\n');
      const listed = JSON.parse((await owner(['token', 'list', '--json'])).stdout) as ServiceToken[];
      assert.equal(listed.find((t) => t.token_id === created.token_id)?.status, 'revoked');

      const unknown = await owner(['token', 'revoke', 'ffffffffffffffffffffffff']);
      expectCode(unknown, 1);
      assert.equal(unknown.stderr, "ductape: Service token 'ffffffffffffffffffffffff' not found\n");
    });

    it("needs an admin: a developer and a service token get the server's 403", async () => {
      const developer = session.as(await server.newUser('developer'));
      const refused = await developer(['token', 'create', '--app', 'web', '--env', 'dev']);
      expectCode(refused, 1);
      assert.equal(
        refused.stderr,
        'ductape: Managing service tokens needs the admin role or higher; you are a developer\n',
      );

      const { token } = await server.client(server.owner).tokens.create({ app: 'web', env: 'dev' });
      const byToken = await session.as({ token })(['token', 'list']);
      expectCode(byToken, 1);
      assert.match(byToken.stderr, /^ductape: Managing service tokens needs a user with the admin role/);
    });

    it('exits 2 on bad options, before calling the server', async () => {
      const cases: [string[], RegExp][] = [
        [['token', 'create', '--env', 'dev'], /required option '--app <app>'/],
        [['token', 'create', '--app', 'a', '--env', 'e', '--ttl', 'forever'], /'forever' is not a duration/],
        [
          ['token', 'create', '--app', 'a', '--env', 'e', '--ttl', '1d', '--expires-at', '1'],
          /cannot be used with/,
        ],
        [['token', 'revoke'], /missing required argument/],
      ];
      for (const [args, message] of cases) {
        const result = await owner(args);
        expectCode(result, 2);
        assert.match(result.stderr, message);
      }
    });
  });

  it('--help works for every new command and says what it does', async () => {
    const commands: [string[], string][] = [
      [['run'], 'Signals: SIGTERM, SIGUSR1 and SIGUSR2 are passed on'],
      [['resolve'], 'A JSON input is resolved at every depth'],
      [['validate'], 'Exit code 1 when any reference'],
      [['token'], 'Create, list and revoke service tokens'],
      [['token', 'create'], 'can fetch, resolve and export only the secrets'],
      [['token', 'list'], 'List the service tokens'],
      [['token', 'revoke'], 'Revoke a service token'],
      [['secrets', 'export'], 'each gives back every value it writes exactly'],
      [['secrets', 'import'], 'nothing is imported (exit 2)'],
    ];
    for (const [args, text] of commands) {
      const result = await owner([...args, '--help']);
      expectCode(result, 0);
      assert.ok(result.stdout.startsWith(`Usage: ductape ${args.join(' ')}`), result.stdout);
      assert.ok(result.stdout.includes(text), `${args.join(' ')} --help lacks '${text}'`);
    }
  });
});
