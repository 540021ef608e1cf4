/**
 * The embedded store: one SQLite file in the data dir, through better-sqlite3, composed of
 * one part per domain (sqlite-secrets.ts, sqlite-identity.ts, sqlite-audit.ts,
 * sqlite-keys.ts, sqlite-integrity.ts) on one connection.
 *
 * WAL journal; every write goes through the write queue (write-queue.ts), which commits
 * concurrent writes together and fsyncs the WAL off the event loop: a write is on disk
 * before it is acknowledged, as with synchronous=FULL, without stalling other requests.
 * The reads of one request share one read transaction (read-snapshot.ts). Statements are
 * prepared once. Calls are synchronous underneath; the async signatures are the Store
 * interface's, shared with the PostgreSQL backend.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_VERSIONS_TO_KEEP, VALUE_BYTES_SQL } from '../../sql/secret-rows.js';
import type { Store } from '../../types.js';
import { withStoreErrors } from './errors.js';
import { migrateSqlite } from './migrate.js';
import { shareReads } from './read-snapshot.js';
import { sqliteAudit } from './sqlite-audit.js';
import { sqliteIdentity } from './sqlite-identity.js';
import { sqliteIntegrity } from './sqlite-integrity.js';
import { sqliteKeys } from './sqlite-keys.js';
import { sqliteSecrets } from './sqlite-secrets.js';
import { sqliteOutbox, sqliteWebhooks } from './sqlite-webhooks.js';
import { WriteQueue } from './write-queue.js';

export const SQLITE_FILE = 'ductape.sqlite';

export type SqliteStore = Store & {
  readonly backend: 'sqlite';
  /** The database file. */
  readonly file: string;
};

/**
 * A lowered DUCTAPE_KEEP_VERSIONS also destroys the surplus of secrets that never change
 * again, and takes what it frees off each workspace's value bytes.
 */
function pruneSurplusVersions(db: Database.Database, versionsToKeep: number): void {
  db.transaction(() => {
    const surplus =
      'FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE v.version <= s.version - ?';
    const freed = db
      .prepare(
        `SELECT s.workspace_id, SUM(${VALUE_BYTES_SQL('v.sealed')}) AS bytes ${surplus} GROUP BY s.workspace_id`,
      )
      .all(versionsToKeep) as { workspace_id: string; bytes: number }[];
    const take = db.prepare(
      'UPDATE workspace_usage SET value_bytes = value_bytes - ? WHERE workspace_id = ?',
    );
    for (const f of freed) take.run(f.bytes, f.workspace_id);
    // Run even when there is nothing to delete: a write statement is also what tells, at
    // start, a database this process cannot write to (a read-only mount, see errors.ts).
    db.prepare(
      'DELETE FROM secret_versions WHERE version <= (SELECT version FROM secrets WHERE secrets.id = secret_versions.secret_id) - ?',
    ).run(versionsToKeep);
  }).immediate();
}

/** Opens (creating and migrating when needed) the store in `dataDir`. */
export function openSqliteStore(dataDir: string, options: { versionsToKeep?: number } = {}): SqliteStore {
  const versionsToKeep = options.versionsToKeep ?? DEFAULT_VERSIONS_TO_KEEP;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SQLITE_FILE);
  const fresh = !existsSync(file);
  const db = new Database(file);
  if (fresh) chmodSync(file, 0o600);
  let migration;
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migration = migrateSqlite(db);
    pruneSurplusVersions(db, versionsToKeep);
  } catch (error) {
    db.close();
    throw error;
  }
  // Migrations ran with synchronous=FULL; from here on the write queue does the fsyncs.
  const wal = db.pragma('journal_mode', { simple: true }) === 'wal';
  if (wal) db.pragma('synchronous = NORMAL');
  // From here on, the reads of one request share one read transaction (read-snapshot.ts).
  const snapshot = shareReads(db);
  const writes = new WriteQueue(db, wal ? `${file}-wal` : undefined);
  const ping = db.prepare('SELECT 1');
  const audit = sqliteAudit(db, writes);
  const outbox = sqliteOutbox(db);
  // Every part with its disk errors turned into store errors: 507/503, not 500 (errors.ts).
  const keys = withStoreErrors(sqliteKeys(db, writes));
  const store: SqliteStore = {
    backend: 'sqlite',
    file,
    migration,
    keys,
    integrity: withStoreErrors(sqliteIntegrity(db, writes)),
    webhooks: withStoreErrors(sqliteWebhooks(db, writes, audit, outbox)),
    ...sqliteSecrets({ db, writes, audit, outbox, keys, versionsToKeep }),
    ...sqliteIdentity(db, writes, audit),
    ...audit.store,
    requestArrived() {
      snapshot.end();
    },
    async ping() {
      ping.get();
    },
    async close() {
      if (!db.open) return;
      snapshot.end();
      await writes.close();
      db.close();
    },
  };
  return withStoreErrors(store);
}
