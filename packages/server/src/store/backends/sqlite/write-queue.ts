/**
 * Group commit for SQLite, with the fsync off the event loop.
 *
 * SQLite's own durable mode (synchronous=FULL) fsyncs inside every commit, and better-sqlite3
 * runs commits on the main thread: every write (and every audited read) would stall the
 * whole server for an fsync, milliseconds on real disks. Instead the database runs with
 * synchronous=NORMAL, which in WAL mode writes each commit to the WAL file without an fsync
 * (and still fsyncs around checkpoints), and this queue makes commits durable itself:
 *
 * - writes queued in the same turn of the event loop run together in one IMMEDIATE
 *   transaction, each in its own savepoint: a write that throws is rolled back alone and
 *   rejects alone;
 * - after the commit, the WAL file is fdatasync'd on libuv's thread pool, and only then is
 *   each caller told its write succeeded. One fsync covers every commit made before it
 *   started, so under load many batches share one.
 *
 * So an acknowledged write is on disk exactly as with synchronous=FULL, while the event loop
 * keeps serving during the fsync. (A concurrent reader may see a committed write a moment
 * before it is durable; the writer is never told before.)
 */
import type Database from 'better-sqlite3';
import { closeSync, constants, fdatasync, openSync } from 'node:fs';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Enough to amortise a commit; small enough that one batch never stalls the loop for long. */
const MAX_BATCH = 256;

export class WriteQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  /** The WAL file to fsync; undefined when SQLite fsyncs itself (synchronous=FULL). */
  private readonly walFd: number | undefined;
  private syncWaiters: Waiter[] = [];
  private syncing = false;
  private idle: (() => void) | undefined;

  /**
   * `walFile`: the database's `-wal` file when it runs in WAL mode with synchronous=NORMAL;
   * undefined when every commit is already durable by itself.
   */
  constructor(
    private readonly db: Database.Database,
    walFile: string | undefined,
  ) {
    this.walFd =
      walFile === undefined ? undefined : openSync(walFile, constants.O_RDONLY | constants.O_CREAT, 0o600);
    // Prepared once: a batch costs one BEGIN IMMEDIATE and one COMMIT, each write a
    // SAVEPOINT and a RELEASE, and nothing is compiled or wrapped per write.
    const savepoint = db.prepare('SAVEPOINT queued_write');
    const release = db.prepare('RELEASE queued_write');
    const rollbackTo = db.prepare('ROLLBACK TO queued_write');
    this.commitBatch = db.transaction((batch: Pending[], outcomes: Outcome[]) => {
      for (const item of batch) {
        savepoint.run();
        try {
          const value = item.work();
          release.run();
          outcomes.push({ ok: true, value });
        } catch (error) {
          // SQLite ends the whole transaction itself on some errors (disk full, I/O): then
          // nothing of the batch stands, and the batch fails as one.
          if (!db.inTransaction) throw error;
          // Otherwise this write alone is undone; the others go on.
          rollbackTo.run();
          release.run();
          outcomes.push({ ok: false, error });
        }
      }
    });
  }

  /** The batch's transaction: every write in its own savepoint, one commit. */
  private readonly commitBatch: Database.Transaction<(batch: Pending[], outcomes: Outcome[]) => void>;

  /** Runs `work` (synchronous SQL) in the next group commit; resolves once it is on disk. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Waits for queued writes and fsyncs in flight, then lets go of the WAL file. */
  async close(): Promise<void> {
    this.flush();
    if (this.syncing || this.syncWaiters.length > 0) {
      await new Promise<void>((resolve) => (this.idle = resolve));
    }
    if (this.walFd !== undefined) closeSync(this.walFd);
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const outcomes: Outcome[] = [];
    try {
      this.commitBatch.immediate(batch, outcomes);
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of the batch is written.
      for (const item of batch) item.reject(error);
      return;
    }
    const settle = (): void =>
      batch.forEach((item, i) => {
        const outcome = outcomes[i] as Outcome;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
    this.durable().then(settle, (error: unknown) => batch.forEach((item) => item.reject(error)));
  }

  /** Resolves once everything committed so far is on disk. */
  private durable(): Promise<void> {
    if (this.walFd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      this.startSync();
    });
  }

  private startSync(): void {
    // One fsync at a time; commits made while it runs wait for the next one.
    if (this.syncing) return;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    if (waiters.length === 0) {
      this.idle?.();
      return;
    }
    this.syncing = true;
    fdatasync(this.walFd as number, (error) => {
      this.syncing = false;
      for (const waiter of waiters) {
        if (error) waiter.reject(error);
        else waiter.resolve();
      }
      this.startSync();
    });
  }
}
