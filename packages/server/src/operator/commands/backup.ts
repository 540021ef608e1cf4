/**
 * `ductape-server backup --out FILE`: a consistent snapshot of the configured store, taken
 * while its servers run and serve.
 *
 * A backup file is a SQLite database (open it with any SQLite tool) holding the data tables
 * as stored, values only as ciphertext and keys only wrapped, plus one `ductape_backup` table
 * with the manifest: the schema version, the ids of the master keys that wrap its keys (never
 * a key), and each table's row count and SHA-256 digest. From SQLite it is taken with the
 * online backup API; from PostgreSQL, read in one REPEATABLE READ snapshot. The same file
 * restores into either store. After writing, the file is reopened and checked (integrity_check,
 * then every table against the manifest) before it gets its final name.
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadConfig } from '../../config.js';
import type { BackupManifest } from '../../store/backends/sqlite/sqlite-backup.js';
import type { TableSummary } from '../../store/data-tables.js';
import { CliError, printJson } from '../output.js';
import { progressOnStderr } from './copy-progress.js';

function fsyncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Counts a person cares about, from the table summaries. */
export function headline(tables: Record<string, TableSummary>): Record<string, number> {
  const rows = (name: string): number => tables[name]?.rows ?? 0;
  return {
    workspaces: rows('workspaces'),
    users: rows('users'),
    service_tokens: rows('service_tokens'),
    secrets: rows('secrets'),
    secret_versions: rows('secret_versions'),
    audit_entries: rows('audit_log'),
  };
}

async function writeBackup(temp: string, quiet: boolean): Promise<BackupManifest> {
  const config = loadConfig();
  const Database = (await import('better-sqlite3')).default;
  const sqlite = await import('../../store/backends/sqlite/sqlite-backup.js');
  const progress = progressOnStderr(quiet);
  const base = { format: 'ductape-backup', format_version: 1, created_at: new Date().toISOString() } as const;
  if (config.postgres) {
    const { connectPg } = await import('../../store/backends/postgres/postgres-copy.js');
    const { copyPgToSqlite } = await import('./data-copy.js');
    const source = await connectPg(config.postgres.url, config.postgres.schema);
    try {
      const read = await copyPgToSqlite(source, temp, progress);
      if (read.version === 0)
        throw new CliError(`the PostgreSQL schema '${source.schema}' holds no database`, 1);
      const manifest: BackupManifest = {
        ...base,
        source: 'postgres',
        schema_version: read.version,
        master_key_ids: read.masterKeyIds,
        tables: read.summaries,
      };
      const db = new Database(temp);
      try {
        sqlite.writeManifest(db, manifest);
      } finally {
        db.close();
      }
      return manifest;
    } finally {
      await source.close();
    }
  }
  const { SQLITE_FILE } = await import('../../store/backends/sqlite/sqlite-store.js');
  const file = join(config.dataDir, SQLITE_FILE);
  if (!existsSync(file))
    throw new CliError(`there is no database in ${config.dataDir} (no ${SQLITE_FILE})`, 1);
  await sqlite.onlineBackup(file, temp);
  const db = new Database(temp);
  try {
    // One self-contained file: no -wal beside it.
    db.pragma('journal_mode = DELETE');
    const tables = sqlite.summarizeSqlite(db);
    for (const [name, summary] of Object.entries(tables)) progress(name, summary.rows);
    const manifest: BackupManifest = {
      ...base,
      source: 'sqlite',
      schema_version: sqlite.sqliteSchemaVersion(db),
      master_key_ids: sqlite.sqliteMasterKeyIds(db),
      tables,
    };
    sqlite.writeManifest(db, manifest);
    return manifest;
  } finally {
    db.close();
  }
}

/** Reopens a written backup and checks it whole; returns its manifest or throws saying why not. */
export async function checkBackupFile(file: string): Promise<BackupManifest> {
  const Database = (await import('better-sqlite3')).default;
  const sqlite = await import('../../store/backends/sqlite/sqlite-backup.js');
  const { compareSummaries } = await import('../../store/data-tables.js');
  let db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new CliError(`cannot open the backup ${file}: ${(error as Error).message}`, 1);
  }
  try {
    let problem: string | undefined;
    try {
      problem = sqlite.sqliteIntegrityProblem(db);
    } catch (error) {
      problem = (error as Error).message;
    }
    if (problem !== undefined) throw new CliError(`the backup ${file} is damaged: ${problem}`, 1);
    const manifest = sqlite.readManifest(db);
    if (typeof manifest === 'string') throw new CliError(`${file} is not a usable backup: ${manifest}`, 1);
    const { SQLITE_MIGRATIONS } = await import('../../store/migrations/sqlite.js');
    const known = SQLITE_MIGRATIONS.at(-1)?.version ?? 0;
    if (manifest.schema_version > known) {
      throw new CliError(
        `the backup ${file} has schema version ${manifest.schema_version}, newer than this ductape-server knows ` +
          `(${known}): restore it with a newer version`,
        1,
      );
    }
    const differences = compareSummaries(
      manifest.tables,
      sqlite.summarizeSqlite(db),
      manifest.schema_version,
    );
    const ids = sqlite.sqliteMasterKeyIds(db);
    if (ids.join(',') !== [...manifest.master_key_ids].sort().join(',')) {
      differences.push('the master key ids differ from the manifest');
    }
    if (differences.length > 0) {
      throw new CliError(`the backup ${file} does not match its manifest: ${differences.join('; ')}`, 1);
    }
    return manifest;
  } finally {
    db.close();
  }
}

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description(
      'Write a consistent snapshot of the store to a new file while servers run: values stay encrypted, ' +
        'keys stay wrapped, the master key is never in it. The file is checked after writing',
    )
    .requiredOption('--out <file>', 'the backup file to create (never overwritten)')
    .option('--json', 'print the manifest as JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (options: { out: string; json?: boolean; quiet?: boolean }) => {
      const out = resolve(options.out);
      if (existsSync(out)) throw new CliError(`--out: ${out} already exists; choose a new file name`, 2);
      if (!existsSync(dirname(out)))
        throw new CliError(`--out: the folder ${dirname(out)} does not exist`, 2);
      const temp = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.partial`);
      const started = Date.now();
      try {
        await writeBackup(temp, options.quiet === true);
        chmodSync(temp, 0o600);
        fsyncFile(temp);
        await checkBackupFile(temp);
        renameSync(temp, out);
        fsyncFile(dirname(out));
      } finally {
        rmSync(temp, { force: true });
      }
      const manifest = await checkBackupFile(out);
      if (options.json === true) {
        printJson({ file: out, ...manifest, counts: headline(manifest.tables) });
        return;
      }
      const counts = Object.entries(headline(manifest.tables))
        .map(([name, n]) => `${n} ${name.replace('_', ' ')}`)
        .join(', ');
      process.stdout.write(
        `Wrote ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s and checked it: ${counts}; ` +
          `schema version ${manifest.schema_version}; keys wrapped by master key ${manifest.master_key_ids.join(', ')}.\n`,
      );
    });
}
