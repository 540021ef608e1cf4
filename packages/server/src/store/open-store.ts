/**
 * The configured store: PostgreSQL when DATABASE_URL is set, else SQLite in the data dir.
 * Each backend is imported on demand: a node on PostgreSQL never loads the SQLite driver,
 * and back.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from './types.js';

export async function openStore(config: Config, log?: Pick<Logger, 'warn'>): Promise<Store> {
  if (config.postgres) {
    const { openPostgresStore } = await import('./backends/postgres/postgres-store.js');
    return openPostgresStore({
      ...config.postgres,
      versionsToKeep: config.versionsToKeep,
      // Only what helps an operator: the error object drags the whole client along.
      onIdleError: (error) =>
        log?.warn(
          { error: error.message, code: (error as { code?: string }).code },
          'a pooled database connection failed; it will be replaced',
        ),
      onListenerError: (error) =>
        log?.warn(
          { error: error.message, code: (error as { code?: string }).code },
          'the connection listening for user and token changes failed; until it is back, every request reads them from the database',
        ),
    });
  }
  const { openSqliteStore } = await import('./backends/sqlite/sqlite-store.js');
  try {
    return openSqliteStore(config.dataDir, { versionsToKeep: config.versionsToKeep });
  } catch (error) {
    const { openError } = await import('./backends/sqlite/errors.js');
    throw openError(error, config.dataDir);
  }
}
