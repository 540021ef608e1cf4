/**
 * The PostgreSQL principal feed (store/backends/postgres/principal-listener.ts) when the
 * writer's own listener connection is down: it cannot hear the other nodes acknowledge a
 * change, so it must not acknowledge the change to its client before they have had the time
 * they are given to hear it. (A node that had reconnected first could otherwise answer that
 * client's next request from the old cached row: seen once in CI, as a role change missed.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  ECHO_WAIT_MS,
  PRINCIPAL_CHANNEL,
  PrincipalListener,
  type Notify,
} from '../../src/store/backends/postgres/principal-listener.js';
import { PG_SKIP_REASON, PG_URL } from '../helpers/backends.js';
import { sleep } from '../helpers/http.js';

describe('a writer whose principal listener is down', { skip: PG_SKIP_REASON }, () => {
  const schema = `listener_test_${randomBytes(4).toString('hex')}`;
  let pool: pg.Pool;
  let writer: PrincipalListener;
  let fresh: () => boolean;
  let stopFeed: () => Promise<void>;

  before(async () => {
    pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
    writer = new PrincipalListener({
      url: PG_URL,
      schema,
      query: (text, values) => pool.query(text, values),
    });
    const feed = writer.watch({ changed: () => undefined, reset: () => undefined });
    fresh = feed.fresh;
    stopFeed = feed.stop;
    await until(fresh, 'the writer listens');
  });
  after(async () => {
    await stopFeed();
    await pool.end();
  });

  /** A change announced through the writer, committed in a transaction of its own. */
  async function change(id: string): Promise<{ committedAt: number; acknowledgedAt: number }> {
    let committedAt = 0;
    await writer.announce('user', id, async (notify: Notify) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await notify(client);
        await client.query('COMMIT');
        committedAt = Date.now();
      } finally {
        client.release();
      }
    });
    return { committedAt, acknowledgedAt: Date.now() };
  }

  /** Cuts the writer's listener connection (not the other node's) and waits until it knows. */
  async function cutWriter(otherPid: number | undefined): Promise<void> {
    const killed = await pool.query<{ ok: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> $2',
      [writer.applicationName, otherPid ?? 0],
    );
    assert.equal(killed.rows.length, 1, 'the writer had one listener connection');
    await until(() => !fresh(), 'the writer sees its listener down', 2);
  }

  it('waits the nodes\u2019 bound before acknowledging when another node listens', async () => {
    // Another node's listener: same application name, LISTENing, never acknowledging.
    const other = new pg.Client({ connectionString: PG_URL, application_name: writer.applicationName });
    await other.connect();
    const heard: number[] = [];
    other.on('notification', (message) => {
      if (message.payload?.startsWith('user u-1 ')) heard.push(Date.now());
    });
    await other.query(`LISTEN ${PRINCIPAL_CHANNEL}`);
    try {
      await cutWriter((other as unknown as { processID?: number }).processID);
      const { committedAt, acknowledgedAt } = await change('u-1');
      assert.ok(
        acknowledgedAt - committedAt >= ECHO_WAIT_MS - 20,
        `acknowledged ${acknowledgedAt - committedAt} ms after the commit, before the other node's ${ECHO_WAIT_MS} ms`,
      );
      assert.equal(heard.length, 1, 'the other node heard the change');
      assert.ok((heard[0] as number) <= acknowledgedAt, 'the other node heard it before the acknowledgement');
    } finally {
      await other.end();
    }
  });

  it('does not wait when no other node listens', async () => {
    await until(fresh, 'the writer listens again');
    await cutWriter(undefined);
    const { committedAt, acknowledgedAt } = await change('u-2');
    assert.ok(
      acknowledgedAt - committedAt < ECHO_WAIT_MS,
      `waited ${acknowledgedAt - committedAt} ms for nobody`,
    );
  });
});

async function until(condition: () => boolean, what: string, everyMs = 20): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(everyMs);
  }
}
