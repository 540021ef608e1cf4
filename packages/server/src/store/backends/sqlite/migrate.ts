/**
 * Applies SQLite migrations in one immediate transaction, and refuses a schema newer than
 * this server knows.
 */
import type Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS, type Migration } from '../../migrations/sqlite.js';
import { SchemaTooNewError } from '../../errors.js';
import type { MigrationResult } from '../../types.js';

export function migrateSqlite(
  db: Database.Database,
  migrations: readonly Migration[] = SQLITE_MIGRATIONS,
): MigrationResult {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
  );
  const known = migrations.at(-1)?.version ?? 0;
  const applyAll = db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    if (current > known) {
      throw new SchemaTooNewError(current, known);
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    }
    return { from: current, to: Math.max(current, known) };
  });
  return applyAll.immediate();
}
