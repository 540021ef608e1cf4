/**
 * The people-facing `ductape` commands (login, logout, whoami, secrets ...) run as a user
 * would: the built CLI in a child process, against a real server on a free port, with HOME
 * pointing at a temporary folder. Terminal behaviour (hidden prompts, confirmation) runs in
 * a pseudo-terminal driven by python3's pty module, and is skipped where python3 is missing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Secret, SecretWithValue, UserWhoAmI } from '@ductape/sdk';
import {
  CLI_ENTRY,
  runCli,
  startTestServer,
  tempDir,
  type CliResult,
  type Credentials,
  type TestServer,
} from '../helpers/harness.js';
import { describeEachBackend } from '../helpers/backends.js';

let server: TestServer;
let developer: Credentials;
const folders: string[] = [];
/** Every private key the tests hand out, and every output, to check none ever shows one. */
const privateKeys: string[] = [];
const outputs: CliResult[] = [];

function newHome(): string {
  const home = tempDir('ductape-home-');
  folders.push(home);
  return home;
}

async function cli(
  args: string[],
  options: { home: string; env?: Record<string, string>; input?: string },
): Promise<CliResult> {
  const result = await runCli(args, {
    env: { HOME: options.home, DUCTAPE_URL: server.url, ...options.env },
    input: options.input,
  });
  outputs.push(result);
  return result;
}

const envOf = (c: Credentials): Record<string, string> => ({
  DUCTAPE_WORKSPACE_ID: c.workspace_id,
  DUCTAPE_USER_ID: c.user_id,
  DUCTAPE_PRIVATE_KEY: c.private_key,
});

const credentialsFile = (home: string): string => join(home, '.ductape', 'credentials.json');

/** Logs `who` in with --private-key-stdin, in a fresh HOME unless one is given. */
async function loggedIn(who: Credentials, home = newHome()): Promise<string> {
  const result = await cli(
    ['login', '--workspace-id', who.workspace_id, '--user-id', who.user_id, '--private-key-stdin'],
    { home, input: `${who.private_key}\n` },
  );
  assert.equal(result.code, 0, result.stderr);
  return home;
}

function assertUsageError(result: CliResult, stderrPart: string | RegExp): void {
  assert.equal(result.code, 2, `expected exit 2, got ${result.code}: ${result.stderr}`);
  if (typeof stderrPart === 'string') assert.ok(result.stderr.includes(stderrPart), result.stderr);
  else assert.match(result.stderr, stderrPart);
}

const hasPython = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;

/** Waits for each prompt in turn and types the answer; returns everything the terminal showed. */
const PTY_DRIVER = `
import json, os, pty, select, sys, time
spec = json.loads(sys.stdin.read())
pid, fd = pty.fork()
if pid == 0:
    os.execve(spec["argv"][0], spec["argv"], spec["env"])
out = b""
def read(deadline):
    global out
    r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
    if not r: return False
    try: chunk = os.read(fd, 4096)
    except OSError: return None
    if not chunk: return None
    out += chunk
    return True
for wait, answer in spec["steps"]:
    deadline = time.time() + 10
    while wait.encode() not in out:
        if not read(deadline): sys.exit("never saw %r; got %r" % (wait, out))
    os.write(fd, answer.encode())
while read(time.time() + 10): pass
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": out.decode("utf-8", "replace"), "code": os.waitstatus_to_exitcode(status)}))
`;

describeEachBackend('the people commands', (backend) => {
  before(async () => {
    server = await startTestServer({}, backend);
    developer = await server.newUser('developer');
    privateKeys.push(server.owner.private_key, developer.private_key);
  });

  after(async () => {
    await server.stop();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  describe('ductape login / whoami / logout', () => {
    it('checks the credentials, then saves them with mode 0600 in a 0700 folder', async () => {
      const home = newHome();
      const result = await cli(
        [
          'login',
          '--workspace-id',
          server.owner.workspace_id,
          '--user-id',
          server.owner.user_id,
          '--private-key-stdin',
        ],
        { home, input: `${server.owner.private_key}\n` },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Logged in .* as owner .* in workspace 'test workspace'/);
      const path = credentialsFile(home);
      assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {
        url: server.url,
        workspace_id: server.owner.workspace_id,
        user_id: server.owner.user_id,
        private_key: server.owner.private_key,
      });
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(home, '.ductape')).mode & 0o777, 0o700);
    });

    it('tightens an existing ~/.ductape folder and replaces an older file', async () => {
      const home = newHome();
      mkdirSync(join(home, '.ductape'), { mode: 0o755 });
      chmodSync(join(home, '.ductape'), 0o755);
      writeFileSync(credentialsFile(home), '{"old": true}', { mode: 0o644 });
      await loggedIn(developer, home);
      assert.equal(statSync(join(home, '.ductape')).mode & 0o777, 0o700);
      assert.equal(statSync(credentialsFile(home)).mode & 0o777, 0o600);
      assert.equal(JSON.parse(readFileSync(credentialsFile(home), 'utf8')).user_id, developer.user_id);
    });

    it("refuses a wrong key with the server's message, exits 1 and saves nothing", async () => {
      const home = newHome();
      const wrongKey = 'dk_wrong-key-that-must-not-be-echoed';
      const result = await cli(
        [
          'login',
          '--workspace-id',
          server.owner.workspace_id,
          '--user-id',
          server.owner.user_id,
          '--private-key-stdin',
        ],
        { home, input: wrongKey },
      );
      assert.equal(result.code, 1);
      assert.equal(result.stderr, 'ductape: Invalid workspace_id, user_id or private_key\n');
      assert.ok(!result.stdout.includes(wrongKey) && !result.stderr.includes(wrongKey));
      assert.equal(existsSync(credentialsFile(home)), false);
    });

    it('needs its fields as options when stdin is not a terminal', async () => {
      const home = newHome();
      assertUsageError(
        await cli(['login', '--user-id', 'u', '--private-key-stdin'], { home, input: 'k' }),
        '--workspace-id is required when stdin is not a terminal',
      );
      assertUsageError(
        await cli(['login', '--workspace-id', 'w', '--user-id', 'u'], { home }),
        '--private-key-stdin',
      );
      assertUsageError(
        await cli(['login', '--workspace-id', 'w', '--user-id', 'u', '--private-key-stdin'], {
          home,
          input: '\n',
        }),
        'the private key is empty',
      );
      assertUsageError(
        await cli(['login', '--url', 'ftp://x', '--workspace-id', 'w', '--user-id', 'u'], { home }),
        "--url: 'ftp://x' must start with http:// or https://",
      );
    });

    it('whoami shows workspace, user and role; --json prints the SDK object', async () => {
      const home = await loggedIn(developer);
      const text = await cli(['whoami'], { home });
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        new RegExp(`^workspace +test workspace \\(${developer.workspace_id}\\)$`, 'm'),
      );
      assert.match(text.stdout, new RegExp(`^user +${developer.user_id}$`, 'm'));
      assert.match(text.stdout, /^role +developer$/m);
      assert.ok(text.stdout.includes(credentialsFile(home)));

      const json = await cli(['whoami', '--json'], { home });
      assert.deepEqual(JSON.parse(json.stdout) as UserWhoAmI, {
        kind: 'user',
        workspace_id: developer.workspace_id,
        workspace_name: 'test workspace',
        user_id: developer.user_id,
        role: 'developer',
      });
    });

    it('warns about a credentials file other users can read, and still uses it', async () => {
      const home = await loggedIn(developer);
      chmodSync(credentialsFile(home), 0o644);
      const result = await cli(['whoami', '--json'], { home });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /can be read by other users \(mode 0644\); run: chmod 600/);
    });

    it('refuses a damaged credentials file without quoting it', async () => {
      const home = newHome();
      mkdirSync(join(home, '.ductape'), { mode: 0o700 });
      writeFileSync(credentialsFile(home), '{"private_key": "dk_leaky', { mode: 0o600 });
      const result = await cli(['secrets', 'list'], { home });
      assertUsageError(result, "is not valid JSON; run 'ductape login' again");
      assert.ok(!result.stderr.includes('dk_leaky'));
    });

    it('logout removes the file; afterwards commands ask to log in', async () => {
      const home = await loggedIn(developer);
      const out = await cli(['logout'], { home });
      assert.equal(out.code, 0, out.stderr);
      assert.equal(existsSync(credentialsFile(home)), false);
      assertUsageError(await cli(['secrets', 'list'], { home }), "not logged in: run 'ductape login'");
      const again = await cli(['logout'], { home });
      assert.equal(again.code, 0);
      assert.match(again.stdout, /Not logged in/);
    });
  });

  describe('credentials from the environment', () => {
    it('uses the three variables, ahead of a saved file', async () => {
      const home = await loggedIn(server.owner);
      const result = await cli(['whoami', '--json'], { home, env: envOf(developer) });
      assert.equal(result.code, 0, result.stderr);
      assert.equal((JSON.parse(result.stdout) as UserWhoAmI).user_id, developer.user_id);

      const noFile = await cli(['secrets', 'list', '--json'], { home: newHome(), env: envOf(developer) });
      assert.equal(noFile.code, 0, noFile.stderr);
      assert.ok(Array.isArray(JSON.parse(noFile.stdout)));
    });

    it('calls a partial set a usage error and names what is missing', async () => {
      const { DUCTAPE_PRIVATE_KEY: _key, ...partial } = envOf(developer);
      const result = await cli(['secrets', 'list'], { home: await loggedIn(developer), env: partial });
      assertUsageError(result, /^ductape: DUCTAPE_PRIVATE_KEY is not set: /);
    });

    it("sends saved credentials to the saved URL, but never the environment's", async () => {
      const home = await loggedIn(server.owner);
      const saved = await cli(['whoami', '--json'], { home, env: { DUCTAPE_URL: '' } });
      assert.equal(saved.code, 0, saved.stderr);
      assert.equal((JSON.parse(saved.stdout) as UserWhoAmI).user_id, server.owner.user_id);

      // With credentials from the environment the saved URL does not apply: the default does,
      // where no server knows these credentials (or none listens at all).
      const fromEnv = await cli(['whoami', '--json'], {
        home,
        env: { ...envOf(developer), DUCTAPE_URL: '' },
      });
      assert.equal(fromEnv.code, 1);
      assert.equal(fromEnv.stdout, '');
    });

    it('takes --url before or after the subcommand, over DUCTAPE_URL', async () => {
      const home = newHome();
      const env = { ...envOf(developer), DUCTAPE_URL: 'http://127.0.0.1:1' };
      const unreachable = await cli(['secrets', 'list'], { home, env });
      assert.equal(unreachable.code, 1);
      assert.match(
        unreachable.stderr,
        /^ductape: Could not reach the Ductape server at http:\/\/127\.0\.0\.1:1/,
      );
      for (const args of [
        ['secrets', '--url', server.url, 'list', '--json'],
        ['secrets', 'list', '--json', '--url', server.url],
      ]) {
        const result = await cli(args, { home, env });
        assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      }
    });
  });

  describe('ductape secrets', () => {
    let home: string;
    const sdk = () => server.client(server.owner);

    before(async () => {
      home = await loggedIn(server.owner);
    });

    it('creates from --value-file, dropping exactly one trailing newline', async () => {
      const file = join(newHome(), 'value.txt');
      writeFileSync(file, 'from-file\n\n');
      const result = await cli(['secrets', 'create', 'FROM_FILE', '--value-file', file], { home });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "Created secret 'FROM_FILE' (version 1).\n");
      assert.equal(result.stderr, '');
      assert.equal((await sdk().secrets.fetch('FROM_FILE')).value, 'from-file\n');

      const kept = await cli(['secrets', 'create', 'KEPT_NEWLINE', '--value-file', file, '--keep-newline'], {
        home,
      });
      assert.equal(kept.code, 0, kept.stderr);
      assert.equal((await sdk().secrets.fetch('KEPT_NEWLINE')).value, 'from-file\n\n');
    });

    it('creates from stdin, with or without --value-stdin', async () => {
      const piped = await cli(['secrets', 'create', 'FROM_STDIN'], { home, input: 'piped value\n' });
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal((await sdk().secrets.fetch('FROM_STDIN')).value, 'piped value');

      const flagged = await cli(['secrets', 'create', 'FROM_STDIN_FLAG', '--value-stdin', '--json'], {
        home,
        input: 'flagged',
      });
      assert.equal(flagged.code, 0, flagged.stderr);
      const created = JSON.parse(flagged.stdout) as Secret;
      assert.equal(created.key, 'FROM_STDIN_FLAG');
      assert.equal(created.version, 1);
      assert.equal('value' in created, false);
      assert.equal((await sdk().secrets.fetch('FROM_STDIN_FLAG')).value, 'flagged');
    });

    it('accepts --value but warns that arguments end up in shell history', async () => {
      const result = await cli(['secrets', 'create', 'FROM_ARG', '--value', 'argument value'], { home });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^warning: .*--value ends up in your shell history/);
      assert.equal((await sdk().secrets.fetch('FROM_ARG')).value, 'argument value');
    });

    it('refuses an empty value and creates nothing', async () => {
      assertUsageError(
        await cli(['secrets', 'create', 'EMPTY'], { home, input: '\n' }),
        'the value is empty',
      );
      assert.equal(await sdk().secrets.exists('EMPTY'), false);
    });

    it("answers a duplicate key with the server's 409 message and exit 1", async () => {
      const result = await cli(['secrets', 'create', 'FROM_ARG', '--value-stdin'], {
        home,
        input: 'other value',
      });
      assert.equal(result.code, 1);
      assert.equal(result.stderr, "ductape: Secret 'FROM_ARG' already exists in this workspace\n");
      assert.equal((await sdk().secrets.fetch('FROM_ARG')).value, 'argument value');
    });

    it('get --value-only gives back unicode, line breaks and quotes exactly', async () => {
      const value = `pä$$ "wörd" 'single' \\n\n\tline 2 ☃ 🎉\r\n  trailing space `;
      const created = await cli(['secrets', 'create', 'TRICKY'], { home, input: value });
      assert.equal(created.code, 0, created.stderr);
      const got = await cli(['secrets', 'get', 'TRICKY', '--value-only'], { home });
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, value);
      const json = await cli(['secrets', 'get', 'TRICKY', '--json'], { home });
      assert.deepEqual(JSON.parse(json.stdout) as SecretWithValue, await sdk().secrets.fetch('TRICKY'));
    });

    it('get shows metadata lines and the value', async () => {
      await sdk().secrets.create({
        key: 'SHOWN',
        value: 'shown-value',
        description: 'for people',
        token_type: 'api',
      });
      const result = await cli(['secrets', 'get', 'SHOWN'], { home });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^key +SHOWN$/m);
      assert.match(result.stdout, /^description +for people$/m);
      assert.match(result.stdout, /^type +api$/m);
      assert.match(result.stdout, /^scope +all apps$/m);
      assert.match(result.stdout, /^expires +never$/m);
      assert.match(result.stdout, /^value +shown-value$/m);
    });

    it('lists a table by default and the SDK array with --json', async () => {
      const created = await cli(
        [
          'secrets',
          'create',
          'LISTED',
          '--value-stdin',
          '--token-type',
          'api',
          '--scope',
          'checkout, billing',
          '--envs',
          'prd',
          '--expires-at',
          '2030-01-02T03:04:05Z',
        ],
        { home, input: 'listed' },
      );
      assert.equal(created.code, 0, created.stderr);

      const table = await cli(['secrets', 'list'], { home });
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trimEnd().split('\n');
      assert.deepEqual(lines[0]?.split(/ +/), [
        'KEY',
        'STATUS',
        'TYPE',
        'SCOPE',
        'ENVS',
        'EXPIRES',
        'UPDATED',
      ]);
      const row = (key: string) => lines.find((l) => l.startsWith(`${key} `))?.split(/ +/);
      assert.deepEqual(row('LISTED')?.slice(0, 6), [
        'LISTED',
        'active',
        'api',
        'checkout,billing',
        'prd',
        '2030-01-02T03:04:05Z',
      ]);
      assert.deepEqual(row('FROM_STDIN')?.slice(0, 7), [
        'FROM_STDIN',
        'active',
        '-',
        'all',
        'apps',
        'all',
        'never',
      ]);
      assert.equal(lines.length, (await sdk().secrets.list()).length + 1);
      assert.ok(!table.stdout.includes('listed\n') && !table.stdout.includes('piped value'));

      const json = await cli(['secrets', 'list', '--json'], { home });
      assert.deepEqual(JSON.parse(json.stdout) as Secret[], await sdk().secrets.fetchAll());
    });

    it('updates metadata alone, then the value, then clears fields', async () => {
      await sdk().secrets.create({ key: 'UPDATED', value: 'v1', description: 'first', scope: ['a'] });
      const before = Math.floor(Date.now() / 1000);
      const meta = await cli(
        ['secrets', 'update', 'UPDATED', '--description', 'second', '--scope', '', '--expires-in', '90d'],
        { home },
      );
      assert.equal(meta.code, 0, meta.stderr);
      let secret = await sdk().secrets.fetch('UPDATED');
      assert.equal(secret.value, 'v1');
      assert.equal(secret.version, 2, 'every update is a version, metadata-only ones too');
      assert.equal(secret.description, 'second');
      assert.deepEqual(secret.scope, []);
      const ninetyDays = 90 * 86_400;
      assert.ok(secret.expires_at !== null && Math.abs(secret.expires_at - (before + ninetyDays)) <= 5);

      const value = await cli(['secrets', 'update', 'UPDATED', '--value-stdin', '--json'], {
        home,
        input: 'v2\n',
      });
      assert.equal(value.code, 0, value.stderr);
      assert.equal((JSON.parse(value.stdout) as Secret).version, 3);
      assert.equal((await sdk().secrets.fetch('UPDATED')).value, 'v2');

      const cleared = await cli(['secrets', 'update', 'UPDATED', '--clear-description', '--no-expiry'], {
        home,
      });
      assert.equal(cleared.code, 0, cleared.stderr);
      secret = await sdk().secrets.fetch('UPDATED');
      assert.equal(secret.description, null);
      assert.equal(secret.expires_at, null);
      assert.equal(secret.value, 'v2');

      // No value option: stdin is not read for an update, so there is nothing to change.
      assertUsageError(
        await cli(['secrets', 'update', 'UPDATED'], { home, input: 'v3' }),
        'nothing to update',
      );
      assert.equal((await sdk().secrets.fetch('UPDATED')).value, 'v2');
    });

    it('revoke makes get fail with "revoked"; restore brings it back', async () => {
      await sdk().secrets.create({ key: 'REVOKED', value: 'revoked-value' });
      const revoked = await cli(['secrets', 'revoke', 'REVOKED'], { home });
      assert.equal(revoked.code, 0, revoked.stderr);
      const refused = await cli(['secrets', 'get', 'REVOKED', '--value-only'], { home });
      assert.equal(refused.code, 1);
      assert.equal(refused.stdout, '');
      assert.equal(refused.stderr, "ductape: Secret 'REVOKED' has been revoked\n");
      const table = await cli(['secrets', 'list'], { home });
      assert.match(table.stdout, /^REVOKED +revoked /m);

      const restored = await cli(['secrets', 'restore', 'REVOKED'], { home });
      assert.equal(restored.code, 0, restored.stderr);
      const got = await cli(['secrets', 'get', 'REVOKED', '--value-only'], { home });
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, 'revoked-value');
    });

    it('delete needs --yes without a terminal; then get says "not found"', async () => {
      await sdk().secrets.create({ key: 'DELETED', value: 'x' });
      assertUsageError(await cli(['secrets', 'delete', 'DELETED'], { home, input: 'y\n' }), /without --yes/);
      assert.equal(await sdk().secrets.exists('DELETED'), true);

      const deleted = await cli(['secrets', 'delete', 'DELETED', '--yes'], { home });
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout, "Deleted secret 'DELETED'.\n");
      const gone = await cli(['secrets', 'get', 'DELETED'], { home });
      assert.equal(gone.code, 1);
      assert.equal(gone.stderr, "ductape: Secret 'DELETED' not found\n");
    });

    it("passes on the server's refusal for a weaker role", async () => {
      const viewer = await server.newUser('viewer');
      privateKeys.push(viewer.private_key);
      const result = await cli(['secrets', 'get', 'FROM_ARG'], { home: newHome(), env: envOf(viewer) });
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        'ductape: Reading secret values needs the developer role or higher; you are a viewer\n',
      );
    });

    it('exits 2 on bad usage, before touching the server', async () => {
      const cases: [string[], string | RegExp][] = [
        [['secrets', 'get'], "missing required argument 'key'"],
        [['secrets', 'list', '--bogus'], "unknown option '--bogus'"],
        [['secrets', 'frobnicate'], /unknown command 'frobnicate'/],
        [
          ['secrets', 'create', 'BAD', '--value-stdin', '--token-type', 'nope'],
          /Allowed choices are api, access/,
        ],
        [
          ['secrets', 'create', 'BAD', '--value-stdin', '--expires-in', '3 fortnights'],
          "'3 fortnights' is not a duration",
        ],
        [['secrets', 'create', 'BAD', '--value-stdin', '--expires-at', 'tomorrow'], '--expires-at'],
        [['secrets', 'create', 'BAD', '--value-file', '/nonexistent/file'], 'no such file'],
        [['secrets', 'create', 'BAD', '--value', 'a', '--value-stdin'], /cannot be used with/],
        [['secrets', 'get', 'SHOWN', '--json', '--value-only'], /cannot be used with/],
      ];
      for (const [args, message] of cases) {
        const result = await cli(args, { home, input: 'some value' });
        assert.equal(result.code, 2, `${args.join(' ')} exited ${result.code}: ${result.stderr}`);
        if (typeof message === 'string')
          assert.ok(result.stderr.includes(message), `${args.join(' ')}: ${result.stderr}`);
        else assert.match(result.stderr, message);
      }
      assert.equal(await sdk().secrets.exists('BAD'), false);
    });
  });

  describe('help and start-up', () => {
    it('--help works for every command and each has a description', async () => {
      const home = newHome();
      const commands: [string[], string][] = [
        [[], 'self-hostable secrets manager'],
        [['login'], 'Check your credentials with the server'],
        [['logout'], 'Remove the credentials'],
        [['whoami'], 'workspace, user and role'],
        [['secrets'], 'Create, read, update, revoke and delete'],
        [['secrets', 'list'], 'metadata only'],
        [['secrets', 'get'], 'decrypted value'],
        [['secrets', 'create'], 'exactly one trailing "\\n"'],
        [['secrets', 'update'], 'what is not given stays as it is'],
        [['secrets', 'delete'], 'Delete a secret permanently'],
        [['secrets', 'revoke'], 'cannot be read or used until restored'],
        [['secrets', 'restore'], 'Undo a revoke'],
      ];
      for (const [args, description] of commands) {
        const result = await cli([...args, '--help'], { home });
        assert.equal(result.code, 0, `${args.join(' ')} --help: ${result.stderr}`);
        assert.ok(result.stdout.startsWith(`Usage: ductape ${args.join(' ')}`.trimEnd()), result.stdout);
        assert.ok(result.stdout.includes(description), `${args.join(' ')} --help lacks '${description}'`);
      }
    });

    it('the people commands load neither the store nor the web server', async () => {
      // NODE_DEBUG=module traces every CommonJS load; better-sqlite3 and fastify are CommonJS.
      const result = await cli(['secrets', 'list', '--json'], {
        home: newHome(),
        env: { ...envOf(developer), NODE_DEBUG: 'module' },
      });
      assert.equal(result.code, 0);
      assert.match(result.stderr, /commander/, 'the trace works');
      assert.doesNotMatch(result.stderr, /better-sqlite3|fastify|node_modules\/pg\//);
    });
  });

  // ---------------------------------------------------------------------------------------
  // In a terminal: hidden prompts and confirmation, through a pseudo-terminal.

  /** Async on purpose: the server runs in this process, so blocking here would starve it. */
  function inTerminal(
    args: string[],
    home: string,
    steps: [prompt: string, answer: string][],
    env: Record<string, string> = {},
  ): Promise<{ output: string; code: number }> {
    const spec = {
      argv: [process.execPath, CLI_ENTRY, ...args],
      env: { PATH: process.env.PATH ?? '', HOME: home, DUCTAPE_URL: server.url, TERM: 'dumb', ...env },
      steps,
    };
    return new Promise((resolve, reject) => {
      const driver = spawn('python3', ['-c', PTY_DRIVER], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      driver.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      driver.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      driver.on('error', reject);
      driver.on('close', (status) => {
        if (status !== 0) return reject(new Error(`pty driver failed (${status}): ${stderr}`));
        const result = JSON.parse(stdout) as { output: string; code: number };
        outputs.push({ code: result.code, signal: null, stdout: result.output, stderr: '' });
        resolve(result);
      });
      driver.stdin.end(JSON.stringify(spec));
    });
  }

  describe('in a terminal', { skip: hasPython ? false : 'python3 with pty is not available' }, () => {
    it('login asks for the missing fields and reads the key with echo off', async () => {
      const home = newHome();
      const { output, code } = await inTerminal(['login'], home, [
        ['Workspace id: ', `${developer.workspace_id}\r`],
        ['User id: ', `${developer.user_id}\r`],
        ['Private key (input hidden): ', `${developer.private_key}\r`],
      ]);
      assert.equal(code, 0, output);
      assert.ok(output.includes(developer.user_id), 'the typed user id is echoed');
      assert.ok(!output.includes(developer.private_key), 'the typed private key is not');
      // Nothing at all after the hidden prompt on its line: not the key, not its characters
      // doubled or scattered by a prompt that echoes (a closed readline interface once did).
      const afterPrompt = output.slice(output.indexOf('Private key (input hidden): ') + 28);
      assert.equal(afterPrompt.split('\n')[0]?.trim(), '', JSON.stringify(afterPrompt.slice(0, 200)));
      assert.equal(
        JSON.parse(readFileSync(credentialsFile(home), 'utf8')).private_key,
        developer.private_key,
      );
    });

    it('create asks for the value with echo off; Backspace edits it', async () => {
      const home = await loggedIn(developer);
      const { output, code } = await inTerminal(['secrets', 'create', 'TYPED'], home, [
        ["Value for 'TYPED' (input hidden): ", 'typed-secret-valueX\u007f\r'],
      ]);
      assert.equal(code, 0, output);
      assert.ok(!output.includes('typed-secret'), output);
      assert.match(output, /Created secret 'TYPED'/);
      assert.equal((await server.client(developer).secrets.fetch('TYPED')).value, 'typed-secret-value');

      const shown = await inTerminal(['secrets', 'get', 'TYPED', '--value-only'], home, []);
      assert.equal(shown.output, 'typed-secret-value\r\n', 'a newline is added on a terminal');
    });

    it('Ctrl-C at the hidden prompt cancels with exit 130', async () => {
      const home = await loggedIn(developer);
      const { code } = await inTerminal(['secrets', 'create', 'CANCELLED'], home, [
        ['(input hidden): ', 'abc\u0003'],
      ]);
      assert.equal(code, 130);
      assert.equal(await server.client(developer).secrets.exists('CANCELLED'), false);
    });

    it('delete asks first; only "y" deletes', async () => {
      const home = await loggedIn(server.owner);
      await server.client(server.owner).secrets.create({ key: 'CONFIRMED', value: 'x' });
      const no = await inTerminal(['secrets', 'delete', 'CONFIRMED'], home, [['[y/N] ', 'n\r']]);
      assert.equal(no.code, 1);
      assert.match(no.output, /cancelled: nothing was deleted/);
      assert.equal(await server.client(server.owner).secrets.exists('CONFIRMED'), true);

      const yes = await inTerminal(['secrets', 'delete', 'CONFIRMED'], home, [['[y/N] ', 'y\r']]);
      assert.equal(yes.code, 0, yes.output);
      assert.equal(await server.client(server.owner).secrets.exists('CONFIRMED'), false);
    });
  });

  describe('private keys', () => {
    it('no command ever printed one', () => {
      assert.ok(outputs.length > 40, `only ${outputs.length} runs were recorded`);
      for (const { stdout, stderr } of outputs) {
        for (const key of privateKeys) {
          assert.ok(!stdout.includes(key) && !stderr.includes(key), 'a private key was printed');
        }
      }
    });
  });
});
