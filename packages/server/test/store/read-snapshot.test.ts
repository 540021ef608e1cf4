/**
 * The embedded store's shared read transaction (src/store/backends/sqlite/read-snapshot.ts),
 * on real SQLite files with a second connection playing another process: reads share one
 * state until a request arrives, a write of this connection or the end of the turn; a write
 * is never nested in it, and it never holds back a checkpoint.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { shareReads, type ReadSnapshot } from '../../src/store/backends/sqlite/read-snapshot.js';
import {
  openSqliteStore,
  SQLITE_FILE,
  type SqliteStore,
} from '../../src/store/backends/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/harness.js';

describe('shared read transaction, on a raw connection', () => {
  let ours: Database.Database;
  let other: Database.Database;
  let snapshot: ReadSnapshot;
  let read: () => number;

  beforeEach(() => {
    const file = join(tempDir(), 'shared.sqlite');
    ours = new Database(file);
    ours.pragma('journal_mode = WAL');
    ours.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
    ours.exec('INSERT INTO t VALUES (1, 0)');
    snapshot = shareReads(ours);
    const select = ours.prepare('SELECT n FROM t WHERE id = 1').pluck();
    read = () => select.get() as number;
    other = new Database(file);
    other.pragma('busy_timeout = 2000');
  });
  afterEach(() => {
    ours?.close();
    other?.close();
  });

  const commitElsewhere = (n: number): void => {
    other.prepare('UPDATE t SET n = ? WHERE id = 1').run(n);
  };

  it('reads in one turn share one state: another connection’s commit is not seen until it ends', () => {
    assert.equal(read(), 0);
    assert.equal(ours.inTransaction, true, 'the first read began the shared transaction');
    commitElsewhere(1);
    assert.equal(read(), 0, 'the second read shares the first one’s state');
    snapshot.end(); // what a new request does
    assert.equal(ours.inTransaction, false);
    assert.equal(read(), 1);
  });

  it('the end of the turn ends it by itself', async () => {
    assert.equal(read(), 0);
    commitElsewhere(2);
    await nextTurn();
    assert.equal(ours.inTransaction, false);
    assert.equal(read(), 2);
  });

  it('a write statement ends it first: the write commits at once and the next read sees it', () => {
    assert.equal(read(), 0);
    commitElsewhere(3);
    // Without ending the read first, this UPDATE would fail (SQLITE_BUSY_SNAPSHOT) or be
    // nested in the read transaction and committed only when it ended.
    ours.prepare('UPDATE t SET n = n + 10 WHERE id = 1').run();
    assert.equal(ours.inTransaction, false);
    assert.equal(
      other.prepare('SELECT n FROM t WHERE id = 1').pluck().get(),
      13,
      'committed, seen elsewhere',
    );
    assert.equal(read(), 13);
  });

  it('INSERT ... RETURNING reads rows but writes: it ends the shared transaction too', () => {
    assert.equal(read(), 0);
    const id = ours.prepare('INSERT INTO t (n) VALUES (7) RETURNING id').pluck().get() as number;
    assert.equal(ours.inTransaction, false);
    assert.equal(other.prepare('SELECT n FROM t WHERE id = ?').pluck().get(id), 7);
  });

  it('a transaction is never nested in it: it begins from the newest state and commits when it returns', () => {
    assert.equal(read(), 0);
    commitElsewhere(4);
    const bump = ours.transaction(() => {
      ours.prepare('UPDATE t SET n = n + 1 WHERE id = 1').run();
      return read();
    });
    assert.equal(bump.immediate(), 5, 'the transaction read the other connection’s commit');
    assert.equal(ours.inTransaction, false, 'committed, not left open as a savepoint');
    assert.equal(other.prepare('SELECT n FROM t WHERE id = 1').pluck().get(), 5);
    // The same for the plain call, and for exec and pragma.
    read();
    bump();
    assert.equal(ours.inTransaction, false);
    read();
    ours.exec('UPDATE t SET n = 0 WHERE id = 1');
    assert.equal(ours.inTransaction, false);
    assert.equal(read(), 0);
    ours.pragma('user_version = 3');
    assert.equal(ours.inTransaction, false);
  });

  it('reads inside a write transaction stay in it (they do not begin a transaction of their own)', () => {
    ours.transaction(() => {
      ours.prepare('UPDATE t SET n = 9 WHERE id = 1').run();
      assert.equal(read(), 9);
    })();
    assert.equal(ours.inTransaction, false);
  });

  it('it never holds back a checkpoint once its turn is over', async () => {
    for (let i = 0; i < 50; i++) commitElsewhere(i);
    assert.equal(typeof read(), 'number');
    await nextTurn();
    const [result] = other.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number }[];
    assert.equal(result?.busy, 0, 'the checkpoint was not blocked by a reader');
    assert.equal(result?.log, 0, 'the WAL was emptied');
  });
});

describe('shared read transaction in the store', () => {
  let dir: string;
  let store: SqliteStore;
  let other: Database.Database;

  beforeEach(() => {
    dir = tempDir();
    store = openSqliteStore(dir);
    other = new Database(join(dir, SQLITE_FILE));
    other.pragma('busy_timeout = 2000');
  });
  afterEach(async () => {
    other?.close();
    await store?.close();
  });

  it('a request sees a role another process changed before it arrived, even in the same turn', async () => {
    await store.createWorkspace(
      { id: 'ws1', name: 'ws1', createdAt: 1 },
      { workspaceId: 'ws1', version: 1, kekId: 'k', wrapped: Buffer.from('w') },
      {
        id: 'member',
        workspaceId: 'ws1',
        role: 'developer',
        keyHash: Buffer.alloc(32),
        keyGeneration: 1,
        createdAt: 1,
        removedAt: null,
      },
    );
    const role = async (): Promise<string | undefined> => (await store.getUser('member'))?.role;
    assert.equal(await role(), 'developer');
    // Another process (`ductape-server user ...`) changes the role. In this turn the store
    // still reads from the state it began with; a request arriving now must not be.
    other.prepare('UPDATE users SET role = ? WHERE id = ?').run('viewer', 'member');
    assert.equal(await role(), 'developer', 'the reads of one request share a state');
    store.requestArrived?.();
    assert.equal(await role(), 'viewer');
  });
});
