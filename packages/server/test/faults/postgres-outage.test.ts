/**
 * A PostgreSQL outage as a real server process sees it. The node reaches the database
 * through a TCP proxy, so the database can be cut off and given back without touching the
 * machine's PostgreSQL. While it is gone, requests fail fast with 503 SERVICE_UNAVAILABLE
 * (never a hang, never a 500), /readyz says not ready and /healthz stays up; when it comes
 * back the same process serves again by itself, with its data intact.
 */
import type { SecretWithValue } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { freshPgSchema, newMasterKey, PG_SKIP_REASON, PG_URL } from '../helpers/backends.js';
import { runOperator, type Credentials } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest, sleep, type RawResponse } from '../helpers/http.js';
import { killAllServers, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { TcpProxy } from './tcp-proxy.js';

/** What "fails fast" means here: well under the SDK's 30 s timeout (connect timeout is 2 s). */
const FAST_MS = 5000;
/** A silent partition: bounded by the pool's 5 s query timeout (plus 2 s to connect). */
const PARTITION_MS = 8000;
/** How long a node may take to notice the database is back. */
const RECOVERY_MS = 15_000;

const upstream = new URL(PG_URL);
const proxy = new TcpProxy(Number(upstream.port || 5432), upstream.hostname);

/** What callers saw during a blip: every status (or network failure), and each caller's last five. */
interface LoadResult {
  outcomes: (number | string)[];
  tails: (number | string)[][];
}

/** Requests from four concurrent callers while `disturb` runs, and two seconds after it. */
async function underLoad(
  send: (i: number) => Promise<RawResponse>,
  disturb: () => Promise<void>,
): Promise<LoadResult> {
  let stopped = false;
  const outcomes: (number | string)[] = [];
  const loop = async (i: number): Promise<(number | string)[]> => {
    const mine: (number | string)[] = [];
    while (!stopped) {
      // A failure is recorded, never thrown, so that the callers always stop here.
      const outcome = await send(i).then(
        (r) => (r.status === 200 || r.status === 503 ? r.status : `${r.status} ${r.text}`),
        (error: unknown) => `no answer: ${String((error as Error).cause ?? error)}`,
      );
      mine.push(outcome);
      outcomes.push(outcome);
      if (typeof outcome === 'string') break;
    }
    return mine;
  };
  const loops = [0, 1, 2, 3].map(loop);
  try {
    await sleep(300);
    await disturb();
    // Long enough for the pool to notice and reconnect; the callers keep calling meanwhile.
    await sleep(2000);
  } finally {
    stopped = true;
  }
  const perLoop = await Promise.all(loops);
  return { outcomes, tails: perLoop.map((s) => s.slice(-5)) };
}

describe('a PostgreSQL outage', { skip: PG_SKIP_REASON }, () => {
  let schema: Awaited<ReturnType<typeof freshPgSchema>>;
  let node: ServerProcess;
  let owner: Credentials;
  let token: string;
  const call = (method: string, path: string, body?: unknown): Promise<RawResponse> =>
    rawRequest(node.url, method, path, { token, ...(body === undefined ? {} : { body }) });

  before(async () => {
    schema = await freshPgSchema();
    await proxy.start();
    const viaProxy = new URL(PG_URL);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const env = { DUCTAPE_PG_SCHEMA: schema.schema, DUCTAPE_MASTER_KEY: newMasterKey() };
    node = await startServerProcess({ ...env, DATABASE_URL: viaProxy.href, LOG_LEVEL: 'warn' });
    const created = await runOperator(['workspace', 'create', '--name', 'outage', '--json'], {
      env: { ...env, DATABASE_URL: PG_URL },
      cwd: tmpdir(),
    });
    assert.equal(created.code, 0, created.stderr);
    owner = JSON.parse(created.stdout) as Credentials;
  });

  after(async () => {
    killAllServers();
    await proxy.stop();
    await schema.drop();
  });

  it('healthy through the proxy: create and fetch', async () => {
    token = await accessToken(node.url, owner);
    const created = await call('POST', '/v1/secrets', { key: 'BEFORE_OUTAGE', value: 'kept-across' });
    assert.equal(created.status, 201, created.text);
    const fetched = await call('GET', '/v1/secrets/BEFORE_OUTAGE');
    assert.equal((fetched.json as SecretWithValue).value, 'kept-across');
    assert.ok(proxy.connections > 0, 'the node does not go through the proxy');
  });

  it('database down: each request fails fast with 503 and a clear message; /readyz 503, /healthz 200', async (t) => {
    await proxy.stop();
    const requests: [string, () => Promise<RawResponse>][] = [
      ['fetch', () => call('GET', '/v1/secrets/BEFORE_OUTAGE')],
      ['list', () => call('GET', '/v1/secrets')],
      ['create', () => call('POST', '/v1/secrets', { key: 'DURING_OUTAGE', value: 'never-stored' })],
      ['update', () => call('PATCH', '/v1/secrets/BEFORE_OUTAGE', { value: 'never-stored' })],
      ['token exchange', () => rawRequest(node.url, 'POST', '/v1/auth/token', { body: owner })],
      ['readyz', () => rawRequest(node.url, 'GET', '/readyz')],
    ];
    // Twice: the first round meets the pool's dropped connections, the second new refused ones.
    for (const round of [1, 2]) {
      for (const [name, send] of requests) {
        const started = performance.now();
        const answer = await send();
        const ms = Math.round(performance.now() - started);
        t.diagnostic(`round ${round}: ${name} answered ${answer.status} in ${ms} ms`);
        const body = assertErrorBody(answer, 503, 'SERVICE_UNAVAILABLE');
        assert.match(body.message, /database/i);
        assert.ok(answer.headers.get('retry-after'), `${name}: no Retry-After`);
        assert.ok(ms < FAST_MS, `${name} took ${ms} ms to fail`);
      }
    }
    const health = await rawRequest(node.url, 'GET', '/healthz');
    assert.equal(health.status, 200, health.text);
    assert.equal(node.child.exitCode, null, `the node exited:\n${node.output()}`);
  });

  it('database back: the same process serves again by itself, data intact, refused writes absent', async (t) => {
    const pid = node.child.pid;
    await proxy.start();
    const started = performance.now();
    let last: RawResponse | undefined;
    while (performance.now() - started < RECOVERY_MS) {
      last = await call('GET', '/v1/secrets/BEFORE_OUTAGE');
      if (last.status === 200) break;
      assert.equal(last.status, 503, last.text);
      await sleep(100);
    }
    t.diagnostic(`first success ${Math.round(performance.now() - started)} ms after the database came back`);
    assert.equal(last?.status, 200, `not recovered within ${RECOVERY_MS} ms: ${last?.text}`);
    assert.equal(node.child.pid, pid);
    assert.equal(node.child.exitCode, null);

    const kept = last.json as SecretWithValue;
    assert.equal(kept.value, 'kept-across');
    assert.equal(kept.version, 1, 'the update refused during the outage happened');
    const listed = (await call('GET', '/v1/secrets')).json as { secrets: { key: string }[] };
    assert.deepEqual(
      listed.secrets.map((s) => s.key),
      ['BEFORE_OUTAGE'],
    );
    assertErrorBody(await call('GET', '/v1/secrets/DURING_OUTAGE'), 404, 'SECRET_NOT_FOUND');
    assert.equal((await rawRequest(node.url, 'GET', '/readyz')).status, 200);
    assert.equal((await call('POST', '/v1/secrets', { key: 'AFTER_OUTAGE', value: 'v' })).status, 201);
    token = await accessToken(node.url, owner);
  });

  // Half the callers write, so that transactions are open when the connections drop.
  const send = (i: number): Promise<RawResponse> =>
    i >= 2
      ? call('PATCH', '/v1/secrets/AFTER_OUTAGE', { description: `load ${i} ${Date.now()}` })
      : call('GET', i === 1 ? '/v1/secrets' : '/v1/secrets/BEFORE_OUTAGE');

  /** The blip hurt at most a few requests, none with a 500, and every caller ends served. */
  function assertBlipSurvived(result: LoadResult, t: { diagnostic(message: string): void }): void {
    const failed = result.outcomes.filter((s) => s === 503).length;
    t.diagnostic(`${result.outcomes.length} requests, ${failed} answered 503`);
    const wrong = result.outcomes.filter((s) => typeof s === 'string');
    assert.deepEqual(wrong, [], `answers other than 200 and 503; the node said:\n${node.output()}`);
    assert.ok(failed <= 8, `${failed} requests failed: more than a few`);
    assert.deepEqual(
      result.tails,
      [0, 1, 2, 3].map(() => [200, 200, 200, 200, 200]),
    );
    assert.equal(node.child.exitCode, null, `the node exited:\n${node.output()}`);
  }

  it('every database connection of the node terminated (as a PostgreSQL restart does): service resumes', async (t) => {
    let terminated = 0;
    const oldPorts = new Set(proxy.upstreamLocalPorts());
    const result = await underLoad(send, async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        // Only the node's own connections: the proxy's ends of them are the client ports.
        const { rows } = await client.query<{ done: boolean }>(
          `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'ductape'
             AND client_port = ANY($1::int[])`,
          [proxy.upstreamLocalPorts()],
        );
        terminated = rows.filter((r) => r.done).length;
      } finally {
        await client.end();
      }
    });
    t.diagnostic(`terminated ${terminated} backend(s)`);
    assert.ok(terminated > 0, 'no connection of the node was terminated');
    assertBlipSurvived(result, t);
    const reconnected = proxy.upstreamLocalPorts().filter((p) => !oldPorts.has(p));
    assert.ok(reconnected.length > 0, 'the node did not open new connections');
  });

  it('a short network blip (proxy stopped and started at once): service resumes', async (t) => {
    let dropped = 0;
    const result = await underLoad(send, async () => {
      dropped = proxy.connections;
      await proxy.stop();
      await proxy.start();
    });
    t.diagnostic(`dropped ${dropped} connection(s)`);
    assert.ok(dropped > 0, 'there was no connection to drop');
    assertBlipSurvived(result, t);
    const kept = (await call('GET', '/v1/secrets/BEFORE_OUTAGE')).json as SecretWithValue;
    assert.equal(kept.value, 'kept-across');
  });

  it('a silent partition (no answer, no refusal): 503 within the query timeout, then recovery', async (t) => {
    proxy.blackhole();
    const timings: number[] = [];
    for (const [method, path] of [
      ['GET', '/v1/secrets/BEFORE_OUTAGE'],
      ['GET', '/v1/secrets'],
      ['GET', '/readyz'],
    ] as const) {
      const started = Date.now();
      const answer = await call(method, path);
      timings.push(Date.now() - started);
      assertErrorBody(answer, 503, 'SERVICE_UNAVAILABLE');
    }
    t.diagnostic(`503 after ${timings.join(' / ')} ms`);
    for (const ms of timings) assert.ok(ms < PARTITION_MS, `took ${ms} ms`);
    assert.equal((await rawRequest(node.url, 'GET', '/healthz')).status, 200);
    await proxy.stop();
    await proxy.start();
    const deadline = Date.now() + RECOVERY_MS;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await call('GET', '/v1/secrets/BEFORE_OUTAGE')).status;
      if (status !== 200) await sleep(200);
    }
    assert.equal(status, 200, 'the node did not recover after the partition healed');
  });

  it('SIGTERM stops the node with exit 0', async () => {
    assert.deepEqual(await node.stop(), { code: 0, signal: null });
  });
});
