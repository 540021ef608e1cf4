/**
 * Reads that share one SQLite read transaction.
 *
 * In WAL mode every statement outside a transaction opens and closes a read transaction of
 * its own: two `fcntl` locks on the shared-memory file and an `fstat`, several times the cost
 * of the indexed lookup itself. Here the reads made between two incoming requests share one
 * (deferred) transaction instead, begun by the first of them and ended by whichever comes
 * first:
 *
 * - a new request (the store's `requestArrived()`, called by the HTTP layer's first hook):
 *   its reads then begin a transaction newer than its own arrival, so a change committed by
 *   another process (`ductape-server user remove` on the same file) before the request was
 *   sent is seen by it, as without sharing;
 * - a write of this connection (the write queue's batch, any transaction, `exec`, `pragma`,
 *   a write statement): its transaction must begin from the newest state, and afterwards
 *   reads see what it wrote;
 * - the end of the event-loop turn (`setImmediate`), so no transaction outlives a turn and
 *   holds back a checkpoint.
 *
 * Nothing is read from an older state than it would be without sharing: every read still
 * happens after the request that asked for it arrived and after every write this process
 * made before it.
 */
import type Database from 'better-sqlite3';

type Statement = Database.Statement<unknown[], unknown>;
type AnyTransaction = Database.Transaction<(...args: never[]) => unknown>;

export class ReadSnapshot {
  private open = false;
  private scheduled = false;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly endOfTurn = (): void => {
    this.scheduled = false;
    try {
      this.end();
    } catch {
      // Nothing to report to: end() has already rolled back; the next read begins anew.
    }
  };

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  /** Before a read: joins the open read transaction, or begins one. */
  enter(): void {
    if (this.open || this.db.inTransaction) return;
    this.begin.run();
    this.open = true;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.endOfTurn);
    }
  }

  /** Ends the shared read transaction, if one is open; the next read begins a new one. */
  end(): void {
    if (!this.open) return;
    this.open = false;
    // SQLite may have ended it itself (an I/O error); COMMIT would then fail.
    if (!this.db.inTransaction) return;
    try {
      this.commit.run();
    } catch (error) {
      // A transaction that only read has nothing to lose: roll it back, so that no later
      // write is ever nested in it.
      if (this.db.inTransaction) this.rollback.run();
      throw error;
    }
  }
}

/**
 * Makes every statement `db` prepares from now on take part in `snapshot`: reads join it,
 * and anything that writes ends it first. `db.transaction`, `db.exec` and `db.pragma` end it
 * too. Call once, right after opening.
 */
export function shareReads(db: Database.Database): ReadSnapshot {
  const snapshot = new ReadSnapshot(db);
  const prepare = db.prepare.bind(db);
  const transaction = db.transaction.bind(db);
  const exec = db.exec.bind(db);
  const pragma = db.pragma.bind(db);

  /** Makes `stmt`'s `method` do `first` before it runs. */
  const before = (stmt: Statement, method: 'run' | 'get' | 'all', first: () => void): void => {
    const original = stmt[method] as (...params: unknown[]) => unknown;
    stmt[method] = function (this: Statement, ...params: unknown[]) {
      first();
      return original.apply(this, params);
    } as never;
  };
  const join = (): void => snapshot.enter();
  const end = (): void => snapshot.end();

  const asReader = (stmt: Statement): Statement => {
    // iterate() is left alone and never begins the shared transaction: an iterator may be
    // held across turns, and a transaction cannot end while one is open. The store's parts
    // do not iterate (the operator commands that do open connections of their own).
    before(stmt, 'get', join);
    before(stmt, 'all', join);
    return stmt;
  };
  const asWriter = (stmt: Statement): Statement => {
    // INSERT ... RETURNING and the like are read with get/all.
    for (const method of ['run', 'get', 'all'] as const) before(stmt, method, end);
    return stmt;
  };

  db.prepare = ((source: string) => {
    const stmt = prepare(source) as Statement;
    // A statement that returns rows and changes nothing joins; INSERT ... RETURNING returns
    // rows but writes, SAVEPOINT changes nothing but is a transaction's: both end it.
    return stmt.reader && stmt.readonly ? asReader(stmt) : asWriter(stmt);
  }) as typeof db.prepare;

  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const inner = transaction(fn) as AnyTransaction;
    const ending = <F extends (...args: never[]) => unknown>(f: F): F =>
      ((...args: never[]) => {
        snapshot.end();
        return f(...args);
      }) as F;
    const outer = ending(inner) as AnyTransaction;
    outer.deferred = ending(inner.deferred);
    outer.immediate = ending(inner.immediate);
    outer.exclusive = ending(inner.exclusive);
    outer.default = ending(inner.default);
    return outer;
  }) as typeof db.transaction;

  db.exec = ((source: string) => {
    snapshot.end();
    return exec(source);
  }) as typeof db.exec;

  db.pragma = ((source: string, options?: Database.PragmaOptions) => {
    snapshot.end();
    return pragma(source, options);
  }) as typeof db.pragma;

  return snapshot;
}
