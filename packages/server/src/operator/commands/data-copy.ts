/**
 * Copies the data tables between stores, for `backup`, `restore` and `migrate-store`: from a
 * SQLite file into a PostgreSQL schema, and from a PostgreSQL schema into a new SQLite file.
 * Each copy reads one snapshot, digests the rows as it reads them (data-tables.ts), and
 * checks the target against those digests before it counts as done.
 *
 * A copy into PostgreSQL is one transaction: interrupted anywhere (a crash, a lost
 * connection, Ctrl-C), it leaves the target as empty as it found it, so running it again is
 * all the recovery there is.
 */
import type Database from 'better-sqlite3';
import { compareSummaries, dataTablesAt, TableDigest, type TableSummary } from '../../store/data-tables.js';
import {
  pgInserter,
  pgMasterKeyIds,
  pgMigrateTo,
  pgNonEmptyTables,
  pgRows,
  pgSchemaVersion,
  summarizePg,
  type PgTarget,
} from '../../store/backends/postgres/postgres-copy.js';
import {
  createSqliteAt,
  sqliteInserter,
  sqliteRows,
  sqliteSchemaVersion,
} from '../../store/backends/sqlite/sqlite-backup.js';
import { POSTGRES_MIGRATIONS } from '../../store/migrations/postgres.js';
import { CliError } from '../output.js';
import type { Progress } from './copy-progress.js';

/**
 * Refuses a PostgreSQL target that holds any data, or whose schema is newer than the rows to
 * come (`version`); then brings its schema to `version`.
 */
export async function preparePgTarget(target: PgTarget, version: number): Promise<void> {
  const full = await pgNonEmptyTables(target);
  if (full.length > 0) {
    throw new CliError(
      `the target schema '${target.schema}' is not empty (${full.join(', ')} hold rows): ` +
        'restore or move only into an empty database or schema',
      1,
    );
  }
  const at = await pgSchemaVersion(target);
  if (at > version) {
    throw new CliError(
      `the target schema '${target.schema}' is at version ${at}, newer than the data to copy (${version}): ` +
        'use a new, empty schema (DUCTAPE_PG_SCHEMA, --schema) or database',
      1,
    );
  }
  await pgMigrateTo(target, version);
}

/**
 * Copies every data table of `source` (a SQLite database at schema `version`) into the
 * prepared PostgreSQL target in one transaction, checks the target's rows against the
 * source's digests before committing, then brings the target's schema up to date.
 * Returns the source's summaries.
 */
export async function copySqliteToPg(
  source: Database.Database,
  target: PgTarget,
  progress: Progress,
): Promise<Record<string, TableSummary>> {
  const version = sqliteSchemaVersion(source);
  const summaries: Record<string, TableSummary> = {};
  // One read transaction on the source: every table from the same instant.
  source.prepare('BEGIN').run();
  try {
    await target.client.query('BEGIN');
    try {
      for (const { name } of dataTablesAt(version)) {
        const digest = new TableDigest();
        const insert = await pgInserter(target, name);
        for (const row of sqliteRows(source, name)) {
          digest.add(row);
          await insert.add(row);
        }
        await insert.flush();
        summaries[name] = digest.summary();
        progress(name, summaries[name].rows);
      }
      const copied = await summarizePg(target, version);
      const differences = compareSummaries(summaries, copied, version);
      if (differences.length > 0) {
        throw new CliError(
          `the copy does not match its source, nothing was kept: ${differences.join('; ')}`,
          1,
        );
      }
      await target.client.query('COMMIT');
    } catch (error) {
      await target.client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    source.prepare('COMMIT').run();
  }
  // Data from an older schema is brought up to date as a server would at start.
  if (version < (POSTGRES_MIGRATIONS.at(-1)?.version ?? 0)) await pgMigrateTo(target);
  return summaries;
}

/**
 * Copies every data table of a PostgreSQL schema, from one REPEATABLE READ snapshot, into a
 * new SQLite database at `file`. Returns the schema version, the master key ids and the
 * summaries of what was read (the caller checks the file against them).
 */
export async function copyPgToSqlite(
  source: PgTarget,
  file: string,
  progress: Progress,
): Promise<{ version: number; masterKeyIds: string[]; summaries: Record<string, TableSummary> }> {
  await source.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const version = await pgSchemaVersion(source);
    const masterKeyIds = await pgMasterKeyIds(source);
    const db = createSqliteAt(file, version);
    const summaries: Record<string, TableSummary> = {};
    try {
      for (const { name } of dataTablesAt(version)) {
        const digest = new TableDigest();
        const insert = sqliteInserter(db, name);
        for await (const row of pgRows(source, name)) {
          digest.add(row);
          insert.add(row);
        }
        insert.flush();
        summaries[name] = digest.summary();
        progress(name, summaries[name].rows);
      }
    } finally {
      db.close();
    }
    return { version, masterKeyIds, summaries };
  } finally {
    await source.client.query('COMMIT').catch(() => undefined);
  }
}
