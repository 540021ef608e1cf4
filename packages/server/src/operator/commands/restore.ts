/**
 * `ductape-server restore --from FILE`: puts a backup (see backup.ts) into the configured
 * store, which must be empty: a data dir without a database, or a PostgreSQL schema without
 * data. Refused, each with its own message: a damaged file or one that does not match its
 * manifest, a schema newer than this version knows, a master key other than the one that
 * wraps the backup's keys, and a target that holds data. It ends by running `audit verify`
 * and `integrity check` on what it restored.
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config.js';
import { CliError, printJson } from '../output.js';
import { checkBackupFile, headline } from './backup.js';
import { checkTarget } from './data-checks.js';
import { progressOnStderr } from './copy-progress.js';
import { heldMasterKeys, requireMasterKeys } from './held-master-keys.js';

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function restoreSqlite(from: string, dataDir: string): Promise<void> {
  const { SQLITE_FILE } = await import('../../store/backends/sqlite/sqlite-store.js');
  const target = join(dataDir, SQLITE_FILE);
  for (const file of [target, `${target}-wal`]) {
    if (existsSync(file)) {
      throw new CliError(
        `the data dir ${dataDir} already holds a database (${file}): restore only into an empty data dir`,
        1,
      );
    }
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const Database = (await import('better-sqlite3')).default;
  const { dropManifest } = await import('../../store/backends/sqlite/sqlite-backup.js');
  const temp = join(dataDir, `.restore-${randomBytes(4).toString('hex')}.partial`);
  try {
    copyFileSync(from, temp);
    chmodSync(temp, 0o600);
    const db = new Database(temp);
    try {
      dropManifest(db);
    } finally {
      db.close();
    }
    fsyncPath(temp);
    // A server starting meanwhile sees no database or a whole one, never part of one.
    if (existsSync(target)) throw new CliError(`a database appeared in ${dataDir} during the restore`, 1);
    renameSync(temp, target);
    fsyncPath(dataDir);
  } finally {
    rmSync(temp, { force: true });
  }
}

async function restorePostgres(from: string, url: string, schema: string, quiet: boolean): Promise<void> {
  const Database = (await import('better-sqlite3')).default;
  const { connectPg } = await import('../../store/backends/postgres/postgres-copy.js');
  const { copySqliteToPg, preparePgTarget } = await import('./data-copy.js');
  const { sqliteSchemaVersion } = await import('../../store/backends/sqlite/sqlite-backup.js');
  const source = new Database(from, { readonly: true, fileMustExist: true });
  const target = await connectPg(url, schema);
  try {
    await preparePgTarget(target, sqliteSchemaVersion(source));
    await copySqliteToPg(source, target, progressOnStderr(quiet));
  } finally {
    source.close();
    await target.close();
  }
}

export function registerRestoreCommands(program: Command): void {
  program
    .command('restore')
    .description(
      'Restore a backup into an empty store (the data dir, or PostgreSQL with DATABASE_URL), with the master ' +
        'key the backup was taken under; then verify the audit chains and every secret',
    )
    .requiredOption('--from <file>', 'the backup file (from ductape-server backup)')
    .option('--json', 'print what was restored and checked as JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (options: { from: string; json?: boolean; quiet?: boolean }) => {
      const from = resolve(options.from);
      if (!existsSync(from)) throw new CliError(`--from: ${from} does not exist`, 2);
      const config = loadConfig();
      const started = Date.now();
      const manifest = await checkBackupFile(from);
      const held = heldMasterKeys(config);
      requireMasterKeys(manifest.master_key_ids, held, `the backup ${from}`);
      if (config.postgres) {
        await restorePostgres(from, config.postgres.url, config.postgres.schema, options.quiet === true);
      } else {
        await restoreSqlite(from, config.dataDir);
      }
      const checks = await checkTarget(process.env);
      const counts = headline(manifest.tables);
      if (options.json === true) {
        printJson({
          from,
          backend: config.postgres ? 'postgres' : 'sqlite',
          schema_version: manifest.schema_version,
          counts,
          audit_chains: checks.auditChains,
          audit_entries: checks.auditEntries,
          secrets_checked: checks.secrets,
          recorded_versions_checked: checks.recordedVersions,
        });
        return;
      }
      process.stdout.write(
        `Restored ${from} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${counts.secrets} secrets ` +
          `(${counts.secret_versions} recorded versions), ${counts.workspaces} workspaces, ${counts.users} users. ` +
          `audit verify: ${checks.auditChains} chains intact (${checks.auditEntries} entries); integrity check: ` +
          `every one of ${checks.secrets} secrets and ${checks.recordedVersions} versions passed.\n`,
      );
    });
}
