/**
 * Whoever can write a secret chooses its name too. A secret named NODE_OPTIONS (or
 * LD_PRELOAD, BASH_ENV, PATH...) injected by `ductape run`, or sourced from
 * `export --format shell`, would run that person's code wherever the secret is used. The
 * review's attack: NODE_OPTIONS=--import=data:... made the child write a file. Refused by
 * default, in one line naming the variables, unless each is allowed with --allow-name.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { cliSession, expectCode, type Cli, type CliSession } from '../helpers/cli-session.js';

let server: TestServer;
let session: CliSession;
let owner: Cli;
let work: string;
const canary = (): string => join(work, 'pwned');

before(async () => {
  server = await startTestServer();
  session = cliSession(server);
  owner = session.as(server.owner);
  work = mkdtempSync(join(tmpdir(), 'ductape-loader-'));
  const sdk = server.client(server.owner);
  const payload = `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(canary())}, 'x');`;
  const attacks: [string, string][] = [
    ['NODE_OPTIONS', `--import=data:text/javascript,${encodeURIComponent(payload)}`],
    ['BASH_ENV', join(work, 'evil.sh')],
    ['LD_PRELOAD', join(work, 'evil.so')],
  ];
  writeFileSync(join(work, 'evil.sh'), `touch ${canary()}\n`);
  for (const [key, value] of attacks) await sdk.secrets.create({ key, value, scope: ['hit'], envs: ['dev'] });
  await sdk.secrets.create({ key: 'APP_TOKEN', value: 'fine', scope: ['hit'], envs: ['dev'] });
  await sdk.secrets.create({ key: 'NODE_ENV', value: 'production', scope: ['ok'], envs: ['dev'] });
});

after(async () => {
  session.cleanup();
  rmSync(work, { recursive: true, force: true });
  await server.stop();
});

const RUN_HIT = ['run', '--app', 'hit', '--env', 'dev'];

describe('variables that change how programs load code', () => {
  it('run refuses them in one line naming each, and starts nothing', async () => {
    const ran = await owner([...RUN_HIT, '--', 'node', '-e', 'console.log("started")']);
    expectCode(ran, 2);
    assert.equal(ran.stdout, '');
    assert.equal(ran.stderr.trim().split('\n').length, 1, ran.stderr);
    for (const name of ['NODE_OPTIONS', 'BASH_ENV', 'LD_PRELOAD']) assert.match(ran.stderr, new RegExp(name));
    assert.match(ran.stderr, /--allow-name NODE_OPTIONS/);
    assert.doesNotMatch(ran.stderr, /APP_TOKEN|data:text/);
    assert.equal(existsSync(canary()), false, 'the secret ran code');
  });

  it('bash started by run does not source a BASH_ENV secret', async () => {
    const ran = await owner([...RUN_HIT, '--only', 'BASH_ENV', '--', 'bash', '-c', 'true']);
    expectCode(ran, 2);
    assert.equal(existsSync(canary()), false, 'BASH_ENV ran');
  });

  it('--allow-name lets through exactly the names given', async () => {
    const partly = await owner([
      ...RUN_HIT,
      '--allow-name',
      'LD_PRELOAD',
      '--allow-name',
      'BASH_ENV',
      '--',
      'node',
      '-e',
      '',
    ]);
    expectCode(partly, 2);
    assert.match(partly.stderr, /NODE_OPTIONS/);
    assert.doesNotMatch(partly.stderr, /refusing to set[^:]*LD_PRELOAD/);
    const all = await owner([
      ...RUN_HIT,
      '--only',
      'NODE_OPTIONS,APP_TOKEN',
      '--allow-name',
      'NODE_OPTIONS',
      '--',
      'node',
      '-e',
      'console.log(process.env.APP_TOKEN)',
    ]);
    expectCode(all, 0);
    assert.equal(all.stdout.trim(), 'fine');
    assert.equal(existsSync(canary()), true, 'an allowed NODE_OPTIONS is passed on as asked');
    rmSync(canary());
  });

  it('ordinary names are untouched (NODE_ENV is not NODE_OPTIONS)', async () => {
    const ran = await owner([
      'run',
      '--app',
      'ok',
      '--env',
      'dev',
      '--',
      'node',
      '-e',
      'console.log(process.env.NODE_ENV)',
    ]);
    expectCode(ran, 0);
    assert.equal(ran.stdout.trim(), 'production');
  });

  it('export --format shell refuses them too; sourcing what it writes with --allow-name is explicit', async () => {
    const refused = await owner(['secrets', 'export', '--app', 'hit', '--env', 'dev', '--format', 'shell']);
    expectCode(refused, 2);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /refusing to set .*NODE_OPTIONS/);
    const exported = await owner([
      'secrets',
      'export',
      '--app',
      'hit',
      '--env',
      'dev',
      '--format',
      'shell',
      '--only',
      'BASH_ENV',
      '--allow-name',
      'BASH_ENV',
    ]);
    expectCode(exported, 0);
    assert.match(exported.stdout, /^export BASH_ENV='/m);
    // dotenv and json are data for programs, not lines a shell runs: unchanged.
    const json = await owner(['secrets', 'export', '--app', 'hit', '--env', 'dev', '--format', 'json']);
    expectCode(json, 0);
    assert.ok('NODE_OPTIONS' in (JSON.parse(json.stdout) as Record<string, string>));
  });
});
