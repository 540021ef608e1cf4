/** The errors every backend throws for the same conditions, so services and HTTP handle them once. */

/** The database was migrated by a newer server; this one must not touch it. */
export class SchemaTooNewError extends Error {
  constructor(current: number, known: number) {
    super(
      `the database schema is at version ${current}, newer than this server knows (${known}); upgrade the server`,
    );
    this.name = 'SchemaTooNewError';
  }
}

export class DuplicateKeyError extends Error {
  constructor() {
    super('a secret with this key already exists in the workspace');
    this.name = 'DuplicateKeyError';
  }
}

/**
 * The database cannot be reached right now (down, restarting, connections cut). Requests
 * fail fast with 503 and the store recovers by itself when the database is back.
 */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('the database is unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The store's disk refuses writes right now (read-only file system, I/O error): nothing was
 * written. Reads may still work.
 */
export class StoreDiskError extends StoreUnavailableError {
  constructor(cause?: unknown) {
    super(cause);
    this.message = "the database's disk refuses writes (read-only file system or I/O error)";
    this.name = 'StoreDiskError';
  }
}

/** The store's disk is full: nothing was written. Writes work again once space is freed. */
export class StoreFullError extends Error {
  constructor(cause?: unknown) {
    super("the database's disk is full", { cause });
    this.name = 'StoreFullError';
  }
}
