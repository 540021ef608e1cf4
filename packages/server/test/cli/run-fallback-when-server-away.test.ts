/**
 * `ductape run --fallback FILE` end to end: the built CLI against a real server process that
 * is stopped and started again, and behind a front (a real HTTP server on its own port) that
 * passes requests on, answers 503, drops the connection, never answers, or stops listening.
 * The child prints its environment, so every assertion is about what a program received.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { request, createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ductape from '@ductape/sdk';
import { runCli, runOperator, tempDir, type CliResult, type Credentials } from '../helpers/harness.js';
import { envOf, expectCode } from '../helpers/cli-session.js';
import { freePort, sleep } from '../helpers/http.js';
import { killAllServers, spawnServer, type ServerProcess } from '../helpers/server-process.js';

const DUMP_ENV = ['node', '-e', 'process.stdout.write(JSON.stringify(process.env))'];
const WEB_DEV = ['--app', 'web', '--env', 'dev'];
const SECRETS: Record<string, string> = {
  WEB_DEV: 'web-dev-value',
  MULTILINE: 'line 1\nline 2 "quoted" $HOME ☃',
  DATABASE_URL: 'postgres://app:s3cr3t-fallback@db/app',
};

type Mode = 'forward' | '503' | 'reset' | 'hang';

/** A real HTTP front for the server: what a load balancer or a flaky network does to requests. */
class Front {
  mode: Mode = 'forward';
  requests = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly upstream: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.requests += 1;
      if (this.mode === 'hang') return;
      if (this.mode === 'reset') return void req.socket.destroy();
      if (this.mode === '503') {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('no backend');
        return;
      }
      const upstream = new URL(req.url ?? '/', this.upstream);
      const out = request(upstream, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.writeHead(502).end());
      req.pipe(out);
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  /** Stops listening and drops every connection: connection refused from now on. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

async function waitHealthy(server: ServerProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`the server exited:\n${server.output()}`);
    try {
      if ((await fetch(`${server.url}/healthz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`the server did not answer /healthz in time:\n${server.output()}`);
}

let dataDir: string;
let port: number;
let server: ServerProcess;
let front: Front;
let owner: Credentials;
let sdk: Ductape;
const folders: string[] = [];

function folder(): string {
  const dir = tempDir('ductape-fallback-');
  folders.push(dir);
  return dir;
}

async function startServer(): Promise<void> {
  server = spawnServer({ DUCTAPE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, port);
  await waitHealthy(server);
}

/** Runs `ductape run` as `who` against `url`, with its own HOME. */
function ductape(
  who: Credentials | { token: string },
  url: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const credentials = 'token' in who ? { DUCTAPE_TOKEN: who.token } : envOf(who);
  return runCli(args, { env: { HOME: folder(), DUCTAPE_URL: url, ...credentials, ...env } });
}

function envFrom(result: CliResult): Record<string, string> {
  expectCode(result, 0);
  return JSON.parse(result.stdout) as Record<string, string>;
}

/** A command that leaves a mark when it starts: the proof that nothing was started is its absence. */
function marking(): { argv: string[]; started(): boolean } {
  const marker = join(folder(), 'started');
  return {
    argv: ['node', '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`],
    started: () => existsSync(marker),
  };
}

function assertNoValueIn(text: string): void {
  for (const [key, value] of Object.entries(SECRETS)) {
    for (const line of value.split('\n')) assert.ok(!text.includes(line), `${key}'s value shows`);
  }
}

const WARNING =
  /^warning: (.+); starting with the values saved in (.+) (\d+ s|\d+ min|\d+ h( \d+ min)?) ago\n$/;

describe('ductape run --fallback', () => {
  before(async () => {
    dataDir = tempDir();
    port = await freePort();
    await startServer();
    const created = await runOperator(['workspace', 'create', '--name', 'fallback', '--json'], {
      env: { DUCTAPE_DATA_DIR: dataDir },
      cwd: tmpdir(),
    });
    assert.equal(created.code, 0, created.stderr);
    owner = JSON.parse(created.stdout) as Credentials;
    sdk = new Ductape({ ...owner, url: server.url });
    for (const [key, value] of Object.entries(SECRETS)) {
      await sdk.secrets.create({ key, value, scope: ['web'], envs: ['dev'] });
    }
    front = new Front(await freePort(), server.url);
    await front.start();
  });

  after(async () => {
    await front.stop();
    killAllServers();
    rmSync(dataDir, { recursive: true, force: true });
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it('saves what it injects, sealed, mode 0600; starts from it once the server has stopped; refreshes it after the restart', async () => {
    const file = join(folder(), 'web.fallback');
    const up = await ductape(owner, server.url, ['run', ...WEB_DEV, '--fallback', file, '--', ...DUMP_ENV]);
    assert.equal(envFrom(up).WEB_DEV, 'web-dev-value');
    assert.equal(up.stderr, '', 'a run that reaches the server says nothing about the file');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assertNoValueIn(readFileSync(file, 'utf8'));
    assert.ok(!readFileSync(file, 'utf8').includes(owner.private_key), 'the key is in the file');

    await server.stop();
    const down = await ductape(owner, server.url, ['run', ...WEB_DEV, '--fallback', file, '--', ...DUMP_ENV]);
    const env = envFrom(down);
    for (const [key, value] of Object.entries(SECRETS)) assert.equal(env[key], value, key);
    const warning = WARNING.exec(down.stderr);
    assert.ok(warning, `one warning line naming the age, got: ${down.stderr}`);
    assert.match(warning[1]!, /Could not reach the Ductape server at .*ECONNREFUSED/);
    assert.equal(warning[2], file);
    assertNoValueIn(down.stderr);

    const without = marking();
    const plain = await ductape(owner, server.url, ['run', ...WEB_DEV, '--', ...without.argv]);
    expectCode(plain, 1);
    assert.equal(without.started(), false, 'without --fallback nothing starts');

    await startServer();
    await sdk.secrets.update('WEB_DEV', { value: 'after-restart' });
    const again = await ductape(owner, server.url, [
      'run',
      ...WEB_DEV,
      '--fallback',
      file,
      '--',
      ...DUMP_ENV,
    ]);
    assert.equal(envFrom(again).WEB_DEV, 'after-restart');
    await server.stop();
    const later = await ductape(owner, server.url, [
      'run',
      ...WEB_DEV,
      '--fallback',
      file,
      '--',
      ...DUMP_ENV,
    ]);
    assert.equal(envFrom(later).WEB_DEV, 'after-restart', 'the file holds the last run, not the first');
    await startServer();
    await sdk.secrets.update('WEB_DEV', { value: SECRETS.WEB_DEV });
  });

  it('falls back on a 5xx, a dropped connection and no answer within --timeout', async () => {
    const file = join(folder(), 'front.fallback');
    const run = (extra: string[] = []): Promise<CliResult> =>
      ductape(owner, front.url, ['run', ...WEB_DEV, '--fallback', file, ...extra, '--', ...DUMP_ENV]);
    front.mode = 'forward';
    assert.equal(envFrom(await run()).WEB_DEV, SECRETS.WEB_DEV);
    try {
      const cases: [Mode, RegExp, string[]][] = [
        ['503', /the server answered 503/, []],
        ['reset', /Could not reach the Ductape server at .*(ECONNRESET|socket hang up)/, []],
        ['hang', /Could not reach the Ductape server at .*the request timed out/, ['--timeout', '1']],
      ];
      for (const [mode, reason, extra] of cases) {
        front.mode = mode;
        const result = await run(extra);
        assert.equal(envFrom(result).WEB_DEV, SECRETS.WEB_DEV, mode);
        assert.match(WARNING.exec(result.stderr)?.[1] ?? result.stderr, reason, mode);
      }
      // The front stops listening: connection refused.
      await front.stop();
      assert.equal(envFrom(await run()).WEB_DEV, SECRETS.WEB_DEV, 'refused');
    } finally {
      front.mode = 'forward';
      await front.stop();
      await front.start();
    }
  });

  it('never falls back when the server answers no: a revoked token (401), a revoked secret (410), a removed user', async () => {
    const file = join(folder(), 'token.fallback');
    const created = await sdk.tokens.create({ app: 'web', env: 'dev' });
    const token = { token: created.token };
    const run = (argv: string[], who: Credentials | { token: string } = token): Promise<CliResult> =>
      ductape(who, server.url, ['run', '--fallback', file, '--', ...argv]);
    assert.equal(envFrom(await run(DUMP_ENV)).WEB_DEV, SECRETS.WEB_DEV);

    await sdk.tokens.revoke(created.token_id);
    const revoked = marking();
    const refused = await run(revoked.argv);
    expectCode(refused, 1);
    assert.equal(revoked.started(), false, 'a revoked token started the program from the file');
    assert.doesNotMatch(refused.stderr, /warning|fallback/);

    const onlyFile = join(folder(), 'only.fallback');
    const only = ['run', ...WEB_DEV, '--only', 'DATABASE_URL', '--fallback', onlyFile, '--'];
    assert.ok(envFrom(await ductape(owner, server.url, [...only, ...DUMP_ENV])).DATABASE_URL);
    await sdk.secrets.revoke('DATABASE_URL');
    try {
      const gone = marking();
      const result = await ductape(owner, server.url, [...only, ...gone.argv]);
      expectCode(result, 1);
      assert.match(result.stderr, /revoked/);
      assert.equal(gone.started(), false, 'a revoked secret started the program from the file');
    } finally {
      await sdk.secrets.restore('DATABASE_URL');
    }

    const developer = await runOperator(
      ['user', 'create', '--workspace', owner.workspace_id, '--role', 'developer', '--json'],
      { env: { DUCTAPE_DATA_DIR: dataDir }, cwd: tmpdir() },
    );
    assert.equal(developer.code, 0, developer.stderr);
    const user = {
      workspace_id: owner.workspace_id,
      ...(JSON.parse(developer.stdout) as Omit<Credentials, 'workspace_id'>),
    };
    const userFile = join(folder(), 'user.fallback');
    const userRun = ['run', ...WEB_DEV, '--fallback', userFile, '--'];
    assert.equal(
      envFrom(await ductape(user, server.url, [...userRun, ...DUMP_ENV])).WEB_DEV,
      SECRETS.WEB_DEV,
    );
    await sdk.users.remove(user.user_id);
    const removed = marking();
    expectCode(await ductape(user, server.url, [...userRun, ...removed.argv]), 1);
    assert.equal(removed.started(), false, 'a removed user started the program from the file');
  });

  it('refuses an expired file, naming its age, and starts nothing', async () => {
    const file = join(folder(), 'old.fallback');
    const args = ['run', ...WEB_DEV, '--fallback', file, '--fallback-max-age', '1s', '--'];
    envFrom(await ductape(owner, front.url, [...args, ...DUMP_ENV]));
    await sleep(2100);
    front.mode = '503';
    try {
      const expired = marking();
      const result = await ductape(owner, front.url, [...args, ...expired.argv]);
      expectCode(result, 1);
      assert.match(
        result.stderr,
        /^ductape: the server answered 503 .*, and the fallback file .*old\.fallback is \d+ s old, older than --fallback-max-age \(1 s\); nothing was started\n$/,
      );
      assert.equal(expired.started(), false);
    } finally {
      front.mode = 'forward';
    }
  });

  it('refuses a file written for other credentials, for another scope, or changed since, and starts nothing', async () => {
    const file = join(folder(), 'owner.fallback');
    envFrom(await ductape(owner, front.url, ['run', ...WEB_DEV, '--fallback', file, '--', ...DUMP_ENV]));
    const other = await runOperator(['workspace', 'create', '--name', 'other', '--json'], {
      env: { DUCTAPE_DATA_DIR: dataDir },
      cwd: tmpdir(),
    });
    const stranger = JSON.parse(other.stdout) as Credentials;
    const text = readFileSync(file, 'utf8');
    front.mode = 'reset';
    try {
      const attempt = async (who: Credentials, extra: string[], expected: RegExp): Promise<void> => {
        const command = marking();
        const result = await ductape(who, front.url, [
          'run',
          ...WEB_DEV,
          ...extra,
          '--fallback',
          file,
          '--',
          ...command.argv,
        ]);
        expectCode(result, 1);
        assert.match(result.stderr, expected);
        assert.match(result.stderr, /nothing was started\n$/);
        assert.equal(command.started(), false, String(expected));
        assertNoValueIn(result.stderr);
      };
      await attempt(stranger, [], /was written for other credentials/);
      await attempt(owner, ['--name-transform', 'upper'], /was written for --app web --env dev, not for/);

      const lines = text.split('\n');
      const body = lines[1]!;
      const flipped = body.slice(0, 30) + (body[30] === 'x' ? 'y' : 'x') + body.slice(31);
      writeFileSync(file, `${lines[0]}\n${flipped}\n`);
      await attempt(owner, [], /failed its integrity check/);
      const younger = text.replace(
        /"created_at":"[^"]+"/,
        `"created_at":"${new Date(Date.now() + 60_000).toISOString()}"`,
      );
      writeFileSync(file, younger);
      await attempt(owner, [], /failed its integrity check/);

      writeFileSync(file, text);
      chmodSync(file, 0o644);
      await attempt(owner, [], /may be read or changed by other users \(mode 0644\)/);
      chmodSync(file, 0o600);
      assert.equal(
        envFrom(await ductape(owner, front.url, ['run', ...WEB_DEV, '--fallback', file, '--', ...DUMP_ENV]))
          .WEB_DEV,
        SECRETS.WEB_DEV,
        'the original still opens',
      );
    } finally {
      front.mode = 'forward';
    }
  });

  it('refuses names that change how programs load code from a file too, unless this run allows them', async () => {
    await sdk.secrets.create({ key: 'NODE_OPTIONS', value: '--max-old-space-size=200', scope: ['loader'] });
    const file = join(folder(), 'loader.fallback');
    const args = ['run', '--app', 'loader', '--env', 'dev', '--fallback', file];
    const allowed = ['--allow-name', 'NODE_OPTIONS'];
    const saved = await ductape(owner, front.url, [...args, ...allowed, '--', ...DUMP_ENV]);
    assert.equal(envFrom(saved).NODE_OPTIONS, '--max-old-space-size=200');
    front.mode = '503';
    try {
      const command = marking();
      const refused = await ductape(owner, front.url, [...args, '--', ...command.argv]);
      expectCode(refused, 2);
      assert.match(refused.stderr, /NODE_OPTIONS/);
      assert.equal(command.started(), false);
      const again = await ductape(owner, front.url, [...args, ...allowed, '--', ...DUMP_ENV]);
      assert.equal(envFrom(again).NODE_OPTIONS, '--max-old-space-size=200');
    } finally {
      front.mode = 'forward';
    }
  });

  it('--fallback-only starts from the file without a single request', async () => {
    const file = join(folder(), 'only.fallback');
    const args = ['run', ...WEB_DEV, '--fallback', file];
    const missing = marking();
    const none = await ductape(owner, front.url, [...args, '--fallback-only', '--', ...missing.argv]);
    expectCode(none, 1);
    assert.match(
      none.stderr,
      /--fallback-only: the server is not asked, and the fallback file .* does not exist yet/,
    );
    assert.equal(missing.started(), false);

    envFrom(await ductape(owner, front.url, [...args, '--', ...DUMP_ENV]));
    const before = front.requests;
    const result = await ductape(owner, front.url, [...args, '--fallback-only', '--', ...DUMP_ENV]);
    assert.equal(envFrom(result).WEB_DEV, SECRETS.WEB_DEV);
    assert.match(result.stderr, WARNING);
    assert.equal(front.requests, before, 'the server was asked');
  });
});
