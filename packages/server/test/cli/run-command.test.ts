/**
 * `ductape run` end to end: the built CLI against a real server, starting real commands.
 * The child is usually `node -e` printing its environment as JSON, so every assertion is
 * about what the command actually received.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI_ENTRY, startTestServer, type CliResult, type TestServer } from '../helpers/harness.js';
import { cliSession, envOf, expectCode, type Cli, type CliSession } from '../helpers/cli-session.js';

const DUMP_ENV = ['node', '-e', 'process.stdout.write(JSON.stringify(process.env))'];
const RUN_WEB_DEV = ['run', '--app', 'web', '--env', 'dev'];

const hasPython = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;

/** Runs argv in a pty; on "ready", types Ctrl-C or signals the top process; prints output and code. */
const PTY_SIGNALS = `
import json, os, pty, select, signal, sys, time
spec = json.loads(sys.stdin.read())
pid, fd = pty.fork()
if pid == 0:
    os.execve(spec["argv"][0], spec["argv"], spec["env"])
out = b""
done = False
deadline = time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try: chunk = os.read(fd, 4096)
        except OSError: break
        if not chunk: break
        out += chunk
    if not done and b"ready" in out:
        done = True
        if spec["action"] == "ctrl-c":
            os.write(fd, b"\\x03")
        else:
            os.kill(pid, signal.SIGINT)
            time.sleep(0.2)
            os.kill(pid, signal.SIGUSR1)
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": out.decode("utf-8", "replace"), "code": os.waitstatus_to_exitcode(status)}))
`;

let server: TestServer;
let session: CliSession;
let owner: Cli;

function envFrom(result: CliResult): Record<string, string> {
  expectCode(result, 0);
  return JSON.parse(result.stdout) as Record<string, string>;
}

describe('ductape run', () => {
  before(async () => {
    server = await startTestServer();
    session = cliSession(server);
    owner = session.as(server.owner);
    const sdk = server.client(server.owner);
    const secrets: [string, string, string[], string[]][] = [
      ['WEB_DEV', 'web-dev-value', ['web'], ['dev']],
      ['EVERYWHERE', 'for every app', [], []],
      ['API_ONLY', 'api-value', ['api'], []],
      ['WEB_PRD', 'prd-value', ['web'], ['prd']],
      ['db.password', 'dotted', ['web'], []],
      ['1st-key', 'leading digit', ['web'], []],
      ['MULTILINE', 'line 1\nline 2 "quoted" $HOME ☃', ['web'], []],
      ['REVOKED_ONE', 'revoked-value', ['web'], []],
      ['clash.key', 'first', ['clash'], []],
      ['clash_key', 'second', ['clash'], []],
    ];
    for (const [key, value, scope, envs] of secrets) await sdk.secrets.create({ key, value, scope, envs });
    await sdk.secrets.revoke('REVOKED_ONE');
  });

  after(async () => {
    session.cleanup();
    await server.stop();
  });

  it('passes the in-scope secrets and none of the others', async () => {
    const result = await owner([...RUN_WEB_DEV, '--', ...DUMP_ENV], { env: { EVERYWHERE: 'from parent' } });
    const env = envFrom(result);
    assert.equal(env.WEB_DEV, 'web-dev-value');
    assert.equal(env.EVERYWHERE, 'for every app', 'a secret overrides a variable already set');
    assert.equal(env.MULTILINE, 'line 1\nline 2 "quoted" $HOME ☃');
    for (const key of ['API_ONLY', 'WEB_PRD', 'REVOKED_ONE', 'clash_key'])
      assert.equal(env[key], undefined, key);
    assert.equal(env.PATH, process.env.PATH, 'the rest of the environment is inherited');
    for (const name of ['DUCTAPE_WORKSPACE_ID', 'DUCTAPE_USER_ID', 'DUCTAPE_PRIVATE_KEY']) {
      assert.equal(env[name], undefined, `${name} is not passed on`);
    }
    assert.equal(env.DUCTAPE_URL, server.url);
    assert.match(result.stderr, /^warning: skipped REVOKED_ONE: Secret 'REVOKED_ONE' has been revoked$/m);
  });

  it('skips keys that are not variable names, with a warning', async () => {
    const result = await owner([...RUN_WEB_DEV, '--', ...DUMP_ENV]);
    const env = envFrom(result);
    assert.equal(env['db.password'], undefined);
    assert.equal(env.db_password, undefined);
    assert.match(
      result.stderr,
      /^warning: skipped db\.password: not a valid environment variable name \(use --name-transform\)$/m,
    );
    assert.match(result.stderr, /^warning: skipped 1st-key: not a valid environment variable name/m);
  });

  it('renames them with --name-transform underscore or upper', async () => {
    const underscore = envFrom(
      await owner([...RUN_WEB_DEV, '--name-transform', 'underscore', '--', ...DUMP_ENV]),
    );
    assert.equal(underscore.db_password, 'dotted');
    assert.equal(underscore._1st_key, 'leading digit');
    assert.equal(underscore.WEB_DEV, 'web-dev-value');

    const upper = await owner([...RUN_WEB_DEV, '--name-transform', 'upper', '--', ...DUMP_ENV]);
    const env = envFrom(upper);
    assert.equal(env.DB_PASSWORD, 'dotted');
    assert.equal(env._1ST_KEY, 'leading digit');
    assert.equal(env.db_password, undefined);
    assert.doesNotMatch(upper.stderr, /not a valid environment variable name/);
  });

  it('refuses names that collide after the transform (exit 2), naming both keys, and starts nothing', async () => {
    const marker = join(session.folder(), 'started');
    const result = await owner([
      'run',
      '--app',
      'clash',
      '--env',
      'dev',
      '--name-transform',
      'underscore',
      '--',
      'node',
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`,
    ]);
    expectCode(result, 2);
    assert.match(result.stderr, /'clash\.key' and 'clash_key' both become 'clash_key'/);
    assert.throws(() => readFileSync(marker), /ENOENT/);
  });

  it('--only passes exactly the named secrets, and fails when one is not usable', async () => {
    const env = envFrom(await owner([...RUN_WEB_DEV, '--only', 'WEB_DEV', '--', ...DUMP_ENV]));
    assert.equal(env.WEB_DEV, 'web-dev-value');
    assert.equal(env.EVERYWHERE, undefined);

    const refused = await owner([...RUN_WEB_DEV, '--only', 'WEB_DEV,API_ONLY', '--', ...DUMP_ENV]);
    expectCode(refused, 1);
    assert.equal(refused.stdout, '', 'the command was not started');
    assert.equal(refused.stderr, "ductape: Secret 'API_ONLY' is not accessible by app 'web'\n");
  });

  it("passes the command's arguments and options through, and its exit code", async () => {
    // No `--`: everything after the command's name is the command's, even `--app x`.
    const args = await owner([
      ...RUN_WEB_DEV,
      'sh',
      '-c',
      'printf "%s|" "$@"',
      'sh',
      '--app',
      'x',
      '--',
      'y z',
    ]);
    expectCode(args, 0);
    assert.equal(args.stdout, '--app|x|--|y z|');

    const three = await owner([...RUN_WEB_DEV, '--', 'node', '-e', 'process.exitCode = 3']);
    expectCode(three, 3);
    const zero = await owner([...RUN_WEB_DEV, '--', 'true']);
    expectCode(zero, 0);
  });

  it('exits 128+N when a signal N ends the command', async () => {
    const killed = await owner([...RUN_WEB_DEV, '--', 'node', '-e', 'process.kill(process.pid, "SIGKILL")']);
    expectCode(killed, 128 + 9);
    assert.equal(killed.signal, null, 'ductape itself exits normally');
    const terminated = await owner([...RUN_WEB_DEV, '--', 'sh', '-c', 'kill -TERM $$']);
    expectCode(terminated, 128 + 15);
  });

  it('exits 127 when the command does not exist, 126 when it cannot be executed', async () => {
    const missing = await owner([...RUN_WEB_DEV, '--', 'no-such-command-ductape-test']);
    expectCode(missing, 127);
    assert.match(missing.stderr, /^ductape: no-such-command-ductape-test: command not found$/m);
    const file = join(session.folder(), 'not-executable');
    writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
    expectCode(await owner([...RUN_WEB_DEV, '--', file]), 126);
  });

  it('starts nothing when the server cannot be reached (exit 1)', async () => {
    const marker = join(session.folder(), 'started');
    const result = await owner(
      [...RUN_WEB_DEV, '--', 'node', '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`],
      { env: { DUCTAPE_URL: 'http://127.0.0.1:9' } },
    );
    expectCode(result, 1);
    assert.match(
      result.stderr,
      /^ductape: Could not reach the Ductape server at http:\/\/127\.0\.0\.1:9 \(POST \/v1\/auth\/token\): ECONNREFUSED/,
    );
    assert.throws(() => readFileSync(marker), /ENOENT/);
  });

  it('needs --app and --env with user credentials (exit 2)', async () => {
    const result = await owner(['run', '--', 'true']);
    expectCode(result, 2);
    assert.match(result.stderr, /--app and --env are required with user credentials/);
  });

  it('forwards SIGTERM to the command and exits with its code', async () => {
    const marker = join(session.folder(), 'signal');
    const child = spawn(
      process.execPath,
      [
        CLI_ENTRY,
        ...RUN_WEB_DEV,
        '--',
        'node',
        '-e',
        `process.on('SIGTERM', () => { require('fs').writeFileSync(${JSON.stringify(marker)}, 'SIGTERM ' + process.env.WEB_DEV); process.exit(0); });
         console.log('ready'); setInterval(() => {}, 1000);`,
      ],
      {
        env: {
          PATH: process.env.PATH,
          HOME: session.folder(),
          DUCTAPE_URL: server.url,
          ...envOf(server.owner),
        },
      },
    );
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (stdout.includes('ready')) resolve();
      });
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (code, signal) => resolve([code, signal])),
    );
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null]);
    assert.equal(readFileSync(marker, 'utf8'), 'SIGTERM web-dev-value');
  });

  it('forwards SIGUSR2: a command without a handler dies of it, 128+12', async () => {
    const child = spawn(
      process.execPath,
      [CLI_ENTRY, ...RUN_WEB_DEV, '--', 'node', '-e', "console.log('ready'); setInterval(() => {}, 1000);"],
      {
        env: {
          PATH: process.env.PATH,
          HOME: session.folder(),
          DUCTAPE_URL: server.url,
          ...envOf(server.owner),
        },
      },
    );
    await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.kill('SIGUSR2');
    assert.equal(await exited, 128 + 12);
  });

  describe('with a service token in DUCTAPE_TOKEN', () => {
    let token: string;
    let tokenId: string;

    before(async () => {
      const created = await server.client(server.owner).tokens.create({ app: 'web', env: 'dev' });
      token = created.token;
      tokenId = created.token_id;
    });

    it("runs without --app/--env (the token's own apply) and reaches nothing else", async () => {
      const tokenCli = session.as({ token });
      const result = await tokenCli(['run', '--', ...DUMP_ENV]);
      const env = envFrom(result);
      assert.equal(env.WEB_DEV, 'web-dev-value');
      assert.equal(env.EVERYWHERE, 'for every app');
      for (const key of ['API_ONLY', 'WEB_PRD', 'clash_key']) assert.equal(env[key], undefined, key);
      assert.equal(env.DUCTAPE_TOKEN, undefined, 'the token is not passed on');

      const same = envFrom(await tokenCli([...RUN_WEB_DEV, '--', ...DUMP_ENV]));
      assert.equal(same.WEB_DEV, 'web-dev-value');
    });

    it("takes precedence over user credentials, and shows the server's refusal for another app or key", async () => {
      const both = session.as({ token });
      const precedence = await both(['run', '--', ...DUMP_ENV], { env: envOf(server.owner) });
      assert.equal(envFrom(precedence).WEB_DEV, 'web-dev-value', 'no --app needed: the token was used');

      const otherApp = await both(['run', '--app', 'api', '--', ...DUMP_ENV]);
      expectCode(otherApp, 1);
      assert.equal(otherApp.stdout, '');
      assert.equal(
        otherApp.stderr,
        "ductape: This service token is bound to app 'web' and cannot act for app 'api'\n",
      );
      const otherKey = await both(['run', '--only', 'API_ONLY', '--', ...DUMP_ENV]);
      expectCode(otherKey, 1);
      // A key outside the token's scope is answered as a missing one (docs/security.md).
      assert.equal(otherKey.stderr, "ductape: Secret 'API_ONLY' not found\n");
    });

    it('fails at once after the token is revoked', async () => {
      const tokenCli = session.as({ token });
      expectCode(await tokenCli(['run', '--', 'true']), 0);
      expectCode(await owner(['token', 'revoke', tokenId]), 0);
      const refused = await tokenCli(['run', '--', ...DUMP_ENV]);
      expectCode(refused, 1);
      assert.equal(refused.stdout, '');
      assert.match(refused.stderr, /^ductape: Service token has been revoked\n$/);
    });
  });

  it('run (and the other people commands) load neither the store, the web server, pg nor zod', async () => {
    // A resolve hook sees every ES module import (zod is one); NODE_DEBUG=module every
    // CommonJS require (better-sqlite3, fastify, pg).
    const dir = session.folder();
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
       export async function resolve(specifier, context, next) {
         const result = await next(specifier, context);
         appendFileSync(process.env.TRACE_FILE, result.url + '\\n');
         return result;
       }`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';
       register(${JSON.stringify(`file://${join(dir, 'hooks.mjs')}`)});`,
    );
    const commands = [
      [...RUN_WEB_DEV, '--', 'true'],
      ['secrets', 'export', '--app', 'web', '--env', 'dev', '--format', 'json'],
      ['resolve', '--app', 'web', '--env', 'dev', 'x'],
      ['token', 'list'],
      ['secrets', 'list'],
    ];
    for (const [i, args] of commands.entries()) {
      const trace = join(dir, `trace-${i}.txt`);
      const result = await owner(args, {
        env: {
          NODE_OPTIONS: `--import=${join(dir, 'register.mjs')}`,
          NODE_DEBUG: 'module',
          TRACE_FILE: trace,
        },
      });
      expectCode(result, 0);
      const loaded = readFileSync(trace, 'utf8') + result.stderr;
      assert.match(loaded, /commander/, 'the trace works');
      assert.match(loaded, /packages\/sdk\/dist/, 'the trace sees ES modules');
      assert.doesNotMatch(
        loaded,
        /better-sqlite3|fastify|node_modules\/pg\/|node_modules\/zod\//,
        args.join(' '),
      );
      assert.doesNotMatch(
        loaded,
        /dist\/(store|http|services|crypto)\//,
        `${args.join(' ')}: no server module`,
      );
      if (args[0] === 'run') {
        assert.doesNotMatch(
          loaded,
          /dist\/cli\/commands\/(secrets|login|tokens|usage)/,
          'run loads only its own',
        );
      }
    }
  });

  describe('in a terminal', { skip: hasPython ? false : 'python3 with pty is not available' }, () => {
    /** The command counts the signals it gets, then prints the counts and exits 0. */
    const counter = `const n = { SIGINT: 0, SIGUSR1: 0 };
      for (const s of Object.keys(n)) process.on(s, () => n[s]++);
      console.log('ready');
      setTimeout(() => { console.log('got ' + JSON.stringify(n)); process.exit(0); }, 2000);`;

    /** Starts `ductape run` in a pseudo-terminal; once the command is ready, does `action`. */
    function inTerminal(action: 'ctrl-c' | 'kill'): Promise<{ output: string; code: number }> {
      const spec = {
        action,
        argv: [process.execPath, CLI_ENTRY, ...RUN_WEB_DEV, '--', 'node', '-e', counter],
        env: {
          PATH: process.env.PATH ?? '',
          HOME: session.folder(),
          DUCTAPE_URL: server.url,
          TERM: 'dumb',
          ...envOf(server.owner),
        },
      };
      return new Promise((resolve, reject) => {
        const python = spawn('python3', ['-c', PTY_SIGNALS], { stdio: ['pipe', 'pipe', 'inherit'] });
        let out = '';
        python.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        python.on('error', reject);
        python.on('close', () => resolve(JSON.parse(out) as { output: string; code: number }));
        python.stdin.end(JSON.stringify(spec));
      });
    }

    it('Ctrl-C reaches the command from the terminal; ductape waits and exits with its code', async () => {
      const { output, code } = await inTerminal('ctrl-c');
      assert.match(output, /got \{"SIGINT":1,"SIGUSR1":0\}/);
      assert.equal(code, 0);
    });

    it('does not pass SIGINT on a second time, but still forwards the other signals', async () => {
      // Sent to ductape alone: the terminal delivers a real Ctrl-C to the command itself,
      // so forwarding SIGINT here would make every Ctrl-C arrive twice.
      const { output, code } = await inTerminal('kill');
      assert.match(output, /got \{"SIGINT":0,"SIGUSR1":1\}/);
      assert.equal(code, 0);
    });
  });
});
