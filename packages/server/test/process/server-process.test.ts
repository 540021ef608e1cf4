/**
 * The real server process (`node packages/server/dist/main.js`, built by `npm test`): first
 * start, bad configuration, a clean stop on SIGTERM with a request in flight, and a
 * restart with the wrong master key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { openRuntime } from '../../src/main.js';
import { tempDir, type Credentials } from '../helpers/harness.js';
import { accessToken, sleep } from '../helpers/http.js';
import { killAllServers, spawnServer, startServerProcess as startServer } from '../helpers/server-process.js';

/** Log lines (pino JSON) of a process's output. */
function logLines(output: string): { level: number; msg: string; [k: string]: unknown }[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

/** A workspace and owner made directly in the store, as the operator command does. */
async function createOwner(dataDir: string): Promise<Credentials> {
  const runtime = await openRuntime(loadConfig({ DUCTAPE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  try {
    return await runtime.members.createWorkspace('process test');
  } finally {
    await runtime.close();
  }
}

describe('the server process', () => {
  const dataDir = tempDir('ductape-process-');
  after(() => {
    killAllServers();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('first start: answers /healthz, writes master.key with mode 0600 and warns to back it up', async () => {
    const server = await startServer({ DUCTAPE_DATA_DIR: dataDir });
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    const keyFile = join(dataDir, 'master.key');
    assert.ok(existsSync(keyFile), 'master.key was generated');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64').length, 32);
    server.child.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    // Read once the process is gone: its log lines are written asynchronously (logging.ts).
    const warning = logLines(server.output()).find((l) => l.level === 40 && /back it up/i.test(l.msg));
    assert.ok(warning, `no warning about backing up the master key:\n${server.output()}`);
    assert.match(warning.msg, /master key/i);
    assert.equal(warning.file, keyFile);
  });

  it('a restart reuses the key file quietly', async () => {
    const server = await startServer({ DUCTAPE_DATA_DIR: dataDir });
    server.child.kill('SIGTERM');
    assert.equal((await server.exited).code, 0);
    assert.ok(
      logLines(server.output()).some((l) => l.msg === 'stopped'),
      server.output(),
    );
    assert.equal(
      logLines(server.output()).some((l) => /back it up/i.test(l.msg)),
      false,
      'warned again although the key file existed',
    );
  });

  it('SIGTERM with a request in flight: the request completes, then the process exits 0', async () => {
    const server = await startServer({ DUCTAPE_DATA_DIR: dataDir });
    const owner = await createOwner(dataDir);
    const token = await accessToken(server.url, owner);
    const body = Buffer.from(JSON.stringify({ key: 'IN_FLIGHT_KEY', value: 'sent-across-a-shutdown' }));
    const req = request(`${server.url}/v1/secrets`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': String(body.length),
      },
    });
    const answer = new Promise<{ status: number; text: string }>((done, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => done({ status: res.statusCode ?? 0, text }));
      });
    });
    req.write(body.subarray(0, 10));
    await sleep(300);
    // The rest of the body arrives only after the server was told to stop.
    server.child.kill('SIGTERM');
    await sleep(500);
    assert.equal(server.child.exitCode, null, 'exited with a request still in flight');
    assert.match(server.output(), /shutting down/);
    req.end(body.subarray(10));
    const { status, text } = await answer;
    assert.equal(status, 201, text);
    assert.equal((JSON.parse(text) as { key: string }).key, 'IN_FLIGHT_KEY');
    assert.deepEqual(await server.exited, { code: 0, signal: null });

    // The request's work was committed before the exit.
    const runtime = await openRuntime(loadConfig({ DUCTAPE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
    try {
      const principal = {
        kind: 'user' as const,
        workspaceId: owner.workspace_id,
        userId: owner.user_id,
        role: 'owner' as const,
      };
      const { value } = await runtime.secrets.fetch(principal, 'IN_FLIGHT_KEY');
      assert.equal(value, 'sent-across-a-shutdown');
    } finally {
      await runtime.close();
    }
  });

  it('a different DUCTAPE_MASTER_KEY on the same data dir refuses to start', async () => {
    const other = randomBytes(32).toString('base64');
    const server = spawnServer({ DUCTAPE_DATA_DIR: dataDir, DUCTAPE_MASTER_KEY: other }, 0);
    const { code } = await server.exited;
    assert.notEqual(code, 0);
    assert.match(server.output(), /master key does not match/i);
    assert.equal(server.output().includes(other), false, 'the given key was printed');
    // And the right key (the file) still works.
    const again = await startServer({ DUCTAPE_DATA_DIR: dataDir });
    again.child.kill('SIGTERM');
    assert.equal((await again.exited).code, 0);
  });

  it('a database made with one environment key refuses another', async () => {
    const dir = tempDir('ductape-process-env-');
    try {
      const first = await startServer({
        DUCTAPE_DATA_DIR: dir,
        DUCTAPE_MASTER_KEY: randomBytes(32).toString('base64'),
      });
      first.child.kill('SIGTERM');
      assert.equal((await first.exited).code, 0);
      assert.equal(existsSync(join(dir, 'master.key')), false, 'no key file when the key is given');
      const second = spawnServer(
        { DUCTAPE_DATA_DIR: dir, DUCTAPE_MASTER_KEY: randomBytes(32).toString('base64') },
        0,
      );
      assert.notEqual((await second.exited).code, 0);
      assert.match(second.output(), /master key does not match/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad configuration', () => {
  const dataDir = tempDir('ductape-config-');
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const shortKey = randomBytes(31).toString('base64');
  const cases: [string, Record<string, string>, string][] = [
    ['PORT=abc', { PORT: 'abc' }, 'PORT'],
    ['PORT=70000', { PORT: '70000' }, 'PORT'],
    ['DUCTAPE_MASTER_KEY=short', { DUCTAPE_MASTER_KEY: 'short' }, 'DUCTAPE_MASTER_KEY'],
    ['DUCTAPE_MASTER_KEY of 31 bytes', { DUCTAPE_MASTER_KEY: shortKey }, 'DUCTAPE_MASTER_KEY'],
    ['DUCTAPE_ACCESS_TOKEN_TTL=1', { DUCTAPE_ACCESS_TOKEN_TTL: '1' }, 'DUCTAPE_ACCESS_TOKEN_TTL'],
    ['LOG_LEVEL=loud', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ];

  for (const [what, env, variable] of cases) {
    it(`${what}: exits non-zero naming ${variable}`, async () => {
      const server = spawnServer({ DUCTAPE_DATA_DIR: dataDir, ...env }, 0);
      const { code } = await server.exited;
      assert.notEqual(code, 0);
      assert.notEqual(code, null);
      assert.ok(server.output().includes(variable), `output does not name ${variable}:\n${server.output()}`);
      if (env.DUCTAPE_MASTER_KEY) {
        assert.equal(server.output().includes(env.DUCTAPE_MASTER_KEY), false, 'the bad key was printed');
      }
    });
  }

  it('nothing was created by the refused starts', () => {
    assert.equal(existsSync(join(dataDir, 'master.key')), false);
    assert.equal(existsSync(join(dataDir, 'ductape.sqlite')), false);
  });
});
