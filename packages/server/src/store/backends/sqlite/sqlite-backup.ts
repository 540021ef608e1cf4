/**
 * SQLite side of backups, restores and store moves: a consistent copy of a live database
 * through SQLite's online backup API, the rows of the data tables in key order, a new
 * database filled from rows, and the manifest a backup file carries.
 *
 * Invariant: nothing here opens a value or unwraps a key; rows move as stored bytes.
 */
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../../migrations/sqlite.js';
import {
  checkTableSet,
  DATA_TABLES,
  dataTablesAt,
  TableDigest,
  type Row,
  type TableSummary,
} from '../../data-tables.js';
import { migrateSqlite } from './migrate.js';

/**
 * Copies the database in `sourceFile` to `destination` while its server runs. The first step
 * finds the size; the second copies every page in one step, inside one read transaction: a
 * snapshot of one instant (writers go on meanwhile: in WAL mode a reader never blocks them).
 * Were a writer to commit between the two steps, SQLite restarts the copy; it is still whole.
 */
export async function onlineBackup(sourceFile: string, destination: string): Promise<void> {
  const source = new Database(sourceFile, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    await source.backup(destination, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
}

/** The names of the tables in this database. */
export function sqliteTables(db: Database.Database): string[] {
  return (
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[]
  ).filter((name) => !name.startsWith('sqlite_'));
}

export function sqliteSchemaVersion(db: Database.Database): number {
  return (db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
}

/** Ids of the master keys that wrap this database's server keys and data keys (never a key). */
export function sqliteMasterKeyIds(db: Database.Database): string[] {
  return db
    .prepare('SELECT kek_id FROM server_keys UNION SELECT kek_id FROM workspace_keys ORDER BY kek_id')
    .pluck()
    .all() as string[];
}

/** Every row of a data table, in primary-key order, one at a time (nothing held in memory). */
export function sqliteRows(db: Database.Database, table: string): IterableIterator<Row> {
  const spec = DATA_TABLES.find((t) => t.name === table);
  if (!spec) throw new Error(`not a data table: ${table}`);
  return db
    .prepare(`SELECT * FROM ${table} ORDER BY ${spec.key.join(', ')}`)
    .iterate() as IterableIterator<Row>;
}

/** Row count and digest of every data table (see data-tables.ts), in one read transaction. */
export function summarizeSqlite(db: Database.Database): Record<string, TableSummary> {
  const read = db.transaction(() => {
    const version = sqliteSchemaVersion(db);
    checkTableSet(sqliteTables(db), version, 'the SQLite database');
    const out: Record<string, TableSummary> = {};
    for (const { name } of dataTablesAt(version)) {
      const digest = new TableDigest();
      for (const row of sqliteRows(db, name)) digest.add(row);
      out[name] = digest.summary();
    }
    return out;
  });
  return read.deferred();
}

/** `PRAGMA integrity_check`: undefined when the file is sound, else SQLite's first complaint. */
export function sqliteIntegrityProblem(db: Database.Database): string | undefined {
  const result = db.pragma('integrity_check', { simple: true }) as string;
  return result === 'ok' ? undefined : result;
}

/** A new SQLite database at `file`, with the schema at `version` (that of the rows to come). */
export function createSqliteAt(file: string, version: number): Database.Database {
  const db = new Database(file);
  try {
    migrateSqlite(
      db,
      SQLITE_MIGRATIONS.filter((m) => m.version <= version),
    );
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Inserts rows into one table, in batches of one transaction each. */
export function sqliteInserter(db: Database.Database, table: string): { add(row: Row): void; flush(): void } {
  let batch: Row[] = [];
  let insert: Database.Statement | undefined;
  let columns: string[] = [];
  const flush = db.transaction((rows: Row[]) => {
    for (const row of rows) insert?.run(columns.map((c) => row[c] ?? null));
  });
  return {
    add(row) {
      if (insert === undefined) {
        columns = Object.keys(row);
        insert = db.prepare(
          `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        );
      }
      batch.push(row);
      if (batch.length >= 1000) this.flush();
    },
    flush() {
      flush(batch);
      batch = [];
    },
  };
}

export interface BackupManifest {
  format: 'ductape-backup';
  format_version: 1;
  created_at: string;
  /** The store the backup was taken from. */
  source: 'sqlite' | 'postgres';
  schema_version: number;
  /** Ids (public fingerprints) of the master keys the backup's keys are wrapped with. */
  master_key_ids: string[];
  tables: Record<string, TableSummary>;
}

const MANIFEST_TABLE = 'ductape_backup';

export function writeManifest(db: Database.Database, manifest: BackupManifest): void {
  db.exec(`CREATE TABLE ${MANIFEST_TABLE} (manifest TEXT NOT NULL) STRICT`);
  db.prepare(`INSERT INTO ${MANIFEST_TABLE} (manifest) VALUES (?)`).run(JSON.stringify(manifest));
}

/** The manifest of a backup file, or a message saying why this is not one. */
export function readManifest(db: Database.Database): BackupManifest | string {
  let text: unknown;
  try {
    text = db.prepare(`SELECT manifest FROM ${MANIFEST_TABLE}`).pluck().get();
  } catch {
    return 'it is not a ductape backup (no manifest)';
  }
  let manifest: Partial<BackupManifest>;
  try {
    manifest = JSON.parse(String(text)) as Partial<BackupManifest>;
  } catch {
    return 'its manifest is not JSON';
  }
  if (manifest.format !== 'ductape-backup' || manifest.format_version !== 1) {
    return 'its manifest is of an unknown format';
  }
  if (!Number.isInteger(manifest.schema_version) || typeof manifest.tables !== 'object') {
    return 'its manifest lacks the schema version or the table summaries';
  }
  return manifest as BackupManifest;
}

/** Removes the manifest from a restored copy: a server's database holds data tables only. */
export function dropManifest(db: Database.Database): void {
  db.exec(`DROP TABLE IF EXISTS ${MANIFEST_TABLE}`);
}
