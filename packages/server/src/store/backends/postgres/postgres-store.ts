/**
 * The PostgreSQL store, for teams that run several stateless server nodes on one database,
 * composed of one part per domain (postgres-secrets.ts, postgres-identity.ts,
 * postgres-audit.ts, postgres-keys.ts, postgres-integrity.ts) on one pool.
 *
 * node-postgres with a pool. Every failure to reach the database becomes
 * `StoreUnavailableError` (503) quickly: connecting times out after `connectTimeoutMs` (2 s),
 * and a query after `queryTimeoutMs` (5 s). Broken connections are dropped by the pool and replaced on
 * the next query, so the store recovers by itself when the database comes back.
 * Migrations run under an advisory lock, so nodes starting together never race.
 */
import pg from 'pg';
import { StoreUnavailableError } from '../../errors.js';
import { POSTGRES_MIGRATIONS } from '../../migrations/postgres.js';
import { DEFAULT_VERSIONS_TO_KEEP, VALUE_BYTES_SQL } from '../../sql/secret-rows.js';
import type { MigrationResult, Store } from '../../types.js';
import { isConnectionError } from './errors.js';
import { migrateWith, quoteIdent } from './migrate.js';
import { postgresAudit } from './postgres-audit.js';
import type { PgContext } from './postgres-dialect.js';
import { postgresIdentity } from './postgres-identity.js';
import { postgresIntegrity } from './postgres-integrity.js';
import { postgresKeys } from './postgres-keys.js';
import { postgresSecrets } from './postgres-secrets.js';
import { postgresWebhooks } from './postgres-webhooks.js';
import { PrincipalListener } from './principal-listener.js';
import { WriteBatcher } from './write-batch.js';

export interface PostgresOptions {
  url: string;
  /** Schema holding the tables (created when missing). */
  schema: string;
  poolSize: number;
  /** Versions kept per secret (default 20). */
  versionsToKeep?: number;
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
  /** Told about connection errors on idle pooled clients (which would otherwise crash). */
  onIdleError?: (error: Error) => void;
  /** Told when the principal listener's connection fails; it reconnects by itself. */
  onListenerError?: (error: Error) => void;
}

export type PostgresStore = Store & { readonly backend: 'postgres' };

// bigint (int8) columns hold unix milliseconds: well inside Number's exact range.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as never,
};

/**
 * The pool listens for 'error' only on idle clients. A checked-out client whose connection
 * drops (database restart, pg_terminate_backend, network cut) emits 'error' even when its
 * query already failed, and with no listener that would crash the process. The failure still
 * reaches the holder through its pending or next query. Returns the function that removes
 * the listener, to call just before `release()` (which puts the pool's back).
 */
function guardCheckedOut(client: pg.PoolClient): () => void {
  const ignore = (): void => undefined;
  client.on('error', ignore);
  return () => client.off('error', ignore);
}

const unavailable = (error: unknown): unknown =>
  isConnectionError(error) ? new StoreUnavailableError(error) : error;

/** Statements through `pool`, and transactions on one of its connections (see PgContext). */
function context(pool: pg.Pool): PgContext {
  return {
    async query(text, values = [], name) {
      try {
        return await pool.query(name ? { name, text, values } : { text, values });
      } catch (error) {
        throw unavailable(error);
      }
    },
    async queryArrays<R extends unknown[]>(name: string, text: string, values: unknown[]) {
      try {
        return (await pool.query<R>({ name, text, values, rowMode: 'array' })).rows;
      } catch (error) {
        throw unavailable(error);
      }
    },
    async transaction(work) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw unavailable(error);
      }
      const unguard = guardCheckedOut(client);
      try {
        await client.query('BEGIN');
        const result = await work(client);
        const commit = await client.query('COMMIT');
        // COMMIT of a transaction that an error already ended reports ROLLBACK, not an error.
        if (commit.command !== 'COMMIT') throw new Error(`COMMIT answered ${commit.command}`);
        unguard();
        client.release();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        unguard();
        // A broken connection must not go back to the pool.
        client.release(isConnectionError(error) ? (error as Error) : undefined);
        throw unavailable(error);
      }
    },
  };
}

/** Connects, creates the schema when missing, applies migrations, and returns the store. */
export async function openPostgresStore(
  options: PostgresOptions,
  migrations = POSTGRES_MIGRATIONS,
): Promise<PostgresStore> {
  const versionsToKeep = options.versionsToKeep ?? DEFAULT_VERSIONS_TO_KEEP;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    // Fail fast when the database is unreachable: refuse within 2 s to connect and 5 s
    // to answer (a silent network partition), and let TCP keepalive find dead links.
    connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
    query_timeout: options.queryTimeoutMs ?? 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    idleTimeoutMillis: 30_000,
    options: `-c search_path=${quoteIdent(options.schema)}`,
    application_name: 'ductape',
    types,
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  let migration: MigrationResult;
  try {
    const client = await pool.connect();
    const unguard = guardCheckedOut(client);
    try {
      migration = await migrateWith(client, options.schema, migrations);
      // A lowered DUCTAPE_KEEP_VERSIONS also destroys the surplus of secrets that never change
      // again, and takes what it frees off each workspace's value bytes (one statement, so a
      // node's concurrent change to the counter is never lost).
      await client.query(
        `WITH pruned AS (
           DELETE FROM secret_versions v USING secrets s WHERE s.id = v.secret_id AND v.version <= s.version - $1
           RETURNING s.workspace_id, ${VALUE_BYTES_SQL('v.sealed')} AS bytes
         ), freed AS (SELECT workspace_id, SUM(bytes) AS bytes FROM pruned GROUP BY workspace_id)
         UPDATE workspace_usage u SET value_bytes = u.value_bytes - f.bytes
         FROM freed f WHERE u.workspace_id = f.workspace_id`,
        [versionsToKeep],
      );
    } finally {
      unguard();
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }

  const db = context(pool);
  /** This node's LISTEN connection, opened by the first `watchPrincipals`. */
  const principals = new PrincipalListener({
    url: options.url,
    schema: options.schema,
    connectTimeoutMs: options.connectTimeoutMs,
    onError: options.onListenerError,
    query: (text, values) => db.query(text, values),
  });
  /** Secret changes of one workspace, committed together (see write-batch.ts). */
  const batcher = new WriteBatcher({
    connect: async () => {
      const client = await pool.connect();
      const unguard = guardCheckedOut(client);
      return {
        client,
        release: (error) => {
          unguard();
          client.release(error);
        },
      };
    },
    versionsToKeep,
    unavailable: (error) => new StoreUnavailableError(error),
  });
  return {
    backend: 'postgres',
    migration,
    keys: postgresKeys(db),
    integrity: postgresIntegrity(db),
    webhooks: postgresWebhooks(db),
    ...postgresSecrets(db, batcher),
    ...postgresIdentity(db, principals),
    ...postgresAudit(db),
    /** Readiness: a short timeout of its own, so a load balancer's check never hangs. */
    async ping() {
      try {
        await pool.query({ text: 'SELECT 1', query_timeout: 2000 } as pg.QueryConfig);
      } catch (error) {
        throw new StoreUnavailableError(error);
      }
    },
    async close() {
      await principals.stop();
      await pool.end();
    },
  };
}
