/**
 * `ductape-server migrate-store --to postgres://...`: moves everything from the embedded SQLite
 * store to PostgreSQL, row for row and byte for byte (workspaces, users, service tokens,
 * secrets with every kept version, data keys, server keys, the audit chains), so row MACs and
 * chains stay valid and nothing is decrypted on the way.
 *
 * Refuses a target that holds data. The copy is one PostgreSQL transaction, checked against
 * the source's digests before it commits: an interrupted move leaves the target empty, and
 * running the command again is the whole recovery. It ends by running `audit verify` and
 * `integrity check` on the target. Run it with the SQLite server stopped (or at least not
 * written to): it copies the database as it was when the copy began.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config.js';
import { CliError, printJson } from '../output.js';
import { headline } from './backup.js';
import { checkTarget } from './data-checks.js';
import { progressOnStderr } from './copy-progress.js';
import { heldMasterKeys, requireMasterKeys } from './held-master-keys.js';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function registerMigrateStoreCommands(program: Command): void {
  program
    .command('migrate-store')
    .description(
      'Copy everything from the SQLite store (DUCTAPE_DATA_DIR, or --from) into an empty PostgreSQL ' +
        'database, check it, then verify its audit chains and every secret. Safe to run again after an interruption',
    )
    .requiredOption('--to <url>', 'the PostgreSQL connection URL (postgres://...)')
    .option('--schema <name>', 'the PostgreSQL schema (default: DUCTAPE_PG_SCHEMA, else public)')
    .option('--from <dir>', 'the SQLite data dir (default: DUCTAPE_DATA_DIR)')
    .option('--json', 'print what was copied and checked as JSON')
    .option('--quiet', 'no progress on stderr')
    .action(
      async (options: { to: string; schema?: string; from?: string; json?: boolean; quiet?: boolean }) => {
        if (!/^postgres(ql)?:\/\//.test(options.to)) {
          throw new CliError('--to: must be a postgres:// or postgresql:// connection URL', 2);
        }
        // The source's environment: DATABASE_URL, if set, would name another store.
        const env = { ...process.env };
        delete env.DATABASE_URL;
        const config = loadConfig(env);
        const schema = options.schema ?? (process.env.DUCTAPE_PG_SCHEMA?.trim() || 'public');
        if (!SCHEMA_NAME.test(schema)) {
          throw new CliError('--schema: must be a lower-case identifier: a-z, 0-9 and _, at most 63', 2);
        }
        const dataDir = options.from === undefined ? config.dataDir : resolve(options.from);
        const { SQLITE_FILE } = await import('../../store/backends/sqlite/sqlite-store.js');
        const file = join(dataDir, SQLITE_FILE);
        if (!existsSync(file))
          throw new CliError(`there is no SQLite database in ${dataDir} (no ${SQLITE_FILE})`, 2);

        const Database = (await import('better-sqlite3')).default;
        const sqlite = await import('../../store/backends/sqlite/sqlite-backup.js');
        const { connectPg } = await import('../../store/backends/postgres/postgres-copy.js');
        const { copySqliteToPg, preparePgTarget } = await import('./data-copy.js');
        const { SQLITE_MIGRATIONS } = await import('../../store/migrations/sqlite.js');

        const held = heldMasterKeys(config, dataDir);
        const started = Date.now();
        const source = new Database(file, { fileMustExist: true });
        let summaries;
        try {
          source.pragma('busy_timeout = 5000');
          const version = sqlite.sqliteSchemaVersion(source);
          const known = SQLITE_MIGRATIONS.at(-1)?.version ?? 0;
          if (version > known) {
            throw new CliError(
              `the SQLite schema is at version ${version}, newer than this ductape-server knows (${known}): use a newer version`,
              1,
            );
          }
          requireMasterKeys(sqlite.sqliteMasterKeyIds(source), held, 'the SQLite database');
          let target;
          try {
            target = await connectPg(options.to, schema);
          } catch (error) {
            throw new CliError(`--to: cannot connect to PostgreSQL: ${(error as Error).message}`, 1);
          }
          try {
            await preparePgTarget(target, version);
            summaries = await copySqliteToPg(source, target, progressOnStderr(options.quiet === true));
          } finally {
            await target.close();
          }
        } finally {
          source.close();
        }
        const copiedIn = (Date.now() - started) / 1000;
        const checks = await checkTarget({
          ...env,
          ...(held.environment ?? { DUCTAPE_MASTER_KEY: held.fileKey }),
          DATABASE_URL: options.to,
          DUCTAPE_PG_SCHEMA: schema,
        });
        const counts = headline(summaries);
        const seconds = { copy: copiedIn, total: (Date.now() - started) / 1000 };
        if (options.json === true) {
          printJson({
            to_schema: schema,
            counts,
            rows: Object.fromEntries(Object.entries(summaries).map(([name, s]) => [name, s.rows])),
            audit_chains: checks.auditChains,
            audit_entries: checks.auditEntries,
            secrets_checked: checks.secrets,
            recorded_versions_checked: checks.recordedVersions,
            seconds,
          });
          return;
        }
        process.stdout.write(
          `Copied ${counts.secrets} secrets (${counts.secret_versions} recorded versions), ${counts.workspaces} workspaces, ` +
            `${counts.users} users, ${counts.service_tokens} service tokens and ${counts.audit_entries} audit entries ` +
            `into schema '${schema}' in ${seconds.copy.toFixed(1)} s; every table matches its source.\n` +
            `audit verify: ${checks.auditChains} chains intact; integrity check: every secret and version passed ` +
            `(${seconds.total.toFixed(1)} s in all).\n` +
            (held.environment
              ? ''
              : 'Give every PostgreSQL server node the master key from the data dir master.key as DUCTAPE_MASTER_KEY.\n'),
        );
      },
    );
}
