/**
 * Webhook delivery across real server processes: a server killed with SIGKILL between a
 * change and its delivery delivers it after a restart on the same data (both stores), and two
 * nodes on one PostgreSQL schema deliver each event exactly once (counted by delivery id).
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, describe, it } from 'node:test';
import { describeEachBackend, PG_SKIP_REASON } from '../helpers/backends.js';
import { runOperator, storeEnv, type Credentials } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';
import { killAllServers, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startReceiver, until } from './receiver.js';

const FAST = {
  DUCTAPE_WEBHOOK_RETRY_BASE: '200ms',
  DUCTAPE_WEBHOOK_TIMEOUT: '2s',
  LOG_LEVEL: 'warn',
};

async function workspace(env: Record<string, string>): Promise<Credentials> {
  const result = await runOperator(['workspace', 'create', '--name', 'hooks', '--json'], {
    env,
    cwd: tmpdir(),
  });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Credentials;
}

after(() => killAllServers());

describeEachBackend('webhooks survive SIGKILL', (backend) => {
  it('a change made while the receiver is down is delivered after kill -9 and a restart', async () => {
    const store = await storeEnv(backend, FAST);
    const receiver = await startReceiver();
    let server: ServerProcess | undefined;
    try {
      const owner = await workspace(store.env);
      server = await startServerProcess(store.env);
      const token = await accessToken(server.url, owner);
      const call = (node: ServerProcess, method: string, path: string, body?: unknown) =>
        rawRequest(node.url, method, path, { token, ...(body === undefined ? {} : { body }) });
      const created = await call(server, 'POST', '/v1/webhooks', {
        url: receiver.url,
        events: ['secret.created'],
      });
      receiver.secret = (created.json as { secret: string }).secret;
      await receiver.down();
      assert.equal((await call(server, 'POST', '/v1/secrets', { key: 'KILLED', value: 'x' })).status, 201);
      // Let an attempt or two fail (connection refused), then kill the server outright.
      await new Promise((r) => setTimeout(r, 500));
      server.child.kill('SIGKILL');
      await server.exited;
      await receiver.up();
      assert.equal(receiver.received.length, 0);
      server = await startServerProcess(store.env);
      await until(() => receiver.received.length >= 1, 20_000, 'the delivery after the restart');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(new Set(receiver.received.map((r) => r.json.id)).size, 1);
      assert.ok(receiver.received.every((r) => r.signatureValid));
      assert.equal((receiver.received[0]?.json.data as { key: string }).key, 'KILLED');
    } finally {
      await server?.stop();
      await receiver.close();
      await store.cleanup();
    }
  });
});

describeEachBackend('webhooks and an orderly stop', (backend) => {
  it('SIGTERM does not wait for a hanging receiver; the attempt is due again at once after a restart', async () => {
    // A long timeout and lease: only the stop's hand-back can make the delivery prompt.
    const store = await storeEnv(backend, { ...FAST, DUCTAPE_WEBHOOK_TIMEOUT: '60s' });
    const receiver = await startReceiver();
    let server: ServerProcess | undefined;
    try {
      const owner = await workspace(store.env);
      server = await startServerProcess(store.env);
      const token = await accessToken(server.url, owner);
      const created = await rawRequest(server.url, 'POST', '/v1/webhooks', {
        token,
        body: { url: receiver.url, events: ['secret.created'] },
      });
      receiver.secret = (created.json as { secret: string }).secret;
      receiver.answer = 'hang';
      await rawRequest(server.url, 'POST', '/v1/secrets', { token, body: { key: 'HELD', value: 'x' } });
      await until(() => receiver.received.length >= 1, 10_000, 'the hanging attempt');
      const stopping = Date.now();
      assert.equal((await server.stop()).code, 0);
      assert.ok(Date.now() - stopping < 5000, `the stop took ${Date.now() - stopping} ms`);
      receiver.answer = 200;
      server = await startServerProcess(store.env);
      const restarted = Date.now();
      await until(
        () => receiver.received.some((r) => r.answered === 200),
        10_000,
        'the delivery after the restart',
      );
      assert.ok(Date.now() - restarted < 5000, 'not held back by the 60 s lease');
      assert.equal(new Set(receiver.received.map((r) => r.json.id)).size, 1);
    } finally {
      await server?.stop();
      await receiver.close();
      await store.cleanup();
    }
  });
});

describe('two nodes on one PostgreSQL', { skip: PG_SKIP_REASON }, () => {
  it('deliver each of N events exactly once', async () => {
    const store = await storeEnv('postgres', FAST);
    const receiver = await startReceiver();
    try {
      const owner = await workspace(store.env);
      const [a, b] = await Promise.all([startServerProcess(store.env), startServerProcess(store.env)]);
      const token = await accessToken(a!.url, owner);
      const created = await rawRequest(a!.url, 'POST', '/v1/webhooks', {
        token,
        body: { url: receiver.url, events: ['secret.created', 'secret.updated'] },
      });
      receiver.secret = (created.json as { secret: string }).secret;
      const n = 40;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          rawRequest([a, b][i % 2]!.url, 'POST', '/v1/secrets', {
            token,
            body: { key: `TWO_${i}`, value: 'x' },
          }),
        ),
      );
      await until(
        () => new Set(receiver.received.map((r) => r.json.id)).size >= n,
        30_000,
        `${n} deliveries`,
      );
      await new Promise((r) => setTimeout(r, 1500));
      const counts = new Map<unknown, number>();
      for (const r of receiver.received) counts.set(r.json.id, (counts.get(r.json.id) ?? 0) + 1);
      assert.equal(counts.size, n);
      assert.deepEqual(
        [...counts.values()].filter((c) => c !== 1),
        [],
        'each delivery id arrived once',
      );
      assert.ok(receiver.received.every((r) => r.signatureValid));
      await Promise.all([a!.stop(), b!.stop()]);
    } finally {
      await receiver.close();
      await store.cleanup();
    }
  });
});
