/**
 * Which SQLite failures come from the disk (full, read-only, failing) or from another
 * process holding the database, as opposed to a bug or a constraint: those become store
 * errors the HTTP layer answers with 507 or 503 instead of a bare 500.
 *
 * SQLite undoes a statement (or, for a full disk, the whole transaction) that failed this
 * way, so nothing was written, and the same connection writes again once the disk has room.
 */
import Database from 'better-sqlite3';
import { StoreDiskError, StoreFullError, StoreUnavailableError } from '../../errors.js';

/** Extended result codes start with their primary code: SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED... */
const primary = (code: string): string => /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code;

/** The store error a SQLite error stands for, or the error itself when it is none of those. */
export function toStoreError(error: unknown): unknown {
  // The write queue's own fdatasync of the WAL fails with a plain system error.
  const systemCode = (error as NodeJS.ErrnoException | null)?.code;
  if (
    !(error instanceof Database.SqliteError) &&
    (error as { syscall?: string } | null)?.syscall === 'fdatasync'
  ) {
    return systemCode === 'ENOSPC' || systemCode === 'EDQUOT'
      ? new StoreFullError(error)
      : new StoreDiskError(error);
  }
  if (!(error instanceof Database.SqliteError)) return error;
  switch (primary(error.code)) {
    case 'SQLITE_FULL': // ENOSPC, or a file grown past the process's size limit
      return new StoreFullError(error);
    case 'SQLITE_READONLY': // read-only file system or file
    case 'SQLITE_IOERR': // EIO and friends: a failing disk, a file system gone read-only
    case 'SQLITE_CANTOPEN': // the -wal or -shm file cannot be opened or created
      return new StoreDiskError(error);
    case 'SQLITE_BUSY': // another process held the write lock past busy_timeout
      return new StoreUnavailableError(error);
    default:
      return error;
  }
}

/**
 * The store with every method's SQLite disk errors turned into store errors (see
 * `toStoreError`). Every other error, and every result, passes through unchanged.
 */
export function withStoreErrors<T extends object>(store: T): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const member: unknown = Reflect.get(target, property);
      if (typeof member !== 'function') return member;
      let guarded = wrapped.get(property);
      if (guarded === undefined) {
        guarded = (...args: unknown[]): unknown => {
          try {
            const result: unknown = member.apply(target, args);
            return result instanceof Promise
              ? result.catch((error: unknown) => {
                  throw toStoreError(error);
                })
              : result;
          } catch (error) {
            throw toStoreError(error);
          }
        };
        wrapped.set(property, guarded);
      }
      return guarded;
    },
  });
}

/**
 * Why the database could not be opened at start, in words an operator can act on: SQLite
 * itself only says "unable to open database file" when the data dir is read-only.
 */
export function openError(error: unknown, dataDir: string): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  const code = primary(error.code);
  if (!['SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_IOERR', 'SQLITE_FULL'].includes(code)) return error;
  return new Error(
    `cannot open the database in ${dataDir} for writing (${error.message}, ${error.code}): ` +
      'the data dir must be writable, on a file system that is not read-only and has room',
    { cause: error },
  );
}
